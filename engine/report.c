/* The reports of a job (see journal.h: jnl_report_write, jnl_report,
 * jnl_devinfo_skeleton, jnl_job_json, jnl_item_json): the journal's rows
 * rendered as RFC 4180 CSV, as JSON, and as a device-infos skeleton.
 *
 * Design: a report reads the journal through its API (jnl_impl.h streams the
 * rows, one statement, one row at a time: a job of 100,000 items costs no
 * more memory than one of ten) and knows nothing of SQLite. The same writer
 * serves the files and `thingpress status --output csv|json`, so both say the
 * same. Each file is written beside its final name, synced and renamed over
 * it, so a reader sees the old report or the new one, never half of one.
 * Strings that are not UTF-8 (a file path may hold any bytes) are written
 * with '?' for the bad bytes, so a report is always written.
 *
 * Threading: the journal's owner thread (journal.h); jnl_job_json and
 * jnl_item_json touch nothing but their arguments. Ownership: the caller's
 * buffers and streams; nothing is kept. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/jnl_impl.h"
#include "engine/journal.h"

/* Appends one RFC 4180 field: quoted when it holds a comma, a quote or a
 * line break, with quotes doubled. A cell that a spreadsheet would take for
 * a formula (it begins with = + - @, a tab or a CR: OWASP "CSV injection")
 * gets a single quote in front, so a thing named "-abc" or an error that
 * begins with "=" is shown as text. This is the only CSV the project writes
 * (`watch` copies it as NAME.report.csv; the console's export calls
 * jnl_report); the JSON report keeps the values as they are. */
static void csv_field(buf *b, const char *s)
{
    int formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (!strpbrk(s, ",\"\r\n")) {
        if (formula)
            buf_putc(b, '\'');
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    if (formula)
        buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '"')
            buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void iso_time_s(char *out, size_t n, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "2024-05-01T12:34:56.789Z", or "" for 0 (not recorded). */
static void iso_time_ms(char *out, size_t n, long long ms)
{
    if (ms <= 0) {
        if (n)
            out[0] = '\0';
        return;
    }
    time_t tt = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03dZ", base, (int)(ms % 1000));
}

/* Opens path.tmp for writing (mode 0600). */
static FILE *open_tmp(const char *tmp, err *e)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        err_set(e, ERR_IO, tmp, 0, -1, "cannot write the report: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

/* Flushes, syncs and closes f, then renames tmp to path. */
static int finish_tmp(FILE *f, const char *tmp, const char *path, err *e)
{
    int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    int saved = errno;
    bad |= fclose(f) != 0;
    if (bad) {
        err_set(e, ERR_IO, tmp, 0, -1, "cannot write the report: %s",
                strerror(saved ? saved : errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        err_set(e, ERR_IO, path, 0, -1, "cannot write the report: %s", strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* A JSON string of s; bytes that are not UTF-8 (a file path may hold any)
 * become '?', so a report is always written. */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    char *c = xstrdup(s);
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(c);
    free(c);
    if (!v)
        base_fatal("json_string");
    return v;
}

static void set(json_t *o, const char *k, json_t *v)
{
    if (!v || json_object_set_new(o, k, v))
        base_fatal("json_object_set_new");
}

/* A JSON string, or null when s is empty. */
static json_t *jopt(const char *s)
{
    return *s ? jstr(s) : json_null();
}

static json_t *job_json(const jnl_job *jb)
{
    char start[32], end[32] = "", updated[32];
    iso_time_s(start, sizeof start, jb->created);
    if (jb->ended > 0)
        iso_time_s(end, sizeof end, jb->ended);
    iso_time_s(updated, sizeof updated, jb->updated);
    json_t *options = json_loads(jb->identity, 0, NULL);
    json_t *o = json_object(), *counts = json_object();
    if (!o || !counts)
        base_fatal("json_object");
    set(o, "job", json_integer(jb->id));
    set(o, "status", jstr(jnl_job_status_name(jb->status)));
    set(o, "file", jstr(jb->file));
    set(o, "file_sha256", jstr(jb->file_sha256));
    set(o, "batch_id", jopt(jb->batch_id));
    set(o, "phase", json_integer(jb->phase));
    /* the URL the last run sent to; a journal from before runs were
     * recorded knows only the registry */
    set(o, "endpoint", jopt(jb->endpoint_url[0] ? jb->endpoint_url : jb->endpoint));
    set(o, "registry", jopt(jb->endpoint));
    set(o, "account", jopt(jb->account));
    set(o, "region", jopt(jb->region));
    set(o, "options", options ? options : jstr(jb->identity));
    set(o, "user", jopt(jb->user));
    set(o, "station", jopt(jb->station));
    set(o, "start", jstr(start));
    set(o, "end", jopt(end));
    set(o, "updated", jstr(updated));
    set(counts, "total", json_integer((json_int_t)jb->total));
    set(counts, "done", json_integer((json_int_t)jb->done));
    set(counts, "failed", json_integer((json_int_t)jb->failed));
    set(counts, "skipped", json_integer((json_int_t)jb->skipped));
    set(counts, "pending",
        json_integer((json_int_t)(jb->total - jb->done - jb->failed - jb->skipped)));
    set(o, "counts", counts);
    if (jb->runner_pid) {
        /* running now, in this process or another (its OS lock) */
        json_t *r = json_object();
        if (!r)
            base_fatal("json_object");
        set(r, "pid", json_integer(jb->runner_pid > 0 ? jb->runner_pid : 0));
        set(r, "host", jstr(jb->runner_host));
        set(o, "runner", r);
    }
    return o;
}

static json_t *item_json(const jnl_item *it)
{
    char started[40], finished[40];
    iso_time_ms(started, sizeof started, it->started);
    iso_time_ms(finished, sizeof finished, it->finished);
    json_t *o = json_object();
    if (!o)
        base_fatal("json_object");
    set(o, "index", json_integer((json_int_t)it->idx));
    set(o, "thing_name", jstr(it->key));
    set(o, "fingerprint", jstr(it->fingerprint));
    set(o, "status", jstr(jnl_status_name(it->status)));
    set(o, "certificate_arn", jopt(it->cert_arn));
    set(o, "thing_arn", jopt(it->thing_arn));
    set(o, "attempts", json_integer(it->attempts));
    set(o, "error", jopt(it->error));
    set(o, "started", jopt(started));
    set(o, "finished", jopt(finished));
    set(o, "step", json_integer(it->step));
    return o;
}

/* Appends v as JSON (flags) and drops it. */
static void dump_take(json_t *v, size_t flags, buf *out)
{
    char *t = json_dumps(v, flags | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!t)
        base_fatal("json_dumps");
    buf_puts(out, t);
    free(t);
}

void jnl_job_json(const jnl_job *jb, buf *out)
{
    dump_take(job_json(jb), JSON_COMPACT, out);
}

void jnl_item_json(const jnl_item *it, buf *out)
{
    dump_take(item_json(it), JSON_COMPACT, out);
}

const char jnl_report_columns[] = "index,thing_name,fingerprint,status,certificate_arn,"
                                  "thing_arn,attempts,error,started,finished";

/* One CSV row (with its CRLF). */
static void csv_row(buf *line, const jnl_item *it)
{
    char started[40], finished[40];
    iso_time_ms(started, sizeof started, it->started);
    iso_time_ms(finished, sizeof finished, it->finished);
    buf_printf(line, "%zu,", it->idx);
    csv_field(line, it->key);
    buf_putc(line, ',');
    csv_field(line, it->fingerprint);
    buf_printf(line, ",%s,", jnl_status_name(it->status));
    csv_field(line, it->cert_arn);
    buf_putc(line, ',');
    csv_field(line, it->thing_arn);
    buf_printf(line, ",%d,", it->attempts);
    csv_field(line, it->error);
    buf_printf(line, ",%s,%s\r\n", started, finished);
}

/* The rows of both streams, one item at a time. */
typedef struct {
    FILE *csv, *json;
    buf *line;
    int first;
} report_rows;

static int report_row(void *ctx, const jnl_item *it)
{
    report_rows *r = ctx;
    buf *line = r->line;
    if (r->csv) {
        buf_reset(line);
        csv_row(line, it);
        fwrite(line->data, 1, line->len, r->csv);
    }
    if (r->json) {
        buf_reset(line);
        buf_puts(line, r->first ? "\n    " : ",\n    ");
        jnl_item_json(it, line);
        fwrite(line->data, 1, line->len, r->json);
    }
    r->first = 0;
    return 0;
}

/* A write error on a stream, if any (errno as the stream left it). */
static int stream_failed(FILE *f, const char *what, err *e)
{
    if (f && (fflush(f) != 0 || ferror(f))) {
        err_set(e, ERR_IO, what, 0, -1, "cannot write the report: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int jnl_report_write(journal *j, long long job_id, int status_filter, FILE *csv,
                     FILE *json, err *e)
{
    jnl_job jb;
    if (jnl_job_get(j, job_id, &jb, e))
        return -1;
    /* a report is a record of the job, not of who holds it at the moment (at
     * the end of a run, the runner itself): no "runner" */
    jb.runner_pid = 0;
    buf line = BUF_INIT;
    if (json) {
        /* the header as Jansson indents it, one level in; then "items",
         * streamed one object per line */
        buf head = BUF_INIT;
        dump_take(job_json(&jb), JSON_INDENT(2), &head);
        buf_puts(&line, "{\n  \"job\": ");
        for (size_t i = 0; i < head.len; i++) {
            buf_putc(&line, head.data[i]);
            if (head.data[i] == '\n')
                buf_puts(&line, "  ");
        }
        buf_free(&head);
        buf_puts(&line, ",\n  \"items\": [");
        fwrite(line.data, 1, line.len, json);
    }
    if (csv) {
        fputs(jnl_report_columns, csv);
        fputs("\r\n", csv);
    }
    report_rows rows = {csv, json, &line, 1};
    int rc = jnl_item_each(j, job_id, status_filter, report_row, &rows, e);
    if (!rc && json)
        fputs(rows.first ? "]\n}\n" : "\n  ]\n}\n", json);
    buf_free(&line);
    if (!rc && (stream_failed(csv, "CSV", e) || stream_failed(json, "JSON", e)))
        rc = -1;
    return rc;
}

int jnl_report(journal *j, long long job_id, char *csv_path, size_t n, err *e)
{
    char dir[PATH_MAX], csv[PATH_MAX], csv_tmp[PATH_MAX], js[PATH_MAX], js_tmp[PATH_MAX];
    FILE *fc = NULL, *fj = NULL;
    int rc = -1;

    if (n)
        csv_path[0] = '\0';
    /* jnl_open left room for these names */
    snprintf(dir, sizeof dir, "%s/reports", jnl_dir(j));
    size_t w = (size_t)snprintf(csv, sizeof csv, "%s/job-%lld.csv", dir, job_id);
    snprintf(csv_tmp, sizeof csv_tmp, "%s.tmp", csv);
    snprintf(js, sizeof js, "%s/job-%lld.json", dir, job_id);
    snprintf(js_tmp, sizeof js_tmp, "%s.tmp", js);
    if (w >= n) {
        err_set(e, ERR_INTERNAL, csv, 0, -1,
                "report path does not fit the caller's buffer");
        return -1;
    }
    if (jnl_make_dirs(dir, e))
        return -1;
    if (!(fc = open_tmp(csv_tmp, e)) || !(fj = open_tmp(js_tmp, e)))
        goto out;
    if (jnl_report_write(j, job_id, JNL_FILTER_ALL, fc, fj, e))
        goto out;
    FILE *c = fc, *jf = fj;
    fc = fj = NULL;
    if (finish_tmp(c, csv_tmp, csv, e)) {
        fclose(jf);
        unlink(js_tmp);
        goto out;
    }
    if (finish_tmp(jf, js_tmp, js, e))
        goto out;
    snprintf(csv_path, n, "%s", csv);
    rc = 0;
out:
    if (fc) {
        fclose(fc);
        unlink(csv_tmp);
    }
    if (fj) {
        fclose(fj);
        unlink(js_tmp);
    }
    return rc;
}

/* ---- the Phase 1 hand-off ---- */

enum { SKELETON_MAX_BATCH = 255 }; /* parsers/devinfo.c's limit */

typedef struct {
    FILE *out;
    const char *batch;
    size_t n;
    buf *line;
} skeleton;

static int skeleton_row(void *ctx, const jnl_item *it)
{
    skeleton *k = ctx;
    if (!it->cert_arn[0])
        return 0; /* not registered */
    buf *line = k->line;
    buf_reset(line);
    if (k->n == 0) {
        json_t *b = jstr(k->batch);
        buf_puts(line, "{\n  \"batch_id\": ");
        dump_take(b, JSON_ENCODE_ANY, line);
        buf_puts(line, ",\n  \"devices\": [\n    ");
    } else {
        buf_puts(line, ",\n    ");
    }
    json_t *d = json_object();
    if (!d)
        base_fatal("json_object");
    set(d, "certFingerprint", jstr(it->fingerprint));
    set(d, "deviceId", jstr(it->key));
    dump_take(d, JSON_COMPACT, line);
    fwrite(line->data, 1, line->len, k->out);
    k->n++;
    return 0;
}

int jnl_devinfo_skeleton(journal *j, long long job_id, FILE *out, size_t *n_devices,
                         err *e)
{
    if (n_devices)
        *n_devices = 0;
    jnl_job jb;
    if (jnl_job_get(j, job_id, &jb, e))
        return -1;
    if (jb.phase != 1) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "job %lld is a Phase 2 job: a device-infos skeleton lists what a Phase 1 "
                "job registered",
                job_id);
        return -1;
    }
    /* the job's batch id; a Phase 1 file has none: its file's name, cut to
     * what a device-infos file accepts and without control characters */
    char batch[SKELETON_MAX_BATCH + 1];
    const char *base = strrchr(jb.file, '/');
    base = base && base[1] ? base + 1 : jb.file;
    snprintf(batch, sizeof batch, "%s", jb.batch_id[0] ? jb.batch_id : base);
    for (char *p = batch; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    buf line = BUF_INIT;
    skeleton k = {out, batch, 0, &line};
    int rc = jnl_item_each(j, job_id, JNL_FILTER_ALL, skeleton_row, &k, e);
    buf_free(&line);
    if (rc)
        return -1;
    if (k.n == 0) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "job %lld registered no certificate: no device-infos skeleton to hand "
                "off",
                job_id);
        return -1;
    }
    fputs("\n  ]\n}\n", out);
    if (stream_failed(out, "device-infos", e))
        return -1;
    if (n_devices)
        *n_devices = k.n;
    return 0;
}
