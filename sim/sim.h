/* sim - the local AWS-IoT-compatible endpoint (`thingpress sim`, DESIGN.md
 * §8): the AWS IoT control-plane REST API on 127.0.0.1, state in SQLite.
 *
 * Design: libmicrohttpd with an internal epoll thread pool (HTTP/1.1,
 * keep-alive). Each request is read whole, then goes through, in this order:
 *   1. routing (method + wire path -> operation; unknown routes are 404
 *      UnknownOperationException after the signature check),
 *   2. SigV4 verification (iot/sigv4.h) against the configured credentials:
 *      403 MissingAuthenticationTokenException (no Authorization header),
 *      IncompleteSignatureException (malformed), UnrecognizedClientException
 *      (unknown access key), InvalidSignatureException (wrong signature, wrong
 *      scope, or "Signature expired" beyond 15 minutes of clock skew). Without
 *      credentials, any access key is accepted, but the Authorization header
 *      must still be well-formed SigV4 with a credential scope of this
 *      region, service iot or execute-api, and a fresh X-Amz-Date (the
 *      signature itself cannot be checked and is logged "unverified"),
 *   3. the operation's quota (sim/quota.h): 400 ThrottlingException,
 *   4. fault injection (sim/fault.h): 500, 503, throttle, reset (drop the
 *      connection, nothing done) or late (do it, then drop the connection),
 *   5. the operation itself (sim/reg.h).
 * Errors carry `x-amzn-ErrorType: Code:...` and {"message": ...}, the way AWS
 * IoT answers and botocore parses. Every request can be logged as one JSON
 * line: time, op, method, path, status, error, fault, sig (the verdict),
 * latency_us. No header values, secrets or bodies are ever logged.
 *
 * Threading: sim_start/sim_stop from one thread; requests are served on the
 * server's own threads. Signals are not touched (the caller blocks or handles
 * them). Ownership: sim_start gives the caller a sim to release with sim_stop;
 * strings in sim_opts are copied. */
#ifndef TP_SIM_SIM_H
#define TP_SIM_SIM_H

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sim_opts {
    const char *listen;     /* "127.0.0.1:PORT" (PORT 0 = any free one); NULL = :0 */
    const char *db_path;    /* SQLite state file; NULL or "" = in memory */
    const char *quotas;     /* "aws-default" (NULL), "unlimited" or a JSON file */
    const char *faults;     /* fault SPEC (sim/fault.h); NULL = none */
    const char *account;    /* 12 digits; NULL = "123456789012" */
    const char *region;     /* NULL = "us-east-1" */
    const char *access_key; /* with secret_key: verify signatures strictly; */
    const char *secret_key; /* both NULL: accept any well-formed signature */
    const char *log_path;   /* JSON-lines request log (appended); NULL = none */
    int threads;            /* server threads; 0 = default (2 x CPUs, 4 to 16) */
} sim_opts;

typedef struct sim sim;

/* Validates opts, opens the state, binds 127.0.0.1 and starts serving.
 * Returns the bound TCP port (> 0) with *out set, or -1 with *out NULL and e
 * filled (ERR_USAGE for bad options, ERR_IO for a file or socket problem). */
int sim_start(sim **out, const sim_opts *opts, err *e);

/* The bound port. */
int sim_port(const sim *s);

/* Requests answered so far, by outcome (any pointer may be NULL): served
 * (an operation ran), rejected (signature, route or quota), faulted. */
void sim_counts(const sim *s, unsigned long long *served, unsigned long long *rejected,
                unsigned long long *faulted);

/* Stops serving (open connections are closed), closes the state; NULL-safe. */
void sim_stop(sim *s);

/* Creates the bundled samples' resources if missing: the policy
 * BasicTestPolicy, the thing group BasicTestGroup and the thing type
 * BasicTestType, so the sample files run end to end on a fresh local
 * endpoint (the console's embedded default). Existing ones are kept.
 * Returns 0 or -1 with e set. */
int sim_seed_samples(sim *s, err *e);

/* Parses "AKID:SECRET" (split at the first ':'), or "@FILE" holding that on
 * its first line, into caller-owned strings. Returns 0 or -1 with e set. The
 * message never contains the secret. */
int sim_parse_credentials(char **akid, char **secret, const char *spec, err *e);

#ifdef __cplusplus
}
#endif
#endif
