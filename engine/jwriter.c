/* The journal thread of a job (see jwriter.h). */
#include "engine/jwriter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/eng_impl.h"

typedef enum { JR_ADD, JR_UPDATE, JR_AUDIT } jrec_kind;

/* One record for the journal thread (a node of eng.jnl_q). */
typedef struct jrec {
    struct jrec *next;
    jrec_kind kind;
    size_t idx;
    int step;
    jnl_status st;
    int attempts;
    char *text;      /* error (ADD/UPDATE) or audit JSON */
    char *key;       /* ADD */
    char fp[65];     /* ADD */
    char *cert_arn;  /* UPDATE */
    char *thing_arn; /* UPDATE */
} jrec;

void jw_item_add(eng *g, size_t idx, const char *key, const char *fp, jnl_status st,
                 const char *error)
{
    jrec *r = xcalloc(1, sizeof *r);
    r->kind = JR_ADD;
    r->idx = idx;
    r->key = xstrdup(key ? key : "");
    snprintf(r->fp, sizeof r->fp, "%s", fp ? fp : "");
    r->st = st;
    r->text = error ? xstrdup(error) : NULL;
    queue_push(&g->jnl_q, r);
}

void jw_audit(eng *g, buf *b)
{
    jrec *r = xcalloc(1, sizeof *r);
    r->kind = JR_AUDIT;
    r->text = buf_take(b, NULL);
    queue_push(&g->jnl_q, r);
}

void jw_record(eng *g, size_t idx, int step_done, jnl_status st, int attempts,
               const char *error, const char *cert_arn, const char *thing_arn)
{
    jrec *r = xcalloc(1, sizeof *r);
    r->kind = JR_UPDATE;
    r->idx = idx;
    r->step = step_done;
    r->st = st;
    r->attempts = attempts;
    r->text = eng_dup_or_null(error);
    r->cert_arn = eng_dup_or_null(cert_arn);
    r->thing_arn = eng_dup_or_null(thing_arn);
    queue_push(&g->jnl_q, r);
}

static void jrec_free(jrec *r)
{
    free(r->text);
    free(r->key);
    free(r->cert_arn);
    free(r->thing_arn);
    free(r);
}

void *jw_main(void *arg)
{
    eng *g = arg;
    err e;
    err_clear(&e);
    for (;;) {
        int closed = queue_closed_and_empty(&g->jnl_q);
        jrec *list = queue_take_all(&g->jnl_q, 100);
        if (!list) {
            if (closed)
                break;
            continue;
        }
        jnl_begin(g->j, &e);
        while (list) {
            jrec *r = list;
            list = r->next;
            switch (r->kind) {
            case JR_ADD:
                jnl_item_add(g->j, g->job_id, r->idx, r->key, r->fp, r->st, r->text, &e);
                break;
            case JR_UPDATE:
                jnl_item_update(g->j, g->job_id, r->idx, r->step, r->st, r->attempts,
                                r->text, r->cert_arn, r->thing_arn, &e);
                break;
            case JR_AUDIT:
                jnl_audit(g->j, g->job_id, r->text, &e);
                break;
            }
            jrec_free(r);
        }
        if (jnl_commit(g->j, &e) || err_is_set(&e)) {
            char m[700];
            eng_set_message(g, "journal: %s", err_format(&e, m, sizeof m));
            err_clear(&e);
        }
    }
    return NULL;
}

void jw_discard(eng *g)
{
    for (jrec *r = queue_take_all(&g->jnl_q, 0); r;) {
        jrec *next = r->next;
        jrec_free(r);
        r = next;
    }
}
