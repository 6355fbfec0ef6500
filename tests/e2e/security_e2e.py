#!/usr/bin/env python3
"""Security tests of thingpress (issue 6, "Security"), end to end with the
real binary:

  1. No output ever carries the secret access key or the session token: the
     stdout and stderr of validate, provision (Phase 1, Phase 2 with a skipped
     item, --dry-run, a refused signature), status in every form, audit
     verify, with the credentials from the environment, from a
     ~/.aws/credentials profile and from a credential_process (one that
     works, one that fails and prints the secret on its stderr, one that
     prints malformed JSON around it); the console's screens (tmux); and
     every byte of every file left behind: the journal (with its -wal), audit
     log, the reports of every job (CSV and JSON: every job that ran has
     both), the sim's request log. The scan looks for the secrets as they
     are, base64- and URL-encoded, and a self-check proves it finds a planted
     copy, in the state directory and in reports/.
  2. https with a self-signed certificate is refused unless its CA is given
     (AWS_CA_BUNDLE or --ca-bundle); nothing reaches the server when refused.
  3. The sim refuses a wrong signature, an unknown access key, and a request
     signed 20 minutes ago (403 with AWS's error codes), and accepts the same
     request signed now.

Shares provision_e2e.py's helpers (servers, seeding, JUnit XML).

Usage: security_e2e.py [--bin PATH] [--testdata DIR] [--bench DIR] [unittest args]
"""
import base64
import datetime
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision_e2e as pe  # noqa: E402

# Distinctive credentials, so that any trace of them is found. The sim checks
# signatures against this pair.
pe.AKID = "AKIDSECURITYE2ETEST0"
pe.SECRET = "Sec/Ret+KeyForTheSecurityTest0123456789zZ"
TOKEN = "IQoJb3JpZ2luX2VjEJ//////////SessionTokenOfTheSecurityTest+/="
WRONG = "WrongSecretKey/+ThatMustNotLeakAnywhere99"
NEEDLES = {}
for name, s in (("secret", pe.SECRET), ("token", TOKEN), ("wrong secret", WRONG)):
    NEEDLES[name] = s.encode()
    NEEDLES[name + " (base64)"] = base64.b64encode(s.encode())
    NEEDLES[name + " (url-encoded)"] = urllib.parse.quote(s, safe="").encode()

DEADLINE = 30


def env_with(**kw):
    env = pe.base_env()
    env["AWS_SESSION_TOKEN"] = TOKEN
    for k, v in kw.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class Captured:
    """Everything the commands printed, for the scan."""

    def __init__(self):
        self.parts = []  # (what, bytes)

    def add(self, what, data):
        if isinstance(data, str):
            data = data.encode()
        self.parts.append((what, data))


def run(cap, what, argv, env, timeout=120, input_=None):
    p = subprocess.run([pe.OPTS.bin] + argv, capture_output=True, env=env,
                       timeout=timeout, input=input_)
    cap.add(what + " stdout", p.stdout)
    cap.add(what + " stderr", p.stderr)
    return p


def find_needles(data):
    return [n for n, s in NEEDLES.items() if s in data]


def scan_tree(root, skip=()):
    """(path, needle) for each file under root (but not under skip) holding a
    needle."""
    hits = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
        for f in files:
            path = os.path.join(d, f)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                data = fh.read()
            hits += [(path, n) for n in find_needles(data)]
    return hits


class NoSecretInAnyOutput(pe.E2E):
    """Every way thingpress can print or write something, scanned at the end."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = pe.Sim(cls.tmp)
        cls.sim.start()
        pe.seed(cls.sim.url)
        cls.cap = Captured()
        cls.home = os.path.join(cls.tmp, "home")
        os.makedirs(os.path.join(cls.home, ".aws"))

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super().tearDownClass()

    def common(self, state):
        return ["--state", state, "--endpoint-url", self.sim.url] + pe.rates(1000)

    def test_1_commands(self):
        td = pe.OPTS.testdata
        cap = self.cap
        esp = os.path.join(td, "espressif", "manifest-espressif.csv")
        gen = os.path.join(td, "generated", "certificates_test.txt")
        p2 = os.path.join(td, "mes", "device-infos-espressif-one-invalid.json")
        env = env_with()
        for f in (esp, gen, p2):
            for out in ("text", "tsv", "json"):
                p = run(cap, "validate %s %s" % (os.path.basename(f), out),
                        ["validate", "--output", out, f], env)
                self.assertIn(p.returncode, (0, 1), p.stderr)
        state = os.path.join(self.tmp, "state-env")
        job = ["--policies", "BasicTestPolicy", "--thing-groups", "BasicTestGroup",
               "--thing-type", "BasicTestType"]
        p = run(cap, "provision --dry-run", ["provision", "--dry-run"] + self.common(state)
                + job + [esp], env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run(cap, "provision phase 1", ["provision"] + self.common(state) + job + [esp],
                env)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Phase 2 with one invalid device, skipped: a report is written
        p = run(cap, "provision phase 2", ["provision", "--skip-invalid"]
                + self.common(state) + job + [p2], env)
        # exit 1: an item was left out (the invalid one, skipped)
        self.assertEqual(p.returncode, 1, p.stderr + p.stdout)
        self.assertIn("6 done, 0 failed, 1 skipped", p.stdout.decode())
        self.assertIn("report:", p.stdout.decode())
        # both jobs (Phase 1 done, Phase 2 with a skipped item) left their
        # reports, each of every item
        reports = os.path.join(state, "reports")
        self.assertEqual(sorted(os.listdir(reports)),
                         ["job-1.csv", "job-1.json", "job-2.csv", "job-2.json"])
        for k in (1, 2):
            with open(os.path.join(reports, "job-%d.csv" % k), "rb") as f:
                self.assertEqual(len(f.read().split(b"\r\n")), 1 + 7 + 1, "job %d" % k)
        for argv in (["status"], ["status", "--output", "tsv"], ["status", "--output", "json"],
                     ["status", "2"], ["status", "2", "--output", "json"],
                     ["status", "2", "--output", "csv"], ["status", "1", "--output", "csv"],
                     ["status", "1", "--output", "device-infos"],
                     ["status", "2", "--failed", "--output", "tsv"]):
            p = run(cap, " ".join(argv), argv + ["--state", state], env)
            self.assertEqual(p.returncode, 0, p.stderr)
        # the audit log (scanned by test_9 with every file): it holds the
        # lines that carry the most, a job's options and endpoint, the
        # answers with their request ids, each line's user, host and station;
        # audit verify's output is scanned too
        p = run(cap, "audit verify", ["audit", "verify", "--state", state], env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(state, "audit.jsonl")) as f:
            audit = [json.loads(l) for l in f if l.strip()]
        events = {a["event"] for a in audit}
        for ev in ("job_start", "intent", "call", "item", "job_end"):
            self.assertIn(ev, events)
        self.assertTrue([a for a in audit if a["event"] == "call" and a["request_id"]])
        self.assertTrue([a for a in audit if a["event"] == "job_start" and a["options"]])

        # a wrong secret: refused by the sim with 403; the message names no key
        p = run(cap, "provision wrong secret", ["provision"] + self.common(
            os.path.join(self.tmp, "state-wrong")) + job + [gen],
            env_with(AWS_SECRET_ACCESS_KEY=WRONG))
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr.decode() + p.stdout.decode(), r"InvalidSignature|403|signature")

    def write_aws_files(self, config, credentials):
        with open(os.path.join(self.home, ".aws", "config"), "w") as f:
            f.write(config)
        with open(os.path.join(self.home, ".aws", "credentials"), "w") as f:
            f.write(credentials)

    def profile_env(self):
        return env_with(HOME=self.home, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                        AWS_SESSION_TOKEN=None, AWS_CONFIG_FILE=None,
                        AWS_SHARED_CREDENTIALS_FILE=None, AWS_DEFAULT_REGION=pe.REGION)

    def test_2_profiles_and_credential_process(self):
        cap = self.cap
        gen = os.path.join(pe.OPTS.testdata, "generated", "certificates_test.txt")
        # the helpers hold the secrets, like ~/.aws: not scanned
        good = os.path.join(self.home, "creds-good.sh")
        with open(good, "w") as f:
            f.write('#!/bin/sh\nprintf \'{"Version": 1, "AccessKeyId": "%s", '
                    '"SecretAccessKey": "%s", "SessionToken": "%s"}\'\n'
                    % (pe.AKID, pe.SECRET, TOKEN))
        bad = os.path.join(self.home, "creds-bad.sh")
        with open(bad, "w") as f:
            f.write("#!/bin/sh\necho 'cannot reach the vault; last key was %s token %s' >&2\n"
                    "exit 3\n" % (pe.SECRET, TOKEN))
        garbled = os.path.join(self.home, "creds-garbled.sh")
        with open(garbled, "w") as f:
            f.write("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"%s\", "
                    "\"SecretAccessKey\": \"%s\" SessionToken %s'\n"
                    % (pe.AKID, pe.SECRET, TOKEN))
        for s in (good, bad, garbled):
            os.chmod(s, 0o755)
        self.write_aws_files(
            "[profile proc]\ncredential_process = %s\nregion = %s\n"
            "[profile badproc]\ncredential_process = %s\nregion = %s\n"
            "[profile garbled]\ncredential_process = %s\nregion = %s\n"
            "[profile keys]\nregion = %s\n" % (good, pe.REGION, bad, pe.REGION, garbled,
                                              pe.REGION, pe.REGION),
            "[keys]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
            "aws_session_token = %s\n" % (pe.AKID, pe.SECRET, TOKEN))
        env = self.profile_env()
        for prof in ("keys", "proc"):
            state = os.path.join(self.tmp, "state-" + prof)
            p = run(cap, "provision --profile " + prof,
                    ["provision", "--profile", prof, "--policies", "BasicTestPolicy"]
                    + self.common(state) + [gen], env)
            self.assertEqual(p.returncode, 0, p.stderr)
        for prof in ("badproc", "garbled"):
            p = run(cap, "provision --profile " + prof,
                    ["provision", "--profile", prof, "--policies", "BasicTestPolicy"]
                    + self.common(os.path.join(self.tmp, "state-" + prof)) + [gen], env)
            self.assertNotEqual(p.returncode, 0, "%s: %s" % (prof, p.stdout))
            err = p.stderr.decode()
            self.assertIn("credential_process", err)
            if prof == "badproc":
                self.assertIn("[hidden]", err)  # its stderr, with the key-like runs hidden
            self.assertEqual(len(err.strip().splitlines()), 1,
                             "not one line:\n" + err)

    def test_3_console_screens(self):
        if not shutil.which("tmux"):
            self.skipTest("tmux not installed")
        sock_dir = tempfile.mkdtemp(prefix="tps.", dir="/tmp")
        sock = os.path.join(sock_dir, "s")
        state = os.path.join(self.tmp, "state-console")
        esp = os.path.join(pe.OPTS.testdata, "espressif", "manifest-espressif.csv")
        env = env_with(LANG="C.UTF-8", TERM="tmux-256color")
        cmd = " ".join("%s=%s" % (k, shlex_quote(v)) for k, v in env.items()
                       if re.match(r"^[A-Z_][A-Z0-9_]*$", k))
        cmd = "env -i %s %s console --state %s --endpoint-url %s --policies BasicTestPolicy " \
              "%s; echo CONSOLE-EXIT=$?; sleep 60" % (
                  cmd, shlex_quote(pe.OPTS.bin), shlex_quote(state), self.sim.url,
                  shlex_quote(esp))

        def t(*args, **kw):
            return subprocess.run(["tmux", "-S", sock] + list(args), capture_output=True,
                                  timeout=20, **kw)

        def screen():
            return t("capture-pane", "-p", "-t", "sec").stdout.decode()

        def wait(*texts):
            end = time.monotonic() + DEADLINE
            while True:
                s = screen()
                if all(x in s for x in texts):
                    self.cap.add("console screen", s)
                    return s
                if time.monotonic() > end:
                    self.fail("waited for %s; screen:\n%s" % (texts, s))
                time.sleep(0.1)

        try:
            r = t("-f", "/dev/null", "new-session", "-d", "-s", "sec", "-x", "100", "-y", "30",
                  cmd)
            self.assertEqual(r.returncode, 0, r.stderr)
            wait("Set up the job", "Sends to: " + self.sim.url, "credentials")
            t("send-keys", "-t", "sec", "F5")
            wait("7 items: 7 ok")
            t("send-keys", "-t", "sec", "F5")
            wait("100%", "7/7 items")
            t("send-keys", "-t", "sec", "Enter")
            wait("Job items")
            # the journal is open now: its -wal exists (SQLite removes it on
            # the last close, before test_9's scan), so read it live
            live = []
            for d, _, files in os.walk(state):
                for f in files:
                    with open(os.path.join(d, f), "rb") as fh:
                        self.cap.add("live " + f, fh.read())
                    live.append(f)
            self.assertTrue([f for f in live if f.endswith("-wal")],
                            "no -wal in %s while the console runs: %s" % (state, live))
            t("send-keys", "-t", "sec", "F2")
            wait("thingpress · Jobs")
            t("send-keys", "-t", "sec", "q")
            wait("CONSOLE-EXIT=0")
        finally:
            t("kill-server")
            shutil.rmtree(sock_dir, ignore_errors=True)

    def test_9_scan(self):
        """After the others (unittest runs methods in name order)."""
        hits = []
        for what, data in self.cap.parts:
            hits += [(what, n) for n in find_needles(data)]
        # state dirs, journals, audit, reports, sim log; not the credentials
        hits += scan_tree(self.tmp, skip=(self.home,))
        self.assertFalse(hits, "secrets found:\n" + "\n".join("%s: %s" % h for h in hits))
        # what was scanned: the journal, its audit log, a report, the sim log
        names = []
        for d, _, files in os.walk(self.tmp):
            names += files
        for want in ("journal.db", "audit.jsonl"):
            self.assertIn(want, names)
        self.assertTrue(any(n.endswith(".csv") for n in names), "no report scanned")
        self.assertTrue(any(n.endswith(".json") and n.startswith("job-") for n in names),
                        "no JSON report scanned")
        self.assertTrue(any(n.endswith(".jsonl") and n.startswith("sim-") for n in names))
        self.assertGreater(len(self.cap.parts), 40)
        # the scan finds what it looks for: a planted copy of each secret, in
        # the state directory and among the reports
        for where in ("", "reports"):
            for name, s in (("secret", pe.SECRET), ("token", TOKEN)):
                canary = os.path.join(self.tmp, "state-env", where, "canary")
                with open(canary, "wb") as f:
                    f.write(b"...\x00" + s.encode() + b"\x00...")
                found = [n for p, n in scan_tree(self.tmp, skip=(self.home,))
                         if p == canary]
                os.unlink(canary)
                self.assertIn(name, found)
        self.assertIn("token (base64)", find_needles(base64.b64encode(TOKEN.encode())))


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


# ---------------------------------------------------------------- TLS

class TlsForwarder:
    """https://127.0.0.1:PORT in front of the sim's http port, with a
    self-signed certificate."""

    def __init__(self, tmp, backend_port):
        self.cert = os.path.join(tmp, "self-signed.pem")
        key = os.path.join(tmp, "self-signed.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(self.cert, key)
        self.backend = backend_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes_failed = 0
        self.stopped = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            s = self.ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            c.close()
            return
        b = socket.create_connection(("127.0.0.1", self.backend))

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(b, s), daemon=True)
        t.start()
        pump(s, b)
        t.join(30)
        s.close()
        b.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


class TlsSelfSigned(pe.E2E):
    def test_refused_unless_its_ca_is_given(self):
        sim = pe.Sim(self.tmp)
        sim.start()
        try:
            pe.seed(sim.url)
            port = int(sim.url.rsplit(":", 1)[1])
            fw = TlsForwarder(self.tmp, port)
            url = "https://127.0.0.1:%d" % fw.port
            gen = os.path.join(pe.OPTS.testdata, "generated", "certificates_test.txt")
            argv = ["provision", "--endpoint-url", url, "--policies", "BasicTestPolicy"] \
                + pe.rates(1000)
            cap = Captured()
            before = sim.log_size()
            p = run(cap, "no CA", argv + ["--state", os.path.join(self.tmp, "s1"), gen],
                    env_with(AWS_CA_BUNDLE=None))
            self.assertNotEqual(p.returncode, 0)
            err = p.stderr.decode()
            self.assertRegex(err.lower(), r"certificate|ssl|tls")
            self.assertEqual(len(err.strip().splitlines()), 1, "not one line:\n" + err)
            self.assertEqual(sim.log_size(), before, "a request reached the server")
            self.assertGreater(fw.handshakes_failed, 0)

            p = run(cap, "AWS_CA_BUNDLE", argv + ["--state", os.path.join(self.tmp, "s2"), gen],
                    env_with(AWS_CA_BUNDLE=fw.cert))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("100 done", p.stdout.decode())
            p = run(cap, "--ca-bundle", argv + ["--ca-bundle", fw.cert, "--state",
                                                os.path.join(self.tmp, "s3"), gen],
                    env_with(AWS_CA_BUNDLE=None))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertFalse([h for w, d in cap.parts for h in find_needles(d)])
            fw.stop()
        finally:
            sim.stop()


class PlainHttpOnlyToLoopback(pe.E2E):
    """Plain http:// to a host that is not loopback is refused (keys and
    certificates would cross the network unencrypted) unless --allow-http:
    exit 2, one line naming the URL's host and the option, nothing sent.
    (Loopback http:// is what every other test here uses.)"""

    def test_refused_without_allow_http(self):
        gen = os.path.join(pe.OPTS.testdata, "generated", "certificates_test.txt")
        cap = Captured()
        for url in ("http://192.0.2.1:9", "http://iot.example.invalid/base"):
            argv = ["provision", "--endpoint-url", url, "--policies", "BasicTestPolicy",
                    "--state", os.path.join(self.tmp, "s"), gen]
            t0 = time.monotonic()
            p = run(cap, url, argv, env_with(), timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertLess(time.monotonic() - t0, 30, "it tried to connect")
            err = p.stderr.decode()
            self.assertEqual(len(err.strip().splitlines()), 1, "not one line:\n" + err)
            host = url[len("http://"):].split("/")[0]
            self.assertIn("'%s'" % host, err)
            self.assertIn("--allow-http", err)
        self.assertFalse([h for w, d in cap.parts for h in find_needles(d)])


# ---------------------------------------------------------------- SigV4

class SimRefusesBadSignatures(pe.E2E):
    def call(self, url, akid, secret, when=None):
        """DescribeThing signed by botocore (optionally at `when`): (status, code)."""
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        req = botocore.awsrequest.AWSRequest(method="GET", url=url + "/things/nothing-here")
        auth = botocore.auth.SigV4Auth(botocore.credentials.Credentials(akid, secret),
                                       "iot", pe.REGION)
        if when is None:
            auth.add_auth(req)
        else:
            real = datetime.datetime

            class Frozen(real):
                @classmethod
                def utcnow(cls):
                    return when

                @classmethod
                def now(cls, tz=None):
                    return when.replace(tzinfo=tz) if tz else when

            botocore.auth.datetime.datetime = Frozen
            try:
                auth.add_auth(req)
            finally:
                botocore.auth.datetime.datetime = real
        prepared = req.prepare()
        import urllib.request
        r = urllib.request.Request(prepared.url, headers=dict(prepared.headers), method="GET")
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return resp.status, resp.headers.get("x-amzn-ErrorType", "")
        except urllib.error.HTTPError as e:
            return e.code, (e.headers.get("x-amzn-ErrorType") or "").split(":")[0]

    def test_wrong_signature_unknown_key_stale_date(self):
        sim = pe.Sim(self.tmp)
        sim.start()
        try:
            u = sim.url
            # the control: a good signature reaches the registry (no such thing)
            self.assertEqual(self.call(u, pe.AKID, pe.SECRET),
                             (404, "ResourceNotFoundException"))
            self.assertEqual(self.call(u, pe.AKID, WRONG), (403, "InvalidSignatureException"))
            self.assertEqual(self.call(u, "AKIDNOBODYKNOWS00000", pe.SECRET),
                             (403, "UnrecognizedClientException"))
            stale = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
            self.assertEqual(self.call(u, pe.AKID, pe.SECRET, stale),
                             (403, "InvalidSignatureException"))
            future = datetime.datetime.utcnow() + datetime.timedelta(minutes=20)
            self.assertEqual(self.call(u, pe.AKID, pe.SECRET, future),
                             (403, "InvalidSignatureException"))
            recent = datetime.datetime.utcnow() - datetime.timedelta(minutes=2)
            self.assertEqual(self.call(u, pe.AKID, pe.SECRET, recent),
                             (404, "ResourceNotFoundException"))
            # the sim's log says why, and never carries the key
            lines = sim.log_lines()
            self.assertEqual(len(lines), 6)
            for l in lines:
                self.assertFalse(find_needles(repr(l).encode()))
        finally:
            sim.stop()


if __name__ == "__main__":
    sys.exit(pe.run_main(__name__, "security_e2e"))
