/* A worker thread of a job (see worker.h). */
#include "engine/worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "engine/eng_impl.h"
#include "engine/jwriter.h"
#include "engine/step.h"

void work_free(work *it)
{
    free(it->name);
    free(it->pem);
    free(it->device_type);
    for (size_t i = 0; i < it->n_attrs; i++) {
        free(it->attrs[i].name);
        free(it->attrs[i].value);
    }
    free(it->attrs);
    free(it);
}

/* The audit line of an item's outcome, with one more member. */
static void audit_outcome(eng *g, const work *it, const char *outcome, const char *name,
                          const char *value)
{
    buf a = BUF_INIT;
    buf_printf(&a, "{\"item\":%zu,\"outcome\":\"%s\",\"key\":", it->idx, outcome);
    buf_json_str(&a, it->name ? it->name : "");
    buf_printf(&a, ",\"%s\":", name);
    buf_json_str(&a, value);
    buf_putc(&a, '}');
    jw_audit(g, "item", &a);
}

static void process(worker *w, work *it)
{
    eng *g = w->g;
    char cert_arn[256];
    snprintf(cert_arn, sizeof cert_arn, "arn:aws:iot:%s:%s:cert/%s", g->target.region,
             g->account, it->fp);
    step_out o = {.cert_arn = cert_arn};
    int attempts = it->attempts;
    long long started = jnl_now_ms(); /* kept by the journal if a run began it before */
    char why[512];
    /* Phase 2 resumes one step early: the step done last is done again
     * (every step is idempotent). This also resumes an item journalled under
     * the old Phase 2 order (activation first): there, n steps done were the
     * activation and n-1 steps of what the plan now does first, and the
     * activation, last now, is done again at the end. */
    int start = g->phase == 2 && it->start > 0 ? it->start - 1 : it->start;
    for (int i = start; i < g->plan.n; i++) {
        const step *s = &g->plan.steps[i];
        int before = attempts;
        int r = step_run(w, it, s, &o, &attempts, why, sizeof why);
        if (r < 0) {
            /* stopped: the item stays pending where it was; the calls this
             * step sent count on resume */
            if (attempts > before)
                jw_record(g, it->idx, i > it->start ? i : it->start, JNL_PENDING,
                          attempts, -1, NULL, NULL, NULL, started);
            return;
        }
        if (r == 0) {
            jw_record(g, it->idx, i, JNL_FAILED, attempts, -1, why, NULL, NULL, started);
            eng_add_event(g, it->idx, it->name, why);
            audit_outcome(g, it, "failed", "reason", why);
            return;
        }
        if (s->kind == ST_REGISTER && o.registered_arn[0]) {
            snprintf(cert_arn, sizeof cert_arn, "%s", o.registered_arn);
            o.cert_arn = cert_arn;
        }
        int last = i + 1 == g->plan.n;
        /* counted (the step, the item done) by the journal thread once recorded.
         * The certificate's ARN: Register's answer in Phase 1; in Phase 2 the
         * one the job uses (built from the account), once a step is done */
        jw_record(
            g, it->idx, i + 1, last ? JNL_DONE : JNL_PENDING, attempts,
            (int)plan_step_count(s->kind), NULL,
            s->kind == ST_REGISTER || (g->phase == 2 && i == start) ? cert_arn : NULL,
            o.thing_arn[0] && s->kind == ST_CREATE_THING ? o.thing_arn : NULL, started);
    }
    audit_outcome(g, it, "done", "certificate", cert_arn);
}

void *worker_main(void *arg)
{
    worker *w = arg;
    eng *g = w->g;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals belong to the UI thread */
    for (;;) {
        work *it = queue_pop(&g->work_q);
        if (!it)
            break;
        if (!atomic_load(&g->cancel))
            process(w, it);
        work_free(it);
    }
    return NULL;
}
