/* The validation preview's background scan (see preview.h). */
#include "console/preview.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "parsers/scan.h"
#include "parsers/validate.h"

void pv_rows_free(pv_row *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].message);
        free(v[i].detail);
    }
    free(v);
}

static void fmt_date(char *out, size_t n, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t == 0 || !gmtime_r(&tt, &tm))
        snprintf(out, n, "?");
    else
        strftime(out, n, "%Y-%m-%d", &tm);
}

void pv_row_of(pv_row *out, const item *it, int has_thing_type)
{
    memset(out, 0, sizeof *out);
    out->idx = it->index;
    out->name = xstrdup(it->thing_name ? it->thing_name : "");
    const char *fp = it->fingerprint;
    if (it->is_device && it->given_fingerprint)
        fp = it->given_fingerprint;
    item_fp_key(out->fp, sizeof out->fp, fp);
    out->verdict = it->verdict;
    out->message = xstrdup(it->message);
    int typed = has_thing_type || (it->device_type && it->device_type[0]);
    out->attr_limit = typed ? VAL_MAX_ATTRS_TYPED : VAL_MAX_ATTRS;
    out->n_attrs = it->is_device ? (int)it->n_attrs : -1;

    buf d = BUF_INIT;
    if (it->line)
        buf_printf(&d, "Item %zu, line %lu%s%s\n", it->index, it->line,
                   it->where ? ", " : "", it->where ? it->where : "");
    else
        buf_printf(&d, "Item %zu%s%s\n", it->index, it->where ? ", " : "",
                   it->where ? it->where : "");
    buf_printf(&d, "Verdict: %s%s%s\n", item_verdict_name(it->verdict),
               it->message[0] ? ": " : "", it->message);
    buf_printf(&d, "%s: %s\n", it->is_device ? "Device id (thing name)" : "Thing name",
               it->thing_name ? it->thing_name : "(none)");
    if (it->is_device) {
        buf_printf(&d, "Fingerprint: %s\n",
                   it->given_fingerprint ? it->given_fingerprint : "(none)");
        if (it->device_type)
            buf_printf(&d, "Thing type (deviceType): %s\n", it->device_type);
        buf_printf(&d, "Attributes: %zu of at most %d\n", it->n_attrs, out->attr_limit);
        for (size_t i = 0; i < it->n_attrs; i++)
            buf_printf(&d, "  %s = %s\n", it->attrs[i].name ? it->attrs[i].name : "",
                       it->attrs[i].value ? it->attrs[i].value : "");
    } else {
        buf_printf(&d, "Fingerprint: %s\n",
                   it->fingerprint[0] ? it->fingerprint : "(unknown)");
        if (it->subject_cn)
            buf_printf(&d, "Subject CN: %s\n", it->subject_cn);
        if (it->not_before || it->not_after) {
            char a[32], b[32];
            fmt_date(a, sizeof a, it->not_before);
            fmt_date(b, sizeof b, it->not_after);
            buf_printf(&d, "Valid: %s to %s\n", a, b);
        }
        if (it->pem_chars)
            buf_printf(&d, "Size: %zu characters as PEM (AWS allows %d)\n", it->pem_chars,
                       VAL_MAX_PEM_CHARS);
    }
    out->detail = buf_take(&d, NULL);
}

struct pv {
    pthread_t tid;
    int started;
    atomic_int cancel;
    char *path;
    scan_opts so;
    char *bundle, *signers;
    int has_type;
    pthread_mutex_t mu;
    pv_row *pending;
    size_t n_pending, cap_pending;
    size_t kept;
    pv_status st;
};

static int on_item(void *ctx, item *it)
{
    pv *p = ctx;
    if (atomic_load(&p->cancel))
        return -1;
    int keep =
        p->kept < PV_MAX_ROWS || (it->verdict != ITEM_OK && p->kept < 2 * PV_MAX_ROWS);
    pv_row r;
    if (keep)
        pv_row_of(&r, it, p->has_type);
    pthread_mutex_lock(&p->mu);
    p->st.total++;
    if (it->verdict == ITEM_OK)
        p->st.ok++;
    else if (it->verdict == ITEM_WARN)
        p->st.warn++;
    else
        p->st.error++;
    if (keep) {
        if (p->n_pending == p->cap_pending) {
            p->cap_pending = p->cap_pending ? p->cap_pending * 2 : 256;
            p->pending = xrealloc(p->pending, p->cap_pending * sizeof *p->pending);
        }
        p->pending[p->n_pending++] = r;
        p->kept++;
    } else {
        p->st.dropped++;
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void *pv_main(void *arg)
{
    pv *p = arg;
    scan_summary sum;
    err e;
    err_clear(&e);
    int rc = scan_file(&sum, p->path, &p->so, on_item, p, &e);
    char m[600];
    pthread_mutex_lock(&p->mu);
    p->st.vendor = sum.vendor;
    snprintf(p->st.batch_id, sizeof p->st.batch_id, "%s", sum.batch_id);
    if (rc) {
        p->st.rejected = 1;
        snprintf(p->st.message, sizeof p->st.message, "%s", err_format(&e, m, sizeof m));
    } else if (sum.notes && sum.notes[0]) {
        snprintf(p->st.message, sizeof p->st.message, "%s", sum.notes);
    }
    p->st.done = 1;
    pthread_mutex_unlock(&p->mu);
    scan_summary_free(&sum);
    return NULL;
}

int pv_start(pv **out, const char *path, const jobcfg *cfg, err *e)
{
    *out = NULL;
    pv *p = xcalloc(1, sizeof *p);
    atomic_init(&p->cancel, 0);
    pthread_mutex_init(&p->mu, NULL);
    p->path = xstrdup(path);
    p->bundle = cfg->infineon_bundle ? xstrdup(cfg->infineon_bundle) : NULL;
    p->signers = cfg->microchip_signers ? xstrdup(cfg->microchip_signers) : NULL;
    p->so.src.vendor = cfg->vendor;
    p->so.src.infineon_bundle = p->bundle;
    p->so.src.microchip_signers = p->signers;
    p->so.val.has_thing_type = cfg->thing_type != NULL;
    p->has_type = cfg->thing_type != NULL;
    p->st.vendor = VENDOR_AUTO;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals belong to the UI thread */
    int rc = pthread_create(&p->tid, NULL, pv_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "cannot start the validation thread");
        pv_free(p);
        return -1;
    }
    p->started = 1;
    *out = p;
    return 0;
}

size_t pv_take(pv *p, pv_row **rows)
{
    pthread_mutex_lock(&p->mu);
    *rows = p->pending;
    size_t n = p->n_pending;
    p->pending = NULL;
    p->n_pending = p->cap_pending = 0;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void pv_status_get(pv *p, pv_status *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

void pv_free(pv *p)
{
    if (!p)
        return;
    atomic_store(&p->cancel, 1);
    if (p->started)
        pthread_join(p->tid, NULL);
    pv_rows_free(p->pending, p->n_pending);
    pthread_mutex_destroy(&p->mu);
    free(p->path);
    free(p->bundle);
    free(p->signers);
    free(p);
}

item_verdict pv_row_verdict(const pv_row *r)
{
    return r->rc_verdict > r->verdict ? r->rc_verdict : r->verdict;
}

const char *pv_row_message(const pv_row *r, char *buf, size_t n)
{
    if (!r->rc_msg[0])
        return r->message ? r->message : "";
    snprintf(buf, n, "%s%s%s", r->message && r->message[0] ? r->message : "",
             r->message && r->message[0] ? "; " : "", r->rc_msg);
    return buf;
}
