/* scan - read, decode and validate a whole input file, in order, on all cores.
 *
 * Design: three stages joined by a small ring of batches, so memory is bounded
 * by the ring (a few MB), not by the file:
 *   reader thread  : src_next() into batch slots, in file order
 *   decoder threads: item_decode() on whole batches (the expensive part:
 *                    base64, SHA-256, the DER walk), any order
 *   calling thread : val_item() then the callback, strictly in file order
 * This is what `validate`, the console's preview and the engine's planner
 * share.
 *
 * Threading: scan_file() blocks the calling thread; the callback runs on the
 * calling thread, one item at a time, in file order. */
#ifndef TP_PARSERS_SCAN_H
#define TP_PARSERS_SCAN_H

#include <stddef.h>

#include "base/err.h"
#include "parsers/item.h"
#include "parsers/src.h"
#include "parsers/validate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scan_summary {
    vendor vendor;
    size_t total;
    size_t ok;
    size_t warn;
    size_t error;
    char batch_id[256]; /* device-infos; "" otherwise */
    char *notes;        /* owned (scan_summary_free): file-level notes, lines */
} scan_summary;

/* Called for each item after validation. The item is borrowed: it is cleared
 * when the callback returns (copy what you keep). Return 0 to go on, -1 to
 * stop the scan early (scan_file then returns 0 with the counts so far). */
typedef int (*scan_cb)(void *ctx, item *it);

typedef struct scan_opts {
    src_opts src;
    val_opts val;
    int threads; /* decoder threads; 0 = number of online CPUs */
} scan_opts;

/* Returns 0 (every item seen, or stopped by the callback), or -1 when the
 * whole file was rejected (e says why; items already passed to the callback
 * stay counted in *sum). */
int scan_file(scan_summary *sum, const char *path, const scan_opts *opts, scan_cb cb,
              void *ctx, err *e);
void scan_summary_free(scan_summary *sum);

#ifdef __cplusplus
}
#endif
#endif
