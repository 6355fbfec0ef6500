/* The preview's read-only registry check (see regcheck.h). */
#include "engine/regcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "engine/call.h"
#include "engine/rate.h"
#include "iot/client.h"
#include "iot/op.h"
#include "parsers/item.h"

#define MAX_ATTEMPTS 5 /* 5xx / transport failures per certificate */

struct regcheck {
    pthread_t tid;
    int started;
    iot_cancel_flag cancel;
    iot_client *c;
    rate *pace;
    unsigned int seed; /* backoff jitter */
    char (*fps)[65];
    size_t *idx;
    size_t n;
    pthread_mutex_t mu;
    rc_result *done; /* finished, not taken */
    size_t n_done, cap_done;
    size_t checked;
    int finished;
};

static int is_hex64(const char *s)
{
    size_t k = 0;
    for (; s[k]; k++) {
        char c = s[k];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return k == 64;
}

typedef struct {
    iot_client *c;
    const char *id;
    iot_cert_desc *d;
} describe_call;

static iot_class describe_fn(void *ctx, iot_result *res)
{
    describe_call *dc = ctx;
    return iot_describe_certificate(dc->c, dc->id, 0, dc->d, res);
}

static void check_one(regcheck *r, size_t i, rc_result *out)
{
    memset(out, 0, sizeof *out);
    out->idx = r->idx[i];
    if (!is_hex64(r->fps[i])) {
        out->state = RC_INVALID;
        snprintf(out->message, sizeof out->message, "not a certificate fingerprint");
        return;
    }
    char id[65];
    item_fp_key(id, sizeof id, r->fps[i]);
    iot_cert_desc d;
    memset(&d, 0, sizeof d);
    describe_call dc = {r->c, id, &d};
    call_spec sp = {
        .pace = r->pace,
        .cancel = &r->cancel,
        .max_attempts = MAX_ATTEMPTS,
        .seed = &r->seed,
        .client = r->c,
    };
    call_report rep;
    iot_result res;
    switch (call_run(&rep, &sp, describe_fn, &dc, &res)) {
    case CALL_DONE:
        out->state = RC_PRESENT;
        snprintf(out->status, sizeof out->status, "%s", d.status ? d.status : "?");
        iot_cert_desc_free(&d);
        return;
    case CALL_CANCELLED:
    case CALL_PAUSED:
        out->state = RC_PENDING;
        return;
    case CALL_FAILED:
        break;
    }
    if (rep.cls == IOT_TERMINAL && res.status == 404) {
        out->state = RC_ABSENT;
        return;
    }
    out->state = RC_ERROR;
    snprintf(out->message, sizeof out->message, "%s%s%s", res.code[0] ? res.code : "",
             res.code[0] ? ": " : "", res.message);
}

static void *rc_main(void *arg)
{
    regcheck *r = arg;
    for (size_t i = 0; i < r->n && !atomic_load(&r->cancel); i++) {
        rc_result one;
        check_one(r, i, &one);
        if (one.state == RC_PENDING)
            break; /* cancelled */
        pthread_mutex_lock(&r->mu);
        if (r->n_done == r->cap_done) {
            r->cap_done = r->cap_done ? r->cap_done * 2 : 64;
            r->done = xrealloc(r->done, r->cap_done * sizeof *r->done);
        }
        r->done[r->n_done++] = one;
        r->checked++;
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_lock(&r->mu);
    r->finished = 1;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int rc_start(regcheck **out, const rc_opts *o, const char *const *fps, const size_t *idx,
             size_t n, err *e)
{
    *out = NULL;
    regcheck *r = xcalloc(1, sizeof *r);
    atomic_init(&r->cancel, 0);
    pthread_mutex_init(&r->mu, NULL);
    iot_config cc;
    memset(&cc, 0, sizeof cc);
    cc.target = o->target;
    cc.cancel = &r->cancel;
    cc.trace = o->trace;
    cc.trace_ctx = o->trace_ctx;
    if (iot_client_new(&r->c, &cc, e)) {
        rc_free(r);
        return -1;
    }
    double tps = o->tps > 0 ? o->tps : iot_op_get(IOT_OP_DESCRIBE_CERTIFICATE)->tps;
    r->pace = rate_new(iot_op_name(IOT_OP_DESCRIBE_CERTIFICATE), tps > 0 ? tps : 10);
    r->seed = (unsigned int)time(NULL) ^ (unsigned int)(size_t)r;
    r->fps = xcalloc(n ? n : 1, sizeof *r->fps);
    r->idx = xcalloc(n ? n : 1, sizeof *r->idx);
    for (size_t i = 0; i < n; i++) {
        snprintf(r->fps[i], sizeof r->fps[i], "%s", fps[i] ? fps[i] : "");
        r->idx[i] = idx ? idx[i] : i;
    }
    r->n = n;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&r->tid, NULL, rc_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "cannot start the registry check");
        rc_free(r);
        return -1;
    }
    r->started = 1;
    *out = r;
    return 0;
}

size_t rc_take(regcheck *r, rc_result *out, size_t max)
{
    pthread_mutex_lock(&r->mu);
    size_t k = r->n_done < max ? r->n_done : max;
    if (k) { /* done is NULL until the first result */
        memcpy(out, r->done, k * sizeof *out);
        memmove(r->done, r->done + k, (r->n_done - k) * sizeof *r->done);
        r->n_done -= k;
    }
    pthread_mutex_unlock(&r->mu);
    return k;
}

void rc_status(regcheck *r, size_t *checked, size_t *total, int *finished)
{
    pthread_mutex_lock(&r->mu);
    *checked = r->checked;
    *total = r->n;
    *finished = r->finished;
    pthread_mutex_unlock(&r->mu);
}

void rc_free(regcheck *r)
{
    if (!r)
        return;
    atomic_store(&r->cancel, 1);
    if (r->started)
        pthread_join(r->tid, NULL);
    iot_client_free(r->c);
    rate_free(r->pace);
    free(r->fps);
    free(r->idx);
    free(r->done);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
