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

#define MAX_ATTEMPTS 5   /* 5xx / transport failures per certificate */
#define RC_PAGE_SIZE 250 /* ListCertificates' largest page */

struct regcheck {
    pthread_t tid;
    int started;
    iot_cancel_flag cancel;
    iot_client *c;
    rate *pace;        /* DescribeCertificate */
    rate *list_pace;   /* ListCertificates */
    size_t pages;      /* ListCertificates pages read */
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

/* ---- the listing strategy: ListCertificates pages into a hash set ---- */

typedef struct {
    char id[65];
    char status[16];
} listed;

typedef struct {
    listed *slots; /* open addressing; id[0] == '\0' = empty */
    size_t cap, n;
} cert_set;

static size_t id_hash(const char *id)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return h;
}

static void set_put(cert_set *s, const char *id, const char *status)
{
    if ((s->n + 1) * 2 > s->cap) {
        cert_set t = {xcalloc(s->cap ? s->cap * 2 : 1024, sizeof *t.slots),
                      s->cap ? s->cap * 2 : 1024, 0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].id[0])
                set_put(&t, s->slots[i].id, s->slots[i].status);
        free(s->slots);
        *s = t;
    }
    size_t i = id_hash(id) & (s->cap - 1);
    while (s->slots[i].id[0] && strcmp(s->slots[i].id, id))
        i = (i + 1) & (s->cap - 1);
    if (!s->slots[i].id[0])
        s->n++;
    snprintf(s->slots[i].id, sizeof s->slots[i].id, "%s", id);
    snprintf(s->slots[i].status, sizeof s->slots[i].status, "%s", status ? status : "?");
}

static const listed *set_get(const cert_set *s, const char *id)
{
    if (!s->cap)
        return NULL;
    size_t i = id_hash(id) & (s->cap - 1);
    while (s->slots[i].id[0]) {
        if (!strcmp(s->slots[i].id, id))
            return &s->slots[i];
        i = (i + 1) & (s->cap - 1);
    }
    return NULL;
}

typedef struct {
    iot_client *c;
    const char *marker;
    iot_cert_page *page;
} list_call;

static iot_class list_fn(void *ctx, iot_result *res)
{
    list_call *lc = ctx;
    iot_page_req pr = {RC_PAGE_SIZE, lc->marker};
    return iot_list_certificates(lc->c, &pr, 1, lc->page, res);
}

/* Lists every certificate of the account into *set, at most max_pages
 * pages. 1 when the listing is complete; 0 when it stopped (cancelled, too
 * many pages, an error: the describing strategy takes over). */
static int list_all(regcheck *r, cert_set *set, size_t max_pages)
{
    char *marker = NULL;
    int complete = 0;
    for (size_t pages = 0; pages < max_pages && !atomic_load(&r->cancel); pages++) {
        iot_cert_page page;
        memset(&page, 0, sizeof page);
        list_call lc = {r->c, marker, &page};
        call_spec sp = {
            .pace = r->list_pace,
            .cancel = &r->cancel,
            .max_attempts = MAX_ATTEMPTS,
            .seed = &r->seed,
        };
        call_report rep;
        iot_result res;
        if (call_run(&rep, &sp, list_fn, &lc, &res) != CALL_DONE) {
            iot_cert_page_free(&page);
            break;
        }
        for (size_t i = 0; i < page.n; i++)
            if (page.items[i].certificate_id)
                set_put(set, page.items[i].certificate_id, page.items[i].status);
        pthread_mutex_lock(&r->mu);
        r->pages++;
        pthread_mutex_unlock(&r->mu);
        free(marker);
        marker = page.next_marker ? xstrdup(page.next_marker) : NULL;
        iot_cert_page_free(&page);
        if (!marker) {
            complete = 1;
            break;
        }
    }
    free(marker);
    return complete;
}

static void add_result(regcheck *r, const rc_result *one)
{
    pthread_mutex_lock(&r->mu);
    if (r->n_done == r->cap_done) {
        r->cap_done = r->cap_done ? r->cap_done * 2 : 64;
        r->done = xrealloc(r->done, r->cap_done * sizeof *r->done);
    }
    r->done[r->n_done++] = *one;
    r->checked++;
    pthread_mutex_unlock(&r->mu);
}

static void *rc_main(void *arg)
{
    regcheck *r = arg;
    /* Many certificates: one ListCertificates page answers up to 250 of
     * them, one DescribeCertificate one. List the account when that is
     * cheaper (at most one page per certificate asked about), else ask. */
    if (r->n >= RC_LIST_MIN) {
        cert_set set = {0};
        if (list_all(r, &set, r->n)) {
            for (size_t i = 0; i < r->n && !atomic_load(&r->cancel); i++) {
                rc_result one;
                memset(&one, 0, sizeof one);
                one.idx = r->idx[i];
                char id[65];
                if (!is_hex64(r->fps[i])) {
                    one.state = RC_INVALID;
                    snprintf(one.message, sizeof one.message,
                             "not a certificate fingerprint");
                } else {
                    item_fp_key(id, sizeof id, r->fps[i]);
                    const listed *l = set_get(&set, id);
                    one.state = l ? RC_PRESENT : RC_ABSENT;
                    if (l)
                        snprintf(one.status, sizeof one.status, "%s", l->status);
                }
                add_result(r, &one);
            }
            free(set.slots);
            pthread_mutex_lock(&r->mu);
            r->finished = 1;
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        free(set.slots);
    }
    for (size_t i = 0; i < r->n && !atomic_load(&r->cancel); i++) {
        rc_result one;
        check_one(r, i, &one);
        if (one.state == RC_PENDING)
            break; /* cancelled */
        add_result(r, &one);
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
    double ltps = o->tps > 0 ? o->tps : iot_op_get(IOT_OP_LIST_CERTIFICATES)->tps;
    r->list_pace = rate_new(iot_op_name(IOT_OP_LIST_CERTIFICATES), ltps > 0 ? ltps : 10);
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

item_verdict rc_verdict(int phase, const rc_result *r, char *msg, size_t n)
{
    if (n)
        msg[0] = '\0';
    switch (r->state) {
    case RC_ABSENT:
        if (phase == 2) {
            snprintf(msg, n, "not registered: run Phase 1 first");
            return ITEM_ERROR;
        }
        return ITEM_OK;
    case RC_PRESENT:
        if (!strcmp(r->status, "REVOKED")) {
            snprintf(msg, n, "the certificate is REVOKED: it is never activated again");
            return ITEM_ERROR;
        }
        if (strcmp(r->status, "ACTIVE") && strcmp(r->status, "INACTIVE")) {
            snprintf(msg, n, "the certificate is %s: it cannot be provisioned",
                     r->status);
            return ITEM_ERROR;
        }
        if (phase == 2 && !strcmp(r->status, "ACTIVE"))
            snprintf(msg, n, "already ACTIVE: already done");
        else if (phase == 1)
            snprintf(msg, n, "already registered (%s)", r->status);
        return ITEM_OK;
    case RC_ERROR:
        snprintf(msg, n, "registry check failed: %s", r->message);
        return ITEM_WARN;
    default:
        return ITEM_OK;
    }
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
    rate_free(r->list_pace);
    free(r->fps);
    free(r->idx);
    free(r->done);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
