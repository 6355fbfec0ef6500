/* regcheck - the validation preview's optional, read-only registry check
 * (issue 5): does each certificate already exist in the registry, and in
 * which status? Before Phase 2 an operator sees which certificates Phase 1
 * registered and that they are still INACTIVE; before Phase 1, which are
 * already there.
 *
 * Design: one background thread with its own iot_client. For RC_LIST_MIN
 * certificates or more it first pages through ListCertificates (250 a
 * page, at its quota): one page answers up to 250 certificates where
 * DescribeCertificate answers one, so a 50,000-item file is not 83 minutes
 * of calls; the listing stops, and the calls below take over, if it would
 * take more pages than there are certificates to check. Otherwise it calls
 * DescribeCertificate for each fingerprint in the order given, paced by a
 * rate.h pacer at the operation's quota (DescribeCertificate: 10/s by default,
 * adapting to throttling like the engine), through the engine's one retry
 * policy (call.h): throttling absorbed, 5xx and transport errors retried up
 * to 5 times with backoff and jitter. Nothing but DescribeCertificate
 * is ever sent. Results queue up for the caller, who takes them (the lock is
 * held only to copy them out). At the default quota a check takes about 100 s
 * per 1,000 certificates; rc_free() stops it at any time.
 *
 * Threading: rc_start/rc_take/rc_status/rc_free from one thread (the UI
 * thread); the check runs on its own thread, started with every signal
 * blocked. Ownership: the fingerprints and the configuration are copied. */
#ifndef TP_ENGINE_REGCHECK_H
#define TP_ENGINE_REGCHECK_H

#include <stddef.h>

#include "base/err.h"
#include "iot/target.h"
#include "parsers/item.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RC_PENDING = 0,
    RC_ABSENT,  /* 404: not registered */
    RC_PRESENT, /* registered: see status */
    RC_INVALID, /* not a 64-hex fingerprint: not asked */
    RC_ERROR,   /* the question failed: see message */
} rc_state;

typedef struct rc_result {
    size_t idx; /* the index given with the fingerprint */
    rc_state state;
    char status[16]; /* RC_PRESENT: "ACTIVE", "INACTIVE", "REVOKED", ... */
    char message[200];
} rc_result;

struct iot_trace;

typedef struct rc_opts {
    const iot_target *target; /* where to ask, as whom (borrowed during rc_start) */
    double tps;               /* starting rate; 0 = DescribeCertificate's default quota */
    /* Told of every call (iot/client.h iot_trace_fn), on the check's thread;
     * NULL = none. The context must outlive the check. */
    void (*trace)(void *ctx, const struct iot_trace *t);
    void *trace_ctx;
} rc_opts;

enum { RC_LIST_MIN = 100 }; /* from this many certificates, list the account */

/* The registry's state folded into an item's verdict (DESIGN.md §4): Phase
 * 2 absent -> error "not registered: run Phase 1 first"; REVOKED (or in
 * transfer) -> error; Phase 2 ACTIVE -> ok "already done"; Phase 1 present
 * -> ok with its status; a failed check -> warn. msg gets the reason ("" when
 * there is nothing to say). */
item_verdict rc_verdict(int phase, const rc_result *r, char *msg, size_t n);

typedef struct regcheck regcheck;

/* Starts checking n fingerprints (fps[i], reported with idx[i]). */
int rc_start(regcheck **out, const rc_opts *o, const char *const *fps, const size_t *idx,
             size_t n, err *e);
/* Copies up to max finished results out, oldest first; returns how many. */
size_t rc_take(regcheck *r, rc_result *out, size_t max);
/* How many are checked so far, of how many; 1 in *finished when done. */
void rc_status(regcheck *r, size_t *checked, size_t *total, int *finished);
/* Stops (a call in flight ends within about a second), joins, frees. NULL-safe. */
void rc_free(regcheck *r);

#ifdef __cplusplus
}
#endif
#endif
