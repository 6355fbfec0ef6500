/* inputsnap - the private copy of a job's input file that the job hashes,
 * validates and sends from (DESIGN.md §7: "the input is hashed and parsed
 * from the same bytes"). Private to engine/.
 *
 * Design: the parsers open their file by path, more than once (detection,
 * pass 1, pass 2), so reading the operator's file itself would let a change
 * between the reads through: an item validated in one content and sent from
 * another, a newly invalid item skipped silently, a job hashed from bytes it
 * never parsed. So at the start of a job the input is copied once, in 64 KiB
 * chunks (memory does not grow with the file), into
 * STATE/inputs/<sha256>-<random>-<name>, hashed while it is copied, made
 * read-only (0400, in the 0700 state directory) and renamed into place; the
 * job's SHA-256 is that of the copy, and every pass reads the copy. What is
 * hashed, validated and sent are then the same bytes by construction. The
 * name keeps the original's name at its end, so detection by extension (and
 * Infineon's bundle suffix) sees what it would have seen.
 *
 * A file that changes while it is copied, or afterwards before anything is
 * sent, is refused (inputsnap_unchanged): its descriptor's size and mtime
 * must still be those it had before the copy, and its path must still name
 * the same file (a file replaced by a rename is a change). Timestamps cannot
 * prove that a file was not written (a write in the same clock tick as the
 * previous one keeps the mtime), so this check only tells the operator that
 * the file was still being written; the job's consistency rests on the copy.
 *
 * Lifetime: the copy lives as long as one run of the engine: inputsnap_drop
 * removes it however the run ends (done, failed, cancelled, paused, error);
 * resuming takes a new copy of the file given again (same bytes = same
 * SHA-256 = the same job). It is not fsynced: nothing reads it after a crash.
 * A copy left by a killed process is removed by the next inputsnap_take in
 * the same state directory: a live copy is held with a shared flock(2), so
 * a copy nobody holds is a leftover.
 *
 * Threading: one inputsnap belongs to one thread (the engine thread); any
 * number of processes may take copies in the same directory at once.
 * Ownership: the struct owns its two descriptors and the copy on disk;
 * inputsnap_drop releases all three. */
#ifndef TP_ENGINE_INPUTSNAP_H
#define TP_ENGINE_INPUTSNAP_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/inputsnap.h is private to engine/ (engine/BUILD)"
#endif

#include <limits.h>
#include <sys/stat.h>

#include "base/err.h"

typedef struct inputsnap {
    char path[PATH_MAX]; /* the copy; "" when none */
    char sha256[65];     /* of the copy, lowercase hex */
    int fd;              /* the copy, its shared lock held; -1 when none */
    int src_fd;          /* the original, for inputsnap_unchanged; -1 when none */
    struct stat src_st;  /* the original before it was copied */
    long long copied;    /* bytes copied */
} inputsnap;

/* An empty inputsnap (no copy): what inputsnap_drop leaves too. */
void inputsnap_init(inputsnap *s);

/* Copies `file` into state_dir/inputs (state_dir as jnl_open resolves it)
 * and hashes the copy. Errors name `name` (the path as the operator gave it)
 * for the file's own problems (cannot open, not a regular file, read error:
 * *refused = 1) and the state directory for the others (cannot write the
 * copy: *refused = 0). On failure nothing is left on disk. */
int inputsnap_take(inputsnap *s, const char *state_dir, const char *file,
                   const char *name, int *refused, err *e);

/* 0 when `file` still is the file that was copied, as it was; -1 with a
 * one-line error naming `name` when it changed, was replaced or is gone. */
int inputsnap_unchanged(const inputsnap *s, const char *file, const char *name, err *e);

/* Removes the copy and closes the descriptors; safe on an inputsnap_init'ed
 * or already dropped one. */
void inputsnap_drop(inputsnap *s);

#endif
