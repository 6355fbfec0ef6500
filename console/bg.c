/* The console's disk work on its own thread (see bg.h). */
#include "console/bg.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
