#!/usr/bin/env python3
"""End-to-end tests of `thingpress provision` (issue 4, "Tests").

Every case runs the real binary against a real peer on 127.0.0.1 and then
reads the whole registry back with boto3 (certificates, things, principals,
policies, groups), comparing it with the state the input files call for:

  1. Phase 1 then Phase 2 on the shared fixtures (Espressif + its
     device-infos; the Generated fixture + a device-infos file built here from
     its fingerprints), against `thingpress sim` and against moto.
  2. Faults: the sim with every fault kind at 3%, 2,000 items through both
     phases; exact final state, the journal agrees, every kind was injected.
  3. Crashes: kill -9 of `provision` at seeded random points, then the same
     command again until it exits 0; exact state, consistent journal, audit.
  4. A rejected file and a failed pre-flight send no mutating call;
     --skip-invalid skips and reports the invalid item.
  5. --dry-run sends no mutating call.
Also: the one-step vendor flow (--cert-active true --thing-deferred false),
Phase 2 item errors (REVOKED, unknown fingerprint, conflicting thing),
Ctrl-C then resume, a journal that cannot be written (a file size limit
as a full disk) then resume, the report of every item of both phases, its
ARNs checked against the registry, and the Phase 1 hand-off: `status
--output device-infos`, filled in, provisioned as Phase 2.

Servers are started on port 0 and stopped on every exit path (SIGTERM from a
Bazel timeout included); every wait has a deadline (no fixed sleeps except
the seeded kill delays of case 3, which are the point of that case). Results
go to stdout (unittest) and, under Bazel, to $XML_OUTPUT_FILE as JUnit XML
(one <testcase> per test).

Environment: E2E_SEED=N changes the fault and kill seeds; KEEP_TMP=1 keeps
the work directories (request logs, journals) for a look after a failure.

Usage: provision_e2e.py [--bin PATH] [--testdata DIR] [--bench DIR]
                        [unittest args, e.g. -k Faults]
"""
import argparse
import atexit
import base64
import concurrent.futures
import csv
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import xml.etree.ElementTree as ET

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
ACCOUNT = "123456789012"
POLICY_DOC = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
})

# The engine starts from AWS's default quotas (10/s for register and update);
# these starting rates let the small fixtures run in about a second.
FAST = ["RegisterCertificateWithoutCA", "UpdateCertificate", "CreateThing",
        "AttachThingPrincipal", "AttachPolicy", "AddThingToThingGroup"]

# The job of most cases: one policy, one group, a thing type.
JOB = ["--policies", "BasicTestPolicy", "--thing-groups", "BasicTestGroup",
       "--thing-type", "BasicTestType"]

READ_OPS = re.compile(r"^(Get|Describe|List)")

OPTS = argparse.Namespace(bin=None, testdata=None, bench=None)


def rates(tps):
    out = []
    for op in FAST:
        out += ["--rate", "%s=%g" % (op, tps)]
    return out


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def base_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("XDG_STATE_HOME",)}
    env.update({
        "AWS_ACCESS_KEY_ID": AKID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    })
    return env


# ---------------------------------------------------------------- peers

LIVE = set()  # servers running, stopped at exit whatever happens


@atexit.register
def stop_all():
    for s in list(LIVE):
        s.stop()


class Server:
    """A child process that prints its URL; stopped with SIGTERM, then KILL."""

    proc = None
    url = None

    def _start(self, argv, out_path, pattern, timeout=20):
        self.out_path = out_path
        self.out = open(out_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     env=base_env())
        LIVE.add(self)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("%s exited early (%d): %s" % (
                    argv[0], self.proc.returncode, open(out_path).read()[-2000:]))
            m = re.search(pattern, open(out_path).read())
            return m and m.group(1)

        try:
            port = wait_for(ready, timeout, "%s to listen" % os.path.basename(argv[0]))
        except BaseException:
            self.stop()
            raise
        self.url = "http://127.0.0.1:%s" % port

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.out.close()
        LIVE.discard(self)


class Sim(Server):
    name = "sim"

    starts = 0  # for distinct file names across instances

    def __init__(self, tmp):
        self.tmp = tmp

    def start(self, db=None, log=None, quotas="unlimited", faults=None):
        """A new registry unless db names an existing one; log: the request log."""
        Sim.starts += 1
        self.n = Sim.starts
        self.db = db or os.path.join(self.tmp, "sim-%d.db" % self.n)
        self.log = log or os.path.join(self.tmp, "sim-%d.jsonl" % self.n)
        argv = [OPTS.bin, "sim", "--listen", "127.0.0.1:0", "--db", self.db,
                "--credentials", "%s:%s" % (AKID, SECRET), "--account", ACCOUNT,
                "--region", REGION, "--quotas", quotas, "--log", self.log]
        if faults:
            argv += ["--faults", faults]
        self._start(argv, os.path.join(self.tmp, "sim-%d.out" % self.n),
                    r"listening on http://127\.0\.0\.1:(\d+)")

    def reset(self):
        """A fresh registry: a new database."""
        self.stop()
        self.start()

    def log_lines(self, offset=0):
        with open(self.log, "rb") as f:
            f.seek(offset)
            return [json.loads(l) for l in f.read().decode().splitlines() if l.strip()]

    def log_size(self):
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0


MOTO_MAIN = ("from moto.core.config import default_user_config as c; "
             "c['iot']['use_valid_cert'] = True; "
             "from moto.server import main; main(['-H', '127.0.0.1', '-p', '0'])")


class Moto(Server):
    """moto 5 (DESIGN.md §8), with AWS-style DER-based certificate ids."""
    name = "moto"

    def __init__(self, tmp):
        self.tmp = tmp

    def start(self):
        self._start([sys.executable, "-c", MOTO_MAIN], os.path.join(self.tmp, "moto.out"),
                    r"Running on http://127\.0\.0\.1:(\d+)", timeout=60)

    def reset(self):
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=30).read()


def have_moto():
    try:
        import moto.server  # noqa: F401
        return True
    except ImportError:
        return False


# ---------------------------------------------------------------- registry

_local = threading.local()


def iot(url):
    import boto3
    from botocore.config import Config
    cache = getattr(_local, "clients", None)
    if cache is None:
        cache = _local.clients = {}
    if url not in cache:
        cache[url] = boto3.session.Session().client(
            "iot", endpoint_url=url, region_name=REGION, aws_access_key_id=AKID,
            aws_secret_access_key=SECRET,
            config=Config(retries={"max_attempts": 3, "mode": "standard"},
                          max_pool_connections=16))
    return cache[url]


def seed(url, policies=("BasicTestPolicy",), groups=("BasicTestGroup",),
         types=("BasicTestType",)):
    c = iot(url)
    for p in policies:
        c.create_policy(policyName=p, policyDocument=POLICY_DOC)
    for g in groups:
        c.create_thing_group(thingGroupName=g)
    for t in types:
        c.create_thing_type(thingTypeName=t)


def cert_arn(fp):
    return "arn:aws:iot:%s:%s:cert/%s" % (REGION, ACCOUNT, fp)


def dump(url, workers=8):
    """The whole registry: {certs: {id: status}, things: {name: {type, attrs,
    principals, groups}}, policies: {cert id: [policy names]}}."""
    c = iot(url)
    big = {"PaginationConfig": {"PageSize": 250}}
    certs = {}
    for page in c.get_paginator("list_certificates").paginate(**big):
        for ct in page["certificates"]:
            cid = ct["certificateId"]
            assert cid not in certs, "certificate listed twice: " + cid
            certs[cid] = ct["status"]
    things = {}
    for page in c.get_paginator("list_things").paginate(**big):
        for t in page["things"]:
            assert t["thingName"] not in things, "thing listed twice: " + t["thingName"]
            things[t["thingName"]] = {"type": t.get("thingTypeName"),
                                      "attrs": t.get("attributes", {})}

    def pages(op, **kw):
        return iot(url).get_paginator(op).paginate(**kw)

    def principals(name):
        out = []
        for page in pages("list_thing_principals", thingName=name):
            out += page["principals"]
        return name, sorted(out)

    def groups(name):
        out = []
        for page in pages("list_thing_groups_for_thing", thingName=name):
            out += [g["groupName"] for g in page["thingGroups"]]
        return name, sorted(out)

    def policies(cid):
        out = []
        for page in pages("list_attached_policies", target=cert_arn(cid)):
            out += [p["policyName"] for p in page["policies"]]
        return cid, sorted(out)

    pol = {}
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for name, ps in ex.map(principals, list(things)):
            things[name]["principals"] = ps
        for name, gs in ex.map(groups, list(things)):
            things[name]["groups"] = gs
        for cid, ps in ex.map(policies, list(certs)):
            pol[cid] = ps
    return {"certs": certs, "things": things, "policies": pol}


def expected_state(certs, policies, devices=(), groups=(), job_type=None):
    """certs: fingerprints registered in Phase 1; devices: device-infos entries
    provisioned in Phase 2 (their certificates become ACTIVE)."""
    st = {"certs": {fp: "INACTIVE" for fp in certs},
          "things": {},
          "policies": {fp: sorted(policies) for fp in certs}}
    for d in devices:
        fp = d["certFingerprint"].lower()
        st["certs"][fp] = "ACTIVE"
        st["things"][d["deviceId"]] = {
            "type": d.get("deviceType") or job_type,
            "attrs": d.get("attributes", {}),
            "principals": [cert_arn(fp)],
            "groups": sorted(groups),
        }
    return st


# ---------------------------------------------------------------- files

def fingerprints_of_generated(path):
    """SHA-256 of each certificate of a Generated file (base64 of PEM or DER)."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            raw = base64.b64decode(line)
            if raw.startswith(b"-----BEGIN"):
                body = b"".join(l for l in raw.splitlines() if not l.startswith(b"-----"))
                raw = base64.b64decode(body)
            out.append(hashlib.sha256(raw).hexdigest())
    return out


def load_devices(path):
    with open(path) as f:
        return json.load(f)["devices"]


def bench_module():
    sys.path.insert(0, OPTS.bench)
    import validate_bench
    return validate_bench


# ---------------------------------------------------------------- the command

class Run:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs

    def __str__(self):
        return "exit %s after %.1f s\nstdout: %s\nstderr: %s" % (
            self.rc, self.secs, self.out[-3000:], self.err[-3000:])


def provision(url, state, path, *extra, timeout=300):
    argv = [OPTS.bin, "provision", "--state", state, "--endpoint-url", url, *extra, path]
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=base_env())
    return Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def status_json(state, job=None):
    argv = [OPTS.bin, "status", "--state", state, "--output", "json"]
    if job is not None:
        argv.insert(2, str(job))
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=base_env())
    if p.returncode != 0:
        raise AssertionError("thingpress status: exit %d: %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def job_id_of(run):
    m = re.search(r": job (\d+) ", run.out)
    if not m:
        raise AssertionError("no job id in the summary:\n%s" % run)
    return int(m.group(1))


# ---------------------------------------------------------------- base case

class E2E(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="e2e-%s-" % cls.__name__,
                                   dir=os.environ.get("TEST_TMPDIR"))

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def state_dir(self, tag):
        d = os.path.join(self.tmp, "state-%s-%s" % (self._testMethodName, tag))
        return d

    def ok(self, run, what):
        self.assertEqual(run.rc, 0, "%s:\n%s" % (what, run))

    def assert_registry(self, url, want, what):
        got = dump(url)
        problems = []
        for part in ("certs", "things", "policies"):
            w, g = want[part], got[part]
            missing = sorted(set(w) - set(g))
            extra = sorted(set(g) - set(w))
            diff = sorted(k for k in set(w) & set(g) if w[k] != g[k])
            if missing:
                problems.append("%s: %d missing, e.g. %s" % (part, len(missing), missing[:3]))
            if extra:
                problems.append("%s: %d unexpected, e.g. %s" % (part, len(extra), extra[:3]))
            for k in diff[:5]:
                problems.append("%s[%s]: want %r, got %r" % (part, k, w[k], g[k]))
            if len(diff) > 5:
                problems.append("%s: %d more differ" % (part, len(diff) - 5))
        if problems:
            self.fail("%s: registry differs from the expected state:\n  %s" % (
                what, "\n  ".join(problems)))
        return got

    def assert_journal(self, state, job, total, phase=None, steps=None):
        """The job is done, each of its items once, done at the plan's last step."""
        doc = status_json(state, job)
        counts = doc["job"]["counts"]
        self.assertEqual(counts, {"total": total, "done": total, "failed": 0, "skipped": 0,
                                  "pending": 0}, "journal counts of job %d" % job)
        self.assertEqual(doc["job"]["status"], "done")
        if phase is not None:
            self.assertEqual(doc["job"]["phase"], phase)
        items = doc["items"]
        self.assertEqual(sorted(i["index"] for i in items), list(range(total)),
                         "journal items of job %d: every index once" % job)
        bad = [i for i in items if i["status"] != "done" or i["error"]]
        self.assertFalse(bad, "journal items not done: %s" % bad[:3])
        ends = {i["step"] for i in items}
        self.assertEqual(ends, {steps} if steps else ends,
                         "the step every item ended at (the plan has %s)" % steps)
        self.assertEqual(len(ends), 1, "every item ends at the same step: %s" % ends)
        return doc

    def assert_audited(self, state, log_lines):
        """Every mutating call the sim received is in the audit log, and the
        audit log has no call the sim did not receive; each answered call
        with the request id the sim gave it. The log's chain is intact and
        every job's runs start and end in it."""
        sent, audited, intents = {}, {}, {}
        sent_ids, audited_ids = set(), set()
        for line in log_lines:
            if line["op"] in FAST:
                sent[line["op"]] = sent.get(line["op"], 0) + 1
                if line.get("request_id"):
                    sent_ids.add((line["op"], line["request_id"]))
        lines = self.audit_lines(state)
        for a in lines:
            if a["event"] == "call":
                audited[a["op"]] = audited.get(a["op"], 0) + 1
                if a["request_id"]:
                    audited_ids.add((a["op"], a["request_id"]))
            if a["event"] == "intent":
                intents[a["op"]] = intents.get(a["op"], 0) + 1
        self.assertEqual(audited, sent, "audited calls vs calls the sim received")
        self.assertEqual(intents, sent, "intents vs calls the sim received")
        self.assertEqual(audited_ids, sent_ids,
                         "request ids audited vs the ids of the sim's answers")
        self.assertGreater(len(sent_ids), 0)
        self.assert_audit_verifies(state)
        started = {a["job"] for a in lines if a["event"] in ("job_start", "job_resume")}
        ended = {a["job"] for a in lines if a["event"] == "job_end"}
        self.assertEqual(started, ended, "jobs started vs ended in the audit log")
        for a in lines:
            if a["event"] == "job_start":
                for k in ("file", "sha256", "options", "endpoint", "account"):
                    self.assertIn(k, a, "job_start without %s: %s" % (k, a))

    def assert_audit_verifies(self, state):
        """`thingpress audit verify` finds the chain intact, up to the head
        the journal records."""
        p = subprocess.run([OPTS.bin, "audit", "verify", "--state", state],
                           capture_output=True, text=True, timeout=120, env=base_env())
        self.assertEqual(p.returncode, 0, "audit verify: %s %s" % (p.stdout, p.stderr))
        self.assertRegex(p.stdout, r"^audit log intact: \d+ lines in \d+ files?")
        self.assertIn("the journal's chain head", p.stdout)

    def assert_no_secret(self, state, runs):
        """The secret key appears in no output and no file of the state directory."""
        for r in runs:
            self.assertNotIn(SECRET, r.out + r.err)
        for dirpath, _, files in os.walk(state):
            for fn in files:
                with open(os.path.join(dirpath, fn), "rb") as f:
                    self.assertNotIn(SECRET.encode(), f.read(), "secret in %s" % fn)

    def audit_lines(self, state):
        """Every line of the audit log, rotated files first; each with the
        members every line has."""
        lines = []
        names = sorted(n for n in os.listdir(state) if re.match(r"^audit-\d+\.jsonl$", n))
        for name in names + ["audit.jsonl"]:
            with open(os.path.join(state, name), "rb") as f:
                for n, raw in enumerate(f.read().split(b"\n"), 1):
                    if not raw:
                        continue
                    try:
                        a = json.loads(raw)
                    except ValueError as e:
                        self.fail("%s line %d is not JSON (%s): %r" % (name, n, e, raw[:200]))
                    for k in ("time", "event", "job", "user", "host", "station", "prev"):
                        self.assertIn(k, a, "%s line %d" % (name, n))
                    lines.append(a)
        return lines


# ---------------------------------------------------------------- 1. fixtures

class FixturesMixin:
    """Phase 1 then Phase 2 on the shared fixtures; subclasses give the peer."""

    peer = None

    def setUp(self):
        self.peer.reset()

    def run_phases(self, vendor_file, certs, devinfo, policies, groups, job_type, types):
        """Phase 1 of vendor_file (its certificates: the fingerprints certs),
        then Phase 2 of devinfo, with the same job options."""
        url = self.peer.url
        seed(url, policies, groups, types)
        state = self.state_dir("st")
        common = ["--policies", ",".join(policies), "--thing-groups", ",".join(groups),
                  "--thing-type", job_type] + rates(1000)

        log0 = self.peer.log_size() if isinstance(self.peer, Sim) else None
        r1 = provision(url, state, vendor_file, *common)
        self.ok(r1, "Phase 1 of %s" % os.path.basename(vendor_file))
        self.assert_registry(url, expected_state(certs, policies), "after Phase 1")
        self.assert_journal(state, job_id_of(r1), len(certs), phase=1,
                            steps=1 + len(policies))

        r2 = provision(url, state, devinfo, *common)
        self.ok(r2, "Phase 2 of %s" % os.path.basename(devinfo))
        devices = load_devices(devinfo)
        want = expected_state(certs, policies, devices, groups, job_type)
        self.assert_registry(url, want, "after Phase 2")
        self.assert_journal(state, job_id_of(r2), len(devices), phase=2,
                            steps=3 + len(policies) + len(groups))
        if log0 is not None:
            self.assert_audited(state, self.peer.log_lines(log0))

        # The same command again: the journal says done; nothing is sent.
        before = self.peer.log_size() if isinstance(self.peer, Sim) else None
        r3 = provision(url, state, devinfo, *common)
        self.ok(r3, "Phase 2 again")
        self.assertIn("resumed", r3.out)
        self.assertIn("(%d earlier)" % len(devices), r3.out)
        if before is not None:
            sent = [l["op"] for l in self.peer.log_lines(before)]
            self.assertFalse([o for o in sent if not READ_OPS.match(o)],
                             "a finished job sent mutating calls again: %s" % sent)
        self.assert_registry(url, want, "after Phase 2 again")
        self.assert_no_secret(state, [r1, r2, r3])

    def test_espressif(self):
        td = OPTS.testdata
        devinfo = os.path.join(td, "mes", "device-infos-espressif-phase2.json")
        # every certificate of the manifest is one device of the device-infos file
        certs = [d["certFingerprint"].lower() for d in load_devices(devinfo)]
        self.run_phases(os.path.join(td, "espressif", "manifest-espressif.csv"), certs,
                        devinfo,
                        ["BasicTestPolicy"], ["BasicTestGroup"], "BasicTestType",
                        ["BasicTestType"])

    def test_one_step(self):
        """Phase 1 alone, the upstream vendor flow: certificates ACTIVE, things
        (named by the vendor rule: Espressif's MAC column) created at once."""
        url = self.peer.url
        seed(url)
        td = OPTS.testdata
        with open(os.path.join(td, "expected", "espressif-expected.tsv")) as f:
            rows = [line.split("\t") for line in f.read().splitlines()[1:]]
        state = self.state_dir("st")
        r = provision(url, state, os.path.join(td, "espressif", "manifest-espressif.csv"),
                      "--cert-active", "true", "--thing-deferred", "false", *JOB,
                      *rates(1000))
        self.ok(r, "Phase 1 with --thing-deferred false")
        devices = [{"certFingerprint": fp, "deviceId": mac} for _, mac, fp, *_ in rows]
        want = expected_state([d["certFingerprint"] for d in devices], ["BasicTestPolicy"],
                              devices, ["BasicTestGroup"], "BasicTestType")
        self.assert_registry(url, want, "after one-step Phase 1")
        # register, policy, thing, principal, group, then activation last
        self.assert_journal(state, job_id_of(r), len(devices), phase=1, steps=6)

    def test_generated(self):
        gen = os.path.join(OPTS.testdata, "generated", "certificates_test.txt")
        fps = fingerprints_of_generated(gen)
        self.assertEqual(len(fps), 100)
        # Phase 2 for every certificate but the last 10 (those stay INACTIVE);
        # every third device has its own type, fingerprints in both cases,
        # two policies and two groups per device.
        devices = []
        for i, fp in enumerate(fps[:-10]):
            d = {"certFingerprint": fp.upper() if i % 2 else fp,
                 "deviceId": "gen-%03d" % i,
                 "attributes": {"DSN": "DSN-%04d" % i, "Line": "L%d" % (i % 4)}}
            if i % 3 == 0:
                d["deviceType"] = "GeneratedType"
                d["attributes"]["Rev"] = "B"
                d["attributes"]["Fw"] = "1.0.%d" % i
            devices.append(d)
        devinfo = os.path.join(self.tmp, "device-infos-generated.json")
        with open(devinfo, "w") as f:
            json.dump({"batch_id": "generated-fixture", "devices": devices}, f)
        self.run_phases(gen, fps, devinfo, ["BasicTestPolicy", "SecondPolicy"],
                        ["BasicTestGroup", "SecondGroup"], "BasicTestType",
                        ["BasicTestType", "GeneratedType"])


class FixturesSim(FixturesMixin, E2E):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.peer = Sim(cls.tmp)
        cls.peer.start()

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        super().tearDownClass()


@unittest.skipUnless(have_moto(), "moto is not installed (DESIGN.md §8)")
class FixturesMoto(FixturesMixin, E2E):
    # moto is laxer than AWS and the sim: no SigV4 check (any key works), no
    # throttling, no naming or attribute-count rules, and CreateThing replaces
    # an existing thing instead of answering 409 for a different
    # configuration. The state read back is the same.
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.peer = Moto(cls.tmp)
        cls.peer.start()

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        super().tearDownClass()


# ---------------------------------------------------------------- generated items

def make_items(tmp, n):
    """A Generated file of n distinct certificates and its device-infos file
    (bench/validate_bench.py), plus the fingerprints and devices."""
    vb = bench_module()
    template = vb.template_der()
    pos = template.find(vb.PLACEHOLDER.encode())
    gen = os.path.join(tmp, "generated-%d.txt" % n)
    dev = os.path.join(tmp, "device-infos-%d.json" % n)
    vb.write_generated(gen, template, pos, n)
    vb.write_device_infos(dev, template, pos, n)
    fps = [hashlib.sha256(vb.der_for(template, pos, i)).hexdigest() for i in range(n)]
    return gen, dev, fps, load_devices(dev)


# ---------------------------------------------------------------- one runner per job

# Holds the job lock the way a running thingpress does (flock, pid and host
# inside), says "locked", then waits for stdin to close.
HOLD_LOCK = """
import fcntl, os, socket, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.write(fd, ("pid %d host %s\\n" % (os.getpid(), socket.gethostname())).encode())
print("locked", flush=True)
sys.stdin.read()
"""


class OneRunner(E2E):
    """Issue 12: one runner per job, held by an OS lock in the state dir."""

    def test_job_running_elsewhere_is_refused(self):
        sim = Sim(self.tmp)
        try:
            sim.start()
            seed(sim.url)
            state = self.state_dir("st")
            os.makedirs(os.path.join(state, "locks"))
            lock = os.path.join(state, "locks", "job-1.lock")  # the first job of a new state
            holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, lock],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(holder.stdout.readline().strip(), "locked")
                path = os.path.join(OPTS.testdata, "espressif", "manifest-espressif.csv")
                log0 = sim.log_size()
                r = provision(sim.url, state, path, *JOB)
                self.assertEqual(r.rc, 2, "a job running elsewhere:\n%s" % r)
                want = "job 1 is running in pid %d on host %s" % (holder.pid,
                                                                 socket.gethostname())
                self.assertIn(want, r.err)
                self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
                sent = [l["op"] for l in sim.log_lines(log0)]
                self.assertFalse([o for o in sent if not READ_OPS.match(o)],
                                 "a refused runner sent mutating calls: %s" % sent)
            finally:
                holder.stdin.close()
                holder.wait(timeout=30)
            # the holder is gone: its lock died with it
            r = provision(sim.url, state, path, *JOB)
            self.ok(r, "after the other runner ended")
        finally:
            sim.stop()


# ---------------------------------------------------------------- 2. faults

class Faults(E2E):
    """Every fault kind at 3% (late: applied, then the connection drops), on
    every operation, pre-flight reads included; quotas unlimited."""
    N = 2000
    SPEC = "500:0.03,503:0.03,throttle:0.03,reset:0.03,late:0.03,seed:%d"
    SEED = int(os.environ.get("E2E_SEED", "7"))

    def test_every_fault_kind(self):
        gen, dev, fps, devices = make_items(self.tmp, self.N)
        sim = Sim(self.tmp)
        db = os.path.join(self.tmp, "faults.db")
        log = os.path.join(self.tmp, "faults.jsonl")
        try:
            sim.start(db=db, log=log)  # seeded without faults
            seed(sim.url)
            sim.stop()
            sim.start(db=db, log=log, faults=self.SPEC % self.SEED)
            state = self.state_dir("st")
            jobs = []
            for path in (gen, dev):
                r = provision(sim.url, state, path, *JOB, *rates(3000))
                self.ok(r, "%s with faults" % os.path.basename(path))
                print("  %s: %.1f s, %s" % (os.path.basename(path), r.secs,
                                            " ".join(r.out.split("\n")[1].split())),
                      file=sys.stderr)
                jobs.append(job_id_of(r))
            faults, late_ops, refused = {}, set(), []
            log_lines = sim.log_lines()
            for l in log_lines:
                faults[l["fault"]] = faults.get(l["fault"], 0) + 1
                if l["fault"] == "late":
                    late_ops.add(l["op"])
                if l["fault"] == "none" and l["status"] >= 400 and not (
                        l["op"] == "RegisterCertificateWithoutCA" and l["status"] == 409):
                    refused.append(l)
            sim.stop()
            sim.start(db=db, log=os.path.join(self.tmp, "faults-read.jsonl"))
            want = expected_state(fps, ["BasicTestPolicy"], devices, ["BasicTestGroup"],
                                  "BasicTestType")
            got = self.assert_registry(sim.url, want, "after both phases with faults")
            self.assertEqual((len(got["certs"]), len(got["things"])), (self.N, self.N))
        finally:
            sim.stop()
        for kind in ("500", "503", "throttle", "reset", "late"):
            self.assertGreater(faults.get(kind, 0), 0,
                               "no %s fault was injected: %s" % (kind, faults))
        # the ambiguous case hit every mutating operation of the plan, and the
        # retries that followed were all accepted (a repeated register is 409)
        self.assertEqual(set(FAST) - late_ops, set(), "operations without a late fault")
        self.assertFalse(refused, "calls refused by the sim: %s" % refused[:5])
        for phase, job, steps in zip((1, 2), jobs, (2, 5)):
            self.assert_journal(state, job, self.N, phase=phase, steps=steps)
        # the audit log: every call the sim received (faulted ones included),
        # and exactly one "done" outcome per item and job
        self.assert_audited(state, log_lines)
        outcomes = {}
        for a in self.audit_lines(state):
            if a["event"] == "item":
                k = (a["job"], a["item"])
                self.assertEqual(a["outcome"], "done", "audit: %s" % a)
                self.assertNotIn(k, outcomes, "item outcome logged twice: %s" % a)
                outcomes[k] = a
        self.assertEqual(len(outcomes), 2 * self.N)
        print("  faults injected: %s" % faults, file=sys.stderr)


# ---------------------------------------------------------------- 3. crashes

class Crashes(E2E):
    """Runs stopped by kill -9 or Ctrl-C, then resumed."""
    N = 400
    SEED = int(os.environ.get("E2E_SEED", "4"))
    FAULTS = "late:0.03,reset:0.02,500:0.02,seed:%d"

    def done_so_far(self, state):
        """Items done in the newest job of the journal (-1: no job yet)."""
        if not os.path.exists(os.path.join(state, "journal.db")):
            return -1
        # killed while the journal was being created: the file is there,
        # without its tables yet (the next run creates them)
        p = subprocess.run([OPTS.bin, "status", "--state", state, "--output", "json"],
                           capture_output=True, text=True, timeout=60, env=base_env())
        if p.returncode == 2 and "no journal" in p.stderr:
            return -1
        jobs = status_json(state)["jobs"]
        if not jobs:
            return -1
        newest = max(jobs, key=lambda j: j["job"])
        return newest["counts"]["done"]

    def crash_until_done(self, url, state, path, kills, extra):
        """Runs the command, kill -9 after each delay of kills (relative to its
        start), then runs it to the end; returns (final run, number killed)."""
        argv = [OPTS.bin, "provision", "--state", state, "--endpoint-url", url, *extra, path]
        killed = 0
        for delay in kills:
            with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                p = subprocess.Popen(argv, stdout=out, stderr=err, env=base_env())
                try:
                    p.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    killed += 1
                finally:  # also when the run itself is interrupted
                    if p.poll() is None:
                        p.send_signal(signal.SIGKILL)
                p.wait(timeout=60)
                out.seek(0)
                err.seek(0)
                run = Run(p.returncode, out.read(), err.read(), delay)
            if run.rc == 0:  # finished before its kill
                return run, killed
            self.assertEqual(run.rc, -signal.SIGKILL, "%s\n%s" % (argv, run))
            self.progress.append(self.done_so_far(state))
        for _ in range(5):
            r = provision(url, state, path, *extra)
            if r.rc == 0:
                return r, killed
        self.fail("the command never finished after the crashes:\n%s" % r)

    def test_kill9_and_resume(self):
        """kill -9 right after start, then at seeded random points, in each
        phase; the same command again until it exits 0."""
        gen, dev, fps, devices = make_items(self.tmp, self.N)
        rnd = random.Random(self.SEED)
        sim = Sim(self.tmp)
        try:
            sim.start()
            seed(sim.url)
            sim.stop()
            # crashes on top of ambiguous outcomes: late and reset faults too
            sim.start(db=sim.db, log=sim.log, faults=self.FAULTS % self.SEED)
            state = self.state_dir("st")
            # ~2.5 s per uninterrupted run of each phase: 400 items at 160
            # registrations/s, 160 activations/s.
            extra = JOB + rates(1000) + ["--rate", "RegisterCertificateWithoutCA=160",
                                         "--rate", "UpdateCertificate=160"]
            total_killed = 0
            self.progress = []
            for path in (gen, dev):
                kills = [0.0, 0.05] + [round(rnd.uniform(0.2, 1.2), 2) for _ in range(4)]
                r, killed = self.crash_until_done(sim.url, state, path, kills, extra)
                self.ok(r, "after the crashes")
                total_killed += killed
                self.assertGreaterEqual(killed, 3, "too few runs were killed: %s" % kills)
            want = expected_state(fps, ["BasicTestPolicy"], devices, ["BasicTestGroup"],
                                  "BasicTestType")
            self.assert_registry(sim.url, want, "after kill -9 and resume")
            jobs = status_json(state)
            ids = sorted(j["job"] for j in jobs["jobs"])
            self.assertEqual(len(ids), 2, "one job per phase, resumed: %s" % jobs)
            for phase, job, steps in zip((1, 2), ids, (2, 5)):
                self.assert_journal(state, job, self.N, phase=phase, steps=steps)
            lines = self.audit_lines(state)
            # every call the sim received was audited before it was sent
            sent, intents = {}, {}
            for l in sim.log_lines():
                if l["op"] in FAST:
                    sent[l["op"]] = sent.get(l["op"], 0) + 1
            for a in lines:
                if a["event"] == "intent":
                    intents[a["op"]] = intents.get(a["op"], 0) + 1
            for op in sent:
                self.assertGreaterEqual(intents.get(op, 0), sent[op], "intents of " + op)
            items = [a for a in lines if a["event"] == "item"]
            done = {(a["job"], a["item"]) for a in items if a["outcome"] == "done"}
            self.assertEqual(len(done), 2 * self.N)
            self.assertFalse([a for a in items if a["outcome"] == "failed"])
            # one chain through every killed run (a line a kill cut short is
            # cut off by the next run); every run that got as far as sending
            # said so, the last one of each job ended it
            self.assert_audit_verifies(state)
            # (a kill between the job's row and its job_start line leaves
            # the job to a job_resume, which carries the same members)
            runs = [a for a in lines if a["event"] in ("job_start", "job_resume")]
            self.assertEqual({a["job"] for a in runs}, set(ids))
            self.assertLessEqual(len([a for a in runs if a["event"] == "job_start"]), 2)
            self.assertEqual({a["job"] for a in lines if a["event"] == "job_end"}, set(ids))
            # no mutating call was refused: re-done steps after a crash are
            # idempotent (a repeated register is the only 409)
            mut = [l for l in sim.log_lines() if not READ_OPS.match(l["op"])]
            bad = [l for l in mut if l["fault"] == "none" and l["status"] >= 300 and not (
                l["op"] == "RegisterCertificateWithoutCA" and l["status"] == 409)]
            self.assertFalse(bad, "mutating calls that failed: %s" % bad[:5])
            # some kills must have hit a run in the middle of sending
            self.assertTrue([d for d in self.progress if 0 < d < self.N],
                            "no kill hit a run mid-way: items done after each kill %s"
                            % self.progress)
            print("  kill -9: %d runs killed; items done after each: %s"
                  % (total_killed, self.progress), file=sys.stderr)
        finally:
            sim.stop()

    def test_sigint_and_resume(self):
        """Ctrl-C: the calls in flight finish, the items left stay pending (not
        failed), exit 1; the same command then finishes the job."""
        gen, dev, fps, devices = make_items(self.tmp, self.N)
        sim = Sim(self.tmp)
        p = None
        try:
            sim.start()
            seed(sim.url)
            state = self.state_dir("st")
            extra = JOB + rates(1000) + ["--rate", "RegisterCertificateWithoutCA=160"]
            argv = [OPTS.bin, "provision", "--state", state, "--endpoint-url", sim.url,
                    *extra, gen]
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=base_env())
            wait_for(lambda: self.done_so_far(state) > 20, 30, "the job to start")
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
            # an interruption pauses the job (exit 2: it did not finish)
            self.assertEqual(p.returncode, 2, "after SIGINT: %s %s" % (out, err))
            self.assertIn("interrupted", err)
            self.assertIn("paused with", out)
            doc = status_json(state, 1)
            counts = doc["job"]["counts"]
            self.assertEqual(doc["job"]["status"], "paused")
            self.assertEqual(counts["failed"], 0, counts)
            self.assertGreater(counts["done"], 0, counts)
            self.assertLess(counts["done"], self.N, counts)
            r = provision(sim.url, state, gen, *extra)
            self.ok(r, "the same command after SIGINT")
            self.assertIn("resumed", r.out)
            self.assert_journal(state, 1, self.N, phase=1)
            self.assert_registry(sim.url, expected_state(fps, ["BasicTestPolicy"]),
                                 "after SIGINT and resume")
        finally:
            if p and p.poll() is None:
                p.kill()
                p.communicate()
            sim.stop()


# ---------------------------------------------------------------- journal full

class JournalFull(E2E):
    """Issue 12: a journal write that fails stops the job at once: exit 2, one
    line naming the file and the OS error, the items pending, nothing counted
    that the journal does not hold. The disk is "full" through RLIMIT_FSIZE
    on the provision process (SIGXFSZ ignored, so writes fail with EFBIG):
    1 MB, which its write-ahead log reaches a few dozen items into the job.
    The same command without the limit then finishes the job, each item done
    once."""
    N = 300
    LIMIT = 1 << 20

    def test_full_disk_stops_then_resume(self):
        gen, _, fps, _ = make_items(self.tmp, self.N)
        sim = Sim(self.tmp)
        try:
            sim.start()
            seed(sim.url)
            state = self.state_dir("st")
            extra = JOB + rates(1000) + ["--rate", "RegisterCertificateWithoutCA=150"]
            argv = [OPTS.bin, "provision", "--state", state, "--endpoint-url", sim.url,
                    *extra, gen]

            def full_disk():  # in the child, before exec
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE,
                                   (self.LIMIT, resource.RLIM_INFINITY))

            t0 = time.monotonic()
            p = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                               env=base_env(), preexec_fn=full_disk)
            r = Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
            self.assertEqual(r.rc, 2, "a journal that cannot be written:\n%s" % r)
            errors = [l for l in r.err.splitlines() if l.startswith("thingpress: ")]
            self.assertEqual(len(errors), 1, r.err)
            self.assertRegex(
                errors[0],
                r"^thingpress: %s: journal %s/(journal\.db|audit\.jsonl): .*File too large.*; "
                r"the job stopped with its items pending: free space and run the same "
                r"command again$" % (re.escape(gen), re.escape(state)))
            self.assertNotIn(" done: ", r.out, "a summary as if the job had ended")
            first = status_json(state, 1)
            counts = first["job"]["counts"]
            self.assertEqual(first["job"]["status"], "running", "resumable: %s" % counts)
            self.assertEqual(counts["failed"], 0, counts)
            self.assertGreater(counts["done"], 0, "the limit was reached before any item")
            self.assertLess(counts["done"], self.N, "the job went on: %s" % counts)
            registered = sum(1 for i in first["items"] if i["step"] >= 1)

            r2 = provision(sim.url, state, gen, *extra)
            self.ok(r2, "the same command without the limit")
            self.assertIn("resumed", r2.out)
            # each item done once: the earlier ones are counted as earlier, and
            # this run registered and attached only what was not recorded
            m = re.search(r"(\d+) done \((\d+) earlier\).*registered (\d+) policies (\d+)",
                          r2.out, re.S)
            self.assertTrue(m, r2.out)
            self.assertEqual([int(g) for g in m.groups()],
                             [self.N, counts["done"], self.N - registered,
                              self.N - counts["done"]], r2.out)
            doc = self.assert_journal(state, 1, self.N, phase=1, steps=2)
            # attempts include the first run's calls: one per step at least
            short = [i for i in doc["items"] if i["attempts"] < 2]
            self.assertFalse(short, "attempts that miss a run's calls: %s" % short[:3])
            self.assert_registry(sim.url, expected_state(fps, ["BasicTestPolicy"]),
                                 "after the full disk and the resume")
            mut = [l for l in sim.log_lines() if not READ_OPS.match(l["op"])]
            bad = [l for l in mut if l["status"] >= 300 and not (
                l["op"] == "RegisterCertificateWithoutCA" and l["status"] == 409)]
            self.assertFalse(bad, "mutating calls refused: %s" % bad[:5])
            # the audit log: whole JSON lines only (what the limit let through
            # of a line was cut off again), one chain through the failure
            with open(os.path.join(state, "audit.jsonl"), "rb") as f:
                raw = [l for l in f.read().split(b"\n") if l]
            cut = []
            for l in raw:
                try:
                    json.loads(l)
                except ValueError:
                    cut.append(l)
            self.assertEqual(cut, [], "audit lines cut short")
            self.assert_audit_verifies(state)
            print("  journal full after %d of %d items: %s" % (
                counts["done"], self.N, errors[0][-160:]), file=sys.stderr)
        finally:
            sim.stop()


# ---------------------------------------------------------------- audit log

class AuditChain(E2E):
    """Issue 13: two jobs of different files run at once in one state
    directory (two processes appending to one audit log) leave one intact
    chain; `thingpress audit verify` then exits 1 naming the first bad line
    of each kind of tampering, and 2 when the log cannot be read."""
    N = 300

    def verify(self, state):
        p = subprocess.run([OPTS.bin, "audit", "verify", "--state", state],
                           capture_output=True, text=True, timeout=120, env=base_env())
        return p

    def assert_broken(self, state, name, edit, where):
        """A copy of state whose audit.jsonl lines went through edit: exit 1,
        one line naming where (FILE:LINE)."""
        copy = os.path.join(self.tmp, "tampered-" + name)
        shutil.copytree(state, copy)
        path = os.path.join(copy, "audit.jsonl")
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")[:-1]
        lines = edit(lines)
        with open(path, "wb") as f:
            f.write(b"".join(l + b"\n" for l in lines))
        p = self.verify(copy)
        self.assertEqual(p.returncode, 1, "%s: %s %s" % (name, p.stdout, p.stderr))
        self.assertEqual(p.stdout, "")
        self.assertRegex(p.stderr, r"^thingpress: audit log broken at %s:%d: [^\n]+\n$"
                         % (re.escape(path), where), name)

    def test_two_jobs_at_once_then_tampering(self):
        gen, _, _, _ = make_items(self.tmp, 2 * self.N)
        with open(gen) as f:
            all_lines = f.readlines()
        first = os.path.join(self.tmp, "first.txt")
        second = os.path.join(self.tmp, "second.txt")
        with open(first, "w") as f:
            f.writelines(all_lines[:self.N])
        with open(second, "w") as f:
            f.writelines(all_lines[self.N:])
        sim = Sim(self.tmp)
        try:
            sim.start()
            seed(sim.url)
            log0 = sim.log_size()
            state = self.state_dir("st")
            extra = JOB + rates(1000) + ["--rate", "RegisterCertificateWithoutCA=300"]
            procs = [subprocess.Popen(
                [OPTS.bin, "provision", "--state", state, "--endpoint-url", sim.url,
                 *extra, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=base_env()) for path in (first, second)]
            outs = [p.communicate(timeout=300) for p in procs]
            for p, (out, err) in zip(procs, outs):
                self.assertEqual(p.returncode, 0, "%s %s" % (out, err))
            self.assert_audited(state, sim.log_lines(log0))
        finally:
            sim.stop()
        lines = self.audit_lines(state)
        jobs = [a["job"] for a in lines if a["event"] in ("intent", "call")]
        # the two runs overlapped: their lines interleave in the one log
        switches = sum(1 for a, b in zip(jobs, jobs[1:]) if a != b)
        self.assertGreater(switches, 2, "the two jobs did not run at once")
        p = self.verify(state)
        self.assertEqual(p.returncode, 0, p.stderr)
        n = len(lines)
        self.assertIn("audit log intact: %d lines in 1 file; the last is audit.jsonl:%d "
                      % (n, n), p.stdout)
        self.assertIn("the journal's chain head, audit.jsonl:%d, is in the log" % n,
                      p.stdout)

        def changed(ls):  # a byte in line 10 (still JSON): line 11 no longer chains
            ls[9] = ls[9].replace(b'"job":', b'"job": ', 1)
            return ls
        self.assert_broken(state, "byte", changed, 11)
        self.assert_broken(state, "deleted", lambda ls: ls[:19] + ls[20:], 20)
        self.assert_broken(state, "inserted", lambda ls: ls[:30] + [ls[5]] + ls[30:], 31)
        self.assert_broken(state, "swapped",
                           lambda ls: ls[:39] + [ls[40], ls[39]] + ls[41:], 40)
        self.assert_broken(state, "truncated", lambda ls: ls[:n - 5], n - 4)

        # unreadable: 2
        copy = os.path.join(self.tmp, "unreadable")
        shutil.copytree(state, copy)
        os.unlink(os.path.join(copy, "audit.jsonl"))
        os.mkdir(os.path.join(copy, "audit.jsonl"))
        p = self.verify(copy)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("audit log unreadable: %s/audit.jsonl: not a regular file"
                      % copy, p.stderr)
        p = self.verify(os.path.join(self.tmp, "no-such-state"))
        self.assertEqual(p.returncode, 2, p.stderr)
        p = subprocess.run([OPTS.bin, "audit", "--state", state], capture_output=True,
                           text=True, timeout=60, env=base_env())
        self.assertEqual(p.returncode, 2, "no subcommand: %s" % p.stderr)


# ---------------------------------------------------------------- paths

class Paths(E2E):
    """Issue 12 item 9: the journal records the input's absolute path; a job
    resumes from any directory, and a moved file (same bytes, same options)
    is the same job, which then records its new place."""
    N = 400

    def interrupt(self, argv, cwd, state, above):
        """Runs argv in cwd, Ctrl-C once more than `above` items are done."""
        p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=base_env())
        try:
            wait_for(lambda: self.done_so_far(state) > above or p.poll() is not None,
                     60, "more than %d items done" % above)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        return Run(p.returncode, out, err, 0)

    def done_so_far(self, state):
        if not os.path.exists(os.path.join(state, "journal.db")):
            return -1
        p = subprocess.run([OPTS.bin, "status", "--state", state, "--output", "json"],
                           capture_output=True, text=True, timeout=60, env=base_env())
        jobs = json.loads(p.stdout)["jobs"] if p.returncode == 0 else []
        return jobs[0]["counts"]["done"] if jobs else -1

    def done_items(self, state):
        return {i["index"] for i in status_json(state, 1)["items"]
                if i["status"] == "done"}

    def test_relative_path_resumed_elsewhere_then_moved(self):
        gen, _, fps, _ = make_items(self.tmp, self.N)
        a, b, c = (os.path.join(self.tmp, "paths-" + x) for x in "abc")
        for d in (a, b, c):
            os.makedirs(d)
        shutil.copy(gen, os.path.join(a, "certs.txt"))
        sim = Sim(self.tmp)
        try:
            sim.start()
            seed(sim.url)
            state = self.state_dir("st")
            extra = JOB + rates(1000) + ["--rate", "RegisterCertificateWithoutCA=100"]

            def argv(path):
                return [OPTS.bin, "provision", "--state", state, "--endpoint-url",
                        sim.url, *extra, path]

            # 1. started from a with a relative path, stopped by Ctrl-C
            r1 = self.interrupt(argv("certs.txt"), a, state, 20)
            self.assertEqual(r1.rc, 2, "after SIGINT:\n%s" % r1)
            where = os.path.realpath(os.path.join(a, "certs.txt"))
            doc = status_json(state, 1)
            self.assertEqual(doc["job"]["file"], where, "the path the journal records")
            self.assertEqual(doc["job"]["status"], "paused")
            done1 = doc["job"]["counts"]["done"]
            self.assertLess(done1, self.N)
            redo_checks = [(len(self.audit_lines(state)), self.done_items(state), 2)]
            # 2. resumed from b, through another relative path, stopped again
            r2 = self.interrupt(argv("../paths-a/certs.txt"), b, state, done1 + 20)
            self.assertIn("job 1 (Phase 1, resumed)", r2.out, str(r2))
            self.assertIn("(%d earlier)" % done1, r2.out, str(r2))
            doc = status_json(state, 1)
            self.assertEqual(doc["job"]["file"], where)
            redo_checks.append((len(self.audit_lines(state)), self.done_items(state), 3))
            # 3. the file moved (and renamed): the same bytes, the same job
            moved = os.path.join(c, "moved.txt")
            os.rename(os.path.join(a, "certs.txt"), moved)
            r3 = provision(sim.url, state, moved, *extra)
            self.ok(r3, "the moved file")
            self.assertIn("job 1 (Phase 1, resumed)", r3.out, str(r3))
            self.assert_journal(state, 1, self.N, phase=1)
            doc = status_json(state)
            self.assertEqual([j["job"] for j in doc["jobs"]], [1], "one job only")
            self.assertEqual(doc["jobs"][0]["file"], os.path.realpath(moved))
            st = subprocess.run([OPTS.bin, "status", "--state", state, "1"],
                                capture_output=True, text=True, timeout=60, env=base_env())
            self.assertIn("file      %s\n" % os.path.realpath(moved), st.stdout)
            # no item redone: an item done before a run has no call in it
            for before, done, run in redo_checks:
                again = sorted({a["item"] for a in self.audit_lines(state)[before:]
                                if "intent" in a and a["item"] in done})
                self.assertEqual(again, [], "items done before run %d, sent again" % run)
            self.assert_registry(sim.url, expected_state(fps, ["BasicTestPolicy"]),
                                 "after three runs from three places")
            # the job's copies of its input are gone
            self.assertEqual(os.listdir(os.path.join(state, "inputs")), [])
        finally:
            sim.stop()

    def test_local_endpoint_relative_state_from_elsewhere(self):
        """The embedded endpoint's registry is named by its database, which a
        relative --state names differently from each directory: it must be
        the same registry, so the same job."""
        a, b = (os.path.join(self.tmp, "local-" + x) for x in "ab")
        for d in (a, b):
            os.makedirs(d)
        shutil.copy(os.path.join(OPTS.testdata, "generated", "certificates_test.txt"),
                    os.path.join(a, "certs.txt"))

        def run(cwd, state, path):
            p = subprocess.run([OPTS.bin, "provision", "--local", "--state", state,
                                *rates(1000), path], cwd=cwd, capture_output=True,
                               text=True, timeout=120, env=base_env())
            return Run(p.returncode, p.stdout, p.stderr, 0)

        r1 = run(a, "st", "certs.txt")
        self.ok(r1, "from a")
        r2 = run(b, "../local-a/st", "../local-a/certs.txt")
        self.ok(r2, "from b")
        self.assertIn("job 1 (Phase 1, resumed)", r2.out, str(r2))
        self.assertIn("(100 earlier)", r2.out, str(r2))


# ---------------------------------------------------------------- 4, 5. nothing sent

class NothingSent(E2E):
    """A rejected file, a failed pre-flight and a dry run send no mutating call;
    skipped and failed items are reported."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = Sim(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super().tearDownClass()

    def setUp(self):
        self.sim.reset()
        seed(self.sim.url)
        td = OPTS.testdata
        self.vendor = os.path.join(td, "espressif", "manifest-espressif.csv")
        self.devinfo = os.path.join(td, "mes", "device-infos-espressif-phase2.json")
        self.devices = load_devices(self.devinfo)
        self.fps = [d["certFingerprint"].lower() for d in self.devices]
        self.state = self.state_dir("st")

    def sent(self, offset):
        return [l["op"] for l in self.sim.log_lines(offset)]

    def assert_reads_only(self, offset, what):
        ops = self.sent(offset)
        self.assertFalse([o for o in ops if not READ_OPS.match(o)],
                         "%s sent mutating calls: %s" % (what, ops))
        return ops

    def phase1(self):
        r = provision(self.sim.url, self.state, self.vendor, *JOB, *rates(1000))
        self.ok(r, "Phase 1")

    def devinfo_doc(self):
        with open(self.devinfo) as f:
            return json.load(f)

    def bad_devinfo(self, bad):
        doc = self.devinfo_doc()
        doc["devices"][bad]["deviceId"] = "bad name!"
        path = os.path.join(self.tmp, "device-infos-invalid.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def test_rejected_file(self):
        self.phase1()
        path = self.bad_devinfo(3)
        before = self.sim.log_size()
        r = provision(self.sim.url, self.state, path, *JOB, *rates(1000))
        self.assertEqual(r.rc, 1, "a file with an invalid item:\n%s" % r)
        self.assertIn("--skip-invalid", r.err)
        self.assertEqual(self.sent(before), [], "a rejected file sent requests")
        # whole files rejected: exit 2, nothing sent either
        for name in ("not-json.json", "missing-devices.json"):
            bad = os.path.join(OPTS.testdata, "mes", "invalid", name)
            r = provision(self.sim.url, self.state, bad, *JOB, *rates(1000))
            self.assertEqual(r.rc, 2, "%s:\n%s" % (name, r))
            self.assertIn(name, r.err)
            self.assertEqual(self.sent(before), [], "%s: requests were sent" % name)
        want = expected_state(self.fps, ["BasicTestPolicy"])
        self.assert_registry(self.sim.url, want, "after the rejected file")

    def test_preflight_unknown_policy(self):
        before = self.sim.log_size()
        r = provision(self.sim.url, self.state, self.vendor, "--policies",
                      "BasicTestPolicy,NoSuchPolicy", "--thing-groups", "BasicTestGroup",
                      "--thing-type", "BasicTestType", *rates(1000))
        self.assertEqual(r.rc, 2, "pre-flight with an unknown policy:\n%s" % r)
        self.assertIn("NoSuchPolicy", r.err)
        ops = self.assert_reads_only(before, "a failed pre-flight")
        self.assertIn("GetPolicy", ops)
        self.assert_registry(self.sim.url, expected_state([], []), "after the pre-flight")

    def test_preflight_unknown_group_and_type_phase2(self):
        self.phase1()
        for opts, name in ((["--thing-groups", "NoSuchGroup"], "NoSuchGroup"),
                           (["--thing-type", "NoSuchType"], "NoSuchType")):
            job = JOB[:]
            k = job.index(opts[0])
            job[k + 1] = opts[1]
            before = self.sim.log_size()
            r = provision(self.sim.url, self.state, self.devinfo, *job, *rates(1000))
            self.assertEqual(r.rc, 2, "pre-flight with %s:\n%s" % (name, r))
            self.assertIn(name, r.err)
            self.assert_reads_only(before, "a failed pre-flight (%s)" % name)
        self.assert_registry(self.sim.url, expected_state(self.fps, ["BasicTestPolicy"]),
                             "after the failed pre-flights")

    def test_skip_invalid(self):
        self.phase1()
        bad = 3
        path = self.bad_devinfo(bad)
        r = provision(self.sim.url, self.state, path, "--skip-invalid", *JOB, *rates(1000))
        # DESIGN.md §4: exit 1 when some items are invalid; the operator chose
        # to skip them, so 0 is also defensible: both are accepted here.
        self.assertIn(r.rc, (0, 1), str(r))
        self.assertRegex(r.out, r"6 done, 0 failed, 1 skipped")
        m = re.search(r"report: (\S+)", r.out)
        self.assertTrue(m, "no report path in the summary:\n%s" % r)
        with open(m.group(1), newline="") as f:
            rows = [x for x in csv.DictReader(f) if x["status"] != "done"]
        self.assertEqual([(x["index"], x["thing_name"], x["status"]) for x in rows],
                         [(str(bad), "bad name!", "skipped")], "report rows: %s" % rows)
        self.assertTrue(rows[0]["error"], "the report gives no reason")
        doc = status_json(self.state, job_id_of(r))
        self.assertEqual(doc["job"]["counts"], {"total": 7, "done": 6, "failed": 0,
                                                "skipped": 1, "pending": 0})
        want = expected_state(self.fps, ["BasicTestPolicy"],
                              [d for i, d in enumerate(self.devices) if i != bad],
                              ["BasicTestGroup"], "BasicTestType")
        self.assert_registry(self.sim.url, want, "after --skip-invalid")

    def test_item_errors(self):
        """Phase 2 item errors are reported, never forced: a REVOKED certificate
        is not re-activated, an unknown fingerprint fails, an existing thing
        with other attributes is not overwritten; the other items are done."""
        self.phase1()
        c = iot(self.sim.url)
        revoked, conflict, unknown = 1, 2, 4
        c.update_certificate(certificateId=self.fps[revoked], newStatus="REVOKED")
        other = {"DSN": "someone-else"}
        c.create_thing(thingName=self.devices[conflict]["deviceId"],
                       thingTypeName="BasicTestType",
                       attributePayload={"attributes": other})
        doc = self.devinfo_doc()
        doc["devices"][unknown]["certFingerprint"] = "ab" * 32
        path = os.path.join(self.tmp, "device-infos-errors.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = provision(self.sim.url, self.state, path, *JOB, *rates(1000))
        self.assertEqual(r.rc, 1, str(r))
        self.assertRegex(r.out, r"4 done, 3 failed, 0 skipped")
        m = re.search(r"report: (\S+)", r.out)
        self.assertTrue(m, "no report path in the summary:\n%s" % r)
        with open(m.group(1), newline="") as f:
            rows = {int(x["index"]): x for x in csv.DictReader(f) if x["status"] != "done"}
        self.assertEqual(sorted(rows), [revoked, conflict, unknown])
        self.assertIn("never re-activated", rows[revoked]["error"])
        self.assertIn("not overwritten", rows[conflict]["error"])
        self.assertIn("not registered", rows[unknown]["error"])
        ok = [d for i, d in enumerate(self.devices) if i not in (revoked, conflict, unknown)]
        want = expected_state(self.fps, ["BasicTestPolicy"], ok, ["BasicTestGroup"],
                              "BasicTestType")
        want["certs"][self.fps[revoked]] = "REVOKED"
        # activation comes last (DESIGN §6): the conflicting device's
        # certificate stays INACTIVE; the revoked one's thing is made and
        # attached before its activation is refused; the unknown one's thing
        # is made before AttachThingPrincipal finds no certificate
        want["certs"][self.fps[conflict]] = "INACTIVE"
        rd = self.devices[revoked]
        want["things"][rd["deviceId"]] = dict(
            expected_state([self.fps[revoked]], ["BasicTestPolicy"], [rd],
                           ["BasicTestGroup"], "BasicTestType")["things"][rd["deviceId"]])
        ud = self.devices[unknown]
        want["things"][ud["deviceId"]] = dict(
            expected_state([], [], [ud], [], "BasicTestType")["things"][ud["deviceId"]],
            principals=[], groups=[])
        want["things"][self.devices[conflict]["deviceId"]] = {
            "type": "BasicTestType", "attrs": other, "principals": [], "groups": []}
        self.assert_registry(self.sim.url, want, "after the item errors")

    def test_dry_run(self):
        for path in (self.vendor, self.devinfo):
            before = self.sim.log_size()
            r = provision(self.sim.url, self.state, path, "--dry-run", *JOB, *rates(1000))
            self.ok(r, "--dry-run of %s" % os.path.basename(path))
            self.assertIn("nothing was sent", r.out)
            self.assert_reads_only(before, "--dry-run")
            if path == self.vendor:
                self.assert_registry(self.sim.url, expected_state([], []), "after a dry run")
                self.phase1()  # so that Phase 2's pre-flight finds the certificates
        self.assert_registry(self.sim.url, expected_state(self.fps, ["BasicTestPolicy"]),
                             "after the Phase 2 dry run")


# ---------------------------------------------------------------- reports

REPORT_COLUMNS = ["index", "thing_name", "fingerprint", "status", "certificate_arn",
                  "thing_arn", "attempts", "error", "started", "finished"]


def iso_utc(s):
    """A report's time (ISO 8601 UTC, milliseconds or not) as seconds."""
    import datetime
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            t = datetime.datetime.strptime(s, fmt)
        except ValueError:
            continue
        return t.replace(tzinfo=datetime.timezone.utc).timestamp()
    raise AssertionError("not an ISO 8601 UTC time: %r" % s)


def os_user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


class Reports(E2E):
    """Issue 13: the report of every item at the end of every job (CSV and
    JSON, `status JOB --output csv|json`), its ARNs checked against the
    registry; the Phase 1 hand-off (`status JOB --output device-infos`)
    filled in and provisioned as Phase 2."""

    STATION = "line-3/station-7"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = Sim(cls.tmp)
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super().tearDownClass()

    def setUp(self):
        self.sim.reset()
        seed(self.sim.url)
        td = OPTS.testdata
        self.vendor = os.path.join(td, "espressif", "manifest-espressif.csv")
        self.devinfo = os.path.join(td, "mes", "device-infos-espressif-phase2.json")
        with open(os.path.join(td, "expected", "espressif-expected.tsv")) as f:
            rows = [l.split("\t") for l in f.read().splitlines()[1:]]
        self.names = [r[1] for r in rows]  # the vendor file's thing names (MAC)
        self.fps = [r[2] for r in rows]
        self.state = self.state_dir("st")
        os.environ.pop("THINGPRESS_STATION", None)

    def tearDown(self):
        os.environ.pop("THINGPRESS_STATION", None)

    def status(self, job, output):
        p = subprocess.run([OPTS.bin, "status", str(job), "--state", self.state,
                            "--output", output], capture_output=True, timeout=60,
                           env=base_env())
        return p.returncode, p.stdout, p.stderr.decode()

    def report(self, run, job):
        """The job's report files: (csv rows, json document), after checking
        that the summary names the CSV, that the CSV is RFC 4180 with the
        columns of DESIGN §7, and that `status --output csv|json` prints the
        same."""
        csv_path = os.path.join(self.state, "reports", "job-%d.csv" % job)
        json_path = os.path.join(self.state, "reports", "job-%d.json" % job)
        self.assertIn("report: %s\n" % csv_path, run.out, "the summary names the report")
        with open(csv_path, "rb") as f:
            raw = f.read()
        self.assertTrue(raw.startswith((",".join(REPORT_COLUMNS) + "\r\n").encode()),
                        raw[:200])
        self.assertTrue(raw.endswith(b"\r\n"))
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        with open(json_path) as f:
            doc = json.load(f)
        rc, out, err = self.status(job, "csv")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, raw, "status --output csv prints the report")
        rc, out, err = self.status(job, "json")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(json.loads(out), doc, "status --output json prints the report")
        # the two files hold the same items
        self.assertEqual(len(doc["items"]), len(rows))
        for row, it in zip(rows, doc["items"]):
            as_csv = {k: "" if it[k] is None else str(it[k]) for k in REPORT_COLUMNS}
            self.assertEqual(as_csv, row)
        return rows, doc

    def assert_times(self, rows, t0, t1):
        for r in rows:
            a, b = iso_utc(r["started"]), iso_utc(r["finished"])
            self.assertLessEqual(a, b, r)
            self.assertGreaterEqual(a, t0 - 1, r)
            self.assertLessEqual(b, t1 + 1, r)

    def assert_header(self, doc, job, path, phase, station, counts, t0, t1):
        h = doc["job"]
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual((h["job"], h["file"], h["file_sha256"], h["phase"]),
                         (job, os.path.realpath(path), sha, phase))
        self.assertEqual((h["endpoint"], h["account"], h["region"]),
                         (self.sim.url, ACCOUNT, REGION))
        self.assertEqual(h["options"]["policies"], ["BasicTestPolicy"])
        self.assertEqual(h["options"]["thing_groups"], ["BasicTestGroup"])
        self.assertEqual((h["user"], h["station"]), (os_user(), station))
        self.assertLessEqual(t0 - 1, iso_utc(h["start"]))
        self.assertLessEqual(iso_utc(h["start"]), iso_utc(h["end"]))
        self.assertLessEqual(iso_utc(h["end"]), t1 + 1)
        self.assertEqual(h["counts"], counts)

    def test_every_item_both_phases(self):
        """Phase 1 (every item done) then Phase 2 with a skipped item and a
        failed one: every item is in the report, the ARNs are the registry's."""
        c = iot(self.sim.url)
        os.environ["THINGPRESS_STATION"] = self.STATION
        t0 = time.time()
        r1 = provision(self.sim.url, self.state, self.vendor, *JOB, *rates(1000))
        t1 = time.time()
        self.ok(r1, "Phase 1")
        job1 = job_id_of(r1)
        rows, doc = self.report(r1, job1)
        self.assertEqual([r["index"] for r in rows], [str(i) for i in range(7)])
        self.assertEqual([r["thing_name"] for r in rows], self.names)
        self.assertEqual([r["fingerprint"] for r in rows], self.fps)
        self.assertEqual({r["status"] for r in rows}, {"done"})
        for r in rows:
            arn = c.describe_certificate(certificateId=r["fingerprint"])[
                "certificateDescription"]["certificateArn"]
            self.assertEqual(r["certificate_arn"], arn, "Register's answer")
        # deferred things: none exists yet
        self.assertEqual({r["thing_arn"] for r in rows}, {""})
        self.assertEqual({r["attempts"] for r in rows}, {"2"}, "register, one policy")
        self.assertEqual({r["error"] for r in rows}, {""})
        self.assert_times(rows, t0, t1)
        self.assert_header(doc, job1, self.vendor, 1, self.STATION,
                           {"total": 7, "done": 7, "failed": 0, "skipped": 0,
                            "pending": 0}, t0, t1)
        self.assertEqual(doc["job"]["status"], "done")

        # Phase 2: device 3 invalid (skipped), device 4 an unknown certificate
        # (failed after its thing was made); the station now the host name
        os.environ.pop("THINGPRESS_STATION")
        with open(self.devinfo) as f:
            dev = json.load(f)
        dev["devices"][3]["deviceId"] = "bad name!"
        dev["devices"][4]["certFingerprint"] = "ab" * 32
        path = os.path.join(self.tmp, "device-infos-report.json")
        with open(path, "w") as f:
            json.dump(dev, f)
        t0 = time.time()
        r2 = provision(self.sim.url, self.state, path, "--skip-invalid", *JOB,
                       *rates(1000))
        t1 = time.time()
        self.assertEqual(r2.rc, 1, str(r2))
        job2 = job_id_of(r2)
        rows, doc = self.report(r2, job2)
        devices = dev["devices"]
        self.assertEqual([r["index"] for r in rows], [str(i) for i in range(7)],
                         "every item, not only the failed ones")
        self.assertEqual([r["thing_name"] for r in rows], [d["deviceId"] for d in devices])
        self.assertEqual([r["status"] for r in rows],
                         ["done"] * 3 + ["skipped", "failed"] + ["done"] * 2)
        for i, r in enumerate(rows):
            if i == 3:
                continue
            fp = devices[i]["certFingerprint"].lower()
            self.assertEqual(r["fingerprint"], fp)
            thing = c.describe_thing(thingName=devices[i]["deviceId"])
            self.assertEqual(r["thing_arn"], thing["thingArn"], "CreateThing's thing")
            if i == 4:
                self.assertEqual(r["certificate_arn"], cert_arn(fp), "the ARN it used")
                self.assertIn("not registered", r["error"])
                continue
            arn = c.describe_certificate(certificateId=fp)["certificateDescription"][
                "certificateArn"]
            self.assertEqual(r["certificate_arn"], arn, "the ARN the job used")
            self.assertEqual((r["attempts"], r["error"]), ("5", ""))
        self.assert_times([r for i, r in enumerate(rows) if i != 3], t0, t1)
        skipped = rows[3]
        self.assertIn("deviceId", skipped["error"])
        self.assertEqual([skipped[k] for k in ("certificate_arn", "thing_arn", "attempts",
                                               "started", "finished")],
                         ["", "", "0", "", ""])
        self.assert_header(doc, job2, path, 2, socket.gethostname(),
                           {"total": 7, "done": 5, "failed": 1, "skipped": 1,
                            "pending": 0}, t0, t1)
        self.assertEqual((doc["job"]["status"], doc["job"]["batch_id"]),
                         ("failed", "espressif-phase2-fixture"))

    def test_device_infos_round_trip(self):
        """Phase 1 -> `status --output device-infos` -> attributes filled in
        -> Phase 2 with that file -> the registry as expected."""
        r1 = provision(self.sim.url, self.state, self.vendor, *JOB, *rates(1000))
        self.ok(r1, "Phase 1")
        job1 = job_id_of(r1)
        rc, out, err = self.status(job1, "device-infos")
        self.assertEqual((rc, err), (0, ""))
        skel = json.loads(out)
        self.assertEqual(sorted(skel), ["batch_id", "devices"])
        # a Phase 1 file has no batch id: the skeleton names the file's
        self.assertEqual(skel["batch_id"], "manifest-espressif.csv")
        self.assertEqual(skel["devices"],
                         [{"certFingerprint": fp, "deviceId": name}
                          for fp, name in zip(self.fps, self.names)])
        path = os.path.join(self.tmp, "skeleton.json")
        with open(path, "wb") as f:
            f.write(out)
        v = subprocess.run([OPTS.bin, "validate", path], capture_output=True, text=True,
                           timeout=60, env=base_env())
        self.assertEqual(v.returncode, 0, "the skeleton validates as a Phase 2 file:\n%s%s"
                         % (v.stdout, v.stderr))

        # the MES fills in the attributes (and a type for some) and sends it back
        for i, d in enumerate(skel["devices"]):
            d["attributes"] = {"DSN": "DSN-%04d" % i, "Line": "L3"}
            if i % 2:
                d["deviceType"] = "SecondType"
        seed(self.sim.url, policies=(), groups=(), types=("SecondType",))
        filled = os.path.join(self.tmp, "device-infos-filled.json")
        with open(filled, "w") as f:
            json.dump(skel, f)
        r2 = provision(self.sim.url, self.state, filled, *JOB, *rates(1000))
        self.ok(r2, "Phase 2 with the filled skeleton")
        want = expected_state(self.fps, ["BasicTestPolicy"], skel["devices"],
                              ["BasicTestGroup"], "BasicTestType")
        self.assert_registry(self.sim.url, want, "after the round trip")
        self.assertEqual(sorted(want["things"]), sorted(self.names))

        # a Phase 2 job has nothing to hand off: one line, exit 2
        rc, out, err = self.status(job_id_of(r2), "device-infos")
        self.assertEqual((rc, out), (2, b""))
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("Phase 2", err)


# ---------------------------------------------------------------- JUnit XML

class JUnitResult(unittest.TextTestResult):
    """Also records every test for a JUnit XML file (Bazel's XML_OUTPUT_FILE)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.cases = []
        self._t0 = {}

    def startTest(self, test):
        self._t0[test.id()] = time.monotonic()
        super().startTest(test)

    def _record(self, test, kind, text=""):
        secs = time.monotonic() - self._t0.get(test.id(), time.monotonic())
        self.cases.append((test, kind, text, secs))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addFailure(self, test, e):
        super().addFailure(test, e)
        self._record(test, "failure", self._exc_info_to_string(e, test))

    def addError(self, test, e):
        super().addError(test, e)
        self._record(test, "error", self._exc_info_to_string(e, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def write_xml(self, path):
        root = ET.Element("testsuites")
        suites = {}
        for test, kind, text, secs in self.cases:
            cls = test.id().rsplit(".", 1)[0] if "." in test.id() else "e2e"
            s = suites.get(cls)
            if s is None:
                s = suites[cls] = ET.SubElement(root, "testsuite", name=cls)
            name = getattr(test, "_testMethodName", test.id())
            tc = ET.SubElement(s, "testcase", name=name, classname=cls, time="%.3f" % secs)
            if kind in ("failure", "error"):
                el = ET.SubElement(tc, kind, message=text.strip().splitlines()[-1][:200])
                el.text = text
            elif kind == "skipped":
                ET.SubElement(tc, "skipped", message=text)
        for s in suites.values():
            cases = list(s)
            s.set("tests", str(len(cases)))
            s.set("failures", str(sum(c.find("failure") is not None for c in cases)))
            s.set("errors", str(sum(c.find("error") is not None for c in cases)))
            s.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def run_main(module, name):
    """The drivers' main (this one's, watch_e2e's, security_e2e's): options
    --bin/--testdata/--bench into OPTS, SIGTERM stops the run (unittest lets
    KeyboardInterrupt through, so finally blocks and atexit stop the servers),
    the tests of `module`, JUnit XML to $XML_OUTPUT_FILE. Returns the exit
    status."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--bin", default=os.environ.get("TP", "bazel-bin/cli/thingpress"))
    ap.add_argument("--testdata", default=os.environ.get("TD", "testdata"))
    ap.add_argument("--bench", default=os.environ.get("BENCH", "bench"))
    a, rest = ap.parse_known_args()
    OPTS.bin = os.path.abspath(a.bin)
    OPTS.testdata = os.path.abspath(a.testdata)
    OPTS.bench = os.path.abspath(a.bench)

    def on_term(*_):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, on_term)
    if not os.access(OPTS.bin, os.X_OK):
        print("%s: %s is not an executable (--bin)" % (name, OPTS.bin), file=sys.stderr)
        return 2
    runner = unittest.TextTestRunner(resultclass=JUnitResult, verbosity=2, stream=sys.stdout)
    prog = unittest.main(module=module, argv=[sys.argv[0]] + rest, testRunner=runner,
                         exit=False)
    xml_path = os.environ.get("XML_OUTPUT_FILE")
    if xml_path:
        prog.result.write_xml(xml_path)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(run_main(__name__, "provision_e2e"))
