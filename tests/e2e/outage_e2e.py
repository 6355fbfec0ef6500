#!/usr/bin/env python3
"""End-to-end tests of the long unattended job (issue 12): outages and
credentials that expire, against `thingpress sim` with its faults.

  1. an outage window (every call answered 503 for 30 s) in the middle of a
     Phase 1 job: the job waits it out (the progress line says what it waits
     for), goes on by itself and ends with exit 0, no item failed, the
     registry exact;
  2. an outage longer than --max-outage: the job pauses (exit 2, status
     `paused`, items pending, none failed); the same command once the service
     is back finishes it, each item once;
  3. the endpoint refusing connections for 8 s (the sim stopped, then started
     again on the same port with the same database): the job goes on by
     itself, exit 0, no item failed;
  4. credentials from a credential_process whose tokens the service refuses
     after 4 s (ExpiredTokenException): refreshed on the refusal, once for
     every worker, exit 0, no item failed;
  5. credentials that say they expire after 6 s: refreshed ahead of their
     Expiration, so the service never refuses one;
  6. static credentials that expire and cannot be refreshed: the job pauses
     (exit 2) instead of failing its items;
  7. (issue 13) `status JOB --follow` on a headless job: live lines with its
     counters and runner until it ends, then the job's outcome as exit 0.

The helpers are tests/e2e/provision_e2e.py's.

Usage: outage_e2e.py [--bin PATH] [--testdata DIR] [--bench DIR] [unittest args]
"""
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision_e2e as pe  # noqa: E402

JOB = ["--policies", "BasicTestPolicy"]
RATE = []  # AWS's default quotas (the sim's): 200 registrations take about 20 s


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PortSim(pe.Sim):
    """The sim on a port of our choosing, so that it can come back on it."""

    def start(self, db=None, log=None, quotas="aws-default", faults=None, port=0):
        pe.Sim.starts += 1
        self.n = pe.Sim.starts
        self.db = db or os.path.join(self.tmp, "sim-%d.db" % self.n)
        self.log = log or os.path.join(self.tmp, "sim-%d.jsonl" % self.n)
        argv = [pe.OPTS.bin, "sim", "--listen", "127.0.0.1:%d" % port, "--db", self.db,
                "--credentials", "%s:%s" % (pe.AKID, pe.SECRET), "--account", pe.ACCOUNT,
                "--region", pe.REGION, "--quotas", quotas, "--log", self.log]
        if faults:
            argv += ["--faults", faults]
        self._start(argv, os.path.join(self.tmp, "sim-%d.out" % self.n),
                    r"listening on http://127\.0\.0\.1:(\d+)")


def run(argv, env, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    return pe.Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def provision(url, state, path, *extra, env=None, timeout=300):
    argv = [pe.OPTS.bin, "provision", "--state", state, "--endpoint-url", url, *JOB,
            *RATE, *extra, path]
    return run(argv, env or pe.base_env(), timeout)


# A credential_process: the sim's key with a new session token per call, an
# Expiration LIFE seconds ahead; each call appends a line to COUNT.
CRED_PROCESS = """#!/bin/sh
n=$(wc -l < "%(count)s" 2>/dev/null || echo 0)
echo call >> "%(count)s"
exp=$(date -u -d "@$(( $(date +%%s) + %(life)d ))" +%%Y-%%m-%%dT%%H:%%M:%%SZ)
printf '{"Version":1,"AccessKeyId":"%(akid)s","SecretAccessKey":"%(secret)s",'
printf '"SessionToken":"token-%%s-%%s","Expiration":"%%s"}\\n' "$$" "$n" "$exp"
"""


class Outage(pe.E2E):

    def setUp(self):
        self.gen, _, self.fps, _ = pe.make_items(self.tmp, 200)

    def registered(self, url):
        got = pe.dump(url)
        return {c for c in got["certs"]}

    def assert_all_registered(self, url, what):
        """Every certificate registered once, INACTIVE."""
        c = pe.iot(url)
        certs = {}
        for page in c.get_paginator("list_certificates").paginate(
                PaginationConfig={"PageSize": 250}):
            for ct in page["certificates"]:
                self.assertNotIn(ct["certificateId"], certs, "listed twice")
                certs[ct["certificateId"]] = ct["status"]
        self.assertEqual(set(certs), set(self.fps), "%s: the registry's certificates" % what)
        self.assertEqual(set(certs.values()), {"INACTIVE"}, what)

    def assert_done_once(self, state, job, what):
        doc = pe.status_json(state, job)
        counts = doc["job"]["counts"]
        self.assertEqual(counts["done"], len(self.fps), "%s: %s" % (what, counts))
        self.assertEqual(counts["failed"], 0, "%s: %s" % (what, counts))
        self.assertEqual(doc["job"]["status"], "done", what)

    def waited_out(self, faults, what, waiting, outages):
        """A job through the outage FAULTS: exit 0, no item failed nor given
        up, the progress line WAITING (a regex), the summary OUTAGES (a
        regex), and the registry and the journal exact afterwards."""
        sim = PortSim(self.tmp)
        try:
            sim.start(faults=faults)
            pe.seed(sim.url)
            state = self.state_dir("st")
            r = provision(sim.url, state, self.gen)
            self.ok(r, what)
            self.assertIn(" 0 failed", r.out)
            self.assertRegex(r.out, outages)
            self.assertRegex(r.err, waiting)
            self.assertNotIn("gave up", r.err)
            sim.stop()
            sim.start(db=sim.db)
            self.assert_all_registered(sim.url, "after the outage")
            self.assert_done_once(state, pe.job_id_of(r), "after the outage")
        finally:
            sim.stop()

    def test_outage_is_waited_out(self):
        # the window starts 6 s after the sim, the job running by then; 30 s
        # is longer than an item's retries last (10 attempts, ~11 s)
        self.waited_out("outage:6+30", "a job through a 30 s outage",
                        r"waiting .* for the service: .*503 "
                        r"ServiceUnavailableException.*next try in",
                        r"waited out 1 outage")

    def test_one_operations_outage_is_waited_out(self):
        """AttachPolicy alone answers 503 for 15 s while RegisterCertificate
        answers. The job's breaker needs its failures in a row with no other
        answer between them; it still opens, because every worker comes to
        the step that fails (an item's steps run in order) well before an
        item's own retries run out (~11 s), so no item fails."""
        self.waited_out("outage:4+15,ops:AttachPolicy",
                        "a job through a 15 s outage of AttachPolicy",
                        r"waiting .* for the service: AttachPolicy: .*503 "
                        r"ServiceUnavailableException",
                        r"waited out [1-9][0-9]* outage")

    def test_outage_past_max_outage_pauses_then_resumes(self):
        sim = PortSim(self.tmp)
        port = free_port()
        try:
            sim.start(faults="outage:4+3600", port=port)
            pe.seed(sim.url)
            state = self.state_dir("st")
            r = provision(sim.url, state, self.gen, "--max-outage", "4s")
            self.assertEqual(r.rc, 2, "an outage past --max-outage:\n%s" % r)
            self.assertIn("paused", r.out)
            self.assertIn("ServiceUnavailableException", r.err)
            job = pe.job_id_of(r)
            doc = pe.status_json(state, job)
            self.assertEqual(doc["job"]["status"], "paused")
            counts = doc["job"]["counts"]
            self.assertEqual(counts["failed"], 0, counts)
            self.assertGreater(counts["pending"], 0, counts)
            # the service is back: the same command finishes the job
            sim.stop()
            sim.start(db=sim.db, port=port)
            r = provision(sim.url, state, self.gen)
            self.ok(r, "the paused job resumed")
            self.assertEqual(pe.job_id_of(r), job)
            self.assert_all_registered(sim.url, "after the resume")
            self.assert_done_once(state, job, "after the resume")
        finally:
            sim.stop()

    def test_refused_connections_are_waited_out(self):
        sim = PortSim(self.tmp)
        port = free_port()
        try:
            sim.start(port=port)
            pe.seed(sim.url)
            state = self.state_dir("st")
            out = {}

            def job():
                out["r"] = provision(sim.url, state, self.gen)
            t = threading.Thread(target=job)
            t.start()
            # once some items are registered, the endpoint goes away for 8 s
            pe.wait_for(lambda: sim.log_size() > 20000, 60, "the job to be running")
            sim.stop()
            time.sleep(8)
            sim.start(db=sim.db, port=port)
            t.join(timeout=300)
            r = out["r"]
            self.ok(r, "a job through 8 s of refused connections")
            self.assertIn("0 failed", r.out)
            self.assertIn("waited out", r.out)
            self.assert_all_registered(sim.url, "after the refusal")
            self.assert_done_once(state, pe.job_id_of(r), "after the refusal")
        finally:
            sim.stop()

    def process_env(self, life):
        d = os.path.join(self.tmp, "creds-%s" % self._testMethodName)
        os.makedirs(d, exist_ok=True)
        count = os.path.join(d, "calls")
        script = os.path.join(d, "cred.sh")
        with open(script, "w") as f:
            f.write(CRED_PROCESS % {"count": count, "life": life, "akid": pe.AKID,
                                    "secret": pe.SECRET})
        os.chmod(script, stat.S_IRWXU)
        config = os.path.join(d, "config")
        with open(config, "w") as f:
            f.write("[profile line]\ncredential_process = %s\nregion = %s\n"
                    % (script, pe.REGION))
        env = {k: v for k, v in pe.base_env().items() if not k.startswith("AWS_")}
        env.update({"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                    "AWS_PROFILE": "line"})
        return env, count

    def calls(self, count):
        with open(count) as f:
            return len(f.read().splitlines())

    def test_refused_credentials_are_refreshed(self):
        sim = PortSim(self.tmp)
        try:
            sim.start(faults="expire:3")  # each token refused 3 s after its first use
            pe.seed(sim.url)
            env, count = self.process_env(3600)  # they say they last an hour
            state = self.state_dir("st")
            r = provision(sim.url, state, self.gen, env=env)
            self.ok(r, "a job whose tokens the service refuses after 3 s")
            self.assertIn("0 failed", r.out)
            self.assertRegex(r.out, r"credentials refreshed \d+ time")
            refused = [l for l in sim.log_lines() if l.get("status") == 403]
            self.assertTrue(refused, "the sim never refused a token: the test tests nothing")
            # one refresh per refusal, not one per worker: the job runs about
            # 20 s, so about 7 tokens, not 32 per expiry
            self.assertLessEqual(self.calls(count), 14, "credential_process calls")
            self.assertGreaterEqual(self.calls(count), 2, "credential_process calls")
            self.assert_done_once(state, pe.job_id_of(r), "after refreshes")
        finally:
            sim.stop()

    def test_credentials_are_refreshed_ahead_of_expiration(self):
        sim = PortSim(self.tmp)
        try:
            sim.start(faults="expire:10")
            pe.seed(sim.url)
            env, count = self.process_env(6)  # they say they last 6 s
            state = self.state_dir("st")
            r = provision(sim.url, state, self.gen, env=env)
            self.ok(r, "a job with 6 s credentials")
            self.assertGreaterEqual(self.calls(count), 2, "credential_process calls")
            # refreshed ahead of expiry: the service (tokens last 10 s, they
            # say 6) refuses none, or a stray call of a starved thread
            lines = sim.log_lines()
            refused = [l for l in lines if l.get("status") == 403]
            self.assertLessEqual(len(refused), 2, "refusals: %s" % refused[:3])
            self.assertGreater(len(lines), 300)
            self.assert_done_once(state, pe.job_id_of(r), "after refreshes")
        finally:
            sim.stop()

    def test_credentials_that_cannot_be_refreshed_pause_the_job(self):
        sim = PortSim(self.tmp)
        try:
            sim.start(faults="expire:3")
            pe.seed(sim.url)
            env = pe.base_env()
            env["AWS_SESSION_TOKEN"] = "static-token"
            state = self.state_dir("st")
            r = provision(sim.url, state, self.gen, "--max-outage", "3s", env=env)
            self.assertEqual(r.rc, 2, "expired static credentials:\n%s" % r)
            self.assertIn("credentials refused", r.err)
            self.assertIn("ExpiredTokenException", r.err)
            doc = pe.status_json(state, pe.job_id_of(r))
            self.assertEqual(doc["job"]["status"], "paused")
            self.assertEqual(doc["job"]["counts"]["failed"], 0, doc["job"]["counts"])
        finally:
            sim.stop()


class Follow(pe.E2E):
    """Issue 13: `status JOB --follow` shows a headless job's counters live
    until it ends, then exits with the job's outcome."""

    def test_follow_a_running_job_to_its_end(self):
        gen, _, fps, _ = pe.make_items(self.tmp, 120)
        sim = PortSim(self.tmp)
        try:
            sim.start()  # AWS's default quotas: about 12 s
            pe.seed(sim.url)
            state = self.state_dir("st")
            job = subprocess.Popen(
                [pe.OPTS.bin, "provision", "--state", state, "--endpoint-url", sim.url,
                 *JOB, gen], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=pe.base_env())
            try:
                pe.wait_for(lambda: os.path.exists(os.path.join(state, "journal.db")) and
                            pe.status_json(state)["jobs"], 30, "the job in the journal")
                f = run([pe.OPTS.bin, "status", "1", "--follow", "--state", state],
                        pe.base_env(), timeout=120)
                job.communicate(timeout=120)
            finally:
                if job.poll() is None:
                    job.kill()
            self.assertEqual(job.returncode, 0)
            self.assertEqual(f.rc, 0, "status --follow:\n%s" % f)
            lines = f.out.strip().splitlines()
            self.assertGreater(len(lines), 2, "live lines as the counts change:\n%s" % f)
            self.assertRegex(lines[0], r"job 1 \(Phase 1\) running: \d+/120 items")
            self.assertIn("pid %d" % job.pid, lines[0])
            self.assertRegex(lines[-1], r"job 1 \(Phase 1\) done: 120/120 items \(100%\), "
                             r"120 done, 0 failed")
            done = [int(l.split(", ")[1].split()[0]) for l in lines]
            self.assertEqual(done, sorted(done), "the counts only grow")
        finally:
            sim.stop()


if __name__ == "__main__":
    sys.exit(pe.run_main(__name__, "outage_e2e"))
