/* fuzz_common - helpers shared by the libFuzzer targets in fuzz/.
 *
 * Design: the readers of parsers/ take a path (they stream, stat and check a
 * regular file), so a target writes each input to one scratch file in a
 * per-process directory (on /dev/shm when there is one: no disk I/O) and
 * reads it back through the same entry point the program uses (src_open with
 * the vendor forced, or auto-detection). fz_drain() then does what
 * `thingpress validate` does per item: decode, validate, clear.
 *
 * Threading: libFuzzer runs one input at a time on one thread. Ownership:
 * fz_write() returns a path in a static buffer, valid until the next call.
 * The scratch directory and its files are removed at exit (not after a
 * crash: fuzz/run.sh points FUZZ_SCRATCH at a directory it removes). */
#ifndef TP_FUZZ_COMMON_H
#define TP_FUZZ_COMMON_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "parsers/item.h"
#include "parsers/src.h"
#include "parsers/validate.h"

/* Items read from one input at most: enough to reach every per-item path,
 * few enough that one input stays well under a millisecond or so. */
#define FZ_MAX_ITEMS 64

static char fz_dir[256];
static char fz_paths[8][512];
static int fz_npaths;

static inline void fz_cleanup(void)
{
    for (int i = 0; i < fz_npaths; i++)
        unlink(fz_paths[i]);
    if (fz_dir[0])
        rmdir(fz_dir);
}

/* The per-process scratch directory (created on first use). */
static inline const char *fz_scratch(void)
{
    if (fz_dir[0])
        return fz_dir;
    const char *base = getenv("FUZZ_SCRATCH"); /* run.sh: removed after each target */
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/tp-fuzz-XXXXXX", base);
    if (!mkdtemp(fz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir;
}

/* Writes data to the scratch file `name` (replacing it); returns its path. */
static inline const char *fz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fz_scratch(), name);
    int known = 0;
    for (int i = 0; i < fz_npaths; i++)
        known |= !strcmp(fz_paths[i], path);
    if (!known && fz_npaths < 8)
        snprintf(fz_paths[fz_npaths++], sizeof fz_paths[0], "%s", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror("fuzz: open scratch file");
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            perror("fuzz: write scratch file");
            abort();
        }
        off += (size_t)w;
    }
    close(fd);
    return path;
}

/* Opens path as the program does and reads every item (at most FZ_MAX_ITEMS):
 * decode, validate, clear. Returns the number of items read. */
static inline size_t fz_drain(const char *path, const src_opts *opts)
{
    src *s = NULL;
    err e;
    vendor detected;
    err_clear(&e);
    (void)src_detect(&detected, path, &e); /* what auto-detection makes of it */
    err_clear(&e);
    if (src_open(&s, path, opts, &e)) {
        char msg[512];
        err_format(&e, msg, sizeof msg);
        if (getenv("FZ_DEBUG"))
            fprintf(stderr, "fuzz: %s: rejected: %s\n", path, msg);
        return 0;
    }
    val_opts vo = {.has_thing_type = 0, .now = 1764000000};
    val *v = val_new(&vo);
    item it;
    item_init(&it);
    size_t n = 0;
    while (n < FZ_MAX_ITEMS && src_next(s, &it, &e) == 1) {
        item_decode(&it);
        val_item(v, &it);
        if (getenv("FZ_DEBUG"))
            fprintf(stderr, "fuzz: %s: item %zu %s %s %s\n", path, n,
                    it.thing_name ? it.thing_name : "-", item_verdict_name(it.verdict),
                    it.message);
        (void)item_verdict_name(it.verdict);
        item_clear(&it);
        n++;
    }
    item_clear(&it);
    (void)src_notes(s);
    (void)src_batch_id(s);
    val_free(v);
    src_free(s);
    return n;
}

#endif
