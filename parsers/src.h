/* src - open an input file of any supported kind and stream its items.
 *
 * Design: one entry point for every format. src_open() detects the format
 * (extension first, then content; --vendor overrides), checks the file is a
 * readable regular file, and hands over to the format's reader. src_next()
 * yields items in file order with index set; whole-file problems (not the
 * format, invalid JSON, missing batch id, a decompression bomb) are a -1
 * with an err naming the file and the line or item. Item problems are not
 * errors here: the item comes back flagged (item.verdict) and reading goes on.
 *
 * Memory is bounded by one item for the streaming formats (Espressif CSV,
 * Generated, PEM, DER) and by the inner archive for Infineon; device-infos
 * and Microchip manifests are JSON documents loaded whole (Jansson).
 *
 * Threading: a src belongs to one thread. */
#ifndef TP_PARSERS_SRC_H
#define TP_PARSERS_SRC_H

#include <stddef.h>

#include "base/err.h"
#include "parsers/item.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VENDOR_AUTO = 0,
    VENDOR_ESPRESSIF,
    VENDOR_INFINEON,
    VENDOR_MICROCHIP,
    VENDOR_GENERATED,
    VENDOR_PEM,
    VENDOR_DER,
    VENDOR_DEVICE_INFOS,
} vendor;

/* "auto", "espressif", ... as on the command line (DESIGN.md §4). */
const char *vendor_name(vendor v);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int vendor_parse(vendor *out, const char *name);
/* 1 for device-infos (Phase 2), 0 for vendor files (Phase 1). */
int vendor_is_phase2(vendor v);

/* Limits that keep hostile input from exhausting the machine. */
typedef struct src_limits {
    size_t max_line;         /* longest text line (Generated, PEM) */
    size_t max_entries;      /* archive members, per archive */
    size_t max_member_bytes; /* one decompressed archive member */
    size_t max_total_bytes;  /* all decompressed bytes of an archive */
    size_t max_json_bytes;   /* a JSON document loaded whole */
} src_limits;

typedef struct src_opts {
    vendor vendor;                 /* VENDOR_AUTO: detect */
    const char *infineon_bundle;   /* "E0E0" (default when NULL), "E0E1", "E0E2" */
    const char *microchip_signers; /* extra signer directory, or NULL */
    src_limits limits;             /* zeros: defaults (src_default_limits) */
} src_opts;

src_limits src_default_limits(void);

typedef struct src src;

/* Detects the format of path: by extension, confirmed or corrected by the
 * first bytes. Returns 0, or -1 (ERR_IO / ERR_FORMAT) naming the file. */
int src_detect(vendor *out, const char *path, err *e);
/* 1 when name ends in an extension the readers know (.csv, .json, .txt, .7z,
 * .pem, .crt, .der, .cer; any case), else 0. Looks at the name only. */
int src_input_name(const char *name);

int src_open(src **out, const char *path, const src_opts *opts, err *e);
/* 1: *out holds the next item (the caller item_clear()s it); 0: end of file;
 * -1: the whole file is rejected (e says why). *out must be item_init()ed. */
int src_next(src *s, item *out, err *e);
vendor src_vendor(const src *s);
/* device-infos: the batch id (borrowed, valid until src_free); else NULL. */
const char *src_batch_id(const src *s);
/* Notes about the file that are not about one item (e.g. "10 manifest
 * entries have no certificate"), one per line; borrowed, may be "". */
const char *src_notes(const src *s);
void src_free(src *s);

#ifdef __cplusplus
}
#endif
#endif
