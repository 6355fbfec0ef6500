/* regfold - `validate --check-registry` and `provision --dry-run`: the
 * registry's read-only state for every certificate of a file, to fold into
 * each item's verdict (engine/regcheck.h rc_verdict).
 *
 * Design: a first pass over the file collects the fingerprints with their
 * item index; provctx_connect resolves the endpoint and credentials (or the
 * local endpoint); the registry check (regcheck.h) answers them, listing the
 * account for large files; the answers are returned indexed by item, for
 * the caller's second pass (a provctx already connected is used as it is).
 * Progress goes to stderr on a terminal.
 *
 * Threading: the calling thread, which waits for the check's own thread.
 * Ownership: *reg is the caller's (free). */
#ifndef TP_CLI_REGFOLD_H
#define TP_CLI_REGFOLD_H

#include <stddef.h>

#include "cli/provctx.h"
#include "engine/regcheck.h"
#include "parsers/scan.h"

/* Fills *reg (n_reg = the file's item count; RC_PENDING where there was no
 * fingerprint) and *phase (1 or 2). 0, or -1 said on stderr. */
int regfold_check(provctx *pc, const char *path, const scan_opts *so, rc_result **reg,
                  size_t *n_reg, int *phase);

#endif
