/* audit - the tamper-evident audit log of a state directory (DESIGN.md §7):
 * <state>/audit.jsonl, one JSON object a line, each line chained to the one
 * before it by its SHA-256; the files it is rotated into; and the check of
 * that chain (`thingpress audit verify`).
 *
 * Design. A line is
 *   {"time":T,"event":E,"job":J,"user":U,"host":H,"station":S,...,"prev":P}
 * where the members between station and prev are the event's own, and P is
 * the SHA-256 (lowercase hex) of the previous line's bytes, without its
 * "\n"; the first line of the log has the SHA-256 of the empty string. Any
 * edit, deletion, insertion or reordering of a line therefore breaks a link,
 * and aud_verify names the first line whose link is broken. A chain says
 * nothing about lines cut off its end: the journal records the chain head
 * (aud_head: which file, how many lines, the last line's hash) and
 * aud_verify checks that the log still holds that line.
 *
 * Several processes (two jobs of different files in one state directory) and
 * several threads append to one log. An append reads the last line's hash
 * and writes its line under a lock on <state>/locks/audit.lock (flock(2),
 * which also excludes another aud_log of the same process) and the log's
 * mutex; a writer that finds lines it did not write (another process's)
 * reads them before it appends, so the chain stays one chain. A write that
 * fails (a full disk) is cut back to the last whole line under the same
 * lock. A half line at the end of the log is a write its writer died in (a
 * kill -9 between two pages of one write(2), a power loss before the line
 * was synced): nothing was chained from it and nothing was sent after it,
 * so the next writer cuts it off; until then aud_verify reports it. The
 * log thus holds whole lines only, each one chained.
 *
 * Rotation by size: when audit.jsonl would grow past the limit (64 MiB by
 * default), it is synced and renamed audit-NNNNNN.jsonl (1, 2, ... in the
 * order written; never renumbered) and a new audit.jsonl begins whose first
 * line chains from the last line of the renamed one. aud_verify walks
 * audit-000001.jsonl, audit-000002.jsonl, ..., then audit.jsonl. Files a
 * legacy version wrote without a chain (a first line without "prev") are
 * moved aside as audit-unchained-TIME.jsonl when a writer first opens the log;
 * aud_verify leaves them out and says so.
 *
 * Durability: a line is written with one write(2) before aud_append returns
 * (it survives a kill -9 of the process); aud_sync makes every line this log
 * wrote so far durable with fdatasync, as a group commit: threads that call
 * it together share one fdatasync (one thread syncs, the others wait for it
 * and find their lines covered).
 *
 * What the chain protects against: any change by hand or by a tool that
 * does not recompute the chain, and a cut-off tail (through the journal's
 * head). Someone able to rewrite both the log and the journal can forge a
 * consistent history; keeping a copy of the head elsewhere (printed by
 * aud_verify) closes that.
 *
 * Threading: an aud_log may be used by any thread (aud_append, aud_sync,
 * aud_log_stats); aud_log_free once no thread uses it. aud_verify and
 * aud_who_get from any thread.
 * Ownership: the aud_log owns its descriptors; strings given are copied. */
#ifndef TP_ENGINE_AUDIT_H
#define TP_ENGINE_AUDIT_H

#include <stddef.h>

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Who runs this process, for every audit line (and the job reports): the OS
 * user (the effective uid's name, else $USER, else "uid N"), the host name,
 * and the station: $THINGPRESS_STATION when set and not empty, else the
 * host name. */
typedef struct aud_who {
    char user[64];
    char host[256];
    char station[256];
} aud_who;
void aud_who_get(aud_who *out);

/* The event names of DESIGN.md §7; aud_append refuses any other. */
int aud_event_known(const char *event);

/* Where the chain ends: line `lines` (1-based) of file number `seq` (the
 * rotated file audit-SEQ.jsonl, or audit.jsonl while it is the newest) has
 * the SHA-256 `hash`. seq 0: no line yet. */
typedef struct aud_head {
    unsigned seq;
    unsigned long long lines;
    char hash[65];
} aud_head;

/* 1 when a is further along the chain than b. */
int aud_head_after(const aud_head *a, const aud_head *b);

typedef struct aud_log aud_log;

#define AUD_ROTATE_DEFAULT ((size_t)64 << 20)

/* A writer on dir/audit.jsonl. Nothing is opened or created until the first
 * append. */
aud_log *aud_log_new(const char *dir);
/* Syncs what is unsynced and closes. NULL is a no-op. */
void aud_log_free(aud_log *a);
/* The size audit.jsonl may reach before it is rotated (0: never rotate).
 * Before the first append. */
void aud_log_rotate_at(aud_log *a, size_t bytes);

/* Appends one line: time, event, job (null when job <= 0), user, host,
 * station, then the members in body (the inside of a JSON object: members
 * separated by commas, no braces; "" for none), then prev. Line breaks in
 * body become spaces. 0, or -1 with e naming the file and the OS error
 * (ERR_LIMIT for want of room). */
int aud_append(aud_log *a, const char *event, long long job, const char *body,
               size_t body_len, err *e);

/* Returns once every line appended so far is on disk (group commit, above).
 * *head (may be NULL) is then the chain head as of the last of these lines
 * (seq 0 when nothing was appended). 0, or -1 with e set. */
int aud_sync(aud_log *a, aud_head *head, err *e);

/* Lines appended and fdatasyncs done by this log (the benchmark's figures). */
void aud_log_stats(aud_log *a, unsigned long long *lines, unsigned long long *syncs);

/* ---- verification ---- */

enum { AUD_INTACT = 0, AUD_BROKEN = 1, AUD_UNREADABLE = 2 };

typedef struct aud_verdict {
    int status;               /* AUD_INTACT, AUD_BROKEN or AUD_UNREADABLE */
    char file[512];           /* broken or unreadable: the file (full path) */
    unsigned long long line;  /* broken: its first bad line (1-based), 0 if none */
    char reason[400];         /* broken or unreadable: one line */
    unsigned files;           /* files of the chain walked */
    unsigned long long lines; /* lines checked */
    aud_head last;            /* the chain's last line found */
    unsigned current_seq;     /* the number of audit.jsonl (the newest file) */
    int head_checked;         /* the journal's head was given and found in the log */
    unsigned unchained;       /* audit-unchained-*.jsonl files left out */
} aud_verdict;

/* Checks the chain of the log in dir: every line a JSON object with time,
 * event, job, user, host, station and prev, each prev the hash of the line
 * before, the files numbered without a gap; and, when head is given (the
 * journal's record; NULL or seq 0: none), that the log holds that line with
 * that hash. The files are taken as they are at the start (under the log's
 * lock, shortly): lines appended meanwhile are not read. Returns v->status. */
int aud_verify(const char *dir, const aud_head *head, aud_verdict *v);

#ifdef __cplusplus
}
#endif
#endif
