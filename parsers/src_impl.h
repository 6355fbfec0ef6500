/* src_impl - the contract between src.c and each format's reader. Internal
 * to parsers/.
 *
 * A reader's open function fills a src_impl: its state, its next() and
 * free() functions, and optionally a batch id and a notes getter (borrowed
 * from the state). next() follows src_next()'s contract (1 item / 0 end / -1 file
 * rejected) but need not set item.index: src.c numbers items. A reader that
 * fails to open must free what it allocated and leave *out untouched.
 * Errors must name `path` (err_set's where) and the line or item. */
#ifndef TP_PARSERS_SRC_IMPL_H
#define TP_PARSERS_SRC_IMPL_H

#include "base/err.h"
#include "parsers/item.h"
#include "parsers/src.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct src_impl {
    void *state;
    int (*next)(void *state, item *out, err *e);
    void (*free)(void *state);
    const char *batch_id; /* borrowed from state, or NULL */
    /* Optional (NULL): notes about the file, "one line\n" each, borrowed from
     * state; read by src_notes() at any time, typically after the last item. */
    const char *(*notes)(void *state);
} src_impl;

/* Each takes opts with limits already defaulted. */
int espressif_open(src_impl *out, const char *path, const src_opts *opts, err *e);
int infineon_open(src_impl *out, const char *path, const src_opts *opts, err *e);
int microchip_open(src_impl *out, const char *path, const src_opts *opts, err *e);
int generated_open(src_impl *out, const char *path, const src_opts *opts, err *e);
int pembundle_open(src_impl *out, const char *path, const src_opts *opts, err *e);
int der_open(src_impl *out, const char *path, const src_opts *opts, err *e);
int devinfo_open(src_impl *out, const char *path, const src_opts *opts, err *e);

#ifdef __cplusplus
}
#endif
#endif
