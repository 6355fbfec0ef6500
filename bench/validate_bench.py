#!/usr/bin/env python3
"""Benchmark of `thingpress validate` (issue: foundation). Prints figures and
ratios measured in this one run; it passes or fails nothing.

  1. certificates/s of `thingpress validate --output tsv` on a 100,000-line
     Generated file, and the ratio to a reference loop doing what upstream
     does per certificate (Python `cryptography`: base64 decode,
     load_pem_x509_certificate, SHA-256 fingerprint, subject CN);
  2. wall time and peak RSS for a 50,000-device device-infos file;
  3. peak RSS (and time) for a 1,000,000-line Generated file.

Inputs are generated here: one template certificate (EC P-256) is signed once
and its fixed-width CN is patched per line, so every line is a distinct
certificate (distinct CN and fingerprint) without 1,000,000 signatures. The
reference loads those certificates as it would any other (signatures are not
checked on load, by upstream either).

Usage: bench/validate_bench.py [--bin PATH] [--workdir DIR] [--quick]
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PLACEHOLDER = "Device-99999999"


def template_der():
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, PLACEHOLDER)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "thingpress bench CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def der_for(template, pos, i):
    cn = ("Device-%08d" % i).encode()
    return template[:pos] + cn + template[pos + len(cn):]


def pem_of(der):
    b = base64.b64encode(der).decode()
    body = "\n".join(b[k:k + 64] for k in range(0, len(b), 64))
    return "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % body


def write_generated(path, template, pos, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write(base64.b64encode(pem_of(der_for(template, pos, i)).encode()).decode())
            f.write("\n")


def write_device_infos(path, template, pos, n):
    devices = []
    for i in range(n):
        fp = hashlib.sha256(der_for(template, pos, i)).hexdigest()
        devices.append({
            "certFingerprint": fp,
            "deviceId": "dev-%08d" % i,
            "attributes": {"DSN": "DSN-%08d" % i, "Line": "L3"},
        })
    with open(path, "w") as f:
        json.dump({"batch_id": "bench-batch", "devices": devices}, f, indent=1)


def reference(path):
    """What upstream's Generated provider + importer do per certificate."""
    t0 = time.perf_counter()
    n = 0
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            pem = base64.b64decode(line)
            cert = x509.load_pem_x509_certificate(pem)
            cert.fingerprint(hashes.SHA256()).hex()
            cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            n += 1
    return n, time.perf_counter() - t0


def ours(binary, path, *extra):
    """Runs validate --output tsv; returns (seconds, peak RSS bytes, rc, lines).

    Peak RSS comes from GNU time wrapped around the binary: a child forked
    from this (large) Python process would report the parent's RSS at fork
    time as its own maximum."""
    t0 = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-f", "maxrss_kb=%M", binary, "validate",
                          "--output", "tsv", *extra, path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = 0
    for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
        lines += chunk.count(b"\n")
    p.wait()
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace").strip().splitlines()
    rss = 0
    if err and err[-1].startswith("maxrss_kb="):
        rss = int(err.pop()[len("maxrss_kb="):]) * 1024
    if p.returncode != 0:
        print("  validate exited %d: %s" % (p.returncode, " ".join(err)), file=sys.stderr)
    return dt, rss, p.returncode, lines


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="bazel-bin/cli/thingpress")
    ap.add_argument("--workdir", default="/tmp/thingpress-bench")
    ap.add_argument("--quick", action="store_true", help="smaller files (smoke run)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    n_gen, n_dev, n_big = (100_000, 50_000, 1_000_000) if not a.quick else (5_000, 5_000, 20_000)

    template = template_der()
    pos = template.find(PLACEHOLDER.encode())
    gen = os.path.join(a.workdir, "generated-%d.txt" % n_gen)
    dev = os.path.join(a.workdir, "device-infos-%d.json" % n_dev)
    big = os.path.join(a.workdir, "generated-%d.txt" % n_big)
    t0 = time.perf_counter()
    write_generated(gen, template, pos, n_gen)
    write_device_infos(dev, template, pos, n_dev)
    write_generated(big, template, pos, n_big)
    print("inputs generated in %.1f s under %s" % (time.perf_counter() - t0, a.workdir))
    print("cpus: %d" % os.cpu_count())

    # 1. certificates/s, ours vs the reference, interleaved, median of 3
    ref_t, our_t = [], []
    for _ in range(3):
        n, dt = reference(gen)
        assert n == n_gen
        ref_t.append(dt)
        dt, rss, rc, lines = ours(a.bin, gen)
        assert rc == 0 and lines == n_gen, (rc, lines)
        our_t.append(dt)
    ref_rate = n_gen / median(ref_t)
    our_rate = n_gen / median(our_t)
    one_t = []
    for _ in range(3):
        dt, _, rc, _ = ours(a.bin, gen, "--threads", "1")
        one_t.append(dt)
    print()
    print("Generated file, %d certificates (median of 3)" % n_gen)
    print("  reference (python cryptography): %10.0f certs/s" % ref_rate)
    print("  thingpress validate, all cores : %10.0f certs/s   ratio %.1fx (target >= 10x)"
          % (our_rate, our_rate / ref_rate))
    print("  thingpress validate, 1 thread  : %10.0f certs/s   ratio %.1fx"
          % (n_gen / median(one_t), n_gen / median(one_t) / ref_rate))

    # 2. the 50,000-device device-infos file
    runs = [ours(a.bin, dev) for _ in range(3)]
    for r in runs:
        assert r[2] == 0 and r[3] == n_dev, r
    print()
    print("device-infos file, %d devices (median of 3)" % n_dev)
    print("  time %.3f s (target < 1 s)   peak RSS %.1f MB (target < 200 MB)"
          % (median([r[0] for r in runs]), max(r[1] for r in runs) / 1e6))

    # 3. the 1,000,000-line file: it streams
    dt, rss, rc, lines = ours(a.bin, big)
    assert rc == 0 and lines == n_big, (rc, lines)
    print()
    print("Generated file, %d lines" % n_big)
    print("  time %.2f s (%.0f certs/s)   peak RSS %.1f MB (target < 64 MB)"
          % (dt, n_big / dt, rss / 1e6))


if __name__ == "__main__":
    main()
