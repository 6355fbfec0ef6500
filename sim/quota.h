/* quota - per-operation rate limits of the local endpoint (`thingpress sim
 * --quotas aws-default|unlimited|FILE.json`).
 *
 * What for: the sim answers a call over its operation's rate with HTTP 400
 * ThrottlingException, as AWS IoT does, so the engine's rate control and
 * back-off are exercised against the same ceilings as in a real account, and
 * benchmarks can check that a job runs at `min over ops (quota / calls per
 * item)`.
 *
 * Specs:
 *   aws-default  the default per-account TPS of AWS IoT Core (table below).
 *   aws-default*K  the same table, every rate times K (an account whose
 *                quotas were raised; benchmarks of the engine's probing).
 *   unlimited    never throttles.
 *   FILE.json    a JSON object of operation name -> calls per second, e.g.
 *                  {"CreateThing": 50, "AttachPolicy": "unlimited", "default": 20}
 *                A value is a number above 0 (fractions allowed: 0.5 is one call
 *                every 2 s; at most 1000000) or the string "unlimited". Names
 *                are the operations of the table below (case-sensitive; any
 *                other name is an error, so a typo cannot be silently ignored).
 *                "default" applies to every operation the file does not name;
 *                without it, those keep their aws-default rate (a file is an
 *                account's adjusted quotas on top of AWS's defaults). Write
 *                {"default": "unlimited", "CreateThing": 5} to throttle only
 *                CreateThing.
 *
 * aws-default table (calls per second): the tps column of the operation
 * table, iot/ops.def, so the sim and the engine start from the same figures.
 * DESIGN.md §6 gives
 * RegisterCertificateWithoutCA 10, UpdateCertificate 10, DescribeCertificate
 * 10, ListCertificates 10, CreateThing 100, DescribeThing 350,
 * AttachThingPrincipal 100, AttachPolicy 15, AddThingToThingGroup 100,
 * DescribeThingType 100, DescribeThingGroup 100, GetPolicy 10. The others are
 * the defaults AWS Service Quotas lists for service code `iotcore` (check with
 * `aws service-quotas get-aws-default-service-quota --service-code iotcore
 * --quota-code CODE`): ListThingPrincipals 10 (L-FC3EF4D9),
 * ListThingGroupsForThing 100 (L-75F129AD), CreateThingGroup 25 (L-512F449C),
 * CreateThingType 15 (L-8650816F), ListThings 10 (L-57AAC135). Two are guesses,
 * because Service Quotas names them without a value we could confirm:
 * CreatePolicy 10 (like GetPolicy) and ListAttachedPolicies 10 (like the other
 * List calls). An operation outside the table (the sim may serve more later)
 * gets the file's "default" rate, all such operations sharing one bucket, and
 * is unlimited when there is no "default".
 *
 * Design: one token bucket per operation with burst = the rate (one second's
 * worth, at least 1 call; AWS allows a burst roughly equal to the rate), full
 * at start and refilled continuously from CLOCK_MONOTONIC. It is implemented
 * as GCRA (the "virtual scheduling" form of a token bucket): each bucket is a
 * single atomic 64-bit "theoretical arrival time" advanced with
 * compare-and-swap, so quota_take is lock-free, an allowed call costs one CAS
 * and a throttled one only a load (a flood of throttled calls does not
 * contend). Allowed and throttled calls are counted per operation (relaxed
 * atomics) for logs, tests and benchmarks.
 *
 * Threading: quota_new, quota_set_clock and quota_free on one thread, before
 * and after the others; quota_take, quota_rate, quota_burst, quota_stats and
 * the quota_op_* functions on any thread, concurrently.
 *
 * Ownership: quota_new gives the caller a quota to release with quota_free.
 * Strings returned are static or owned by the quota (valid until quota_free). */
#ifndef TP_SIM_QUOTA_H
#define TP_SIM_QUOTA_H

#include <stddef.h>

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* quota_rate() of an operation that is never throttled. */
#define QUOTA_UNLIMITED 0.0
/* The largest rate a file may set (calls per second). */
#define QUOTA_MAX_RATE 1000000.0

typedef struct quota quota;

/* A monotonic clock in nanoseconds; ctx is what quota_set_clock was given. */
typedef unsigned long long (*quota_clock_fn)(void *ctx);

/* Parses spec ("aws-default", "aws-default*K", "unlimited" or a JSON file
 * path) into *out.
 * Returns 0, or -1 with *out NULL and e filled: ERR_USAGE for an empty spec,
 * ERR_IO for a file that cannot be read, ERR_FORMAT for a file that is not a
 * valid quota table (e->where is the file, e->line the JSON line when known). */
int quota_new(quota **out, const char *spec, err *e);

/* Replaces the clock (tests). Call before any quota_take; fn NULL restores
 * CLOCK_MONOTONIC. Buckets start full at whatever time the clock first says. */
void quota_set_clock(quota *q, quota_clock_fn fn, void *ctx);

/* Takes one call of op from its bucket: 0 allowed, 1 throttled (answer HTTP
 * 400 ThrottlingException). q NULL allows everything. */
int quota_take(quota *q, const char *op);

/* The configured rate of op in calls per second, QUOTA_UNLIMITED (0.0) when it
 * is never throttled. quota_burst is the bucket size (max(1, rate)); 0 when
 * unlimited. A job's sustained ceiling is min over ops (rate / calls per item);
 * over a window of T seconds a bucket allows at most burst + rate * T calls. */
double quota_rate(const quota *q, const char *op);
double quota_burst(const quota *q, const char *op);

/* Calls of op allowed and throttled so far (either pointer may be NULL). */
void quota_stats(const quota *q, const char *op, unsigned long long *allowed,
                 unsigned long long *throttled);

/* The spec the quota was made from ("aws-default", "unlimited" or the path). */
const char *quota_spec(const quota *q);

/* Destroys q; NULL is a no-op. */
void quota_free(quota *q);

/* The operations of the aws-default table (the operations the sim serves), by
 * index 0 .. quota_op_count()-1, in the order of iot/ops.def (the index is the
 * iot_op). quota_op_index returns -1 for any other name.
 * quota_aws_default gives the table's rate, QUOTA_UNLIMITED for other names. */
size_t quota_op_count(void);
const char *quota_op_name(size_t i);
int quota_op_index(const char *op);
double quota_aws_default(const char *op);

#ifdef __cplusplus
}
#endif
#endif
