/* thingpress status [JOB]: jobs and item outcomes from the journal
 * (DESIGN.md §4, §7). Reads only: it opens the journal with
 * jnl_open_existing, so it never creates a state directory, and it can run
 * while a provision writes (WAL readers see the last commit).
 *
 * Without JOB: a table of the most recently updated jobs. With JOB: the
 * job's header, then its items, streamed page by page so a job of a million
 * items prints in constant memory. Text output is aligned and colored by
 * role on a terminal only; tsv and json are for scripts. With JOB, csv and
 * json print the job's report (journal.h: jnl_report_write, the same bytes
 * as reports/job-ID.csv and .json), and device-infos a Phase 1 job's
 * hand-off to the MES (jnl_devinfo_skeleton). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/cmd.h"
#include "engine/journal.h"

typedef enum { OUT_TEXT, OUT_JSON, OUT_TSV, OUT_CSV, OUT_DEVINFO } out_mode;

enum {
    DEFAULT_LIMIT = 20,
    PAGE = 1000,         /* items read per journal query */
    KEY_MAX_WIDTH = 40,  /* text: longer keys are cut */
    FILE_MAX_WIDTH = 40, /* text: longer file names are cut */
    BATCH_MAX_WIDTH = 24,
    FP_SHOWN = 12, /* text: fingerprint prefix shown */
};

static const char help[] =
    "usage: thingpress status [JOB] [options]\n"
    "\n"
    "Show the jobs recorded in the journal, or one job and its items.\n"
    "\n"
    "  --state DIR             the journal's directory (default:\n"
    "                          $XDG_STATE_HOME/thingpress or ~/.local/state/thingpress)\n"
    "  --output FORMAT         text: aligned tables (default)\n"
    "                          tsv, without JOB: id, phase, status, created, file,\n"
    "                            batch, total, done, failed, skipped (no header)\n"
    "                          tsv, with JOB: idx, key, fingerprint, status, step,\n"
    "                            attempts, error, cert_arn, thing_arn (no header)\n"
    "                          json: one document; with JOB, the job's report\n"
    "                          csv (JOB): the job's report, as reports/job-JOB.csv\n"
    "                          device-infos (a Phase 1 JOB): a device-infos file of\n"
    "                            its registered certificates (certFingerprint,\n"
    "                            deviceId) for the MES to fill in for Phase 2\n"
    "  --failed                with JOB: only the failed and skipped items\n"
    "  --limit N               without JOB: the N most recent jobs (default 20, 0 = "
    "all)\n"
    "  --follow                with JOB: its counters live (a line a second on a\n"
    "                          terminal, on each change otherwise) until it ends;\n"
    "                          exit 0 done, 1 failed items, 2 paused, cancelled or\n"
    "                          interrupted\n"
    "\n"
    "Exit status: 0 shown, 2 no journal, unknown job, bad invocation, or\n"
    "device-infos of a Phase 2 job or of a job that registered nothing.\n"
    "\n";

typedef struct {
    out_mode mode;
    int color;
    const char *state;
    long long job;
    int failed_only;
    size_t limit;
    int follow;
} opts;

/* ---- cells ---- */

/* Appends s with control characters (tabs, line breaks) made visible as '?',
 * so a cell stays on its line. */
static void put_clean(buf *b, const char *s)
{
    size_t start = b->len;
    buf_puts(b, s);
    for (char *p = b->data + start; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* Appends s cut to at most w bytes (with "..." when cut) - keys, names and
 * file names are ASCII in practice; a cut never splits a UTF-8 sequence. */
static void put_cut(buf *b, const char *s, size_t w)
{
    size_t n = strlen(s);
    if (n <= w) {
        put_clean(b, s);
        return;
    }
    size_t k = w > 3 ? w - 3 : 0;
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    char *c = xstrndup(s, k);
    put_clean(b, c);
    free(c);
    buf_puts(b, "...");
}

/* Display width of a cell (UTF-8 sequences count one column each). */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void pad(buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_putc(b, ' ');
}

static void local_time(char *out, size_t n, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static void utc_time(char *out, size_t n, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Colors by role; "" without a terminal. */
static const char *job_color(const opts *o, jnl_job_status st)
{
    if (!o->color)
        return "";
    switch (st) {
    case JOB_DONE:
        return "\033[32m";
    case JOB_FAILED:
        return "\033[1;31m";
    case JOB_CANCELLED:
    case JOB_PAUSED:
        return "\033[33m";
    case JOB_RUNNING:
        return "\033[36m";
    }
    return "";
}

static const char *item_color(const opts *o, jnl_status st)
{
    if (!o->color)
        return "";
    switch (st) {
    case JNL_DONE:
        return "\033[32m";
    case JNL_FAILED:
        return "\033[1;31m";
    case JNL_SKIPPED:
        return "\033[33m";
    case JNL_PENDING:
        return "\033[36m";
    }
    return "";
}

static const char *reset_color(const opts *o)
{
    return o->color ? "\033[0m" : "";
}

/* ---- the job table ---- */

enum {
    JC_ID,
    JC_PHASE,
    JC_STATUS,
    JC_CREATED,
    JC_FILE,
    JC_BATCH,
    JC_TOTAL,
    JC_DONE,
    JC_FAILED,
    JC_SKIPPED,
    JC_N
};

static const char *const job_heads[JC_N] = {"ID",     "PHASE",  "STATUS", "CREATED",
                                            "FILE",   "BATCH",  "TOTAL",  "DONE",
                                            "FAILED", "SKIPPED"};
static const int job_right[JC_N] = {1, 1, 0, 0, 0, 0, 1, 1, 1, 1};

/* The cells of one job row (text mode), each owned by the caller. */
static void job_cells(const jnl_job *jb, char *cells[JC_N])
{
    buf b = BUF_INIT;
    char t[32];
    for (int c = 0; c < JC_N; c++) {
        buf_reset(&b);
        switch (c) {
        case JC_ID:
            buf_printf(&b, "%lld", jb->id);
            break;
        case JC_PHASE:
            buf_printf(&b, "%d", jb->phase);
            break;
        case JC_STATUS:
            buf_puts(&b, jnl_job_status_name(jb->status));
            break;
        case JC_CREATED:
            local_time(t, sizeof t, jb->created);
            buf_puts(&b, t);
            break;
        case JC_FILE:
            put_cut(&b, base_name(jb->file), FILE_MAX_WIDTH);
            break;
        case JC_BATCH:
            if (jb->batch_id[0])
                put_cut(&b, jb->batch_id, BATCH_MAX_WIDTH);
            else
                buf_puts(&b, "-");
            break;
        case JC_TOTAL:
            buf_printf(&b, "%zu", jb->total);
            break;
        case JC_DONE:
            buf_printf(&b, "%zu", jb->done);
            break;
        case JC_FAILED:
            buf_printf(&b, "%zu", jb->failed);
            break;
        case JC_SKIPPED:
            buf_printf(&b, "%zu", jb->skipped);
            break;
        }
        cells[c] = xstrdup(b.data ? b.data : "");
    }
    buf_free(&b);
}

static void print_jobs_text(const opts *o, const jnl_job *jobs, size_t n, int more)
{
    if (n == 0) {
        printf("No jobs in the journal.\n");
        return;
    }
    char *(*cells)[JC_N] = xcalloc(n, sizeof *cells);
    size_t w[JC_N];
    for (int c = 0; c < JC_N; c++)
        w[c] = strlen(job_heads[c]);
    for (size_t r = 0; r < n; r++) {
        job_cells(&jobs[r], cells[r]);
        for (int c = 0; c < JC_N; c++)
            if (width_of(cells[r][c]) > w[c])
                w[c] = width_of(cells[r][c]);
    }
    buf b = BUF_INIT;
    for (size_t r = 0; r <= n; r++) {
        buf_reset(&b);
        for (int c = 0; c < JC_N; c++) {
            const char *s = r == 0 ? job_heads[c] : cells[r - 1][c];
            size_t gap = w[c] - width_of(s);
            if (c)
                buf_puts(&b, "  ");
            if (job_right[c])
                pad(&b, gap);
            int colored = r > 0 && c == JC_STATUS && o->color;
            if (colored)
                buf_puts(&b, job_color(o, jobs[r - 1].status));
            buf_puts(&b, s);
            if (colored)
                buf_puts(&b, reset_color(o));
            if (!job_right[c] && c + 1 < JC_N)
                pad(&b, gap);
        }
        buf_putc(&b, '\n');
        fwrite(b.data, 1, b.len, stdout);
    }
    if (more)
        printf("(the %zu most recently updated jobs; --limit 0 shows all)\n", n);
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < JC_N; c++)
            free(cells[r][c]);
    free(cells);
    buf_free(&b);
}

static void print_jobs_tsv(const jnl_job *jobs, size_t n)
{
    buf b = BUF_INIT;
    char t[32];
    for (size_t r = 0; r < n; r++) {
        const jnl_job *jb = &jobs[r];
        buf_reset(&b);
        utc_time(t, sizeof t, jb->created);
        buf_printf(&b, "%lld\t%d\t%s\t%s\t", jb->id, jb->phase,
                   jnl_job_status_name(jb->status), t);
        put_clean(&b, jb->file);
        buf_putc(&b, '\t');
        put_clean(&b, jb->batch_id);
        buf_printf(&b, "\t%zu\t%zu\t%zu\t%zu\n", jb->total, jb->done, jb->failed,
                   jb->skipped);
        fwrite(b.data, 1, b.len, stdout);
    }
    buf_free(&b);
}

static void print_jobs_json(const char *dir, const jnl_job *jobs, size_t n)
{
    buf b = BUF_INIT;
    buf_puts(&b, "{\n  \"state_dir\": ");
    buf_json_str(&b, dir);
    buf_puts(&b, ",\n  \"jobs\": [");
    for (size_t r = 0; r < n; r++) {
        buf_puts(&b, r ? ",\n    " : "\n    ");
        jnl_job_json(&jobs[r], &b);
    }
    buf_puts(&b, n ? "\n  ]\n}\n" : "]\n}\n");
    fwrite(b.data, 1, b.len, stdout);
    buf_free(&b);
}

static int list_jobs(const opts *o, journal *j, err *e)
{
    /* one more than shown tells whether there are more */
    size_t cap = o->limit ? o->limit + 1 : 1024, n;
    jnl_job *jobs = NULL;
    for (;;) {
        jobs = xrealloc(jobs, cap * sizeof *jobs);
        n = cap;
        if (jnl_job_list(j, jobs, &n, e)) {
            free(jobs);
            return -1;
        }
        if (o->limit || n < cap)
            break;
        cap *= 4; /* --limit 0: all of them */
    }
    int more = o->limit && n > o->limit;
    if (more)
        n = o->limit;
    switch (o->mode) {
    case OUT_TEXT:
        print_jobs_text(o, jobs, n, more);
        break;
    case OUT_TSV:
        print_jobs_tsv(jobs, n);
        break;
    case OUT_JSON:
        print_jobs_json(jnl_dir(j), jobs, n);
        break;
    default: /* csv and device-infos need a JOB (cmd_status) */
        break;
    }
    free(jobs);
    return 0;
}

/* ---- one job ---- */

static void print_job_header(const opts *o, journal *j, const jnl_job *jb)
{
    char created[32], updated[32], path[PATH_MAX + 32];
    local_time(created, sizeof created, jb->created);
    local_time(updated, sizeof updated, jb->updated);
    buf b = BUF_INIT;
    buf_printf(&b, "job %lld: %s%s%s (phase %d)\n", jb->id, job_color(o, jb->status),
               jnl_job_status_name(jb->status), reset_color(o), jb->phase);
    if (jb->runner_pid) {
        buf_puts(&b, "  runner    running now in ");
        if (jb->runner_pid > 0)
            buf_printf(&b, "pid %ld on host ", jb->runner_pid);
        put_clean(&b, jb->runner_host[0] ? jb->runner_host : "another process");
        buf_putc(&b, '\n');
    }
    buf_puts(&b, "  file      ");
    put_clean(&b, jb->file);
    buf_printf(&b, "\n  sha256    %s\n", jb->file_sha256);
    if (jb->batch_id[0]) {
        buf_puts(&b, "  batch     ");
        put_clean(&b, jb->batch_id);
        buf_putc(&b, '\n');
    }
    if (jb->endpoint[0]) {
        buf_puts(&b, "  endpoint  ");
        put_clean(&b, jb->endpoint);
        buf_putc(&b, '\n');
    }
    buf_puts(&b, "  config    ");
    put_clean(&b, jb->identity);
    buf_printf(&b, "\n  created   %s, updated %s\n", created, updated);
    buf_printf(&b, "  items     %zu: %zu done, %zu failed, %zu skipped, %zu pending\n",
               jb->total, jb->done, jb->failed, jb->skipped,
               jb->total - jb->done - jb->failed - jb->skipped);
    snprintf(path, sizeof path, "%s/reports/job-%lld.csv", jnl_dir(j), jb->id);
    struct stat sb;
    if (stat(path, &sb) == 0) {
        buf_puts(&b, "  report    ");
        put_clean(&b, path);
        buf_putc(&b, '\n');
    }
    fwrite(b.data, 1, b.len, stdout);
    buf_free(&b);
}

/* Text item rows; widths are set by the first page (keys cut beyond
 * KEY_MAX_WIDTH) so the table streams. */
typedef struct {
    size_t w_idx, w_key, w_step, w_att;
} item_widths;

static void item_widths_of(item_widths *w, const jnl_job *jb, const jnl_item *it,
                           size_t n)
{
    char t[32];
    /* the last idx is about total - 1; the first page may show only small ones */
    w->w_idx = (size_t)snprintf(t, sizeof t, "%zu", jb->total ? jb->total - 1 : 0);
    if (w->w_idx < strlen("IDX"))
        w->w_idx = strlen("IDX");
    w->w_key = strlen("KEY");
    w->w_step = strlen("STEP");
    w->w_att = strlen("ATTEMPTS");
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)snprintf(t, sizeof t, "%zu", it[i].idx);
        if (k > w->w_idx)
            w->w_idx = k;
        k = width_of(it[i].key);
        k = k > KEY_MAX_WIDTH ? KEY_MAX_WIDTH : k;
        if (k > w->w_key)
            w->w_key = k;
    }
}

static void item_text(const opts *o, const item_widths *w, const jnl_item *it, buf *b)
{
    char t[32];
    snprintf(t, sizeof t, "%zu", it->idx);
    pad(b, w->w_idx > strlen(t) ? w->w_idx - strlen(t) : 0);
    buf_puts(b, t);
    buf_puts(b, "  ");
    size_t start = b->len;
    put_cut(b, it->key, KEY_MAX_WIDTH);
    size_t kw = width_of(b->data + start);
    pad(b, w->w_key > kw ? w->w_key - kw : 0);
    buf_puts(b, "  ");
    size_t fl = strlen(it->fingerprint);
    buf_printf(b, "%-*.*s%s  ", FP_SHOWN, FP_SHOWN, it->fingerprint,
               fl > FP_SHOWN ? "..." : "   ");
    const char *sn = jnl_status_name(it->status);
    buf_printf(b, "%s%s%s%*s  ", item_color(o, it->status), sn, reset_color(o),
               (int)(strlen("skipped") - strlen(sn)), "");
    buf_printf(b, "%*d  %*d", (int)w->w_step, it->step, (int)w->w_att, it->attempts);
    if (it->error[0]) {
        buf_puts(b, "  ");
        put_clean(b, it->error);
    }
    buf_putc(b, '\n');
}

static void item_tsv(const jnl_item *it, buf *b)
{
    buf_printf(b, "%zu\t", it->idx);
    put_clean(b, it->key);
    buf_putc(b, '\t');
    put_clean(b, it->fingerprint);
    buf_printf(b, "\t%s\t%d\t%d\t", jnl_status_name(it->status), it->step, it->attempts);
    put_clean(b, it->error);
    buf_putc(b, '\t');
    put_clean(b, it->cert_arn);
    buf_putc(b, '\t');
    put_clean(b, it->thing_arn);
    buf_putc(b, '\n');
}

/* A Phase 1 job's device-infos skeleton; a note on stderr when the job may
 * still register more. */
static int show_skeleton(const opts *o, journal *j, err *e)
{
    jnl_job jb;
    size_t n = 0;
    if (jnl_job_get(j, o->job, &jb, e) || jnl_devinfo_skeleton(j, o->job, stdout, &n, e))
        return -1;
    size_t pending = jb.total - jb.done - jb.failed - jb.skipped;
    if (pending || jb.failed)
        fprintf(stderr,
                "thingpress: note: job %lld is %s (%zu items pending, %zu failed): the "
                "skeleton lists the %zu certificates it registered\n",
                o->job, jnl_job_status_name(jb.status), pending, jb.failed, n);
    return 0;
}

static int show_job(const opts *o, journal *j, err *e)
{
    int filter = o->failed_only ? JNL_FILTER_PROBLEMS : JNL_FILTER_ALL;
    if (o->mode == OUT_DEVINFO)
        return show_skeleton(o, j, e);
    if (o->mode == OUT_JSON || o->mode == OUT_CSV)
        return jnl_report_write(j, o->job, filter, o->mode == OUT_CSV ? stdout : NULL,
                                o->mode == OUT_JSON ? stdout : NULL, e);
    jnl_job jb;
    if (jnl_job_get(j, o->job, &jb, e))
        return -1;
    buf b = BUF_INIT;
    if (o->mode == OUT_TEXT)
        print_job_header(o, j, &jb);
    jnl_item *page = xmalloc(PAGE * sizeof *page);
    item_widths w = {0};
    size_t offset = 0, shown = 0;
    int rc = 0;
    for (;;) {
        size_t n = PAGE;
        if (jnl_item_list(j, o->job, filter, offset, page, &n, e)) {
            rc = -1;
            break;
        }
        if (o->mode == OUT_TEXT && offset == 0 && n) {
            item_widths_of(&w, &jb, page, n);
            buf_reset(&b);
            buf_putc(&b, '\n');
            pad(&b, w.w_idx - strlen("IDX"));
            buf_printf(&b, "IDX  %-*s  %-*s  %-7s  %*s  %*s  ERROR\n", (int)w.w_key,
                       "KEY", FP_SHOWN + 3, "FINGERPRINT", "STATUS", (int)w.w_step,
                       "STEP", (int)w.w_att, "ATTEMPTS");
            fwrite(b.data, 1, b.len, stdout);
        }
        for (size_t i = 0; i < n; i++) {
            buf_reset(&b);
            switch (o->mode) {
            case OUT_TEXT:
                item_text(o, &w, &page[i], &b);
                break;
            case OUT_TSV:
                item_tsv(&page[i], &b);
                break;
            default: /* csv, json, device-infos: above */
                break;
            }
            fwrite(b.data, 1, b.len, stdout);
        }
        shown += n;
        offset += n;
        if (n < PAGE)
            break;
    }
    if (rc == 0 && o->mode == OUT_TEXT && shown == 0)
        printf("\n%s\n",
               o->failed_only ? "No failed or skipped items." : "No items recorded yet.");
    free(page);
    buf_free(&b);
    return rc;
}

/* ---- main ---- */

/* The value of --name=V or --name V at argv[*i], or NULL if a[*i] is not
 * --name; "" when the value is missing. */
static const char *opt_value(const char *name, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    return *i + 1 < argc ? argv[++*i] : "";
}

/* ---- --follow ---- */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line of a followed job's counters. */
static void follow_line(const jnl_job *jb, const char *state, double ips, int tty)
{
    size_t fin = jb->done + jb->failed + jb->skipped;
    double pct = jb->total ? 100.0 * (double)fin / (double)jb->total : 0;
    printf("%sjob %lld (Phase %d) %s: %zu/%zu items (%.0f%%), %zu done, %zu failed, %zu "
           "skipped",
           tty ? "\r\033[K" : "", jb->id, jb->phase, state, fin, jb->total, pct, jb->done,
           jb->failed, jb->skipped);
    if (ips > 0)
        printf(", %.1f items/s", ips);
    if (jb->runner_pid > 0)
        printf(", pid %ld on %s", jb->runner_pid, jb->runner_host);
    if (!tty)
        putchar('\n');
    fflush(stdout);
}

/* Shows job o->job's counters as they change, until it ends (or no process
 * runs it any more). Returns the exit status, or -1 with e set. */
static int follow_job(const opts *o, journal *j, err *e)
{
    int tty = isatty(fileno(stdout));
    jnl_job jb, last;
    memset(&last, 0, sizeof last);
    double t0 = mono_now(), last_print = 0, idle_since = 0;
    size_t done0 = (size_t)-1;
    for (;;) {
        if (jnl_job_get(j, o->job, &jb, e))
            return -1;
        double now = mono_now();
        if (done0 == (size_t)-1)
            done0 = jb.done + jb.failed;
        double ips =
            now - t0 > 1 ? (double)(jb.done + jb.failed - done0) / (now - t0) : 0;
        int running = jb.status == JOB_RUNNING && jb.runner_pid;
        /* a running job nobody runs: started but not yet locked, or stopped
         * by a crash; a few seconds tell them apart */
        if (jb.status == JOB_RUNNING && !jb.runner_pid) {
            if (!idle_since)
                idle_since = now;
        } else {
            idle_since = 0;
        }
        int ended = jb.status != JOB_RUNNING || (idle_since && now - idle_since >= 5);
        int changed = jb.done != last.done || jb.failed != last.failed ||
                      jb.skipped != last.skipped || jb.status != last.status;
        if (ended || (tty ? now - last_print >= 1 : changed || now - last_print >= 30)) {
            const char *state = ended && jb.status == JOB_RUNNING ? "interrupted"
                                : running                         ? "running"
                                : jb.status == JOB_RUNNING
                                    ? "waiting for its runner"
                                    : jnl_job_status_name(jb.status);
            follow_line(&jb, state, ended ? 0 : ips, tty);
            last_print = now;
        }
        last = jb;
        if (ended) {
            if (tty)
                putchar('\n');
            if (jb.status == JOB_RUNNING)
                printf("  no process runs it: the same provision command resumes it\n");
            fflush(stdout);
            return jb.status == JOB_DONE     ? EXIT_GOOD
                   : jb.status == JOB_FAILED ? EXIT_ITEMS
                                             : EXIT_REJECTED;
        }
        usleep(250000);
    }
}

int cmd_status(int argc, char **argv)
{
    opts o = {.mode = OUT_TEXT, .limit = DEFAULT_LIMIT};
    const char *job_arg = NULL, *v;
    err e;
    err_clear(&e);
    char msg[700];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return EXIT_GOOD;
        }
        if (!strcmp(a, "--failed")) {
            o.failed_only = 1;
            continue;
        }
        if (!strcmp(a, "--follow")) {
            o.follow = 1;
            continue;
        }
        if ((v = opt_value("--state", argc, argv, &i))) {
            if (!*v) {
                cli_error("--state: expected a directory");
                return EXIT_REJECTED;
            }
            o.state = v;
            continue;
        }
        if ((v = opt_value("--output", argc, argv, &i)) ||
            (v = opt_value("-o", argc, argv, &i))) {
            if (!strcmp(v, "text"))
                o.mode = OUT_TEXT;
            else if (!strcmp(v, "json"))
                o.mode = OUT_JSON;
            else if (!strcmp(v, "tsv"))
                o.mode = OUT_TSV;
            else if (!strcmp(v, "csv"))
                o.mode = OUT_CSV;
            else if (!strcmp(v, "device-infos"))
                o.mode = OUT_DEVINFO;
            else {
                cli_error("--output: expected text, json, tsv, csv or device-infos, got "
                          "'%s'",
                          v);
                return EXIT_REJECTED;
            }
            continue;
        }
        if ((v = opt_value("--limit", argc, argv, &i))) {
            char *end;
            long long k = strtoll(v, &end, 10);
            if (!*v || *end || k < 0) {
                cli_error("--limit: expected a number (0 = all), got '%s'", v);
                return EXIT_REJECTED;
            }
            o.limit = (size_t)k;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            cli_error("status: unknown option '%s' (try 'thingpress status --help')", a);
            return EXIT_REJECTED;
        }
        if (job_arg) {
            cli_error("status: one JOB only ('%s' and '%s')", job_arg, a);
            return EXIT_REJECTED;
        }
        job_arg = a;
    }
    if (job_arg) {
        char *end;
        o.job = strtoll(job_arg, &end, 10);
        if (!*job_arg || *end || o.job <= 0) {
            cli_error("status: JOB is a job id (a number 'thingpress status' lists), got "
                      "'%s'",
                      job_arg);
            return EXIT_REJECTED;
        }
    } else if (o.failed_only || o.follow) {
        cli_error("status: %s needs a JOB (try 'thingpress status --help')",
                  o.follow ? "--follow" : "--failed");
        return EXIT_REJECTED;
    } else if (o.mode == OUT_CSV || o.mode == OUT_DEVINFO) {
        cli_error("status: --output %s needs a JOB (try 'thingpress status --help')",
                  o.mode == OUT_CSV ? "csv" : "device-infos");
        return EXIT_REJECTED;
    }
    if (o.mode == OUT_DEVINFO && o.failed_only) {
        cli_error("status: --failed does not apply to --output device-infos (it lists "
                  "the registered certificates)");
        return EXIT_REJECTED;
    }
    const char *nc = getenv("NO_COLOR");
    o.color = o.mode == OUT_TEXT && isatty(fileno(stdout)) && !(nc && *nc);

    journal *j = NULL;
    if (jnl_open_existing(&j, o.state, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return EXIT_REJECTED;
    }
    if (o.follow) {
        int frc = follow_job(&o, j, &e);
        jnl_close(j);
        if (frc < 0) {
            cli_error("%s", err_format(&e, msg, sizeof msg));
            return EXIT_REJECTED;
        }
        return frc;
    }
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    int rc = job_arg ? show_job(&o, j, &e) : list_jobs(&o, j, &e);
    fflush(stdout);
    jnl_close(j);
    if (rc) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return EXIT_REJECTED;
    }
    return EXIT_GOOD;
}
