/* The reports of a job (see journal.h: jnl_report, jnl_job_json,
 * jnl_item_json): the journal's rows rendered as RFC 4180 CSV and as JSON.
 *
 * Design: a report reads the journal through its API (jnl_impl.h streams the
 * rows) and knows nothing of SQLite; each file is written beside its final
 * name, synced and renamed over it, so a reader sees the old report or the
 * new one, never half of one. Strings that are not UTF-8 (a file path may
 * hold any bytes) are written with '?' for the bad bytes, so a report is
 * always written.
 *
 * Threading: the journal's owner thread (journal.h); jnl_job_json and
 * jnl_item_json touch nothing but their arguments. Ownership: the caller's
 * buffers; nothing is kept. */
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
    char created[32], updated[32];
    iso_time_s(created, sizeof created, jb->created);
    iso_time_s(updated, sizeof updated, jb->updated);
    json_t *identity = json_loads(jb->identity, 0, NULL);
    json_t *o = json_object(), *counts = json_object();
    if (!o || !counts)
        base_fatal("json_object");
    set(o, "job", json_integer(jb->id));
    set(o, "file", jstr(jb->file));
    set(o, "file_sha256", jstr(jb->file_sha256));
    set(o, "phase", json_integer(jb->phase));
    set(o, "batch_id", jopt(jb->batch_id));
    set(o, "endpoint", jopt(jb->endpoint));
    set(o, "identity", identity ? identity : jstr(jb->identity));
    set(o, "status", jstr(jnl_job_status_name(jb->status)));
    set(o, "created", jstr(created));
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
    char updated[32];
    iso_time_s(updated, sizeof updated, it->updated);
    json_t *o = json_object();
    if (!o)
        base_fatal("json_object");
    set(o, "idx", json_integer((json_int_t)it->idx));
    set(o, "key", jstr(it->key));
    set(o, "fingerprint", jstr(it->fingerprint));
    set(o, "status", jstr(jnl_status_name(it->status)));
    set(o, "error", jopt(it->error));
    set(o, "step", json_integer(it->step));
    set(o, "attempts", json_integer(it->attempts));
    set(o, "cert_arn", jopt(it->cert_arn));
    set(o, "thing_arn", jopt(it->thing_arn));
    set(o, "updated", jstr(updated));
    return o;
}

/* Appends v compactly and drops it. */
static void dump_take(json_t *v, buf *out)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!t)
        base_fatal("json_dumps");
    buf_puts(out, t);
    free(t);
}

void jnl_job_json(const jnl_job *jb, buf *out)
{
    dump_take(job_json(jb), out);
}

void jnl_item_json(const jnl_item *it, buf *out)
{
    dump_take(item_json(it), out);
}

/* The rows of both files, one item at a time. */
typedef struct {
    FILE *fc, *fj;
    buf *line;
    int first;
} report_rows;

static int report_row(void *ctx, const jnl_item *it)
{
    report_rows *r = ctx;
    buf *line = r->line;
    buf_reset(line);
    buf_printf(line, "%zu,", it->idx);
    csv_field(line, it->key);
    buf_putc(line, ',');
    csv_field(line, it->fingerprint);
    buf_printf(line, ",%s,", jnl_status_name(it->status));
    csv_field(line, it->error);
    buf_puts(line, "\r\n");
    fwrite(line->data, 1, line->len, r->fc);

    buf_reset(line);
    buf_puts(line, r->first ? "\n    " : ",\n    ");
    jnl_item_json(it, line);
    fwrite(line->data, 1, line->len, r->fj);
    r->first = 0;
    return 0;
}

int jnl_report(journal *j, long long job_id, char *csv_path, size_t n, err *e)
{
    jnl_job jb;
    char dir[PATH_MAX], csv[PATH_MAX], csv_tmp[PATH_MAX], js[PATH_MAX], js_tmp[PATH_MAX];
    FILE *fc = NULL, *fj = NULL;
    json_t *head = NULL;
    char *head_text = NULL;
    buf line = BUF_INIT;
    int rc = -1;

    if (n)
        csv_path[0] = '\0';
    if (jnl_job_get(j, job_id, &jb, e))
        return -1;
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

    head = job_json(&jb);
    head_text = json_dumps(head, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!head_text)
        base_fatal("json_dumps");
    /* the job's members as Jansson wrote them, then "items" streamed one
     * object per line (a job may have many failures) */
    char *close_brace = strrchr(head_text, '}');
    while (close_brace > head_text && strchr(" \n", close_brace[-1]))
        close_brace--;
    fwrite(head_text, 1, (size_t)(close_brace - head_text), fj);
    fputs(",\n  \"items\": [", fj);
    fputs("idx,key,fingerprint,status,error\r\n", fc);

    report_rows rows = {fc, fj, &line, 1};
    if (jnl_item_each(j, job_id, JNL_FILTER_PROBLEMS, report_row, &rows, e))
        goto out;
    fputs(rows.first ? "]\n}\n" : "\n  ]\n}\n", fj);
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
    buf_free(&line);
    free(head_text);
    json_decref(head);
    return rc;
}
