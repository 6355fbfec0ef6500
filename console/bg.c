/* The console's disk work on its own thread (see bg.h). */
#include "console/bg.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"

struct bg {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    bg_req want[BG_KINDS]; /* queued requests */
    int queued[BG_KINDS];
    int in_hand[BG_KINDS];
    bg_ans *ans; /* answers not taken yet, oldest first */
    size_t n_ans, cap_ans;
    /* the worker's own */
    char *state_dir, *samples_dir;
    journal *j;
};

void bg_ans_free(bg_ans *a)
{
    free(a->jobs);
    free(a->items);
    pk_entries_free(a->entries, a->entries ? a->n : 0);
    free(a->text);
    memset(a, 0, sizeof *a);
}

static int open_journal(bg *b, char *why, size_t n)
{
    if (b->j)
        return 0;
    err e;
    err_clear(&e);
    if (jnl_open_existing(&b->j, b->state_dir, &e)) {
        snprintf(why, n, "%s", e.msg);
        return -1;
    }
    return 0;
}

static void do_jobs(bg *b, bg_ans *a)
{
    if (open_journal(b, a->error, sizeof a->error)) {
        /* no journal yet is the normal first start, not an error to show */
        char db[1200];
        snprintf(db, sizeof db, "%s/journal.db", b->state_dir);
        a->no_journal = access(db, F_OK) != 0;
        a->ok = a->no_journal;
        return;
    }
    size_t n = a->req.max ? a->req.max : 200;
    a->jobs = xcalloc(n, sizeof *a->jobs);
    err e;
    err_clear(&e);
    if (jnl_job_list(b->j, a->jobs, &n, &e)) {
        snprintf(a->error, sizeof a->error, "%s", e.msg);
        free(a->jobs);
        a->jobs = NULL;
        return;
    }
    a->n = n;
    a->ok = 1;
}

static void do_items(bg *b, bg_ans *a)
{
    if (open_journal(b, a->error, sizeof a->error))
        return;
    err e;
    err_clear(&e);
    if (jnl_job_get(b->j, a->req.job_id, &a->job, &e)) {
        snprintf(a->error, sizeof a->error, "%s", e.msg);
        return;
    }
    size_t n = a->req.max ? a->req.max : 200;
    a->items = xcalloc(n, sizeof *a->items);
    if (jnl_item_list(b->j, a->req.job_id, a->req.filter, a->req.off, a->items, &n, &e)) {
        snprintf(a->error, sizeof a->error, "%s", e.msg);
        free(a->items);
        a->items = NULL;
        return;
    }
    a->n = n;
    a->ok = 1;
}

static void do_dir(bg *b, bg_ans *a)
{
    err e;
    err_clear(&e);
    size_t n = 0;
    if (pk_list(&a->entries, &n, a->req.path, b->samples_dir, &e)) {
        snprintf(a->error, sizeof a->error, "%s", e.msg);
        a->entries = NULL;
        return;
    }
    a->n = n;
    a->ok = 1;
}

static void do_detect(bg_ans *a)
{
    err e;
    err_clear(&e);
    if (src_detect(&a->kind, a->req.path, &e)) {
        err_format(&e, a->error, sizeof a->error);
        a->kind = VENDOR_AUTO;
        return;
    }
    a->ok = 1;
}

static void do_export(bg *b, bg_ans *a)
{
    if (open_journal(b, a->error, sizeof a->error))
        return;
    err e;
    err_clear(&e);
    if (jnl_report(b->j, a->req.job_id, a->report, sizeof a->report, &e)) {
        snprintf(a->error, sizeof a->error, "%s", e.msg);
        return;
    }
    a->ok = 1;
}

/* The audit lines of one item of one job (the last AUDIT_KEEP of them),
 * from <state>/audit.jsonl: a line matches when its "job" and "item" are
 * the ones asked (a quick substring test first, then JSON). */
#define AUDIT_KEEP 40
static void do_audit(bg *b, bg_ans *a)
{
    if (open_journal(b, a->error, sizeof a->error))
        return;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/audit.jsonl", jnl_dir(b->j));
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(a->error, sizeof a->error, "%s: %s", path, strerror(errno));
        return;
    }
    char needle[64];
    snprintf(needle, sizeof needle, "\"item\":%zu", a->req.off);
    char *keep[AUDIT_KEEP] = {0};
    size_t n = 0, cap = 0;
    char *line = NULL;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (!strstr(line, needle))
            continue;
        json_t *o = json_loadb(line, (size_t)len, 0, NULL);
        json_t *job = json_object_get(o, "job"), *item = json_object_get(o, "item");
        if (json_is_integer(job) && json_integer_value(job) == a->req.job_id &&
            json_is_integer(item) && (size_t)json_integer_value(item) == a->req.off) {
            free(keep[n % AUDIT_KEEP]);
            line[strcspn(line, "\n")] = '\0';
            keep[n % AUDIT_KEEP] = xstrdup(line);
            n++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    buf t = BUF_INIT;
    size_t first = n > AUDIT_KEEP ? n - AUDIT_KEEP : 0;
    for (size_t i = first; i < n; i++) {
        buf_puts(&t, keep[i % AUDIT_KEEP]);
        buf_putc(&t, '\n');
    }
    for (size_t i = 0; i < AUDIT_KEEP; i++)
        free(keep[i]);
    a->text = t.data ? t.data : xstrdup("");
    a->n = n;
    a->ok = 1;
}

static void *bg_main(void *arg)
{
    bg *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        int k = -1;
        for (int i = 0; i < BG_KINDS && k < 0; i++)
            if (b->queued[i])
                k = i;
        if (b->stop)
            break;
        if (k < 0) {
            pthread_cond_wait(&b->cv, &b->mu);
            continue;
        }
        bg_ans a;
        memset(&a, 0, sizeof a);
        a.req = b->want[k];
        b->queued[k] = 0;
        b->in_hand[k] = 1;
        pthread_mutex_unlock(&b->mu);
        switch ((bg_kind)k) {
        case BG_JOBS:
            do_jobs(b, &a);
            break;
        case BG_ITEMS:
            do_items(b, &a);
            break;
        case BG_DIR:
            do_dir(b, &a);
            break;
        case BG_DETECT:
            do_detect(&a);
            break;
        case BG_EXPORT:
            do_export(b, &a);
            break;
        case BG_AUDIT:
            do_audit(b, &a);
            break;
        default:
            break;
        }
        pthread_mutex_lock(&b->mu);
        b->in_hand[k] = 0;
        if (b->n_ans == b->cap_ans) {
            b->cap_ans = b->cap_ans ? b->cap_ans * 2 : 8;
            b->ans = xrealloc(b->ans, b->cap_ans * sizeof *b->ans);
        }
        b->ans[b->n_ans++] = a;
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

bg *bg_start(const char *state_dir, const char *samples_dir)
{
    bg *b = xcalloc(1, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->state_dir = xstrdup(state_dir ? state_dir : "");
    b->samples_dir = samples_dir ? xstrdup(samples_dir) : NULL;
    /* signals stay with the UI thread (SIGWINCH, SIGINT) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&b->th, NULL, bg_main, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        free(b->state_dir);
        free(b->samples_dir);
        free(b);
        return NULL;
    }
    return b;
}

void bg_free(bg *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->th, NULL);
    for (size_t i = 0; i < b->n_ans; i++)
        bg_ans_free(&b->ans[i]);
    free(b->ans);
    jnl_close(b->j);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b->state_dir);
    free(b->samples_dir);
    free(b);
}

void bg_ask(bg *b, const bg_req *r)
{
    if (!b || r->kind < 0 || r->kind >= BG_KINDS)
        return;
    pthread_mutex_lock(&b->mu);
    b->want[r->kind] = *r;
    b->queued[r->kind] = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

int bg_take(bg *b, bg_ans *out)
{
    if (!b)
        return 0;
    pthread_mutex_lock(&b->mu);
    int got = b->n_ans > 0;
    if (got) {
        *out = b->ans[0];
        memmove(b->ans, b->ans + 1, (b->n_ans - 1) * sizeof *b->ans);
        b->n_ans--;
    }
    pthread_mutex_unlock(&b->mu);
    return got;
}

int bg_busy(bg *b, bg_kind k)
{
    if (!b || k < 0 || k >= BG_KINDS)
        return 0;
    pthread_mutex_lock(&b->mu);
    int busy = b->queued[k] || b->in_hand[k];
    pthread_mutex_unlock(&b->mu);
    return busy;
}
