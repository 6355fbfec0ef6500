/* keeper - a running job's credentials: refreshed ahead of their expiration
 * and when AWS refuses them, once for every worker (DESIGN.md §6).
 *
 * Design: the keeper holds the job's current credentials (a copy of the
 * target's) with a generation number that grows by one with each refresh.
 * Each worker's iot_client carries the generation it was last given; before
 * every call keeper_sync() hands the client the newest credentials when the
 * generation moved (iot_client_set_credentials keeps the connection). A
 * refresh is the caller's function (eng_opts.refresh: the CLI and the
 * console re-resolve the profile, which runs credential_process again or
 * re-reads the credentials file), run by one thread at a time:
 *   - ahead of expiration: keeper_sync() refreshes once the credentials have
 *     less than min(5 min, a quarter of their lifetime) left, as the AWS SDKs
 *     do; the other workers go on with the current credentials meanwhile;
 *   - on a refusal (403 ExpiredTokenException and the like):
 *     keeper_renew(gen) refreshes unless another thread already replaced
 *     generation gen, and says whether newer credentials exist to retry with.
 * A refresh that fails, or gives back the same credentials, is not retried
 * before KEEPER_RETRY_MS: a credential_process is not run per call.
 *
 * Threading: every function may be called from any thread; the refresh
 * function runs under the keeper's lock (one at a time).
 * Ownership: the keeper owns its copy of the credentials (wiped on free);
 * the refresh context is borrowed for the keeper's life. */
#ifndef TP_ENGINE_KEEPER_H
#define TP_ENGINE_KEEPER_H

#include <stddef.h>

#include "base/err.h"
#include "iot/client.h"
#include "iot/target.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    KEEPER_RETRY_MS = 2000,   /* between refreshes that gave nothing new */
    KEEPER_AHEAD_MAX_S = 300, /* refresh at most this long before expiry */
};

/* Fills out's credentials (iot_target_set_credentials): 0, or -1 with e. */
typedef int (*keeper_refresh_fn)(void *ctx, iot_target *out, err *e);

typedef struct keeper keeper;

/* t: the job's first credentials (copied). refresh NULL: they cannot be
 * refreshed. */
keeper *keeper_new(const iot_target *t, keeper_refresh_fn refresh, void *ctx);
void keeper_free(keeper *k);

/* Before a call: refreshes when the credentials are about to expire, then
 * gives c the newest credentials if *gen is older (and updates *gen). */
void keeper_sync(keeper *k, iot_client *c, unsigned *gen);

/* The credentials of generation gen were refused: 1 when newer ones exist
 * (refreshed now or by another thread) and the call may be retried; 0 when
 * none could be had (why: the reason, one line). */
int keeper_renew(keeper *k, unsigned gen, char *why, size_t why_n);

/* Refreshes done and refreshes that failed or gave nothing new. */
void keeper_counts(keeper *k, unsigned *refreshed, unsigned *failed);

#ifdef __cplusplus
}
#endif
#endif
