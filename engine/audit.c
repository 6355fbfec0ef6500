/* The audit log's chain, lock, rotation, group commit and check (see
 * audit.h).
 *
 * A writer keeps what it knows of the newest file (audit.jsonl): its inode,
 * its size up to the last whole line, its number (seq), its line count and
 * the hash the next line chains from. Under the lock it compares that with
 * the file: another name at the path (rotated by another process) is
 * reopened and read again; more bytes (another process's lines) are read
 * from where it stopped; fewer (cut by someone) are read again from the
 * start. Only then is the next line's prev known.
 *
 * Group commit: `written` counts the lines appended, `synced` those known
 * durable. A thread in aud_sync becomes the syncing one when nobody is, and
 * its fdatasync covers every line written before it started; the others
 * wait on the condition variable and return when `synced` passed their
 * lines. The descriptor a sync uses is read under sync_mu, and switching
 * files (rotation, another process's rotation) waits until no sync is in
 * flight and syncs the old file first, so no line is lost to a switch and
 * no descriptor is closed under a sync. Lock order: mu, the file lock,
 * sync_mu. */
#include "engine/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"

#define CURRENT "audit.jsonl"
#define ROTATED_FMT "audit-%06u.jsonl"
#define UNCHAINED_PREFIX "audit-unchained-"

/* clang-format off */
static const char *const events[] = {
    "job_start", "job_pause", "job_resume", "job_cancel", "job_end",
    "intent", "call", "item",
};
/* clang-format on */

int aud_event_known(const char *event)
{
    for (size_t i = 0; event && i < sizeof events / sizeof events[0]; i++)
        if (!strcmp(event, events[i]))
            return 1;
    return 0;
}

/* ---- who ---- */

void aud_who_get(aud_who *out)
{
    memset(out, 0, sizeof *out);
    char pwbuf[4096];
    struct passwd pw, *found = NULL;
    uid_t uid = geteuid();
    const char *env_user = getenv("USER");
    if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found && pw.pw_name[0])
        snprintf(out->user, sizeof out->user, "%s", pw.pw_name);
    else if (env_user && *env_user)
        snprintf(out->user, sizeof out->user, "%s", env_user);
    else
        snprintf(out->user, sizeof out->user, "uid %u", (unsigned)uid);
    if (gethostname(out->host, sizeof out->host) != 0)
        out->host[0] = '\0';
    out->host[sizeof out->host - 1] = '\0';
    const char *st = getenv("THINGPRESS_STATION");
    snprintf(out->station, sizeof out->station, "%s", st && *st ? st : out->host);
}

/* ---- hashes ---- */

static void sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL))
        base_fatal("EVP_Digest");
}

static void to_hex(char out[65], const unsigned char h[32])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[64] = '\0';
}

int aud_head_after(const aud_head *a, const aud_head *b)
{
    return a->seq > b->seq || (a->seq == b->seq && a->lines > b->lines);
}

/* ---- files ---- */

static int no_room(int os)
{
    return os == ENOSPC || os == EDQUOT || os == EFBIG;
}

static void io_fail(err *e, const char *path, const char *what, int os)
{
    err_set(e, no_room(os) ? ERR_LIMIT : ERR_IO, path, 0, -1, "%s: %s", what,
            strerror(os));
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The numbers of the rotated files in dir, sorted (caller frees *out); the
 * count of unchained files moved aside. -1 when dir cannot be read. */
static int list_rotated(const char *dir, unsigned **out, size_t *n, unsigned *unchained)
{
    *out = NULL;
    *n = 0;
    if (unchained)
        *unchained = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (!strncmp(nm, UNCHAINED_PREFIX, strlen(UNCHAINED_PREFIX))) {
            if (unchained)
                (*unchained)++;
            continue;
        }
        if (strncmp(nm, "audit-", 6))
            continue;
        const char *p = nm + 6;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 9 || strcmp(p + digits, ".jsonl"))
            continue;
        unsigned long v = strtoul(p, NULL, 10);
        if (v == 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = (unsigned)v;
    }
    closedir(d);
    for (size_t i = 1; i < *n; i++) /* insertion sort: a handful of files */
        for (size_t k = i; k > 0 && (*out)[k - 1] > (*out)[k]; k--) {
            unsigned t = (*out)[k];
            (*out)[k] = (*out)[k - 1];
            (*out)[k - 1] = t;
        }
    return 0;
}

static unsigned max_rotated(const char *dir)
{
    unsigned *v;
    size_t n;
    if (list_rotated(dir, &v, &n, NULL))
        return 0;
    unsigned m = n ? v[n - 1] : 0;
    free(v);
    return m;
}

/* Where the lines of fd from `from` to its end are. */
typedef struct {
    unsigned long long lines; /* '\n's found */
    off_t end;                /* the file's size */
    off_t last;               /* the start of the last line ended by '\n' (-1: none) */
    off_t tail;               /* the start of bytes after the last '\n' (== end: none) */
} scan_res;

static int scan_lines(int fd, off_t from, scan_res *r)
{
    char chunk[65536];
    r->lines = 0;
    r->last = -1;
    off_t line_start = from, pos = from;
    for (;;) {
        ssize_t got = pread(fd, chunk, sizeof chunk, pos);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (got == 0)
            break;
        for (char *p = chunk, *end = chunk + got;
             (p = memchr(p, '\n', (size_t)(end - p))); p++) {
            r->lines++;
            r->last = line_start;
            line_start = pos + (p - chunk) + 1;
        }
        pos += got;
    }
    r->end = pos;
    r->tail = line_start;
    return 0;
}

/* The SHA-256 of the bytes [from, to) of fd. */
static int hash_range(int fd, off_t from, off_t to, unsigned char out[32])
{
    size_t n = (size_t)(to - from);
    char *p = xmalloc(n ? n : 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, from + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(p);
            return -1;
        }
        got += (size_t)r;
    }
    sha256(p, n, out);
    free(p);
    return 0;
}

/* The hash of the last whole line of a file; the hash of "" when it has
 * none or cannot be read. */
static void last_line_hash(const char *path, unsigned char out[32])
{
    sha256("", 0, out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    scan_res r;
    if (scan_lines(fd, 0, &r) == 0 && r.last >= 0)
        hash_range(fd, r.last, r.tail - 1, out);
    close(fd);
}

/* ---- the writer ---- */

struct aud_log {
    char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    char who_json[700]; /* ,"user":..,"host":..,"station":.. */
    size_t rotate_at;

    pthread_mutex_t mu; /* everything below but the sync state */
    int lock_fd;        /* locks/audit.lock; -1 until the first append */
    int checked_legacy;
    dev_t dev;
    ino_t ino;
    off_t size;               /* bytes of whole lines we know of */
    unsigned seq;             /* the newest file's number */
    unsigned long long lines; /* lines in it */
    unsigned char last[32];   /* the hash the next line chains from */
    buf line;

    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    int fd; /* audit.jsonl, -1 until opened; written under mu and sync_mu */
    unsigned long long written, synced, syncs;
    int syncing;
    aud_head head_w; /* the head as of the last line written */
};

aud_log *aud_log_new(const char *dir)
{
    aud_log *a = xcalloc(1, sizeof *a);
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    snprintf(a->path, sizeof a->path, "%s/" CURRENT, a->dir);
    aud_who w;
    aud_who_get(&w);
    buf b = BUF_INIT;
    buf_puts(&b, ",\"user\":");
    buf_json_str(&b, w.user);
    buf_puts(&b, ",\"host\":");
    buf_json_str(&b, w.host);
    buf_puts(&b, ",\"station\":");
    buf_json_str(&b, w.station);
    snprintf(a->who_json, sizeof a->who_json, "%s", b.data);
    buf_free(&b);
    a->rotate_at = AUD_ROTATE_DEFAULT;
    a->lock_fd = -1;
    a->fd = -1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->sync_mu, NULL);
    pthread_cond_init(&a->sync_cv, NULL);
    return a;
}

void aud_log_rotate_at(aud_log *a, size_t bytes)
{
    a->rotate_at = bytes;
}

void aud_log_stats(aud_log *a, unsigned long long *lines, unsigned long long *syncs)
{
    pthread_mutex_lock(&a->sync_mu);
    *lines = a->written;
    *syncs = a->syncs;
    pthread_mutex_unlock(&a->sync_mu);
}

/* Lets go of the open file: its unsynced lines are synced first. Under mu;
 * takes sync_mu. */
static int drop_file(aud_log *a, err *e)
{
    int rc = 0;
    pthread_mutex_lock(&a->sync_mu);
    while (a->syncing)
        pthread_cond_wait(&a->sync_cv, &a->sync_mu);
    if (a->fd >= 0) {
        if (a->written > a->synced) {
            if (fdatasync(a->fd) != 0) {
                io_fail(e, a->path, "cannot sync the audit log", errno);
                rc = -1;
            } else {
                a->synced = a->written;
                a->syncs++;
            }
        }
        if (!rc) {
            close(a->fd);
            a->fd = -1;
        }
    }
    pthread_mutex_unlock(&a->sync_mu);
    return rc;
}

static void set_fd(aud_log *a, int fd)
{
    pthread_mutex_lock(&a->sync_mu);
    a->fd = fd;
    pthread_mutex_unlock(&a->sync_mu);
}

/* A log a version without the chain wrote (its first line has no prev) is
 * moved aside, once, so that the chain starts whole. Under the lock. */
static void legacy_aside(aud_log *a)
{
    a->checked_legacy = 1;
    if (max_rotated(a->dir) > 0)
        return; /* there is a chain: a line without prev is for verify to find */
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    /* the whole first line (ours can be long: a job's options) */
    enum { MAX_FIRST = 1 << 20 };
    char *first = xmalloc(MAX_FIRST + 1);
    ssize_t n = pread(fd, first, MAX_FIRST, 0);
    close(fd);
    char *nl = n > 0 ? memchr(first, '\n', (size_t)n) : NULL;
    int chained = 1;
    if (nl) {
        *nl = '\0';
        chained = strstr(first, "\"prev\":\"") != NULL;
    }
    free(first);
    if (chained) /* or no whole first line: nothing to judge */
        return;
    char stamp[32], to[PATH_MAX + 64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 1; i < 100; i++) {
        if (i == 1)
            snprintf(to, sizeof to, "%s/" UNCHAINED_PREFIX "%s.jsonl", a->dir, stamp);
        else
            snprintf(to, sizeof to, "%s/" UNCHAINED_PREFIX "%s-%d.jsonl", a->dir, stamp,
                     i);
        if (access(to, F_OK) != 0 && errno == ENOENT) {
            rename(a->path, to);
            return;
        }
    }
}

/* Reads the lines of the open file from a->size on (another process's, or
 * all of them after a->size = 0). A half line at the end is a write that
 * never completed (its writer died in it: we hold the lock, so nobody is
 * writing it now): nothing chained from it and its writer sent nothing
 * after it, so it is cut off. */
static int catch_up(aud_log *a, err *e)
{
    scan_res r;
    if (scan_lines(a->fd, a->size, &r)) {
        io_fail(e, a->path, "cannot read the audit log", errno);
        return -1;
    }
    if (r.tail < r.end && ftruncate(a->fd, r.tail) != 0) {
        io_fail(e, a->path, "cannot cut off a half line of the audit log", errno);
        return -1;
    }
    a->lines += r.lines;
    if (r.last >= 0 && hash_range(a->fd, r.last, r.tail - 1, a->last)) {
        io_fail(e, a->path, "cannot read the audit log", errno);
        return -1;
    }
    a->size = r.tail;
    return 0;
}

/* Reads the newest file from its start: its number, its lines, and, when
 * it is empty, the chain's end in the file before it. */
static int rescan(aud_log *a, err *e)
{
    a->seq = max_rotated(a->dir) + 1;
    a->lines = 0;
    a->size = 0;
    if (a->seq > 1) {
        char prev[PATH_MAX + 32];
        snprintf(prev, sizeof prev, "%s/" ROTATED_FMT, a->dir, a->seq - 1);
        last_line_hash(prev, a->last);
    } else {
        sha256("", 0, a->last);
    }
    return catch_up(a, e);
}

/* Under the lock: the open file is the one at the path, and everything in
 * it is known. */
static int refresh(aud_log *a, err *e)
{
    struct stat ps;
    int have = stat(a->path, &ps) == 0;
    if (!have && errno != ENOENT) {
        io_fail(e, a->path, "cannot open the audit log", errno);
        return -1;
    }
    if (a->fd >= 0 && (!have || ps.st_ino != a->ino || ps.st_dev != a->dev)) {
        if (drop_file(a, e)) /* rotated (or removed) by someone else */
            return -1;
    }
    if (a->fd < 0) {
        if (have && !a->checked_legacy)
            legacy_aside(a);
        int fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        struct stat fs;
        if (fd < 0 || fstat(fd, &fs) != 0) {
            io_fail(e, a->path, "cannot open the audit log", errno);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        a->dev = fs.st_dev;
        a->ino = fs.st_ino;
        set_fd(a, fd);
        return rescan(a, e);
    }
    struct stat fs;
    if (fstat(a->fd, &fs) != 0) {
        io_fail(e, a->path, "cannot read the audit log", errno);
        return -1;
    }
    if (fs.st_size < a->size) /* cut by someone: verify will say so */
        return rescan(a, e);
    if (fs.st_size > a->size)
        return catch_up(a, e);
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* audit.jsonl becomes audit-SEQ.jsonl (synced first), and a new audit.jsonl
 * begins, chained from its last line. Under the lock. */
static int rotate(aud_log *a, err *e)
{
    char to[PATH_MAX + 32];
    snprintf(to, sizeof to, "%s/" ROTATED_FMT, a->dir, a->seq);
    if (access(to, F_OK) == 0) {
        err_set(e, ERR_IO, to, 0, -1,
                "cannot rotate the audit log: the file exists already (move it away)");
        return -1;
    }
    if (drop_file(a, e))
        return -1;
    if (rename(a->path, to) != 0) {
        io_fail(e, a->path, "cannot rotate the audit log", errno);
        return -1;
    }
    int fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat fs;
    if (fd < 0 || fstat(fd, &fs) != 0) {
        io_fail(e, a->path, "cannot open the audit log", errno);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    sync_dir(a->dir); /* both names */
    a->dev = fs.st_dev;
    a->ino = fs.st_ino;
    a->seq++;
    a->lines = 0;
    a->size = 0;
    set_fd(a, fd);
    return 0;
}

static int take_lock(aud_log *a, err *e)
{
    if (a->lock_fd < 0) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/locks", a->dir);
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            io_fail(e, p, "cannot create the lock directory", errno);
            return -1;
        }
        snprintf(p, sizeof p, "%s/locks/audit.lock", a->dir);
        a->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (a->lock_fd < 0) {
            io_fail(e, p, "cannot open the audit log's lock", errno);
            return -1;
        }
    }
    int rc;
    while ((rc = flock(a->lock_fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc) {
        io_fail(e, a->path, "cannot lock the audit log", errno);
        return -1;
    }
    return 0;
}

/* "2024-05-01T12:34:56.789Z" */
static void iso_time_ms(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

int aud_append(aud_log *a, const char *event, long long job, const char *body,
               size_t body_len, err *e)
{
    if (!aud_event_known(event)) {
        err_set(e, ERR_INTERNAL, a->path, 0, -1, "unknown audit event \"%s\"",
                event ? event : "");
        return -1;
    }
    pthread_mutex_lock(&a->mu);
    int rc = take_lock(a, e);
    if (rc) {
        pthread_mutex_unlock(&a->mu);
        return -1;
    }
    if ((rc = refresh(a, e)))
        goto out;
    buf *l = &a->line;
    buf_reset(l);
    char t[40];
    iso_time_ms(t, sizeof t);
    buf_printf(l, "{\"time\":\"%s\",\"event\":\"%s\",\"job\":", t, event);
    if (job > 0)
        buf_printf(l, "%lld", job);
    else
        buf_puts(l, "null");
    buf_puts(l, a->who_json);
    if (body_len) {
        buf_putc(l, ',');
        size_t start = l->len;
        buf_append(l, body, body_len);
        /* one record, one line: raw line breaks (only legal between tokens) go */
        for (size_t i = start; i < l->len; i++)
            if (l->data[i] == '\n' || l->data[i] == '\r')
                l->data[i] = ' ';
    }
    char hex[65];
    to_hex(hex, a->last);
    buf_printf(l, ",\"prev\":\"%s\"}\n", hex);
    if (a->rotate_at && a->size > 0 && (size_t)a->size + l->len > a->rotate_at &&
        (rc = rotate(a, e)))
        goto out;
    if (write_all(a->fd, l->data, l->len)) {
        int os = errno;
        /* no half line of ours: cut back to the last whole one (we hold
         * the lock, so nobody wrote after it); should that fail too, the
         * next append finds the half line and ends it */
        int cut = ftruncate(a->fd, a->size);
        (void)cut; /* failing that, the next append cuts it off */
        io_fail(e, a->path, "cannot write the audit log", os);
        rc = -1;
        goto out;
    }
    a->size += (off_t)l->len;
    a->lines++;
    sha256(l->data, l->len - 1, a->last);
    pthread_mutex_lock(&a->sync_mu);
    a->written++;
    a->head_w.seq = a->seq;
    a->head_w.lines = a->lines;
    to_hex(a->head_w.hash, a->last);
    pthread_mutex_unlock(&a->sync_mu);
out:
    flock(a->lock_fd, LOCK_UN);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int aud_sync(aud_log *a, aud_head *head, err *e)
{
    pthread_mutex_lock(&a->sync_mu);
    unsigned long long target = a->written;
    if (head)
        *head = a->head_w;
    int rc = 0;
    while (a->synced < target) {
        if (a->syncing) {
            pthread_cond_wait(&a->sync_cv, &a->sync_mu);
            continue;
        }
        /* this thread syncs for everyone: every line written so far */
        a->syncing = 1;
        int fd = a->fd;
        unsigned long long upto = a->written;
        pthread_mutex_unlock(&a->sync_mu);
        int src = fdatasync(fd);
        int os = errno;
        pthread_mutex_lock(&a->sync_mu);
        a->syncing = 0;
        a->syncs++;
        if (src == 0 && upto > a->synced)
            a->synced = upto;
        pthread_cond_broadcast(&a->sync_cv);
        if (src != 0) {
            io_fail(e, a->path, "cannot sync the audit log", os);
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&a->sync_mu);
    return rc;
}

void aud_log_free(aud_log *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    drop_file(a, NULL);
    if (a->fd >= 0)
        close(a->fd);
    if (a->lock_fd >= 0)
        close(a->lock_fd);
    pthread_mutex_unlock(&a->mu);
    buf_free(&a->line);
    pthread_cond_destroy(&a->sync_cv);
    pthread_mutex_destroy(&a->sync_mu);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* ---- verification ---- */

/* One file of the chain, as found under the lock. */
typedef struct {
    unsigned seq;
    char path[PATH_MAX + 32];
    int fd; /* -1: missing */
    off_t size;
} vfile;

static int verdict(aud_verdict *v, int status, const char *file, unsigned long long line,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int verdict(aud_verdict *v, int status, const char *file, unsigned long long line,
                   const char *fmt, ...)
{
    v->status = status;
    snprintf(v->file, sizeof v->file, "%s", file ? file : "");
    v->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
    return status;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int is_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* What is wrong with one line, or NULL: the JSON, its members, its link. */
static const char *line_fault(const char *p, size_t n, const char *expect, int ended,
                              char *why, size_t why_n, int *link_broken)
{
    *link_broken = 0;
    json_error_t je;
    json_t *o = json_loadb(p, n, 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        if (!ended)
            snprintf(why, why_n,
                     "cut short, no end of line (a write a crash or power "
                     "loss interrupted?)");
        else if (!o)
            snprintf(why, why_n, "not JSON (%s)", je.text);
        else
            snprintf(why, why_n, "not a JSON object");
        return why;
    }
    const char *prev = json_string_value(json_object_get(o, "prev"));
    const char *fault = NULL;
    if (!is_hex64(prev)) {
        fault = "no \"prev\" (the SHA-256 of the line before)";
    } else if (strcmp(prev, expect)) {
        *link_broken = 1;
        fault = "";
    } else {
        static const char *const strings[] = {"time", "event", "user", "host", "station"};
        for (size_t i = 0; !fault && i < sizeof strings / sizeof strings[0]; i++)
            if (!json_is_string(json_object_get(o, strings[i]))) {
                snprintf(why, why_n, "no \"%s\"", strings[i]);
                fault = why;
            }
        json_t *job = json_object_get(o, "job");
        if (!fault && !(json_is_integer(job) || json_is_null(job)))
            fault = "no \"job\"";
        const char *ev = json_string_value(json_object_get(o, "event"));
        if (!fault && !aud_event_known(ev)) {
            snprintf(why, why_n, "unknown event \"%s\"", ev);
            fault = why;
        }
    }
    json_decref(o);
    return fault;
}

/* Walks one file's lines; AUD_INTACT to go on. */
static int walk(aud_verdict *v, const vfile *f, const vfile *before,
                unsigned char chain[32], const aud_head *head)
{
    const char *map = NULL;
    if (f->size > 0) {
        map = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
        if (map == MAP_FAILED)
            return verdict(v, AUD_UNREADABLE, f->path, 0, "cannot read: %s",
                           strerror(errno));
    }
    int st = AUD_INTACT;
    unsigned long long n = 0;
    size_t off = 0, size = (size_t)f->size;
    while (off < size) {
        const char *p = map + off;
        const char *nl = memchr(p, '\n', size - off);
        size_t len = nl ? (size_t)(nl - p) : size - off;
        n++;
        char expect[65], why[300];
        to_hex(expect, chain);
        int broken_link;
        const char *fault =
            line_fault(p, len, expect, nl != NULL, why, sizeof why, &broken_link);
        if (broken_link) {
            if (n > 1)
                snprintf(why, sizeof why,
                         "prev is not the SHA-256 of line %llu: line %llu was changed, a "
                         "line is missing before this one, or this one was inserted or "
                         "moved",
                         n - 1, n - 1);
            else if (before)
                snprintf(why, sizeof why,
                         "prev is not the SHA-256 of the last line of %s: that line was "
                         "changed, lines are missing, or this one was inserted",
                         base_name(before->path));
            else
                snprintf(
                    why, sizeof why,
                    "prev is not the SHA-256 of the empty string, as the first line "
                    "of the log has: lines are missing before it, or it was changed");
            fault = why;
        }
        if (fault) {
            st = verdict(v, AUD_BROKEN, f->path, n, "%s", fault);
            break;
        }
        sha256(p, len, chain);
        v->lines++;
        v->last.seq = f->seq;
        v->last.lines = n;
        to_hex(v->last.hash, chain);
        if (head && head->seq == f->seq && head->lines == n) {
            if (strcmp(v->last.hash, head->hash)) {
                st = verdict(v, AUD_BROKEN, f->path, n,
                             "not the line the journal recorded as the end of the chain: "
                             "the log was rewritten from this line or before");
                break;
            }
            v->head_checked = 1;
        }
        off += len + (nl ? 1 : 0);
    }
    if (st == AUD_INTACT && head && head->seq == f->seq && n < head->lines)
        st =
            verdict(v, AUD_BROKEN, f->path, n + 1,
                    "missing: the journal records %llu lines in this file, it ends after "
                    "%llu (its end was cut off)",
                    head->lines, n);
    if (map)
        munmap((void *)map, (size_t)f->size);
    return st;
}

int aud_verify(const char *dir, const aud_head *head, aud_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (head && head->seq == 0)
        head = NULL;
    /* the files as they are now: a writer's lines and rotations wait for
     * the shared lock, so every file ends with a whole line */
    char lock_path[PATH_MAX + 32];
    snprintf(lock_path, sizeof lock_path, "%s/locks/audit.lock", dir);
    int lock_fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    if (lock_fd >= 0)
        while (flock(lock_fd, LOCK_SH) != 0 && errno == EINTR)
            ;
    unsigned *nums = NULL;
    size_t n_rot = 0;
    if (list_rotated(dir, &nums, &n_rot, &v->unchained)) {
        int os = errno;
        if (lock_fd >= 0)
            close(lock_fd);
        return verdict(v, AUD_UNREADABLE, dir, 0, "cannot read the state directory: %s",
                       strerror(os));
    }
    size_t n_files = n_rot + 1;
    vfile *fs = xcalloc(n_files, sizeof *fs);
    for (size_t i = 0; i < n_files; i++) {
        fs[i].fd = -1;
        fs[i].seq = i < n_rot ? nums[i] : (n_rot ? nums[n_rot - 1] : 0) + 1;
        if (i < n_rot)
            snprintf(fs[i].path, sizeof fs[i].path, "%s/" ROTATED_FMT, dir, nums[i]);
        else
            snprintf(fs[i].path, sizeof fs[i].path, "%s/" CURRENT, dir);
    }
    free(nums);
    v->current_seq = fs[n_rot].seq;
    int st = AUD_INTACT;
    for (size_t i = 0; i < n_files && st == AUD_INTACT; i++) {
        fs[i].fd = open(fs[i].path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fs[i].fd < 0) {
            if (errno == ENOENT && i == n_rot)
                continue; /* audit.jsonl: rotated, not yet written again */
            st = verdict(v, AUD_UNREADABLE, fs[i].path, 0, "cannot open: %s",
                         strerror(errno));
        } else if (fstat(fs[i].fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            st = verdict(v, AUD_UNREADABLE, fs[i].path, 0, "not a regular file");
        } else {
            fs[i].size = sb.st_size;
        }
    }
    if (lock_fd >= 0)
        close(lock_fd);

    if (st == AUD_INTACT && n_rot == 0 && fs[0].fd < 0 && !head)
        st = verdict(
            v, AUD_UNREADABLE, fs[0].path, 0,
            "no audit log: nothing has been provisioned with this state directory");
    unsigned char chain[32];
    sha256("", 0, chain);
    for (size_t i = 0; i < n_files && st == AUD_INTACT; i++) {
        unsigned want = (unsigned)i + 1;
        if (fs[i].seq != want) {
            char missing[PATH_MAX + 32];
            snprintf(missing, sizeof missing, "%s/" ROTATED_FMT, dir, want);
            st = verdict(v, AUD_BROKEN, missing, 0,
                         "missing: the rotated files are numbered from 1 without a gap, "
                         "and %s follows",
                         base_name(fs[i].path));
            break;
        }
        v->files += fs[i].fd >= 0;
        st = walk(v, &fs[i], i ? &fs[i - 1] : NULL, chain, head);
    }
    if (st == AUD_INTACT && head && head->seq > fs[n_files - 1].seq)
        st = verdict(v, AUD_BROKEN, fs[n_files - 1].path, 0,
                     "files are missing: the journal records the end of the chain in "
                     "file %u (audit-%06u.jsonl), the log ends at file %u",
                     head->seq, head->seq, fs[n_files - 1].seq);
    for (size_t i = 0; i < n_files; i++)
        if (fs[i].fd >= 0)
            close(fs[i].fd);
    free(fs);
    v->status = st;
    return st;
}
