/* bg - the console's disk work on a thread of its own: reading the journal
 * (the job list, a page of a job's items), listing a folder, detecting a
 * file's kind, writing a job's report. The UI thread asks and, on its next
 * ticks, takes the answers; it never waits on the disk (issue 5: "the UI
 * thread never waits on the network or the disk").
 *
 * Design: one worker thread and one slot per kind of request. Asking again
 * before the worker took the previous request of the same kind replaces it
 * (the list being refreshed, the page being scrolled to: only the latest
 * matters). Answers carry their request, so the caller can drop one that no
 * longer matches what is on the screen. The worker opens its own read-only
 * handle on the journal once it exists (SQLite WAL: reads do not block the
 * engine's writer, nor it them).
 *
 * Threading: bg_ask, bg_take and bg_free from one thread (the UI's). The
 * worker blocks every signal, so they stay with the UI thread. Ownership: answers' arrays
 * are the caller's (bg_ans_free, or hand them on); bg_free drops the answers not taken.
 */
#ifndef TP_CONSOLE_BG_H
#define TP_CONSOLE_BG_H

#include <limits.h>
#include <stddef.h>

#include "console/picker.h"
#include "engine/journal.h"
#include "parsers/src.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    BG_JOBS,   /* the recent jobs */
    BG_ITEMS,  /* a page of one job's items */
    BG_DIR,    /* a folder listing */
    BG_DETECT, /* a file's kind */
    BG_EXPORT, /* a job's report */
    BG_AUDIT,  /* one item's audit lines (job_id, off = the item's index) */
    BG_KINDS
} bg_kind;

typedef struct bg_req {
    bg_kind kind;
    long long job_id;    /* BG_ITEMS, BG_EXPORT */
    int filter;          /* BG_ITEMS: JNL_FILTER_* */
    size_t off;          /* BG_ITEMS: first row */
    size_t max;          /* BG_JOBS, BG_ITEMS: rows at most */
    char path[PATH_MAX]; /* BG_DIR: the folder; BG_DETECT: the file */
} bg_req;

typedef struct bg_ans {
    bg_req req;
    int ok;
    int no_journal;    /* BG_JOBS: there is no journal yet (not an error) */
    char error[600];   /* when !ok */
    jnl_job *jobs;     /* BG_JOBS */
    jnl_item *items;   /* BG_ITEMS */
    size_t n;          /* rows of jobs / items / entries */
    jnl_job job;       /* BG_ITEMS: the job itself */
    pk_entry *entries; /* BG_DIR */
    vendor kind;       /* BG_DETECT */
    char report[1024]; /* BG_EXPORT: the CSV written */
    char *text;        /* BG_AUDIT: the item's audit lines, '\n'-ended (owned) */
} bg_ans;

typedef struct bg bg;

/* Starts the worker; state_dir holds the journal, samples_dir (or NULL) is
 * the bundled samples folder the listings show. NULL when no thread. */
bg *bg_start(const char *state_dir, const char *samples_dir);
/* Stops the worker after the request in hand; frees answers not taken. */
void bg_free(bg *b);

/* Queues a request (replacing one of the same kind not started yet). */
void bg_ask(bg *b, const bg_req *r);
/* 1 and *out = an answer, or 0 when none is ready. */
int bg_take(bg *b, bg_ans *out);
/* Frees an answer's arrays (those the caller did not take over). */
void bg_ans_free(bg_ans *a);
/* 1 while a request of this kind is queued or in hand. */
int bg_busy(bg *b, bg_kind k);

#ifdef __cplusplus
}
#endif
#endif
