#!/usr/bin/env python3
"""bench/run.sh audit: what putting each call's intent on disk costs (issue 13).

A worker sends a call only once the call's intent line is in the audit log
and fdatasynced; the intents of the workers waiting at the same moment share
one fdatasync (group commit, engine/audit.h). This benchmark measures that
rule against the same binary with THINGPRESS_BENCH_NO_INTENT_SYNC=1 (the
intent written with write(2) but not waited for; the log is still synced at
every journal commit), with `thingpress provision` against `thingpress sim`,
quotas off (sim unlimited, engine --rate OP=1000000 for every operation):
Phase 1 (register + one policy: 2 calls per item) then Phase 2 (activate,
thing, principal, policy, group: 5), for each worker count asked. With
--quotas aws-default*K the sim enforces AWS's default quotas times K and the
engine starts at those rates (--rate OP=quota): the rates a real account
allows.

Each round runs both modes, alternating which goes first, each on a fresh sim
and a fresh state directory (in --workdir, default the system's temporary
directory: the file system whose fdatasync is measured). Printed: per mode
the median over the rounds of the engine's items/s (from its summary: from
the first call to the last), and the ratio with sync / without. Also the raw
cost of one fdatasync on that file system (a 300-byte append then fdatasync,
200 times), and, from one more run with the sync under strace (counting
fdatasync calls only, through a seccomp filter), how many intent lines one
fdatasync covered.

Usage: audit_bench.py --bin PATH [--items N] [--rounds R] [--workers 4,32]
                      [--quotas unlimited|aws-default*K] [--workdir DIR]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import provision_bench as pb  # noqa: E402  the sim, seeding, files, environment

OPS = list(pb.AWS_DEFAULT)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fdatasync_cost(workdir, n=200):
    """Median and 90th percentile of append + fdatasync, in ms."""
    path = os.path.join(workdir, "fdatasync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        line = b"x" * 299 + b"\n"
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, line)
            os.fdatasync(fd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def provision(args, url, state, path, phase, workers, sync, prefix=()):
    argv = list(prefix) + [args.bin, "provision", path, "--state", state,
                           "--endpoint-url", url, "--policies", pb.POLICY,
                           "--workers", str(workers)]
    if phase == 2:
        argv += ["--thing-groups", pb.GROUP, "--thing-type", pb.TYPE]
    for op in OPS:
        argv += ["--rate", "%s=%g" % (op, args.rates[op])]
    env = pb.env()
    env.pop("THINGPRESS_BENCH_NO_INTENT_SYNC", None)
    if not sync:
        env["THINGPRESS_BENCH_NO_INTENT_SYNC"] = "1"
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode() + p.stderr.decode()
    if p.returncode != 0:
        raise SystemExit("bench: provision %s exited %d:\n%s" % (path, p.returncode,
                                                                 out[-2000:]))
    m = re.search(r", ([0-9.]+) s, ([0-9.]+) items/s", out)
    if not m:
        raise SystemExit("bench: no items/s in the summary:\n%s" % out[-2000:])
    return float(m.group(2)), out


def intents_in(state):
    n = 0
    with open(os.path.join(state, "audit.jsonl"), "rb") as f:
        for line in f:
            n += b'"event":"intent"' in line
    return n


def one_round(args, tmp, tag, files, workers, sync, prefix=()):
    """Phase 1 then Phase 2 on a fresh sim; items/s of each."""
    sim = pb.Sim(args.bin, tmp, args.quotas, tag)
    state = os.path.join(tmp, "state-" + tag)
    try:
        pb.seed(sim.url)
        rates, outs = [], []
        for phase, path in ((1, files[0]), (2, files[1])):
            r, out = provision(args, sim.url, state, path, phase, workers, sync, prefix)
            rates.append(r)
            outs.append(out)
        return rates, state, outs
    finally:
        sim.stop()


def strace_count(args, tmp, files, workers):
    """fdatasync calls of a run with the sync (both phases), and its intent
    lines; None without a strace that filters with seccomp."""
    strace = shutil.which("strace")
    if not strace:
        return None
    counts = os.path.join(tmp, "strace-%d.txt" % workers)
    prefix = [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=fdatasync", "-c",
              "-o", counts]
    probe = subprocess.run(prefix + ["true"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    if probe.returncode != 0:
        return None
    total = 0
    tag = "strace-w%d" % workers
    sim = pb.Sim(args.bin, tmp, args.quotas, tag)
    state = os.path.join(tmp, "state-" + tag)
    try:
        pb.seed(sim.url)
        for phase, path in ((1, files[0]), (2, files[1])):
            provision(args, sim.url, state, path, phase, workers, True, prefix)
            with open(counts) as f:
                m = re.search(r"^\s*[0-9.]+\s+[0-9.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?fdatasync",
                              f.read(), re.M)
            total += int(m.group(1)) if m else 0
    finally:
        sim.stop()
    return total, intents_in(state)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", default="4,32")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--quotas", default="unlimited")
    args = ap.parse_args()
    if args.quotas == "unlimited":
        args.rates = {op: 1000000 for op in OPS}
    else:
        m = re.match(r"^aws-default(?:\*([0-9.]+))?$", args.quotas)
        if not m:
            raise SystemExit("bench: --quotas unlimited or aws-default*K")
        k = float(m.group(1) or 1)
        args.rates = {op: q * k for op, q in pb.AWS_DEFAULT.items()}
    args.bin = os.path.abspath(args.bin)
    workers = [int(w) for w in args.workers.split(",")]
    tmp = tempfile.mkdtemp(prefix="tp-auditbench-", dir=args.workdir)
    results = {}
    try:
        fs = subprocess.run(["stat", "-f", "-c", "%T", tmp], stdout=subprocess.PIPE,
                            text=True).stdout.strip()
        p50, p90 = fdatasync_cost(tmp)
        files = pb.make_files(tmp, args.items, "audit")
        for w in workers:
            rates = {True: ([], []), False: ([], [])}
            for r in range(args.rounds):
                for sync in ((True, False) if r % 2 == 0 else (False, True)):
                    tag = "w%d-r%d-%s" % (w, r, "sync" if sync else "nosync")
                    log("bench: %s, %d workers, round %d, %s ..." % (
                        time.strftime("%H:%M:%S"), w, r + 1,
                        "intents synced" if sync else "not synced"))
                    (r1, r2), state, _ = one_round(args, tmp, tag, files, w, sync)
                    rates[sync][0].append(r1)
                    rates[sync][1].append(r2)
                    shutil.rmtree(state, ignore_errors=True)
            log("bench: %d workers, counting fdatasyncs under strace ..." % w)
            results[w] = (rates, strace_count(args, tmp, files, w))
    finally:
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)

    print("intent lines on disk before each call: thingpress provision vs thingpress "
          "sim, quotas %s, %s, %d CPUs" % (
              "off" if args.quotas == "unlimited" else args.quotas,
              time.strftime("%Y-%m-%d %H:%M"), os.cpu_count()))
    print("state directory on %s: one 300-byte append + fdatasync %.2f ms (median), "
          "%.2f ms (p90)" % (fs, p50, p90))
    print("%d items per phase, median of %d rounds (engine items/s, first call to last)"
          % (args.items, args.rounds))
    for w in workers:
        rates, counted = results[w]
        for ph in (0, 1):
            on = statistics.median(rates[True][ph])
            off = statistics.median(rates[False][ph])
            print("  %2d workers, Phase %d (%d calls/item): synced %.0f items/s, not "
                  "synced %.0f items/s: ratio %.3f (runs: %s vs %s)"
                  % (w, ph + 1, 2 if ph == 0 else 5, on, off, on / off,
                     "/".join("%.0f" % x for x in rates[True][ph]),
                     "/".join("%.0f" % x for x in rates[False][ph])))
        if counted:
            syncs, intents = counted
            print("  %2d workers: %d intent lines, %d fdatasync calls in all (the "
                  "journal's commits included): %.1f intents per fdatasync"
                  % (w, intents, syncs, intents / float(max(1, syncs))))


if __name__ == "__main__":
    main()
