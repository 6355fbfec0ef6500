/* thingpress watch DIR: the hot folder through which an MES automates
 * Phase 2 (DESIGN.md §4; the upstream uses an S3 upload trigger).
 *
 * Design: each complete file in DIR is provisioned with the job options of
 * the command line, as `provision` would, then moved to DIR/done/ or
 * DIR/failed/ with the journal's report of its job (NAME.report.csv and
 * NAME.report.json) and, in failed/, a one-line NAME.reason.txt.
 *   - Complete: the file arrived by a rename into DIR (IN_MOVED_TO), or its
 *     size, mtime and ctime have not changed for the settle time (observed
 *     across scans, or read from a ctime that old). Writers that rename a
 *     finished file into DIR are picked up at once; others after a pause.
 *   - Found by inotify (IN_MOVED_TO, IN_CLOSE_WRITE wake the loop) and by a
 *     full scan on every wake and at least every --rescan seconds, so files
 *     present at start, events lost to a queue overflow and file systems
 *     without inotify are handled too.
 *   - One file at a time, the first complete one in name order. Hidden names,
 *     *.tmp, *.part, *.partial, done/ and failed/ are ignored, and so are the
 *     state directory and directories whose name has no input extension
 *     (.csv, .json, ...). A symlink to a regular file is read through (the
 *     link moves to done/ or failed/).
 *   - Anything else that is not a regular file (a FIFO, a socket, a device, a
 *     directory named like an input, a symlink to one of those or to nothing)
 *     is moved to failed/ with its reason ("not a regular file (FIFO)") once
 *     complete like a file; it is only ever lstat()ed and stat()ed, never
 *     opened, so a FIFO cannot hang the watch.
 *   - Exactly once: the file leaves DIR only after its job ended, by a rename
 *     that comes after its report. A watch killed mid-job finds the file
 *     again on restart; the journal knows it (same content, same
 *     configuration, same endpoint) and resumes the job, so no step is done
 *     twice; a file dropped again later is the same finished job: nothing is
 *     sent but the pre-flight's reads, and it goes to done/ again.
 *   - Outcomes: every item done (invalid ones skipped with --skip-invalid)
 *     -> done/; the file rejected (unreadable, invalid items) or items
 *     failed -> failed/; a file that changed while its job read it (so
 *     nothing was sent) stays, and is picked up again once it settles. A
 *     job that could not finish for reasons outside the file (endpoint
 *     unreachable, credentials, a pre-flight that finds a policy, group or
 *     type missing or the account unknown) leaves the file in DIR and
 *     retries it after a back-off (30 s doubling to 10 min); with
 *     --once it is left for the next run.
 *   - SIGINT/SIGTERM cancel the running job (it stays resumable, the file
 *     stays in DIR) and exit 0. One watch per DIR (flock on the directory).
 * Every event is one line on stderr: picked up, job id, item failures,
 * outcome, where the file went.
 *
 * Threading: main thread; the engine runs the job on its own threads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "cli/cmd.h"
#include "cli/jobopts.h"
#include "cli/provctx.h"
#include "engine/engine.h"
#include "parsers/src.h"
#include "engine/journal.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static const char help[] =
    "usage: thingpress watch DIR [options]\n"
    "\n"
    "A hot folder: provision each complete new file in DIR exactly once, then move\n"
    "it to DIR/done/ or DIR/failed/ with its report (NAME.report.csv, .json) and,\n"
    "in failed/, the reason (NAME.reason.txt). A file is complete once renamed into\n"
    "DIR, or when its size and time have been stable for the settle time. Files are\n"
    "taken one at a time in name order; hidden files and *.tmp, *.part, *.partial\n"
    "are ignored. A FIFO, socket, device, directory named like an input (x.csv/) or\n"
    "symlink to one is never read: it goes to failed/ with the reason. A symlink to\n"
    "a regular file is read through; the link is what moves.\n"
    "Restart-safe: a file is moved only after its job ended, and the same file\n"
    "again resumes (or finds done) the same job in the journal.\n"
    "\n"
    "  --settle SECONDS      how long a file must stay unchanged (default 2)\n"
    "  --rescan SECONDS      full scan of DIR at least this often (default 5)\n"
    "  --once                process the files there and exit (tests, cron)\n";

static const char help_exit[] =
    "\n"
    "Files the job could not finish for reasons outside the file (endpoint,\n"
    "credentials, missing policy, group or type) stay in DIR and are retried.\n"
    "SIGINT/SIGTERM stop the running job (resumable) and exit 0.\n"
    "Exit status: 0; with --once 1 if a file failed or was left in DIR; 2 the\n"
    "invocation or DIR was rejected.\n"
    "\n";

typedef struct cand {
    char *name;
    long long size;
    struct timespec mtime, ctime;
    double seen;     /* monotonic time these stats were first seen */
    int renamed;     /* arrived by a rename into DIR: complete */
    double retry_at; /* not before this monotonic time (after an unfinished job) */
    double backoff;
    int left; /* --once: left in DIR for the next run */
    int alive;
    char what[96]; /* "" a regular file, else what it is ("FIFO"): to failed/ */
} cand;

typedef struct watch {
    const char *dir;
    int dfd, ino;
    double settle, rescan;
    int once;
    provctx pc;
    cand *c; /* the first `sorted` by name, then the ones found since */
    size_t n, cap, sorted;
    int bad;        /* --once: a file failed or was left */
    int have_state; /* the state directory's identity, never moved if in DIR */
    dev_t state_dev;
    ino_t state_ino;
} watch;

typedef enum { OUT_DONE, OUT_FAILED, OUT_RETRY, OUT_INTERRUPTED, OUT_CHANGED } outcome;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s watch: ", ts);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

static int ignored(const char *name)
{
    return name[0] == '.' || ends_with(name, ".tmp") || ends_with(name, ".part") ||
           ends_with(name, ".partial");
}

static const char *kind_of(mode_t m)
{
    return S_ISFIFO(m)   ? "FIFO"
           : S_ISDIR(m)  ? "directory"
           : S_ISSOCK(m) ? "socket"
           : S_ISCHR(m)  ? "character device"
           : S_ISBLK(m)  ? "block device"
           : S_ISLNK(m)  ? "symbolic link"
                         : "unknown type";
}

/* What DIR/name is, from lstat and (for a symlink) stat, never opening it.
 * 1: a file to provision (*st its stats); 0: to move to failed/, `what`
 * says what it is (*st the entry's own stats); -1: not ours, leave it. */
static int classify(const watch *w, const char *name, struct stat *st, char *what,
                    size_t n)
{
    if (fstatat(w->dfd, name, st, AT_SYMLINK_NOFOLLOW))
        return -1;
    if (S_ISREG(st->st_mode))
        return 1;
    /* the watch's own folders (done and failed may be symlinks to folders) */
    if (!strcmp(name, "done") || !strcmp(name, "failed"))
        return -1;
    struct stat t;
    if (S_ISLNK(st->st_mode)) {
        if (fstatat(w->dfd, name, &t, 0)) {
            snprintf(what, n, "symbolic link to nothing: %s", strerror(errno));
            return 0;
        }
        if (S_ISREG(t.st_mode)) {
            /* a link to a file (on a share, say) is read through; the link
             * itself moves to done/ or failed/ */
            *st = t;
            return 1;
        }
    } else {
        t = *st;
    }
    if (w->have_state && t.st_dev == w->state_dev && t.st_ino == w->state_ino)
        return -1;
    if (S_ISDIR(t.st_mode) && !src_input_name(name))
        return -1; /* a folder of the site's, not meant as an input */
    if (S_ISLNK(st->st_mode))
        snprintf(what, n, "symbolic link to a %s", kind_of(t.st_mode));
    else
        snprintf(what, n, "%s", kind_of(t.st_mode));
    return 0;
}

static int same_ts(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const cand *)a)->name, ((const cand *)b)->name);
}

/* A folder may hold thousands of files after an outage: binary search in
 * the sorted part, then the few added since the last scan. */
static cand *find(watch *w, const char *name)
{
    cand key = {.name = (char *)name};
    cand *c = w->sorted ? bsearch(&key, w->c, w->sorted, sizeof *w->c, by_name) : NULL;
    for (size_t i = w->sorted; !c && i < w->n; i++)
        if (!strcmp(w->c[i].name, name))
            c = &w->c[i];
    return c;
}

/* Looks at DIR/name: tracks it if it is a candidate, updating its stats (a
 * change restarts its settle time). renamed: it just arrived by a rename. */
static void observe(watch *w, const char *name, int renamed)
{
    if (ignored(name))
        return;
    struct stat st;
    char what[sizeof w->c->what] = "";
    cand *c = find(w, name);
    if (classify(w, name, &st, what, sizeof what) < 0) {
        if (c)
            c->alive = 0;
        return;
    }
    if (!c) {
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 16;
            w->c = xrealloc(w->c, w->cap * sizeof *w->c);
        }
        c = &w->c[w->n++];
        memset(c, 0, sizeof *c);
        c->name = xstrdup(name);
        c->size = -1;
    }
    c->alive = 1;
    if (c->size != (long long)st.st_size || !same_ts(c->mtime, st.st_mtim) ||
        !same_ts(c->ctime, st.st_ctim) || strcmp(c->what, what)) {
        snprintf(c->what, sizeof c->what, "%s", what);
        c->size = (long long)st.st_size;
        c->mtime = st.st_mtim;
        c->ctime = st.st_ctim;
        c->seen = rate_now();
        c->renamed = renamed;
        c->retry_at = c->backoff = 0; /* another file now: no waiting for the old */
    } else if (renamed) {
        c->renamed = 1;
    }
}

/* Every entry of DIR; forgets the files that went away. */
static int scan(watch *w)
{
    int fd = openat(w->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        say("%s: cannot read the directory: %s", w->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (size_t i = 0; i < w->n; i++)
        w->c[i].alive = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        observe(w, de->d_name, 0);
    closedir(d);
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->c[i].alive)
            w->c[k++] = w->c[i];
        else
            free(w->c[i].name);
    }
    w->n = k;
    if (w->n > 1)
        qsort(w->c, w->n, sizeof *w->c, by_name);
    w->sorted = w->n;
    return 0;
}

/* Reads the pending inotify events; -1 when DIR itself went away. */
static int drain_events(watch *w)
{
    if (w->ino < 0)
        return 0;
    char evbuf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->ino, evbuf, sizeof evbuf);
        if (n <= 0)
            return 0;
        for (char *p = evbuf; p < evbuf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
                say("%s: the directory was removed or moved away", w->dir);
                return -1;
            }
            if ((ev->mask & IN_MOVED_TO) && ev->len)
                observe(w, ev->name, 1);
            p += sizeof *ev + ev->len;
        }
    }
}

/* When c is complete (monotonic time; <= now means it is). */
static double ready_at(const watch *w, const cand *c, double now, double wall)
{
    if (c->renamed)
        return c->retry_at;
    double t = c->seen + w->settle;
    /* a ctime that old: no write for the settle time before we looked */
    double ct = (double)c->ctime.tv_sec + (double)c->ctime.tv_nsec / 1e9;
    if (wall - ct >= w->settle)
        t = now;
    return t > c->retry_at ? t : c->retry_at;
}

/* ---- moving a finished file ---- */

/* A name in sub/ not taken yet: NAME, else STEM.N.EXT. */
static void free_name(int sfd, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s", name);
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    for (int k = 1; faccessat(sfd, out, F_OK, AT_SYMLINK_NOFOLLOW) == 0; k++)
        snprintf(out, n, "%.*s.%d%s", (int)stem, name, k, name + stem);
}

/* Writes sub/name from data (len bytes) through a temporary and a rename. */
static int write_file(int sfd, const char *name, const char *data, size_t len)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, ".%s.tmp", name);
    int fd = openat(sfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t k = write(fd, data + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            close(fd);
            unlinkat(sfd, tmp, 0);
            return -1;
        }
        off += (size_t)k;
    }
    if (fdatasync(fd) || close(fd) || renameat(sfd, tmp, sfd, name)) {
        unlinkat(sfd, tmp, 0);
        return -1;
    }
    return 0;
}

static int copy_file(int sfd, const char *name, const char *from)
{
    FILE *f = fopen(from, "rb");
    if (!f)
        return -1;
    buf b = BUF_INIT;
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, k);
    int rc = ferror(f) ? -1 : write_file(sfd, name, b.data ? b.data : "", b.len);
    fclose(f);
    buf_free(&b);
    return rc;
}

/* The job's report (from the journal) beside the file, in sub/. */
static void put_report(watch *w, int sfd, const char *sub, const char *target,
                       long long job_id)
{
    err e;
    err_clear(&e);
    char msg[800], csv[1100], json[1100], name[600];
    journal *j = NULL;
    if (jnl_open_existing(&j, w->pc.state_dir, &e) ||
        jnl_report(j, job_id, csv, sizeof csv - 8, &e)) {
        say("%s: no report for job %lld: %s", target, job_id,
            err_format(&e, msg, sizeof msg));
        jnl_close(j);
        return;
    }
    jnl_close(j);
    snprintf(json, sizeof json, "%s", csv);
    char *ext = strrchr(json, '.');
    if (ext)
        snprintf(ext, (size_t)(json + sizeof json - ext), ".json");
    snprintf(name, sizeof name, "%s.report.csv", target);
    int rc = copy_file(sfd, name, csv);
    snprintf(name, sizeof name, "%s.report.json", target);
    if (rc || copy_file(sfd, name, json))
        say("%s: cannot write its report in %s/: %s", target, sub, strerror(errno));
}

/* Moves DIR/name to DIR/sub/ after its report and reason; the rename comes
 * last, so a crash before it leaves the file in DIR (done again: resumed). */
static int move_out(watch *w, const char *name, const char *sub, long long job_id,
                    const char *reason)
{
    if (faccessat(w->dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT) {
        say("%s: no longer in %s: nothing to move", name, w->dir);
        return 0;
    }
    int sfd = openat(w->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0) {
        say("%s: cannot open %s/%s: %s", name, w->dir, sub, strerror(errno));
        return -1;
    }
    char target[512], rn[600];
    int rc = -1;
    for (int tries = 0; tries < 100; tries++) {
        free_name(sfd, name, target, sizeof target);
        if (job_id > 0)
            put_report(w, sfd, sub, target, job_id);
        if (reason) {
            char line[1600];
            int len = snprintf(line, sizeof line, "%s\n", reason);
            for (char *p = line; *p; p++)
                if (*p == '\n' && p[1])
                    *p = ' ';
            snprintf(rn, sizeof rn, "%s.reason.txt", target);
            if (write_file(sfd, rn, line,
                           (size_t)len < sizeof line ? (size_t)len : sizeof line - 1))
                say("%s: cannot write %s/%s: %s", name, sub, rn, strerror(errno));
        }
        if (renameat2(w->dfd, name, sfd, target, RENAME_NOREPLACE) == 0) {
            rc = 0;
            break;
        }
        if (errno != EEXIST) { /* EEXIST: taken meanwhile, pick another name */
            say("%s: cannot move it to %s/: %s", name, sub, strerror(errno));
            break;
        }
    }
    if (rc == 0) {
        fsync(sfd);
        fsync(w->dfd);
        say("%s: moved to %s/%s%s%s%s", name, sub, target, reason ? " (reason in " : "",
            reason ? rn : "", reason ? ")" : "");
    }
    close(sfd);
    return rc;
}

/* ---- one job ---- */

/* Logs the item failures; keeps the first in *first (for the reason). */
static void log_events(eng *g, const char *name, eng_event *first)
{
    eng_event ev[32];
    size_t n;
    while ((n = eng_events(g, ev, 32)) > 0)
        for (size_t i = 0; i < n; i++) {
            say("%s: item %zu %s: %s", name, ev[i].idx, ev[i].key, ev[i].text);
            if (!first->key[0] && !first->text[0])
                *first = ev[i];
        }
}

static outcome run_job(watch *w, const cand *c)
{
    const char *name = c->name;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", w->dir, name);
    say("%s: picked up (%lld bytes, %s)", name, c->size,
        c->renamed ? "renamed into the folder" : "unchanged for the settle time");
    if (provctx_refresh(&w->pc)) {
        say("%s: not started: the credentials could not be renewed", name);
        return OUT_RETRY;
    }
    err e;
    err_clear(&e);
    char msg[800];
    eng_opts eo;
    provctx_eng_opts(&w->pc, &eo, path);
    eng *g = NULL;
    if (eng_start(&g, &eo, &e)) {
        say("%s: not started: %s", name, err_format(&e, msg, sizeof msg));
        return OUT_RETRY;
    }
    eng_snapshot s;
    eng_event first;
    memset(&first, 0, sizeof first);
    int cancelled = 0;
    long long job = 0;
    double last = rate_now();
    int was_waiting = 0;
    for (;;) {
        eng_snapshot_get(g, &s);
        if (s.job_id && !job) {
            job = s.job_id;
            say("%s: job %lld (Phase %d, %zu items%s%s%s)", name, job, s.phase, s.total,
                s.batch_id[0] ? ", batch " : "", s.batch_id,
                s.resumed ? ", resumed" : "");
        }
        if (s.state >= ENG_DONE)
            break;
        if (interrupted && !cancelled) {
            eng_pause(g);
            cancelled = 1;
            say("%s: interrupted: finishing the calls in flight", name);
        }
        log_events(g, name, &first);
        double now = rate_now();
        if (s.waiting && (!was_waiting || now - last >= 30)) {
            say("%s: waiting %.0f s for the service: %s; next try in %.0f s, the job "
                "pauses after %.0f s",
                name, s.outage_s, s.waiting_for, s.next_try_s, s.max_outage_s);
            last = now;
        } else if (!s.waiting && was_waiting) {
            say("%s: the service answers again after %.0f s; going on", name,
                s.outage_total_s);
        } else if (s.state == ENG_RUNNING && now - last >= 30) {
            say("%s: %zu/%zu items, %.1f items/s, failed %zu, throttled %llu", name,
                s.done + s.failed + s.skipped, s.total, s.items_per_s, s.failed,
                s.throttles);
            last = now;
        }
        was_waiting = s.waiting;
        usleep(100000);
    }
    eng_wait(g);
    eng_snapshot_get(g, &s);
    log_events(g, name, &first);
    eng_free(g);

    char reason[1500];
    switch (s.state) {
    case ENG_CANCELLED:
        say("%s: cancelled; it stays in %s", name, w->dir);
        return OUT_RETRY;
    case ENG_PAUSED:
        if (interrupted) {
            if (job)
                say("%s: job %lld stopped; the file stays in %s and the job resumes when "
                    "watch runs again",
                    name, job, w->dir);
            else
                say("%s: stopped before its job started; it stays in %s", name, w->dir);
            return OUT_INTERRUPTED;
        }
        say("%s: job %lld %s; the file stays in %s and is tried again later", name, job,
            s.message, w->dir);
        return OUT_RETRY;
    case ENG_ERROR:
        say("%s: not finished: %s", name, s.message);
        return OUT_RETRY;
    case ENG_REJECTED:
        if (s.input_changed) { /* still being written: settle again */
            say("%s: changed while its job was reading it; nothing sent, looked at again",
                name);
            return OUT_CHANGED;
        }
        if (s.cancelled_job) { /* the operator cancelled its job: not by accident */
            snprintf(reason, sizeof reason, "not started: %s", s.message);
            say("%s: %s", name, reason);
            return move_out(w, name, "failed", s.job_id, reason) ? OUT_RETRY : OUT_FAILED;
        }
        /* Validation passed (phase known, nothing invalid left in): the
         * pre-flight refused the account, not the file. */
        if (s.phase && (!s.invalid || w->pc.cfg.skip_invalid)) {
            say("%s: not started: %s", name, s.message);
            return OUT_RETRY;
        }
        if (s.invalid && (first.key[0] || first.text[0]))
            snprintf(reason, sizeof reason, "rejected: %s; the first: item %zu %s: %s",
                     s.message, first.idx, first.key, first.text);
        else
            snprintf(reason, sizeof reason, "rejected: %s", s.message);
        say("%s: %s", name, reason);
        return move_out(w, name, "failed", 0, reason) ? OUT_RETRY : OUT_FAILED;
    case ENG_FAILED:
        snprintf(reason, sizeof reason,
                 "job %lld: %zu of %zu items failed (see the report); the last: %s", job,
                 s.failed, s.total, s.message);
        say("%s: failed: %zu done, %zu failed, %zu skipped of %zu items", name, s.done,
            s.failed, s.skipped, s.total);
        return move_out(w, name, "failed", job, reason) ? OUT_RETRY : OUT_FAILED;
    default:
        if (s.resumed && s.already && s.already == s.done)
            say("%s: already done: job %lld finished its %zu items earlier; nothing "
                "sent",
                name, job, s.done);
        else
            say("%s: done: job %lld, %zu items, %zu done (%zu earlier), %zu skipped, "
                "%llu calls, %.1f s",
                name, job, s.total, s.done, s.already, s.skipped, s.calls, s.elapsed);
        return move_out(w, name, "done", job, NULL) ? OUT_RETRY : OUT_DONE;
    }
}

/* An entry that is not a regular file (c->what says what): to failed/ with
 * the reason, after a fresh look (it may have been replaced meanwhile). */
static outcome reject_entry(watch *w, const cand *c)
{
    struct stat st;
    char what[sizeof c->what] = "";
    if (classify(w, c->name, &st, what, sizeof what) != 0 || strcmp(what, c->what)) {
        say("%s: changed before it was moved; looked at again", c->name);
        return OUT_CHANGED;
    }
    char reason[1500];
    snprintf(reason, sizeof reason, "rejected: %s: not a regular file (%s); not read",
             c->name, c->what);
    say("%s: %s", c->name, reason);
    return move_out(w, c->name, "failed", 0, reason) ? OUT_RETRY : OUT_FAILED;
}

/* ---- the loop ---- */

static int parse_seconds(const char *opt, const char *v, double min, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || errno || end == v || *end || !(d >= min) || d > 86400) {
        cli_error("%s: expected seconds (%g to 86400), got '%s'", opt, min, v ? v : "");
        return -1;
    }
    *out = d;
    return 0;
}

static int setup_dir(watch *w)
{
    w->dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dfd < 0) {
        cli_error("%s: %s", w->dir, strerror(errno));
        return -1;
    }
    if (flock(w->dfd, LOCK_EX | LOCK_NB)) {
        cli_error("%s: %s", w->dir,
                  errno == EWOULDBLOCK ? "another thingpress watch is running on it"
                                       : strerror(errno));
        return -1;
    }
    static const char *const subs[] = {"done", "failed"};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (mkdirat(w->dfd, subs[i], 0750) && errno != EEXIST) {
            cli_error("%s/%s: cannot create it: %s", w->dir, subs[i], strerror(errno));
            return -1;
        }
        if (fstatat(w->dfd, subs[i], &st, 0) || !S_ISDIR(st.st_mode)) {
            cli_error("%s/%s: not a directory", w->dir, subs[i]);
            return -1;
        }
    }
    /* IN_CREATE: a mkfifo, mkdir or symlink in DIR wakes the loop too */
    w->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->ino >= 0 &&
        inotify_add_watch(w->ino, w->dir,
                          IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE_SELF |
                              IN_MOVE_SELF | IN_ONLYDIR) < 0) {
        close(w->ino);
        w->ino = -1;
    }
    if (w->ino < 0)
        say("%s: no inotify (%s): scanning every %g s", w->dir, strerror(errno),
            w->rescan);
    return 0;
}

int cmd_watch(int argc, char **argv)
{
    watch w;
    memset(&w, 0, sizeof w);
    w.dfd = w.ino = -1;
    w.settle = 2;
    w.rescan = 5;
    provctx_init(&w.pc);
    int rc = EXIT_REJECTED;

    if (provctx_preload(&w.pc, argc, argv))
        goto out;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t = provctx_option(&w.pc, argc, argv, &i);
        if (t < 0)
            goto out;
        if (t > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            fputs(provctx_help, stdout);
            fputs(help_exit, stdout);
            fputs(jobopts_help, stdout);
            rc = EXIT_GOOD;
            goto out;
        }
        if (!strcmp(a, "--once")) {
            w.once = 1;
            continue;
        }
        int settle = !strncmp(a, "--settle", 8) && (a[8] == '\0' || a[8] == '=');
        int rescan = !strncmp(a, "--rescan", 8) && (a[8] == '\0' || a[8] == '=');
        if (settle || rescan) {
            const char *v = a[8] == '=' ? a + 9 : i + 1 < argc ? argv[++i] : NULL;
            if (parse_seconds(settle ? "--settle" : "--rescan", v, settle ? 0 : 0.1,
                              settle ? &w.settle : &w.rescan))
                goto out;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            cli_error("watch: unknown option '%s' (try 'thingpress watch --help')", a);
            goto out;
        }
        if (w.dir) {
            cli_error("watch: one DIR only ('%s' and '%s')", w.dir, a);
            goto out;
        }
        w.dir = a;
    }
    if (!w.dir)
        w.dir = w.pc.st.hot_folder; /* the station profile's hot folder */
    if (!w.dir) {
        cli_error("watch: missing DIR (and no hot_folder in a station profile; try "
                  "'thingpress watch --help')");
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (setup_dir(&w) || provctx_connect(&w.pc))
        goto out;
    struct stat sd;
    if (!stat(w.pc.state_dir, &sd)) { /* --state DIR/state: never moved */
        w.have_state = 1;
        w.state_dev = sd.st_dev;
        w.state_ino = sd.st_ino;
    }
    say("watching %s (settle %g s%s); state in %s", w.dir, w.settle,
        w.once ? ", once" : "", w.pc.state_dir);

    double last_scan = -1e9;
    for (;;) {
        if (interrupted) {
            say("interrupted: exiting");
            rc = EXIT_GOOD;
            break;
        }
        if (drain_events(&w) < 0)
            goto out;
        double now = rate_now();
        if (scan(&w))
            goto out;
        last_scan = now;
        /* the first complete file in name order, else when to look again */
        double wall = wall_now(), next = last_scan + w.rescan;
        cand *pick = NULL;
        size_t waiting = 0;
        for (size_t i = 0; i < w.n && !pick; i++) {
            cand *c = &w.c[i];
            if (c->left)
                continue;
            waiting++;
            double t = ready_at(&w, c, now, wall);
            if (t <= now)
                pick = c;
            else if (t < next)
                next = t;
        }
        if (pick) {
            outcome o = pick->what[0] ? reject_entry(&w, pick) : run_job(&w, pick);
            if (o == OUT_INTERRUPTED) {
                rc = EXIT_GOOD;
                break;
            }
            if (o == OUT_FAILED)
                w.bad = 1;
            if (o == OUT_RETRY) {
                w.bad = 1;
                pick->backoff = pick->backoff ? pick->backoff * 2 : 30;
                if (pick->backoff > 600)
                    pick->backoff = 600;
                pick->retry_at = rate_now() + pick->backoff;
                pick->left = w.once;
                if (w.once)
                    say("%s: left in %s for the next run", pick->name, w.dir);
                else
                    say("%s: stays in %s; retried in %.0f s", pick->name, w.dir,
                        pick->backoff);
            }
            continue;
        }
        if (w.once && waiting == 0) {
            say("nothing left to do in %s", w.dir);
            rc = w.bad ? EXIT_ITEMS : EXIT_GOOD;
            break;
        }
        int ms = (int)((next - now) * 1000) + 1;
        if (ms < 1)
            ms = 1;
        struct pollfd pfd = {.fd = w.ino, .events = POLLIN};
        poll(&pfd, w.ino >= 0 ? 1 : 0, ms);
    }
out:
    for (size_t i = 0; i < w.n; i++)
        free(w.c[i].name);
    free(w.c);
    if (w.ino >= 0)
        close(w.ino);
    if (w.dfd >= 0)
        close(w.dfd);
    provctx_free(&w.pc);
    return rc;
}
