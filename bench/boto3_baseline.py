#!/usr/bin/env python3
"""The baseline of bench/run.sh provision: what a plain script does with boto3
and a thread pool, with the same calls per item as `thingpress provision`.

Phase 1 (a Generated file: one base64-encoded PEM per line): per certificate
RegisterCertificateWithoutCA (INACTIVE), then AttachPolicy.
Phase 2 (a device-infos JSON): per device UpdateCertificate (ACTIVE),
CreateThing (type, attributes), AttachThingPrincipal, AttachPolicy,
AddThingToThingGroup.

One boto3 client shared by the threads (boto3 clients are thread-safe), its
connection pool as large as the pool of threads, boto3's standard retries.
Prints one JSON object: items, failed, wall (s), cpu (s of this process).
"""
import argparse
import base64
import concurrent.futures
import json
import os
import resource
import time

import boto3
import botocore.config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--phase", type=int, choices=(1, 2), required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--group")
    ap.add_argument("--type")
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("file")
    a = ap.parse_args()
    cfg = botocore.config.Config(max_pool_connections=a.threads,
                                 retries={"mode": "standard", "max_attempts": 5})
    c = boto3.client("iot", endpoint_url=a.endpoint_url, config=cfg,
                     region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    account = None
    if a.phase == 1:
        with open(a.file) as f:
            items = [base64.b64decode(l.strip()).decode() for l in f if l.strip()]
    else:
        with open(a.file) as f:
            items = json.load(f)["devices"]
        # the certificate ARN is built from the account, like the engine does
        arn = c.get_policy(policyName=a.policy)["policyArn"]
        region, account = arn.split(":")[3], arn.split(":")[4]

    def phase1(pem):
        r = c.register_certificate_without_ca(certificatePem=pem, status="INACTIVE")
        c.attach_policy(policyName=a.policy, target=r["certificateArn"])

    def phase2(d):
        fp = d["certFingerprint"]
        cert_arn = "arn:aws:iot:%s:%s:cert/%s" % (region, account, fp)
        c.update_certificate(certificateId=fp, newStatus="ACTIVE")
        c.create_thing(thingName=d["deviceId"], thingTypeName=a.type,
                       attributePayload={"attributes": d.get("attributes", {})})
        c.attach_thing_principal(thingName=d["deviceId"], principal=cert_arn)
        c.attach_policy(policyName=a.policy, target=cert_arn)
        c.add_thing_to_thing_group(thingGroupName=a.group, thingName=d["deviceId"])

    fn = phase1 if a.phase == 1 else phase2
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(a.threads) as pool:
        for fut in concurrent.futures.as_completed([pool.submit(fn, i) for i in items]):
            if fut.exception() is not None:
                failed += 1
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({"items": len(items), "failed": failed, "wall": wall, "cpu": cpu}))


if __name__ == "__main__":
    main()
