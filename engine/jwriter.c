/* The journal thread of a job (see jwriter.h). */
#include "engine/jwriter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/eng_impl.h"

typedef enum { JR_UPDATE, JR_AUDIT } jrec_kind;

/* One record for the journal thread (a node of eng.jnl_q). */
typedef struct jrec {
    struct jrec *next;
    jrec_kind kind;
    size_t idx;
    int step;
    jnl_status st;
    int attempts;
    int count;         /* UPDATE: the eng_count the step adds to, -1 none */
    char *text;        /* error (UPDATE) or audit JSON */
    const char *event; /* AUDIT: its event (static) */
    char *cert_arn;    /* UPDATE */
    char *thing_arn;   /* UPDATE */
    jnl_times times;   /* UPDATE */
} jrec;

void jw_audit(eng *g, const char *event, buf *b)
{
    jrec *r = xcalloc(1, sizeof *r);
    r->kind = JR_AUDIT;
    r->event = event;
    r->text = buf_take(b, NULL);
    queue_push(&g->jnl_q, r);
}

void jw_record(eng *g, size_t idx, int step_done, jnl_status st, int attempts, int count,
               const char *error, const char *cert_arn, const char *thing_arn,
               long long started)
{
    jrec *r = xcalloc(1, sizeof *r);
    r->kind = JR_UPDATE;
    r->idx = idx;
    r->step = step_done;
    r->st = st;
    r->attempts = attempts;
    r->count = count;
    r->text = eng_dup_or_null(error);
    r->cert_arn = eng_dup_or_null(cert_arn);
    r->thing_arn = eng_dup_or_null(thing_arn);
    r->times.started = started;
    r->times.at = jnl_now_ms();
    queue_push(&g->jnl_q, r);
}

static void jrec_free(jrec *r)
{
    free(r->text);
    free(r->cert_arn);
    free(r->thing_arn);
    free(r);
}

/* What a transaction moves in the job's progress, applied once committed. */
typedef struct {
    size_t counts[ENG_N_COUNTS], done, failed;
} tally;

static void tally_add(tally *t, const jrec *r)
{
    if (r->count >= 0 && r->count < ENG_N_COUNTS)
        t->counts[r->count]++;
    if (r->st == JNL_DONE)
        t->done++;
    else if (r->st == JNL_FAILED)
        t->failed++;
}

static void tally_apply(eng *g, const tally *t)
{
    for (int i = 0; i < ENG_N_COUNTS; i++)
        if (t->counts[i])
            atomic_fetch_add(&g->counts[i], t->counts[i]);
    if (t->failed)
        atomic_fetch_add(&g->failed, t->failed);
    if (t->done) {
        atomic_fetch_add(&g->done, t->done);
        pthread_mutex_lock(&g->mu);
        g->done_this_run += t->done;
        pthread_mutex_unlock(&g->mu);
    }
}

static void free_list(jrec *list)
{
    while (list) {
        jrec *next = list->next;
        jrec_free(list);
        list = next;
    }
}

/* Writes one batch in one transaction; 0, or -1 (e set, rolled back). What
 * the batch moves is counted only once it is committed. */
static int write_batch(eng *g, jrec *list, err *e)
{
    tally t = {0};
    int rc = jnl_begin(g->j, e);
    for (jrec *r = list; r && !rc; r = r->next) {
        switch (r->kind) {
        case JR_UPDATE:
            rc = jnl_item_update(g->j, g->job_id, r->idx, r->step, r->st, r->attempts,
                                 r->text, r->cert_arn, r->thing_arn, &r->times, e);
            if (!rc)
                tally_add(&t, r);
            break;
        case JR_AUDIT:
            rc = jnl_audit(g->j, g->job_id, r->event, r->text, e);
            break;
        }
    }
    /* after a failed statement the rest of the batch is not written: SQLite
     * may have rolled the transaction back already, and what follows would
     * then commit piecemeal */
    if (rc)
        jnl_rollback(g->j);
    else
        rc = jnl_commit(g->j, e);
    if (!rc)
        tally_apply(g, &t);
    return rc;
}

void *jw_main(void *arg)
{
    eng *g = arg;
    int broken = 0;
    for (;;) {
        int closed = queue_closed_and_empty(&g->jnl_q);
        jrec *list = queue_take_all(&g->jnl_q, 100);
        if (!list) {
            if (closed)
                break;
            continue;
        }
        err e;
        err_clear(&e);
        /* after a failure nothing more is written: the job is stopping and
         * resumes from what was committed */
        if (!broken && write_batch(g, list, &e)) {
            broken = 1;
            eng_journal_failed(g, &e);
        }
        free_list(list);
    }
    return NULL;
}

void jw_discard(eng *g)
{
    free_list(queue_take_all(&g->jnl_q, 0));
}
