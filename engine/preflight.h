/* preflight - what a job checks in the account before it sends anything
 * that changes it (DESIGN.md §6). Private to engine/.
 *
 * Design: every policy, thing group and thing type the job names (the
 * configuration's, and each device's own deviceType) must exist, and a thing
 * type must not be deprecated; otherwise the job is rejected with one line
 * naming what is missing, and nothing is sent. The account id is learned
 * from the first ARN an answer carries (or from the first certificate of the
 * file, when nothing else is read), so certificate ARNs are built, never
 * described per item; a Phase 2 job that cannot learn it is rejected. The
 * reads go through the one retry policy (call.h), not paced (a handful of
 * calls).
 *
 * Threading: the engine thread, with its own client. Ownership: pf_needs owns
 * its strings; pf_needs_free frees them. */
#ifndef TP_ENGINE_PREFLIGHT_H
#define TP_ENGINE_PREFLIGHT_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/preflight.h is private to engine/ (engine/BUILD)"
#endif

#include <stddef.h>

#include "engine/engine.h"
#include "iot/client.h"

/* What the pre-flight needs to know of the file, gathered during validation. */
typedef struct pf_needs {
    char first_fp[65]; /* the first valid item's certificate id, "" none */
    char **types;      /* distinct deviceTypes (at most 1000) */
    size_t n_types;
} pf_needs;

/* Notes a valid item: its fingerprint key (fp, may be NULL or "") and its
 * deviceType (NULL or "" none). */
void pf_needs_add(pf_needs *n, const char *fp, const char *device_type);
void pf_needs_free(pf_needs *n);

/* Checks the account; learns g->account. 0 ok; -1 rejected (the snapshot's
 * message says why), or cancelled. */
int preflight_run(eng *g, iot_client *c, const pf_needs *n);

#endif
