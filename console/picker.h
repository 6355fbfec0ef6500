/* picker - the data side of the file picker: a directory listing, and a
 * background prober that detects each file's kind and counts its items.
 *
 * Design: pk_list() is one readdir() and a stat() per entry (cheap; the UI
 * thread calls it when the operator enters a folder). Detection and counting
 * read the files, so they run on the prober's own thread, file after file in
 * listing order; the UI thread takes finished results each tick (the lock is
 * held only to copy them out) and a new folder simply replaces the prober
 * (pk_probe_free cancels and joins it). Counting streams the file with
 * src_next() without decoding certificates, so it is bounded by one item's
 * memory; it stops at PK_MAX_COUNT items.
 *
 * No curses here (DESIGN.md §2): this module only produces data.
 * Threading: pk_list on any thread; a prober is created, drained and freed by
 * one thread (the UI thread), and runs on its own. Ownership: pk_list's
 * entries are the caller's (pk_entries_free); results are copied out. */
#ifndef TP_CONSOLE_PICKER_H
#define TP_CONSOLE_PICKER_H

#include <stddef.h>

#include "base/err.h"
#include "parsers/src.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PK_MAX_COUNT 10000000LL

typedef enum {
    PK_PARENT,  /* ".." */
    PK_SAMPLES, /* the bundled samples folder (a shortcut) */
    PK_DIR,
    PK_FILE,
} pk_kind;

typedef struct pk_entry {
    char *name; /* owned: the entry name ("..", "espressif", "x.csv") or, for
                   PK_SAMPLES, the samples folder path */
    pk_kind kind;
    long long size;  /* bytes (files) */
    int probed;      /* the prober has looked at it (files) */
    int supported;   /* a format thingpress reads */
    vendor vendor;   /* detected kind, when supported */
    long long count; /* items, -1 unknown (not counted, or unreadable) */
    char note[160];  /* why not supported / why not counted */
} pk_entry;

/* Lists dir: "..", sub-folders, then files, each group by name; hidden
 * entries are left out. samples (may be NULL): when dir is not inside it, a
 * PK_SAMPLES entry is put first. Returns 0, or -1 with e naming the folder. */
int pk_list(pk_entry **out, size_t *n, const char *dir, const char *samples, err *e);
void pk_entries_free(pk_entry *v, size_t n);

/* One finished probe. */
typedef struct pk_result {
    size_t index; /* into the listing given to pk_probe_start */
    int supported;
    vendor vendor;
    long long count;
    char note[160];
} pk_result;

typedef struct pk_prober pk_prober;

/* Starts probing the PK_FILE entries of v (dir/name); copies what it needs. */
pk_prober *pk_probe_start(const char *dir, const pk_entry *v, size_t n);
/* Copies up to max finished results out (removing them); returns how many. */
size_t pk_probe_take(pk_prober *p, pk_result *out, size_t max);
/* 1 while files remain to probe. */
int pk_probe_busy(pk_prober *p);
/* Cancels, joins and frees; NULL-safe. */
void pk_probe_free(pk_prober *p);

/* Detects and counts one file (what the prober does for each). */
void pk_probe_file(pk_result *out, const char *path);

#ifdef __cplusplus
}
#endif
#endif
