/* preview - the validation preview: scan.h over the whole file in a
 * background thread, rows for the preview table copied out to the UI thread.
 *
 * Design: pv_start() spawns a thread running scan_file() (itself on all
 * cores) with the job's source and validation options. The callback turns
 * each item into a compact pv_row (name, fingerprint, attribute count,
 * verdict, reason, and a few lines of detail) and appends it to a pending
 * list under a mutex; the UI thread takes the pending rows each tick
 * (pv_take swaps the list) and reads the counts (pv_status). Memory: the
 * first PV_MAX_ROWS rows are kept, then only rows with a problem (up to
 * PV_MAX_ROWS more); the counts always cover the whole file.
 *
 * No curses here. Threading: pv_start/pv_take/pv_status/pv_free from one
 * thread (the UI thread); the scan runs on its own threads. Ownership: rows
 * handed out by pv_take are the caller's (pv_rows_free). */
#ifndef TP_CONSOLE_PREVIEW_H
#define TP_CONSOLE_PREVIEW_H

#include <stddef.h>

#include "base/err.h"
#include "engine/jobcfg.h"
#include "parsers/item.h"
#include "parsers/src.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PV_MAX_ROWS 100000

typedef struct pv_row {
    size_t idx;     /* item index in the file (0-based) */
    char *name;     /* owned: thing name / deviceId ("" unknown) */
    char fp[65];    /* lowercase fingerprint, "" unknown */
    int n_attrs;    /* attributes (devices), -1 for certificates */
    int attr_limit; /* 3 without a thing type, 50 with one */
    item_verdict verdict;
    char *message; /* owned: the reason, "" when ok */
    char *detail;  /* owned: lines for the detail pane */
    /* the optional registry check (engine/regcheck.h), filled by the app */
    int rc_state;            /* an rc_state: RC_PENDING until checked */
    char rc_status[16];      /* "INACTIVE", ... when RC_PRESENT */
    item_verdict rc_verdict; /* the registry's verdict (rc_verdict), ITEM_OK none */
    char rc_msg[120];        /* its reason, "" none */
} pv_row;

/* A row's verdict with the registry's folded in, and its message (the
 * file's, then the registry's; into buf). */
item_verdict pv_row_verdict(const pv_row *r);
const char *pv_row_message(const pv_row *r, char *buf, size_t n);

void pv_rows_free(pv_row *v, size_t n);

typedef struct pv_status {
    int done;     /* the scan finished (or was rejected) */
    int rejected; /* the whole file was refused: message says why */
    vendor vendor;
    size_t total, ok, warn, error;
    size_t dropped; /* rows not kept (beyond the limits) */
    char batch_id[256];
    char message[512];
} pv_status;

typedef struct pv pv;

int pv_start(pv **out, const char *path, const jobcfg *cfg, err *e);
/* Hands over the rows found since the last call (in file order); returns
 * their count, *rows NULL when none. */
size_t pv_take(pv *p, pv_row **rows);
void pv_status_get(pv *p, pv_status *out);
/* Stops the scan early (if still running), joins and frees; NULL-safe. */
void pv_free(pv *p);

/* The row for one validated item (what the thread does per item). */
void pv_row_of(pv_row *out, const item *it, int has_thing_type);

#ifdef __cplusplus
}
#endif
#endif
