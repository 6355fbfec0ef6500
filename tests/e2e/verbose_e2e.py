#!/usr/bin/env python3
"""End-to-end tests of --verbose (issue 14, "What a finished CLI has"): one
trace line per AWS IoT call on stderr, never a secret.

Every case runs the real binary against `thingpress sim --credentials
AKID:SECRET` (SigV4 verified), with a session token in the environment, and
compares the trace with the sim's request log, which records every request
it answered:

  1. provision, Phase 1 then Phase 2 on the Espressif sample with the
     sample's policy, group and thing type (pre-flight reads, then every
     item's calls), with 500s and throttling injected: one trace line per
     logged request, the same operation, method, path and status; retries show attempt=2 or more; every answered call
     carries the sim's request id (x-amzn-RequestId), each a distinct UUID;
     without --verbose there is no trace line.
  2. watch --once --verbose: the same for the hot folder's job.
  3. a wrong secret key: the refused calls are traced (403 and AWS's code).
In every case neither the secret key nor the session token (as they are,
base64- or URL-encoded) appears in stdout or stderr.

Shares provision_e2e.py's helpers (servers, seeding, JUnit XML).

Usage: verbose_e2e.py [--bin PATH] [--testdata DIR] [--bench DIR] [unittest args]
"""
import base64
import collections
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision_e2e as pe  # noqa: E402

# Distinctive credentials, so that any trace of them is found; the sim checks
# signatures against this pair.
pe.AKID = "AKIDVERBOSEE2ETEST00"
pe.SECRET = "Verbose/Secret+KeyOfTheTraceTest0123456789"
TOKEN = "IQoJb3JpZ2luX2VjEJ//////////SessionTokenOfTheTraceTest+/="
WRONG = "WrongSecretKey/+OfTheTraceTestNeverPrinted"

TRACE = re.compile(r"^trace: (.*)$", re.M)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JOB = ["--policies", "BasicTestPolicy", "--thing-groups", "BasicTestGroup",
       "--thing-type", "BasicTestType"]
FAULTS = "500:0.08,throttle:0.08,seed:%s" % os.environ.get("E2E_SEED", "14")


def needles():
    out = {}
    for name, s in (("secret", pe.SECRET), ("token", TOKEN), ("wrong secret", WRONG)):
        out[name] = s
        out[name + " (base64)"] = base64.b64encode(s.encode()).decode()
        out[name + " (url-encoded)"] = urllib.parse.quote(s, safe="")
    return out


def env(secret=None):
    e = pe.base_env()
    e["AWS_SESSION_TOKEN"] = TOKEN
    if secret:
        e["AWS_SECRET_ACCESS_KEY"] = secret
    return e


def run(argv, secret=None, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run([pe.OPTS.bin] + argv, capture_output=True, text=True,
                       timeout=timeout, env=env(secret))
    return pe.Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def parse_trace(stderr):
    """The trace lines, each as a dict of its key=value fields."""
    lines = []
    for body in TRACE.findall(stderr):
        fields = dict(kv.split("=", 1) for kv in body.split(" "))
        lines.append(fields)
    return lines


class Verbose(pe.E2E):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = pe.Sim(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super().tearDownClass()

    def setUp(self):
        self.sim.stop()
        self.sim.start(faults=FAULTS)
        pe.seed(self.sim.url)

    def assert_no_secret(self, r):
        for name, s in needles().items():
            self.assertNotIn(s, r.out, "the %s in stdout" % name)
            self.assertNotIn(s, r.err, "the %s in stderr" % name)

    def assert_traced(self, r, log, what):
        """One trace line per request the sim logged (operation, method,
        path, status); request ids as the sim sends them."""
        trace = parse_trace(r.err)
        self.assertTrue(log, "%s: the sim logged no request" % what)

        def key(op, method, path, status):
            return (op, method, urllib.parse.unquote(path), int(status))

        got = collections.defaultdict(list)
        for t in trace:
            for f in ("op", "method", "path", "status", "result", "ms", "request_id"):
                self.assertIn(f, t, "%s: trace line without %s: %s" % (what, f, t))
            got[t["op"]].append(key(t["op"], t["method"], t["path"], t["status"]))
        want = collections.defaultdict(list)
        for l in log:
            want[l["op"]].append(key(l["op"], l["method"], l["path"], l["status"]))
        # workers run at once: the same requests, not necessarily in order
        self.assertEqual({k: sorted(v) for k, v in want.items()},
                         {k: sorted(v) for k, v in got.items()},
                         "%s: the trace is not the sim's request log\n%s" % (what, r))

        ids = [t["request_id"] for t in trace]
        for t in trace:
            self.assertRegex(t["request_id"], UUID, "%s: request id of %s" % (what, t))
            self.assertRegex(t["attempt"], r"^[1-9][0-9]*$", "%s: %s" % (what, t))
            float(t["ms"])
        self.assertEqual(len(ids), len(set(ids)), "%s: request ids repeat" % what)
        # a retried call says which attempt it is
        if any(l["status"] != 200 for l in log):
            self.assertTrue([t for t in trace if int(t["attempt"]) >= 2],
                            "%s: faults were injected but no attempt=2:\n%s" % (what, r))
        return trace

    def test_provision_phases(self):
        td = pe.OPTS.testdata
        state = self.state_dir("st")
        url = self.sim.url
        common = ["--state", state, "--endpoint-url", url] + JOB + pe.rates(1000)

        off = self.sim.log_size()
        r1 = run(["provision", "--verbose"] + common +
                 [os.path.join(td, "espressif", "manifest-espressif.csv")])
        self.ok(r1, "Phase 1")
        t1 = self.assert_traced(r1, self.sim.log_lines(off), "Phase 1")
        self.assertIn("GetPolicy", [t["op"] for t in t1])  # the pre-flight
        self.assertIn("RegisterCertificateWithoutCA", [t["op"] for t in t1])

        off = self.sim.log_size()
        r2 = run(["provision", "--verbose"] + common +
                 [os.path.join(td, "mes", "device-infos-espressif-phase2.json")])
        self.ok(r2, "Phase 2")
        t2 = self.assert_traced(r2, self.sim.log_lines(off), "Phase 2")
        for op in ("DescribeThingGroup", "DescribeThingType", "UpdateCertificate",
                   "CreateThing", "AttachThingPrincipal", "AddThingToThingGroup"):
            self.assertIn(op, [t["op"] for t in t2])

        # without --verbose, no trace (the same job again: done, resumed)
        r3 = run(["provision"] + common +
                 [os.path.join(td, "mes", "device-infos-espressif-phase2.json")])
        self.ok(r3, "Phase 2 again")
        self.assertEqual([], parse_trace(r3.err), str(r3))
        for r in (r1, r2, r3):
            self.assert_no_secret(r)

    def test_watch_once(self):
        folder = os.path.join(self.tmp, "hot")
        os.makedirs(folder, exist_ok=True)
        shutil.copy(os.path.join(pe.OPTS.testdata, "espressif", "manifest-espressif.csv"),
                    os.path.join(folder, "manifest.csv"))
        off = self.sim.log_size()
        r = run(["watch", folder, "--once", "--verbose", "--state", self.state_dir("st"),
                 "--endpoint-url", self.sim.url, "--policies", "BasicTestPolicy"] +
                pe.rates(1000))
        self.ok(r, "watch --once")
        self.assertTrue(os.path.exists(os.path.join(folder, "done", "manifest.csv")), r)
        self.assert_traced(r, self.sim.log_lines(off), "watch")
        self.assert_no_secret(r)

    def test_refused_credentials(self):
        off = self.sim.log_size()
        r = run(["provision", "--verbose", "--state", self.state_dir("st"),
                 "--endpoint-url", self.sim.url, "--policies", "BasicTestPolicy",
                 os.path.join(pe.OPTS.testdata, "espressif", "manifest-espressif.csv")],
                secret=WRONG)
        self.assertEqual(2, r.rc, str(r))
        trace = parse_trace(r.err)
        self.assertTrue(trace, str(r))
        self.assertTrue([t for t in trace if t["status"] == "403" and t.get("code")],
                        str(r))
        log = self.sim.log_lines(off)
        self.assertEqual(len(log), len(trace), str(r))
        self.assert_no_secret(r)


if __name__ == "__main__":
    sys.exit(pe.run_main(__name__, "verbose_e2e"))
