#!/usr/bin/env python3
"""End-to-end tests of `thingpress watch DIR` (issue 4, the hot folder).

Each case starts `thingpress sim` (quotas unlimited, a fresh registry seeded
with a policy, a group and a thing type), registers certificates with a
Phase 1 `provision` run, then drives `thingpress watch DIR` as an MES would:

  1. a device-infos file renamed into DIR is provisioned at once (--settle 30
     proves the rename is enough), moved to done/ with its report, and the
     registry is exactly as expected; the same content dropped again later is
     found done in the journal (no mutating call in the sim's request log);
     SIGTERM while idle exits 0.
  2. a file written slowly (open, append, close, pause; pauses shorter than
     the settle time) is not picked up before it is complete.
  3. --once on a folder holding a valid file, two invalid ones and ignored
     names (hidden, .part, .tmp): processed in name order, the valid one to
     done/, the others to failed/ with a one-line reason, none of them sending
     a mutating call; ignored names untouched; exit 1.
  4. a pre-flight refusal (a policy the account lacks) leaves the file in DIR
     with nothing sent; once the policy exists, the next run provisions it.
  5. entries that are not regular files, named like inputs (a FIFO, a
     directory x.csv, a symlink to /dev/zero, a dangling symlink), go to
     failed/ with a one-line reason, unread (the FIFO never opened: the watch
     does not hang) and unchanged; the watch then provisions a good file
     dropped afterwards; a symlink to a regular file is read through (here a
     malformed file: to failed/ with the parser's reason); done/, failed/, the
     state directory, a folder without an input extension and hidden ones
     stay where they are.
  6. SIGTERM during a job (exit 0, the file stays, the job paused and
     resumable), then kill -9 during a job (the file stays), then a restart:
     the job resumes and completes; exact registry, each item done once in
     the journal, no mutating call failed, repeats bounded by the calls in
     flight at the stops.

The helpers (sim, seeding, registry dump, expected state, journal checks,
generated certificates, JUnit output) are tests/e2e/provision_e2e.py's. Every
wait has a deadline; the only fixed sleeps are the slow writer's pauses,
which are the point of case 2.

Usage: watch_e2e.py [--bin PATH] [--testdata DIR] [--bench DIR] [unittest args]
"""
import csv
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision_e2e as e2e  # noqa: E402

OPTS = e2e.OPTS


def drop(src, folder, name):
    """Puts src into folder/name the careful way: a hidden temporary, then a
    rename into the folder."""
    tmp = os.path.join(folder, ".%s.incoming" % name)
    shutil.copyfile(src, tmp)
    os.rename(tmp, os.path.join(folder, name))


class Watcher:
    """A `thingpress watch` child process, its stderr in a file."""

    starts = 0

    def __init__(self, tmp, folder, state, url, *extra):
        self.tmp, self.folder, self.state, self.url = tmp, folder, state, url
        self.extra = list(extra)
        self.proc = None

    def start(self, *more):
        Watcher.starts += 1
        self.err_path = os.path.join(self.tmp, "watch-%d.err" % Watcher.starts)
        self.argv = [OPTS.bin, "watch", self.folder, "--state", self.state,
                     "--endpoint-url", self.url, *self.extra, *more]
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=self.err,
                                     env=e2e.base_env())
        e2e.LIVE.add(self)
        self.wait_log(r"watch: watching ", 20)
        return self

    def log(self):
        with open(self.err_path) as f:
            return f.read()

    def wait_log(self, pattern, timeout):
        def seen():
            m = re.search(pattern, self.log())
            if m:
                return m
            if self.proc.poll() is not None:
                raise AssertionError("watch exited (%s) before logging %r:\n%s" % (
                    self.proc.returncode, pattern, self.log()[-3000:]))
            return None
        return e2e.wait_for(seen, timeout, "watch to log %r" % pattern)

    def wait_exit(self, timeout):
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            self.stop()
        return rc

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM (then KILL); returns the exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.err.close()
        e2e.LIVE.discard(self)
        return rc

    def __str__(self):
        return "%s\n%s" % (" ".join(self.argv), self.log()[-3000:])


class Watch(e2e.E2E):
    SETTLE = 30  # case 1: only the rename can make the file complete in time

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = e2e.Sim(cls.tmp)
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super().tearDownClass()

    def setUp(self):
        self.sim.reset()
        e2e.seed(self.sim.url)
        self.case = os.path.join(self.tmp, self._testMethodName)
        os.makedirs(self.case)
        self.folder = os.path.join(self.case, "hot")
        os.makedirs(self.folder)
        self.state = os.path.join(self.case, "state")
        self.watchers = []

    def tearDown(self):
        for w in self.watchers:
            w.stop()

    def watcher(self, *extra):
        w = Watcher(self.case, self.folder, self.state, self.sim.url, *e2e.JOB, *extra)
        self.watchers.append(w)
        return w

    def phase1(self, n):
        """n generated certificates registered (Phase 1); returns the
        device-infos file for them, the fingerprints and the devices."""
        gen, dev, fps, devices = e2e.make_items(self.case, n)
        r = e2e.provision(self.sim.url, self.state, gen, *e2e.JOB, *e2e.rates(1000))
        self.ok(r, "Phase 1")
        return dev, fps, devices

    def want(self, fps, devices):
        return e2e.expected_state(fps, ["BasicTestPolicy"], devices, ["BasicTestGroup"],
                                  "BasicTestType")

    def in_folder(self, *parts):
        return os.path.exists(os.path.join(self.folder, *parts))

    def wait_moved(self, sub, name, timeout, w):
        path = os.path.join(self.folder, sub, name)
        e2e.wait_for(lambda: os.path.lexists(path) or (w.proc.poll() is not None and
                                                      self.fail("watch exited:\n%s" % w)),
                     timeout, "%s/%s" % (sub, name))

    def mutating(self, offset):
        return [l["op"] for l in self.sim.log_lines(offset)
                if not e2e.READ_OPS.match(l["op"])]

    def report(self, sub, name):
        with open(os.path.join(self.folder, sub, name + ".report.json")) as f:
            doc = json.load(f)
        with open(os.path.join(self.folder, sub, name + ".report.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        return doc, rows

    # ------------------------------------------------------------ 1.

    def test_rename_then_same_content_again(self):
        dev, fps, devices = self.phase1(25)
        w = self.watcher("--settle", str(self.SETTLE), *e2e.rates(1000)).start()
        self.assertTrue(os.path.isdir(os.path.join(self.folder, "done")))
        self.assertEqual(os.stat(os.path.join(self.folder, "failed")).st_mode & 0o777,
                         0o750 & ~self.umask())
        t0 = time.monotonic()
        drop(dev, self.folder, "batch-0001.json")
        self.wait_moved("done", "batch-0001.json", 20, w)
        self.assertLess(time.monotonic() - t0, self.SETTLE,
                        "a renamed file waited for the settle time")
        self.assertFalse(self.in_folder("batch-0001.json"))
        # the file is in done/ a moment before the line saying so is written
        w.wait_log(r"batch-0001\.json: moved to done/batch-0001\.json", 10)
        log = w.log()
        self.assertRegex(log, r"batch-0001\.json: picked up \(\d+ bytes, renamed")
        job = int(re.search(r"batch-0001\.json: job (\d+) \(Phase 2, 25 items", log)
                  .group(1))
        self.assertRegex(log, r"batch-0001\.json: done: job %d, 25 items, 25 done" % job)
        self.assertIn("batch-0001.json: moved to done/batch-0001.json", log)
        doc, rows = self.report("done", "batch-0001.json")
        self.assertEqual((doc["job"]["job"], doc["job"]["status"],
                          doc["job"]["counts"]["done"]), (job, "done", 25))
        # every item, each done
        self.assertEqual([(r["index"], r["status"]) for r in rows],
                         [(str(i), "done") for i in range(25)])
        self.assert_registry(self.sim.url, self.want(fps, devices), "after the watch")
        self.assert_journal(self.state, job, 25, phase=2, steps=5)

        # The same content again, later, under another name: the journal's
        # finished job; nothing but the pre-flight's reads is sent.
        before = self.sim.log_size()
        drop(dev, self.folder, "batch-0001-again.json")
        self.wait_moved("done", "batch-0001-again.json", 20, w)
        self.assertEqual(self.mutating(before), [], "the same content sent mutating calls")
        self.assertRegex(w.log(), r"batch-0001-again\.json: already done: job %d " % job)
        # the same name again: a free name in done/, nothing overwritten
        before = self.sim.log_size()
        drop(dev, self.folder, "batch-0001.json")
        self.wait_moved("done", "batch-0001.1.json", 20, w)
        self.assertTrue(os.path.exists(os.path.join(self.folder, "done",
                                                    "batch-0001.1.json.report.json")))
        self.assertEqual(self.mutating(before), [])
        self.assertEqual(len(e2e.status_json(self.state)["jobs"]), 2,
                         "one Phase 1 and one Phase 2 job in the journal")
        self.assert_registry(self.sim.url, self.want(fps, devices), "after the repeats")
        self.assertEqual(w.stop(), 0, "SIGTERM while idle:\n%s" % w)
        self.assertNotIn(e2e.SECRET, w.log())

    @staticmethod
    def umask():
        m = os.umask(0)
        os.umask(m)
        return m

    # ------------------------------------------------------------ 2.

    def test_slow_writer(self):
        dev, fps, devices = self.phase1(40)
        settle = 3.0
        w = self.watcher("--settle", str(settle), *e2e.rates(1000)).start()
        with open(dev, "rb") as f:
            data = f.read()
        path = os.path.join(self.folder, "slow.json")
        chunks = 6
        size = len(data) // chunks + 1
        for k in range(chunks):
            with open(path, "ab") as f:  # each close is an IN_CLOSE_WRITE
                f.write(data[k * size:(k + 1) * size])
            time.sleep(settle / 6)  # the writer's pause, shorter than the settle time
            self.assertNotIn("slow.json: picked up", w.log(),
                             "picked up after %d of %d chunks" % (k + 1, chunks))
            self.assertFalse(os.listdir(os.path.join(self.folder, "failed")))
        self.wait_moved("done", "slow.json", 30, w)
        log = w.log()
        self.assertRegex(log, r"slow\.json: picked up \(%d bytes, unchanged" % len(data))
        self.assertNotIn("rejected", log)
        self.assert_registry(self.sim.url, self.want(fps, devices), "after the slow file")

    # ------------------------------------------------------------ 3.

    def test_once_invalid_and_ignored(self):
        dev, fps, devices = self.phase1(10)
        td = OPTS.testdata
        with open(dev) as f:
            doc = json.load(f)
        doc["devices"][3]["deviceId"] = "bad name!"
        bad = os.path.join(self.case, "bad-item.json")
        with open(bad, "w") as f:
            json.dump(doc, f)
        drop(dev, self.folder, "a-valid.json")
        drop(bad, self.folder, "b-invalid-item.json")
        drop(os.path.join(td, "mes", "invalid", "not-json.json"), self.folder,
             "c-not-json.json")
        ignored = [".hidden.json", "d.json.part", "e.json.tmp", "f.json.partial"]
        for name in ignored:
            shutil.copyfile(dev, os.path.join(self.folder, name))
        before = self.sim.log_size()
        # renamed in before watch started: found by its first scan, complete
        # once unchanged for the settle time
        w = self.watcher("--once", "--settle", "0.5", *e2e.rates(1000))
        t0 = time.monotonic()
        w.start()
        rc = w.wait_exit(60)
        self.assertEqual(rc, 1, "--once with failed files:\n%s" % w)
        self.assertLess(time.monotonic() - t0, 30)
        log = w.log()
        order = [m.group(1) for m in re.finditer(r"watch: (\S+): picked up", log)]
        self.assertEqual(order, ["a-valid.json", "b-invalid-item.json", "c-not-json.json"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.folder, "done"))),
                         ["a-valid.json", "a-valid.json.report.csv",
                          "a-valid.json.report.json"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.folder, "failed"))),
                         ["b-invalid-item.json", "b-invalid-item.json.reason.txt",
                          "c-not-json.json", "c-not-json.json.reason.txt"])
        self.assertEqual(sorted(os.listdir(self.folder)),
                         sorted(ignored + ["done", "failed"]))
        for name, why in (("b-invalid-item.json", "1 of 10 items are invalid"),
                          ("b-invalid-item.json", "item 3 bad name!: invalid"),
                          ("c-not-json.json", "invalid JSON")):
            with open(os.path.join(self.folder, "failed", name + ".reason.txt")) as f:
                reason = f.read()
            self.assertEqual(reason.count("\n"), 1, "one line: %r" % reason)
            self.assertIn(why, reason)
            self.assertIn(name, reason)
            self.assertRegex(log, r"%s: moved to failed/%s \(reason in" % (
                re.escape(name), re.escape(name)))
        # only the valid file sent mutating calls: 10 items x 5 steps
        self.assertEqual(len(self.mutating(before)), 50)
        self.assert_registry(self.sim.url, self.want(fps, devices), "after --once")
        # nothing left: --once exits 0 at once
        w2 = self.watcher("--once").start()
        self.assertEqual(w2.wait_exit(30), 0, str(w2))

    def test_preflight_refusal_leaves_the_file(self):
        """Not the file's fault (a policy the account lacks): the file stays in
        DIR for the next run, nothing is sent; once the policy exists, done."""
        dev, fps, devices = self.phase1(5)
        drop(dev, self.folder, "x.json")
        before = self.sim.log_size()
        job = ["--policies", "BasicTestPolicy,LaterPolicy", "--thing-groups",
               "BasicTestGroup", "--thing-type", "BasicTestType", *e2e.rates(1000)]
        w = Watcher(self.case, self.folder, self.state, self.sim.url, *job)
        self.watchers.append(w)
        w.start("--once", "--settle", "0")
        self.assertEqual(w.wait_exit(60), 1, str(w))
        self.assertRegex(w.log(), r"x\.json: not started: pre-flight: policy 'LaterPolicy' "
                         r"does not exist")
        self.assertIn("x.json: left in", w.log())
        self.assertTrue(self.in_folder("x.json"))
        self.assertFalse(os.listdir(os.path.join(self.folder, "failed")))
        self.assertEqual(self.mutating(before), [])
        e2e.seed(self.sim.url, policies=["LaterPolicy"], groups=[], types=[])
        w.start("--once", "--settle", "0")
        self.assertEqual(w.wait_exit(60), 0, str(w))
        self.assertTrue(self.in_folder("done", "x.json"))
        want = e2e.expected_state(fps, ["BasicTestPolicy"], devices, ["BasicTestGroup"],
                                  "BasicTestType")
        for fp in fps:
            want["policies"][fp] = ["BasicTestPolicy", "LaterPolicy"]
        self.assert_registry(self.sim.url, want, "after the policy was created")

    # ------------------------------------------------------------ 5.

    def test_not_regular_entries_to_failed(self):
        dev, fps, devices = self.phase1(5)
        # the state directory inside the hot folder, named like an input
        state = os.path.join(self.folder, "state.json")
        shutil.move(self.state, state)
        self.state = state
        w = self.watcher("--settle", "0.5", "--rescan", "1", *e2e.rates(1000)).start()
        f = self.folder
        os.mkfifo(os.path.join(f, "a-fifo.csv"))
        os.mkdir(os.path.join(f, "x.csv"))
        with open(os.path.join(f, "x.csv", "inner.csv"), "w") as g:
            g.write("kept\n")
        os.symlink("/dev/zero", os.path.join(f, "zero.json"))
        os.symlink(os.path.join(self.case, "missing.json"), os.path.join(f, "gone.json"))
        # left alone: a site folder, a hidden folder
        os.mkdir(os.path.join(f, "archive"))
        os.mkdir(os.path.join(f, ".cache.csv"))
        # read through: a symlink to a (malformed) file elsewhere
        broken = os.path.join(self.case, "broken-device-infos.json")
        with open(broken, "w") as g:
            g.write('{"devices": [ {"deviceId": ')
        os.symlink(broken, os.path.join(f, "link.json"))
        failed = os.path.join(f, "failed")
        want = {"a-fifo.csv": ("FIFO", stat.S_ISFIFO),
                "x.csv": ("directory", stat.S_ISDIR),
                "zero.json": ("symbolic link to a character device", stat.S_ISLNK),
                "gone.json": ("symbolic link to nothing: No such file or directory",
                              stat.S_ISLNK)}
        for name in list(want) + ["link.json"]:
            self.wait_moved("failed", name + ".reason.txt", 20, w)
            self.wait_moved("failed", name, 20, w)
            # the move comes a moment before the line saying so
            w.wait_log(r"%s: moved to failed/" % re.escape(name), 10)
        log = w.log()
        self.assertRegex(log, r"link\.json: picked up")
        self.assertTrue(os.path.islink(os.path.join(failed, "link.json")))
        self.assertIn("link.json:1: invalid JSON", open(os.path.join(
            failed, "link.json.reason.txt")).read())
        for name, (what, is_kind) in want.items():
            self.assertTrue(is_kind(os.lstat(os.path.join(failed, name)).st_mode), name)
            self.assertFalse(self.in_folder(name), name)
            with open(os.path.join(failed, name + ".reason.txt")) as g:
                reason = g.read()
            self.assertEqual(reason.count("\n"), 1, "one line: %r" % reason)
            self.assertIn("%s: not a regular file (%s)" % (name, what), reason)
            self.assertRegex(log, r"%s: rejected: .*not a regular file \(%s\)" % (
                re.escape(name), re.escape(what)))
            self.assertRegex(log, r"%s: moved to failed/%s \(reason in %s\.reason\.txt" % (
                re.escape(name), re.escape(name), re.escape(name)))
            self.assertNotRegex(log, r"%s: picked up" % re.escape(name))
        with open(os.path.join(failed, "x.csv", "inner.csv")) as g:
            self.assertEqual(g.read(), "kept\n")
        self.assertEqual(os.readlink(os.path.join(failed, "zero.json")), "/dev/zero")
        self.assertEqual(sorted(os.listdir(failed)), sorted(
            sum(([n, n + ".reason.txt"] for n in list(want) + ["link.json"]), [])))
        # the watch did not hang: a good file dropped afterwards is provisioned
        drop(dev, f, "z-good.json")
        self.wait_moved("done", "z-good.json", 30, w)
        self.assertRegex(w.log(), r"z-good\.json: done: job \d+, 5 items, 5 done")
        self.assert_registry(self.sim.url, self.want(fps, devices), "after the good file")
        self.assertEqual(sorted(os.listdir(f)), sorted(
            [".cache.csv", "archive", "done", "failed", "state.json"]))
        self.assertEqual(w.stop(), 0, str(w))
        # a FIFO found by --once at start: to failed/, exit 1 (a file failed)
        os.mkfifo(os.path.join(f, "b-fifo.txt"))
        w2 = self.watcher("--once", "--settle", "0").start()
        self.assertEqual(w2.wait_exit(30), 1, str(w2))
        self.assertTrue(stat.S_ISFIFO(os.lstat(os.path.join(failed, "b-fifo.txt")).st_mode))
        self.assertIn("b-fifo.txt: not a regular file (FIFO)",
                      open(os.path.join(failed, "b-fifo.txt.reason.txt")).read())

    # ------------------------------------------------------------ 6.

    def done_so_far(self):
        if not os.path.exists(os.path.join(self.state, "journal.db")):
            return 0
        jobs = [j for j in e2e.status_json(self.state)["jobs"] if j["phase"] == 2]
        return jobs[0]["counts"]["done"] if jobs else 0

    def test_interrupt_kill9_restart(self):
        n = 400
        dev, fps, devices = self.phase1(n)
        # ~4 s for the whole job: room to stop it in the middle
        slow = e2e.rates(1000) + ["--rate", "UpdateCertificate=100"]
        before = self.sim.log_size()
        w = self.watcher(*slow).start()
        drop(dev, self.folder, "big.json")
        e2e.wait_for(lambda: self.done_so_far() > 20, 30, "the job to start")
        w.signal(signal.SIGTERM)
        self.assertEqual(w.wait_exit(30), 0, "SIGTERM during a job:\n%s" % w)
        self.assertRegex(w.log(), r"big\.json: job \d+ stopped; the file stays")
        self.assertTrue(self.in_folder("big.json"), "the file left DIR after SIGTERM")
        doc = e2e.status_json(self.state)["jobs"]
        job = [j for j in doc if j["phase"] == 2][0]
        self.assertEqual(job["status"], "paused")
        first = job["counts"]["done"]
        self.assertLess(first, n)

        w = self.watcher(*slow).start()
        self.assertTrue(w.wait_log(r"big\.json: job %d \(Phase 2, %d items.*resumed" % (
            job["job"], n), 20))
        e2e.wait_for(lambda: self.done_so_far() > first + 20, 30, "the job to go on")
        w.proc.send_signal(signal.SIGKILL)
        w.proc.wait(timeout=30)
        w.stop()
        second = self.done_so_far()
        self.assertLess(second, n, "the job finished before kill -9")
        self.assertTrue(self.in_folder("big.json"), "the file left DIR after kill -9")
        self.assertFalse(os.listdir(os.path.join(self.folder, "done")))

        w = self.watcher(*e2e.rates(1000)).start()
        self.wait_moved("done", "big.json", 60, w)
        self.assertRegex(w.log(), r"big\.json: done: job %d, %d items, %d done \(\d+ "
                         r"earlier\)" % (job["job"], n, n))
        self.assertEqual(w.stop(), 0)
        self.assert_registry(self.sim.url, self.want(fps, devices),
                             "after SIGTERM, kill -9 and restart")
        self.assert_journal(self.state, job["job"], n, phase=2, steps=5)
        # Every item's outcome is in the audit log, none failed. An outcome
        # written just before the kill whose journal commit was lost is there
        # twice: its last step was done again (journal.h, "What survives
        # what").
        outcomes = [a for a in self.audit_lines(self.state)
                    if a["job"] == job["job"] and a["event"] == "item"]
        self.assertEqual([a for a in outcomes if a["outcome"] != "done"], [])
        self.assertEqual({a["item"] for a in outcomes}, set(range(n)))
        self.assertLessEqual(len(outcomes), n + 32)
        lines = [l for l in self.sim.log_lines(before) if not e2e.READ_OPS.match(l["op"])]
        failed = [l for l in lines if l["status"] >= 300]
        self.assertFalse(failed, "mutating calls that failed: %s" % failed[:5])
        # re-done steps are only those in flight at the two stops: at most one
        # call per worker (32) per stop beyond one call per item and step
        per_op = {}
        for l in lines:
            per_op[l["op"]] = per_op.get(l["op"], 0) + 1
        for op, count in per_op.items():
            self.assertLessEqual(count, n + 2 * 32, "%s sent %d times" % (op, count))
        # Every call the sim received has its intent line (written before
        # the call is sent); a kill -9 can only leave intents without a call
        # (at most one per worker). The answers are written after the call,
        # asynchronously: those a kill -9 (or the cancel) caught between the
        # call and the journal thread's next write are missing, at most the
        # calls in flight, one per worker.
        sent, audited, intents = {}, {}, {}
        for l in self.sim.log_lines():  # both phases
            if l["op"] in e2e.FAST:
                sent[l["op"]] = sent.get(l["op"], 0) + 1
        for a in self.audit_lines(self.state):
            # a call SIGTERM cancelled in flight has no answer (status 0)
            if a["event"] == "call" and a["status"]:
                audited[a["op"]] = audited.get(a["op"], 0) + 1
            if a["event"] == "intent":
                intents[a["op"]] = intents.get(a["op"], 0) + 1
        for op in sent:
            self.assertLessEqual(audited.get(op, 0), sent[op], op)
            self.assertGreaterEqual(intents.get(op, 0), sent[op], "intents of " + op)
        self.assertLessEqual(sum(intents.values()) - sum(sent.values()), 2 * 32,
                             "intents without a call: sent %s, intents %s"
                             % (sent, intents))
        self.assertLessEqual(sum(sent.values()) - sum(audited.values()), 32,
                             "calls not in the audit log: sent %s, audited %s"
                             % (sent, audited))
        # one chain through the stop, the kill -9 and the restart
        self.assert_audit_verifies(self.state)
        print("  SIGTERM after %d items, kill -9 after %d of %d; calls per operation %s"
              % (first, second, n, per_op), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(e2e.run_main(__name__, "watch_e2e"))
