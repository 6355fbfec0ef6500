/* scan - read, decode and validate a whole input file, in order, on all cores.
 *
 * Design: N workers and the calling thread. Each worker owns a few batch
 * slots. A worker takes the reader lock, reads the next batch of items into
 * one of its free slots (src_next, in file order, the batch numbered), drops
 * the lock, then does the expensive part on its own: item_decode (base64,
 * SHA-256, the DER walk) and val_item_rules. The calling thread takes the
 * batches in number order, applies the rules that need the whole file
 * (duplicates) and calls the callback; the slot then goes back to its owner,
 * which clears it. So every item is allocated and freed by the same thread:
 * glibc's malloc locks (contended when memory crosses threads) stay cold, and
 * memory is bounded by the slots (a few MB), not by the file.
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
    int threads; /* worker threads; 0 = number of online CPUs */
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
