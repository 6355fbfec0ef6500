#!/usr/bin/env python3
"""The chaos suite (issue 12): a 1,000-item two-phase job through everything
the floor sees at once, against `thingpress sim` at AWS's default quotas.

  - credentials from a credential_process that last 20 s (Expiration), and a
    service that refuses each token 20 s after its first use
    (ExpiredTokenException);
  - a 90 s outage (every call answered 503) during Phase 1;
  - a 30 s refusal of every connection (the sim stopped, then started again
    on its port with its database) during Phase 2;
  - throttling storms: AWS's quotas plus 5% of calls throttled at random, and
    500 / reset / late (applied, answer lost) faults;
  - kill -9 of thingpress at seeded points in each phase, then the same
    command again until it exits.

It must end with exit 0, the registry exactly as expected, no failed item,
each item done once in the journal, and the audit log consistent with the
calls the service received (each call's intent on disk before it was sent).

About 8 minutes; tagged "full" (scripts/test.sh --full, CI). The seed is
E2E_SEED (default 12); a failing run prints it.

Usage: chaos_e2e.py [--bin PATH] [--testdata DIR] [--bench DIR] [unittest args]
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision_e2e as pe  # noqa: E402
import outage_e2e as oe  # noqa: E402

N = int(os.environ.get("CHAOS_ITEMS", "1000"))
SEED = int(os.environ.get("E2E_SEED", "12"))
NOISE = "expire:20,throttle:0.05,500:0.01,reset:0.005,late:0.005,seed:%d" % SEED


class Chaos(pe.E2E):

    def run_until_done(self, argv, env, kills, what):
        """argv killed with SIGKILL after each delay in kills, then run again
        until it exits; every run that was not killed must exit 0."""
        self.killed = getattr(self, "killed", 0)
        for delay in kills + [None] * 4:
            with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                p = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
                try:
                    p.wait(timeout=delay if delay is not None else 1800)
                except subprocess.TimeoutExpired:
                    pass
                finally:
                    if p.poll() is None:
                        p.send_signal(signal.SIGKILL)
                p.wait(timeout=60)
                out.seek(0)
                err.seek(0)
                r = pe.Run(p.returncode, out.read(), err.read(), 0)
            if r.rc == -signal.SIGKILL:
                self.killed += 1
                continue
            self.assertEqual(r.rc, 0, "%s (seed %d):\n%s" % (what, SEED, r))
            return r
        self.fail("%s never finished (seed %d)" % (what, SEED))

    def test_two_phases_through_everything(self):
        rnd = random.Random(SEED)
        gen, dev, fps, devices = pe.make_items(self.tmp, N)
        sim = oe.PortSim(self.tmp)
        port = oe.free_port()
        log = os.path.join(self.tmp, "chaos.jsonl")
        try:
            sim.start(port=port, log=log)
            pe.seed(sim.url)
            sim.stop()
            env, count = self.process_env()
            state = self.state_dir("st")
            job = ["--policies", "BasicTestPolicy", "--thing-groups", "BasicTestGroup",
                   "--thing-type", "BasicTestType"]

            def argv(path):
                return [pe.OPTS.bin, "provision", "--state", state, "--endpoint-url",
                        sim.url, *job, path]

            # Phase 1: the outage 30 s into it, for 90 s; two kills
            sim.start(db=sim.db, log=log, port=port, faults=NOISE + ",outage:30+90")
            kills = sorted(round(rnd.uniform(5, 150), 1) for _ in range(2))
            r1 = self.run_until_done(argv(gen), env, kills, "Phase 1")
            self.assertIn(" 0 failed", r1.out)

            # Phase 2: the refusal 20 s into it, for 30 s; two kills
            sim.stop()
            sim.start(db=sim.db, log=log, port=port, faults=NOISE)

            def refuse():
                time.sleep(20)
                sim.stop()
                time.sleep(30)
                sim.start(db=sim.db, log=log, port=port, faults=NOISE)
            t = threading.Thread(target=refuse)
            t.start()
            # the first kill after the refusal: a run started while nothing
            # answers is told at once that the endpoint cannot be reached
            kills = [round(rnd.uniform(60, 120), 1), round(rnd.uniform(5, 60), 1)]
            try:
                r2 = self.run_until_done(argv(dev), env, kills, "Phase 2")
            finally:
                t.join()
            self.assertIn(" 0 failed", r2.out)

            # the registry, read without faults or quotas
            sim.stop()
            sim.start(db=sim.db, log=os.path.join(self.tmp, "read.jsonl"), port=port,
                      quotas="unlimited")
            want = pe.expected_state(fps, ["BasicTestPolicy"], devices, ["BasicTestGroup"],
                                     "BasicTestType")
            self.assert_registry(sim.url, want, "after the chaos (seed %d)" % SEED)
            jobs = pe.status_json(state)
            ids = sorted(j["job"] for j in jobs["jobs"])
            self.assertEqual(len(ids), 2, "one job per phase, resumed: %s" % jobs)
            for phase, jid in zip((1, 2), ids):
                self.assert_journal(state, jid, N, phase=phase)
            # the audit log: every call the service received had its intent
            # on disk first; every item done once; none failed
            lines = self.audit_lines(state)
            sent, intents = {}, {}
            served = [l for l in pe.Sim.log_lines(sim_log(log)) if l["op"] in pe.FAST]
            for l in served:
                sent[l["op"]] = sent.get(l["op"], 0) + 1
            for a in lines:
                if a["event"] == "intent":
                    intents[a["op"]] = intents.get(a["op"], 0) + 1
            for op in sent:
                self.assertGreaterEqual(intents.get(op, 0), sent[op], "intents of " + op)
            items = [a for a in lines if a["event"] == "item"]
            done = {(a["job"], a["item"]) for a in items if a["outcome"] == "done"}
            self.assertEqual(len(done), 2 * N)
            self.assertFalse([a for a in items if a["outcome"] == "failed"])
            # one chain through the kills, the outage and the refreshes
            self.assert_audit_verifies(state)
            refused = [l for l in served if l["status"] == 403]
            outage = [l for l in served if l["fault"] == "none" and l["status"] == 503]
            print("  chaos (seed %d): %d runs killed, %d credential_process calls, %d "
                  "calls refused for expired tokens, %d answered 503 by the outage, "
                  "%d calls in all" % (SEED, self.killed, self.calls(count), len(refused),
                                       len(outage), len(served)), file=sys.stderr)
            self.assertGreaterEqual(self.killed, 2, "too few runs were killed")
            self.assertTrue(outage, "the outage window was never hit")
            self.assertGreaterEqual(self.calls(count), 5, "credentials never refreshed")
        finally:
            sim.stop()

    def process_env(self):
        return oe.Outage.process_env(self, 20)

    def calls(self, count):
        with open(count) as f:
            return len(f.read().splitlines())


class sim_log:
    """Sim.log_lines on a log path (the sim instance restarts)."""

    def __init__(self, path):
        self.log = path


if __name__ == "__main__":
    sys.exit(pe.run_main(__name__, "chaos_e2e"))
