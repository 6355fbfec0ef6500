#!/usr/bin/env python3
"""bench/run.sh provision: `thingpress provision` against `thingpress sim`.

Prints, from one run (every figure measured here, nothing assumed):

  1. At aws-default quotas: Phase 1 (deferred, INACTIVE, one policy) and
     Phase 2 (one policy, one group, a thing type). The job's ceiling is the
     slowest operation's quota divided by its calls per item (calls counted in
     the sim's request log); achieved items/s (wall time of the provision
     command, validation and pre-flight included) / ceiling. Target >= 0.95,
     no failed item, throttling absorbed.
  2. Quotas x10 on the sim (`--quotas aws-default*10`), the engine keeping its
     default table (no --rate): it must find the higher rates by itself.
     Whole-job items/s / raised ceiling, and the rate once found (the second
     half of the job's mutating calls). Target >= 0.9.
  3. Quotas off (sim unlimited, engine --rate OP=1000000 for every operation)
     against a plain boto3 ThreadPoolExecutor baseline (bench/boto3_baseline.py,
     the same calls per item): items/s, calls/s and CPU per call of each
     client (and of the sim). Target: engine >= 5x the baseline.
  4. Peak RSS of provision (Phase 1, quotas off) at 10,000 and 100,000 items:
     flat means the ratio stays near 1 while the items grow 10x.
  5. The upstream Lambda pipeline's claims (100,000 certificates/hour,
     50,000 devices/hour) as items/s next to ours.
  6. The learned pace (issue 12): quotas x5 on the sim, the engine not told.
     In one fresh state directory, a first job then a second job (other
     certificates) of each phase; the second starts from the rates the first
     learned (engine/pace.h). Items/s / raised ceiling of each. Target: the
     second >= 0.95.
  7. Three stations on one account: three `thingpress provision` processes,
     each with its own state directory and an equal Phase 1 job, started
     together against one sim at aws-default. Aggregate items/s / ceiling
     (target >= 0.95), each station's items/s / its fair share (ceiling / 3;
     target within 20%), fairness = first finish / last finish.

Usage: provision_bench.py --bin PATH [--quick] [--only quota,off,rss,pace,stations]
"""
import argparse
import datetime
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import validate_bench as vb  # noqa: E402  certificate generators

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
ACCOUNT = "123456789012"
POLICY, GROUP, TYPE = "BenchPolicy", "BenchGroup", "BenchType"

# AWS IoT Core's default per-account TPS of the mutating operations
# (DESIGN.md §6; the sim's aws-default table, tests/sim_policy_test.cc).
AWS_DEFAULT = {
    "RegisterCertificateWithoutCA": 10,
    "UpdateCertificate": 10,
    "CreateThing": 100,
    "AttachThingPrincipal": 100,
    "AttachPolicy": 15,
    "AddThingToThingGroup": 100,
}
MUTATING = set(AWS_DEFAULT)

UPSTREAM_CERTS_PER_S = 100000 / 3600.0   # Thingpress README: ~100,000 certs/hour
UPSTREAM_DEVICES_PER_S = 50000 / 3600.0  # ~50,000 devices/hour


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Sim:
    def __init__(self, binary, tmp, quotas, tag):
        self.log = os.path.join(tmp, "sim-%s.jsonl" % tag)
        self.out = open(os.path.join(tmp, "sim-%s.out" % tag), "w+")
        argv = [binary, "sim", "--listen", "127.0.0.1:0",
                "--db", os.path.join(tmp, "sim-%s.db" % tag),
                "--credentials", "%s:%s" % (AKID, SECRET), "--account", ACCOUNT,
                "--region", REGION, "--quotas", quotas, "--log", self.log]
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            self.out.seek(0)
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.out.read())
            if m:
                self.url = m.group(1)
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        self.out.seek(0)
        raise SystemExit("bench: the sim did not start: %s" % self.out.read()[-500:])

    def cpu_s(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_lines(self, offset=0):
        with open(self.log, "rb") as f:
            f.seek(offset)
            return [json.loads(l) for l in f.read().splitlines() if l.strip()]

    def log_size(self):
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def env():
    e = dict(os.environ)
    e.update(AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
             AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION, NO_COLOR="1")
    e.pop("AWS_PROFILE", None)
    e.pop("AWS_SESSION_TOKEN", None)
    return e


def seed(url):
    import boto3
    c = boto3.client("iot", endpoint_url=url, region_name=REGION,
                     aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    c.create_policy(policyName=POLICY, policyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}))
    c.create_thing_group(thingGroupName=GROUP)
    c.create_thing_type(thingTypeName=TYPE)


def when(line):
    t = datetime.datetime.strptime(line["time"].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def provision(binary, url, state, path, phase, extra=()):
    argv = [binary, "provision", path, "--state", state, "--endpoint-url", url,
            "--policies", POLICY]
    if phase == 2:
        argv += ["--thing-groups", GROUP, "--thing-type", TYPE]
    argv += list(extra)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    # this child's own rusage (wait4 through communicate -> waitpid)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit("bench: provision %s exited %d:\n%s" % (
            path, p.returncode, err.decode()[-2000:]))
    return wall, out.decode() + err.decode(), ru


class ChildUsage:
    """CPU and peak RSS of the next child, from RUSAGE_CHILDREN deltas (peak
    RSS is the maximum over children: children run from small to large)."""

    def __init__(self):
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu0 = r.ru_utime + r.ru_stime

    def cpu(self, ru):
        return ru.ru_utime + ru.ru_stime - self.cpu0


def accepted(l):
    return l["status"] < 300 or (l["op"] == "RegisterCertificateWithoutCA"
                                 and l["status"] == 409)


def calls_in(lines):
    """Accepted mutating calls per operation, throttled calls, other errors."""
    per_op, throttled, other_err = {}, 0, 0
    for l in lines:
        if l["op"] not in MUTATING:
            continue
        if accepted(l):
            per_op[l["op"]] = per_op.get(l["op"], 0) + 1
        elif l["status"] == 400 and "Throttl" in json.dumps(l):
            throttled += 1
        elif l["status"] >= 300 and not (l["op"] == "RegisterCertificateWithoutCA"
                                         and l["status"] == 409):
            other_err += 1
    return per_op, throttled, other_err


def ceiling(per_op, n, quotas):
    """min over operations of quota / accepted calls per item (from the log)."""
    best, limiting = None, None
    for op, calls in per_op.items():
        c = quotas[op] / (calls / float(n))
        if best is None or c < best:
            best, limiting = c, op
    return best, limiting


def make_files(tmp, n, tag):
    tpl = vb.template_der()
    pos = tpl.find(vb.PLACEHOLDER.encode())
    gen = os.path.join(tmp, "certs-%s.txt" % tag)
    dev = os.path.join(tmp, "devices-%s.json" % tag)
    vb.write_generated(gen, tpl, pos, n)
    vb.write_device_infos(dev, tpl, pos, n)
    return gen, dev


def steady_rate(lines, n_items, op):
    """Items/s over the second half of the job: the limiting operation's
    accepted calls in that half / its duration."""
    ok = [when(l) for l in lines if l["op"] == op and l["status"] < 300]
    if len(ok) < 4:
        return 0.0
    half = ok[len(ok) // 2:]
    dt = half[-1] - half[0]
    return (len(half) - 1) / dt if dt > 0 else 0.0


def run_at_quota(args, tmp, scale, n, extra=()):
    """Phase 1 then Phase 2 at aws-default*scale; returns rows."""
    quotas = {op: q * scale for op, q in AWS_DEFAULT.items()}
    tag = "q%g" % scale
    sim = Sim(args.bin, tmp, "aws-default" if scale == 1 else "aws-default*%g" % scale, tag)
    rows = []
    try:
        seed(sim.url)
        gen, dev = make_files(tmp, n, tag)
        state = os.path.join(tmp, "state-" + tag)
        for phase, path in ((1, gen), (2, dev)):
            off = sim.log_size()
            wall, out, _ = provision(args.bin, sim.url, state, path, phase, extra)
            lines = sim.log_lines(off)
            per_op, thr, bad = calls_in(lines)
            ceil, lim = ceiling(per_op, n, quotas)
            if bad:
                raise SystemExit("bench: %d mutating calls failed (not throttling)" % bad)
            rows.append(dict(phase=phase, n=n, wall=wall, rate=n / wall, ceiling=ceil,
                             limiting=lim, throttled=thr,
                             steady=steady_rate(lines, n, lim)))
    finally:
        sim.stop()
    return rows


def run_quotas_off(args, tmp, n):
    off_rates = []
    for op in AWS_DEFAULT:
        off_rates += ["--rate", "%s=1000000" % op]
    sim = Sim(args.bin, tmp, "unlimited", "off")
    res = {}
    try:
        seed(sim.url)
        gen, dev = make_files(tmp, n, "off")
        state = os.path.join(tmp, "state-off")
        for phase, path in ((1, gen), (2, dev)):
            off = sim.log_size()
            cu = ChildUsage()
            s0 = sim.cpu_s()
            wall, out, ru = provision(args.bin, sim.url, state, path, phase, off_rates)
            scpu = sim.cpu_s() - s0
            per_op, thr, bad = calls_in(sim.log_lines(off))
            calls = sum(per_op.values())
            res[phase] = dict(wall=wall, rate=n / wall, calls=calls, cps=calls / wall,
                              cpu=cu.cpu(ru) / calls * 1e6, sim_cpu=scpu / calls * 1e6,
                              bad=bad)
    finally:
        sim.stop()
    # the baseline, on a fresh sim with the same files
    sim = Sim(args.bin, tmp, "unlimited", "boto3")
    try:
        seed(sim.url)
        for phase, path in ((1, gen), (2, dev)):
            off = sim.log_size()
            s0 = sim.cpu_s()
            p = subprocess.run([sys.executable, os.path.join(HERE, "boto3_baseline.py"),
                                "--endpoint-url", sim.url, "--phase", str(phase),
                                "--policy", POLICY, "--group", GROUP, "--type", TYPE,
                                "--threads", str(args.baseline_threads), path],
                               env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0:
                raise SystemExit("bench: baseline failed:\n" + p.stderr.decode()[-2000:])
            b = json.loads(p.stdout)
            scpu = sim.cpu_s() - s0
            per_op, thr, bad = calls_in(sim.log_lines(off))
            calls = sum(per_op.values())
            res["b%d" % phase] = dict(wall=b["wall"], rate=b["items"] / b["wall"],
                                      calls=calls, cps=calls / b["wall"],
                                      cpu=b["cpu"] / calls * 1e6,
                                      sim_cpu=scpu / calls * 1e6, bad=bad,
                                      failed=b["failed"])
    finally:
        sim.stop()
    return res


def peak_rss(args, tmp, n):
    """Peak RSS (kB) of a Phase 1 provision of n items, quotas off, measured
    with GNU time when present (else /proc sampling)."""
    off_rates = []
    for op in AWS_DEFAULT:
        off_rates += ["--rate", "%s=1000000" % op]
    sim = Sim(args.bin, tmp, "unlimited", "rss%d" % n)
    try:
        seed(sim.url)
        tpl = vb.template_der()
        pos = tpl.find(vb.PLACEHOLDER.encode())
        gen = os.path.join(tmp, "rss-%d.txt" % n)
        vb.write_generated(gen, tpl, pos, n)
        state = os.path.join(tmp, "state-rss%d" % n)
        argv = [args.bin, "provision", gen, "--state", state, "--endpoint-url", sim.url,
                "--policies", POLICY] + off_rates
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        samples = []
        while p.poll() is None:
            try:
                with open("/proc/%d/status" % p.pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            samples.append(int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit("bench: provision of %d items exited %d: %s" % (
                n, p.returncode, p.stderr.read().decode()[-1000:]))
        per_op, _, bad = calls_in(sim.log_lines())
        k = max(1, len(samples) // 10)
        return dict(n=n, wall=wall, peak=max(samples) if samples else 0,
                    first=max(samples[:k]) if samples else 0,
                    last=max(samples[-k:]) if samples else 0,
                    registered=per_op.get("RegisterCertificateWithoutCA", 0))
    finally:
        sim.stop()


def run_learned_pace(args, tmp, n, scale=5):
    """Section 6: a first and a second job of each phase in one state
    directory at quotas x scale (the engine not told); returns rows."""
    quotas = {op: q * scale for op, q in AWS_DEFAULT.items()}
    sim = Sim(args.bin, tmp, "aws-default*%g" % scale, "pace")
    rows = []
    try:
        seed(sim.url)
        files = [make_files(tmp, n, "pace-a"), make_files(tmp, n, "pace-b")]
        state = os.path.join(tmp, "state-pace")
        for phase in (1, 2):
            for job, (gen, dev) in enumerate(files):
                time.sleep(1.5)  # the sim's buckets full again, as between real jobs
                off = sim.log_size()
                wall, out, _ = provision(args.bin, sim.url, state,
                                         gen if phase == 1 else dev, phase)
                lines = sim.log_lines(off)
                per_op, thr, bad = calls_in(lines)
                if bad:
                    raise SystemExit("bench: %d mutating calls failed (not throttling)"
                                     % bad)
                ceil, lim = ceiling(per_op, n, quotas)
                rows.append(dict(phase=phase, job=job + 1, n=n, wall=wall, rate=n / wall,
                                 ceiling=ceil, limiting=lim, throttled=thr))
    finally:
        sim.stop()
    return rows


def run_stations(args, tmp, n, k=3):
    """Section 7: k provision processes with equal Phase 1 jobs, started
    together, each with its own state directory, against one sim at
    aws-default."""
    import threading
    sim = Sim(args.bin, tmp, "aws-default", "stations")
    try:
        seed(sim.url)
        files = [make_files(tmp, n, "st%d" % i)[0] for i in range(k)]
        off = sim.log_size()
        ends = [None] * k
        errs = []
        go = threading.Barrier(k + 1)

        def station(i):
            go.wait()
            try:
                provision(args.bin, sim.url, os.path.join(tmp, "state-st%d" % i),
                          files[i], 1)
                ends[i] = time.perf_counter()
            except SystemExit as e:
                errs.append(str(e))

        ts = [threading.Thread(target=station, args=(i,)) for i in range(k)]
        for t in ts:
            t.start()
        go.wait()
        t0 = time.perf_counter()
        for t in ts:
            t.join()
        if errs:
            raise SystemExit(errs[0])
        per_op, thr, bad = calls_in(sim.log_lines(off))
        if bad:
            raise SystemExit("bench: %d mutating calls failed (not throttling)" % bad)
        ceil, lim = ceiling(per_op, n * k, AWS_DEFAULT)
    finally:
        sim.stop()
    walls = [e - t0 for e in ends]
    return dict(n=n, k=k, walls=walls, ceiling=ceil, limiting=lim, throttled=thr,
                aggregate=n * k / max(walls) / ceil,
                shares=[n / w / (ceil / k) for w in walls],
                fairness=min(walls) / max(walls))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--quick", action="store_true",
                    help="smaller jobs (about 3 minutes instead of 10)")
    ap.add_argument("--baseline-threads", type=int, default=32)
    ap.add_argument("--only", default="quota,off,rss,pace,stations",
                    help="sections to run (comma-separated): quota (1, 2), off (3, 5), "
                    "rss (4), pace (6), stations (7)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not only <= {"quota", "off", "rss", "pace", "stations"}:
        ap.error("--only takes quota, off, rss, pace, stations")
    args.bin = os.path.abspath(args.bin)
    n1 = 300 if args.quick else 600          # 60 s per phase at 10 items/s
    n10 = 3000 if args.quick else 6000       # 60 s per phase at 100 items/s
    noff = 3000 if args.quick else 10000
    rss_small, rss_large = (5000, 50000) if args.quick else (10000, 100000)
    n5 = 300 if args.quick else 600          # 12 s per job at 50 items/s
    nst = 100 if args.quick else 200         # per station: 60 s for three at 10/s
    tmp = tempfile.mkdtemp(prefix="tp-provbench-")
    q1 = q10 = off = r_small = r_large = pace = st = None
    try:
        log("bench: %s" % time.strftime("%H:%M:%S"))
        if "quota" in only:
            log("bench: 1. aws-default quotas, %d items per phase ..." % n1)
            q1 = run_at_quota(args, tmp, 1, n1)
            log("bench: 2. quotas x10, engine defaults, %d items per phase ..." % n10)
            q10 = run_at_quota(args, tmp, 10, n10)
        if "off" in only:
            log("bench: 3. quotas off vs boto3, %d items per phase ..." % noff)
            off = run_quotas_off(args, tmp, noff)
        if "rss" in only:
            log("bench: 4. peak RSS at %d and %d items ..." % (rss_small, rss_large))
            r_small = peak_rss(args, tmp, rss_small)
            r_large = peak_rss(args, tmp, rss_large)
        if "pace" in only:
            log("bench: 6. the learned pace, quotas x5, %d items per job ..." % n5)
            pace = run_learned_pace(args, tmp, n5)
        if "stations" in only:
            log("bench: 7. three stations, aws-default, %d items each ..." % nst)
            st = run_stations(args, tmp, nst)
    finally:
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)

    print("thingpress provision vs thingpress sim, %s, %d CPUs" % (
        time.strftime("%Y-%m-%d %H:%M"), os.cpu_count()))
    print("")
    if q1:
        print_quota(q1, q10)
    if off:
        print_off(args, off, q1, q10)
    if r_small:
        print_rss(r_small, r_large)
    if pace:
        print_pace(pace)
    if st:
        print_stations(st)


def print_quota(q1, q10):
    print("1. aws-default quotas (target: items/s / ceiling >= 0.95)")
    for r in q1:
        print("   Phase %d: %d items in %.1f s = %.2f items/s; ceiling %.2f (%s); "
              "ratio %.3f; throttled %d (absorbed), failed 0"
              % (r["phase"], r["n"], r["wall"], r["rate"], r["ceiling"], r["limiting"],
                 r["rate"] / r["ceiling"], r["throttled"]))
    print("2. sim quotas x10, engine default table (target: >= 0.9 of the raised ceiling)")
    for r in q10:
        print("   Phase %d: %d items in %.1f s = %.1f items/s; ceiling %.1f (%s); "
              "whole job %.3f; once found (2nd half) %.1f items/s = %.3f; throttled %d"
              % (r["phase"], r["n"], r["wall"], r["rate"], r["ceiling"], r["limiting"],
                 r["rate"] / r["ceiling"], r["steady"], r["steady"] / r["ceiling"],
                 r["throttled"]))


def print_off(args, off, q1, q10):
    print("3. quotas off: engine vs plain boto3 ThreadPoolExecutor(%d) (target >= 5x)"
          % args.baseline_threads)
    for ph in (1, 2):
        e, b = off[ph], off["b%d" % ph]
        print("   Phase %d: engine %.0f items/s (%.0f calls/s, %.0f us CPU/call, sim %.0f"
              " us/call); boto3 %.0f items/s (%.0f calls/s, %.0f us CPU/call, sim %.0f "
              "us/call); ratio %.1fx"
              % (ph, e["rate"], e["cps"], e["cpu"], e["sim_cpu"], b["rate"], b["cps"],
                 b["cpu"], b["sim_cpu"], e["rate"] / b["rate"]))
    print("5. upstream claims (Lambda pipeline): %.1f certs/s, %.1f devices/s"
          % (UPSTREAM_CERTS_PER_S, UPSTREAM_DEVICES_PER_S))
    if q1:
        print("   at aws-default quotas the ceiling is %.0f items/s for both phases: "
              "no client can reach the claims without raised quotas"
              % q1[0]["ceiling"])
        print("   quotas x10: Phase 1 %.1f certs/s = %.2fx the claim; Phase 2 %.1f "
              "devices/s = %.2fx" % (q10[0]["rate"], q10[0]["rate"] / UPSTREAM_CERTS_PER_S,
                                     q10[1]["rate"],
                                     q10[1]["rate"] / UPSTREAM_DEVICES_PER_S))
    print("   quotas off: Phase 1 %.0f certs/s = %.0fx the claim; Phase 2 %.0f devices/s "
          "= %.0fx" % (off[1]["rate"], off[1]["rate"] / UPSTREAM_CERTS_PER_S,
                       off[2]["rate"], off[2]["rate"] / UPSTREAM_DEVICES_PER_S))


def print_rss(r_small, r_large):
    print("4. peak RSS of provision, Phase 1, quotas off (flat: ratio near 1)")
    for r in (r_small, r_large):
        print("   %7d items: %.1f s, %d registered, peak RSS %.1f MB (first 10%% of the "
              "run %.1f MB, last 10%% %.1f MB)"
              % (r["n"], r["wall"], r["registered"], r["peak"] / 1024.0,
                 r["first"] / 1024.0, r["last"] / 1024.0))
    print("   peak RSS ratio %dk / %dk items: %.2f"
          % (r_large["n"] // 1000, r_small["n"] // 1000,
             r_large["peak"] / float(max(1, r_small["peak"]))))


def print_pace(rows):
    print("6. the learned pace: sim quotas x5, the engine not told; a first then a "
          "second job in one state directory (target: the second >= 0.95)")
    for r in rows:
        print("   Phase %d, job %d: %d items in %.1f s = %.1f items/s; ceiling %.1f (%s); "
              "ratio %.3f; throttled %d"
              % (r["phase"], r["job"], r["n"], r["wall"], r["rate"], r["ceiling"],
                 r["limiting"], r["rate"] / r["ceiling"], r["throttled"]))
    for ph in (1, 2):
        a, b = [r for r in rows if r["phase"] == ph]
        print("   Phase %d: first job %.3f, second job %.3f of the ceiling"
              % (ph, a["rate"] / a["ceiling"], b["rate"] / b["ceiling"]))


def print_stations(st):
    print("7. %d stations on one account (aws-default), %d items each, started together "
          "(targets: aggregate >= 0.95, each within 20%% of a fair share)"
          % (st["k"], st["n"]))
    for i, (w, sh) in enumerate(zip(st["walls"], st["shares"])):
        print("   station %d: %.1f s = %.2f items/s = %.3f of a fair share (%.2f items/s)"
              % (i + 1, w, st["n"] / w, sh, st["ceiling"] / st["k"]))
    print("   aggregate %.2f items/s / ceiling %.2f (%s) = %.3f; fairness (first finish / "
          "last finish) %.3f; throttled %d"
          % (st["n"] * st["k"] / max(st["walls"]), st["ceiling"], st["limiting"],
             st["aggregate"], st["fairness"], st["throttled"]))


if __name__ == "__main__":
    main()
