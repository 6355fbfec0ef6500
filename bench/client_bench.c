/* client_bench - what the iot client and `thingpress sim` sustain on loopback,
 * and how exactly the sim's aws-default quotas hold (issue 3, "Performance").
 * Prints figures measured in this one run; it passes or fails nothing.
 *
 *   1. Quotas off (`--quotas unlimited`): calls/s with T client threads (1, 2,
 *      4, 8; each thread its own iot_client and keep-alive connection), closed
 *      loop, for a read (DescribeThing) and a write (CreateThing with 3
 *      attributes, distinct names); latency p50/p99; CPU time per call of the
 *      client (this process's rusage user+sys / calls) and of the sim (its
 *      /proc/PID/stat utime+stime / calls).
 *   2. aws-default quotas: every operation the engine calls, all at once,
 *      each driven open loop by a paced sender at exactly its quota for the
 *      window (call k is due at k / rate; enough sender threads per operation
 *      that latency never holds a call back), then the same at 2x its quota.
 *      Per operation: accepted calls/s / quota and the throttled count; for the
 *      2x flood also the ratio after the first second, when the bucket's burst
 *      allowance (one second's worth, sim/quota.h) is spent. The sim's CPU over
 *      each window shows it is nowhere near being the bottleneck.
 *
 * Design: the sim runs as a separate process (`BIN sim`, the binary users
 * run), with signatures verified strictly (--credentials @FILE) and its state
 * in an SQLite file in the work directory. The state is seeded before it
 * starts, straight through sim/reg.h (no HTTP, no quota): a policy, a thing
 * group, a thing type, a pool of INACTIVE certificates and a pool of things,
 * so that each paced call touches a fresh resource (UpdateCertificate,
 * AttachThingPrincipal, AddThingToThingGroup, AttachPolicy) and
 * RegisterCertificateWithoutCA gets certificates never seen. Certificates are
 * made here with OpenSSL: EC P-256, self-signed with one key, distinct serial
 * and CN. The sim is started twice on the same file: unlimited for part 1,
 * aws-default for part 2 (the rates are the sim's own table, quota.h).
 *
 * Threading: main() drives; load threads each own one iot_client and touch
 * shared state only through atomics and per-slot arrays. The sim child gets
 * SIGTERM if this process dies (PR_SET_PDEATHSIG) and is always stopped.
 *
 * Usage: client_bench [--bin PATH] [--workdir DIR] [--quick] */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/xalloc.h"
#include "bench/benchlib.h"
#include "iot/client.h"
#include "sim/quota.h"
#include "sim/reg.h"

#define ACCOUNT "123456789012"
#define REGION "us-east-1"
#define AKID "AKIDCLIENTBENCH00001"
#define SECRET "client-bench-secret-not-a-real-one"
#define POLICY "bench-policy"
#define GROUP "bench-group"
#define TYPE "bench-type"

typedef struct bench {
    const char *bin;
    char workdir[512];
    int own_workdir; /* created here: removed at the end */
    int quick;
    double load_s;  /* part 1: seconds per (op, threads) */
    double paced_s; /* part 2: seconds per window */
    char db[600], creds[600], log1[600], log2[600];
    /* seeded state */
    char **pool_id, **pool_arn; /* INACTIVE certificates */
    size_t n_pool;
    size_t n_things;  /* bench-t-%06zu */
    char **fresh_pem; /* never registered */
    size_t n_fresh;
} bench;

/* ---- the sim as a child process (benchlib.h) ------------------------------ */

typedef bl_child simproc;

static int sim_spawn(simproc *p, const char *bin, const char *quotas, const bench *b,
                     const char *log_path, err *e)
{
    char creds_arg[620];
    snprintf(creds_arg, sizeof creds_arg, "@%s", b->creds);
    const char *args[] = {"--db",          b->db,     "--quotas",  quotas,
                          "--credentials", creds_arg, "--account", ACCOUNT,
                          "--region",      REGION,    NULL};
    return bl_spawn_sim(p, bin, args, log_path, e);
}

/* ---- seeding (sim/reg.h, no HTTP) ---------------------------------------- */

static int seed_call(reg *r, route_op op, const char *label, const char *body,
                     reg_reply *rp, err *e)
{
    reg_req q;
    memset(&q, 0, sizeof q);
    q.op = op;
    q.label = label;
    q.body = body;
    q.body_len = strlen(body);
    reg_do(r, &q, rp);
    if (rp->status != 200) {
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "seeding %s %s: HTTP %d %s", route_name(op),
                label, rp->status, rp->body.data ? rp->body.data : "");
        return -1;
    }
    return 0;
}

static void thing_body(buf *b, const char *serial)
{
    buf_reset(b);
    buf_puts(b, "{\"attributePayload\":{\"attributes\":{\"serial\":");
    buf_json_str(b, serial);
    buf_puts(b, ",\"model\":\"m-7\",\"site\":\"plant-3\"}}}");
}

static int seed(bench *b, EVP_PKEY *key, err *e)
{
    reg *r = NULL;
    reg_reply rp;
    reg_reply_init(&rp);
    buf body = BUF_INIT;
    json_t *j = NULL;
    int rc = -1;
    reg_opts o = {b->db, ACCOUNT, REGION};
    if (reg_open(&r, &o, e) < 0)
        goto out;
    if (seed_call(r, ROUTE_CREATE_POLICY, POLICY,
                  "{\"policyDocument\":\"{\\\"Version\\\":\\\"2012-10-17\\\","
                  "\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\",\\\"Action\\\":"
                  "\\\"iot:Connect\\\",\\\"Resource\\\":\\\"*\\\"}]}\"}",
                  &rp, e) < 0 ||
        seed_call(r, ROUTE_CREATE_THING_GROUP, GROUP, "{}", &rp, e) < 0 ||
        seed_call(r, ROUTE_CREATE_THING_TYPE, TYPE, "{}", &rp, e) < 0)
        goto out;
    for (size_t i = 0; i < b->n_pool; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "bench-pool-%06zu", i);
        char *pem = bl_make_cert(key, cn, 1000000L + (long)i, e);
        if (!pem)
            goto out;
        buf_reset(&body);
        buf_puts(&body, "{\"certificatePem\":");
        buf_json_str(&body, pem);
        buf_puts(&body, ",\"status\":\"INACTIVE\"}");
        free(pem);
        if (seed_call(r, ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "", body.data, &rp, e) <
            0)
            goto out;
        j = json_loadb(rp.body.data, rp.body.len, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "certificateId"));
        const char *arn = json_string_value(json_object_get(j, "certificateArn"));
        if (!id || !arn) {
            err_set(e, ERR_FORMAT, NULL, 0, -1, "seeding: no certificateId/Arn in %s",
                    rp.body.data);
            goto out;
        }
        b->pool_id[i] = xstrdup(id);
        b->pool_arn[i] = xstrdup(arn);
        json_decref(j);
        j = NULL;
    }
    for (size_t i = 0; i < b->n_things; i++) {
        char name[64], serial[64];
        snprintf(name, sizeof name, "bench-t-%06zu", i);
        snprintf(serial, sizeof serial, "SN-%06zu", i);
        thing_body(&body, serial);
        if (seed_call(r, ROUTE_CREATE_THING, name, body.data, &rp, e) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(j);
    buf_free(&body);
    reg_reply_free(&rp);
    reg_close(r);
    return rc;
}

/* ---- shared by both parts ------------------------------------------------- */

static int new_client(iot_client **c, const char *url, err *e)
{
    iot_target t;
    iot_target_set(&t, url, REGION, NULL, AKID, SECRET, NULL, NULL);
    iot_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.target = &t;
    cfg.user_agent = "thingpress-client-bench";
    int rc = iot_client_new(c, &cfg, e);
    iot_target_free(&t);
    return rc;
}

/* ---- part 1: closed loop, quotas off -------------------------------------- */

enum { OP_READ, OP_WRITE };

typedef struct load {
    const bench *b;
    const char *url;
    int op, threads;
    double t_end; /* written by main between the two barriers */
    pthread_barrier_t ready, start;
} load;

typedef struct loader {
    pthread_t th;
    load *l;
    int idx;
    unsigned long long ok, failed;
    double *lat; /* seconds per call */
    size_t n_lat, cap_lat;
    char first_err[IOT_MSG_MAX + 200];
    int setup_failed;
} loader;

static iot_class load_call(loader *w, iot_client *c, unsigned long long seq,
                           iot_result *res)
{
    const bench *b = w->l->b;
    char name[96], serial[32];
    if (w->l->op == OP_READ) {
        unsigned long long k =
            (seq * 7919ULL + (unsigned long long)w->idx * 104729ULL) % b->n_things;
        snprintf(name, sizeof name, "bench-t-%06llu", k);
        iot_thing_desc d;
        memset(&d, 0, sizeof d);
        iot_class cls = iot_describe_thing(c, name, &d, res);
        iot_thing_desc_free(&d);
        return cls;
    }
    snprintf(name, sizeof name, "bench-w%d-%02d-%08llu", w->l->threads, w->idx, seq);
    snprintf(serial, sizeof serial, "SN-%d-%llu", w->idx, seq);
    iot_attr attrs[3] = {{"serial", serial}, {"model", "m-7"}, {"site", "plant-3"}};
    iot_create_thing_req rq = {name, NULL, attrs, 3};
    iot_thing_ref ref;
    memset(&ref, 0, sizeof ref);
    iot_class cls = iot_create_thing(c, &rq, &ref, res);
    iot_thing_ref_free(&ref);
    return cls;
}

static void *loader_main(void *arg)
{
    loader *w = arg;
    iot_client *c = NULL;
    iot_result res;
    err e;
    err_clear(&e);
    if (new_client(&c, w->l->url, &e) < 0) {
        err_format(&e, w->first_err, sizeof w->first_err);
        w->setup_failed = 1;
    } else {
        /* warm-up: the connection is open before the clock starts */
        iot_thing_desc d;
        memset(&d, 0, sizeof d);
        iot_describe_thing(c, "bench-t-000000", &d, &res);
        iot_thing_desc_free(&d);
    }
    pthread_barrier_wait(&w->l->ready);
    pthread_barrier_wait(&w->l->start);
    if (w->setup_failed)
        goto out;
    for (unsigned long long seq = 0; bl_now() < w->l->t_end; seq++) {
        double t0 = bl_now();
        iot_class cls = load_call(w, c, seq, &res);
        double dt = bl_now() - t0;
        if (cls != IOT_OK) {
            if (!w->failed++)
                iot_result_format(&res, w->first_err, sizeof w->first_err);
            continue;
        }
        w->ok++;
        if (w->n_lat == w->cap_lat) {
            w->cap_lat = w->cap_lat ? 2 * w->cap_lat : 4096;
            w->lat = xrealloc(w->lat, w->cap_lat * sizeof *w->lat);
        }
        w->lat[w->n_lat++] = dt;
    }
out:
    iot_client_free(c);
    return NULL;
}

typedef struct load_result {
    double calls_s, p50_ms, p99_ms, client_us, sim_us;
    unsigned long long calls, failed;
    char first_err[IOT_MSG_MAX + 200];
} load_result;

static int run_load(const bench *b, const simproc *sp, int op, int threads,
                    load_result *out, err *e)
{
    memset(out, 0, sizeof *out);
    load l;
    memset(&l, 0, sizeof l);
    l.b = b;
    l.url = sp->url;
    l.op = op;
    l.threads = threads;
    pthread_barrier_init(&l.ready, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&l.start, NULL, (unsigned)threads + 1);
    loader *w = xcalloc((size_t)threads, sizeof *w);
    for (int i = 0; i < threads; i++) {
        w[i].l = &l;
        w[i].idx = i;
        if (pthread_create(&w[i].th, NULL, loader_main, &w[i]))
            /* the threads started wait at the barrier for this one: stop here */
            base_fatal("client_bench: cannot start a loader thread");
    }
    pthread_barrier_wait(&l.ready);
    double cpu0 = bl_rusage_cpu_s(), sim0 = bl_proc_cpu_s(sp->pid), t0 = bl_now();
    l.t_end = t0 + b->load_s;
    pthread_barrier_wait(&l.start);
    for (int i = 0; i < threads; i++)
        pthread_join(w[i].th, NULL);
    double t1 = bl_now(), cpu1 = bl_rusage_cpu_s(), sim1 = bl_proc_cpu_s(sp->pid);

    size_t n = 0;
    for (int i = 0; i < threads; i++)
        n += w[i].n_lat;
    double *all = xcalloc(n ? n : 1, sizeof *all);
    size_t k = 0;
    int rc = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat, w[i].n_lat * sizeof *all);
        k += w[i].n_lat;
        out->calls += w[i].ok;
        out->failed += w[i].failed;
        if (!out->first_err[0] && w[i].first_err[0])
            memcpy(out->first_err, w[i].first_err, sizeof out->first_err);
        if (w[i].setup_failed) {
            err_set(e, ERR_USAGE, NULL, 0, -1, "%s", w[i].first_err);
            rc = -1;
        }
        free(w[i].lat);
    }
    if (sim0 < 0 || sim1 < 0) {
        err_set(e, ERR_IO, NULL, 0, -1, "cannot read /proc/%d/stat of the sim",
                (int)sp->pid);
        rc = -1;
    }
    double calls = out->calls ? (double)out->calls : 1;
    out->calls_s = (double)out->calls / (t1 - t0);
    out->p50_ms = bl_percentile(all, n, 50) * 1e3;
    out->p99_ms = bl_percentile(all, n, 99) * 1e3;
    out->client_us = (cpu1 - cpu0) / calls * 1e6;
    out->sim_us = (sim1 - sim0) / calls * 1e6;
    free(all);
    free(w);
    pthread_barrier_destroy(&l.ready);
    pthread_barrier_destroy(&l.start);
    return rc;
}

static int part1(bench *b, double *best_read, double *best_write, err *e)
{
    simproc sp;
    int rc = -1;
    const char *log = b->log1;
    if (sim_spawn(&sp, b->bin, "unlimited", b, log, e) < 0)
        goto out;
    printf("\n1. Quotas off (sim --quotas unlimited, signatures verified, state in "
           "SQLite on disk)\n"
           "   closed loop, %.0f s per row; each client thread has its own iot_client "
           "(one keep-alive connection)\n\n",
           b->load_s);
    printf("   %-38s %7s %9s %8s %8s %13s %13s %6s\n", "operation", "threads", "calls/s",
           "p50 ms", "p99 ms", "client us/call", "sim us/call", "errors");
    static const int threads[] = {1, 2, 4, 8};
    for (int op = OP_READ; op <= OP_WRITE; op++) {
        for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
            load_result r;
            if (run_load(b, &sp, op, threads[t], &r, e) < 0)
                goto out;
            printf("   %-38s %7d %9.0f %8.2f %8.2f %13.1f %13.1f %6llu\n",
                   op == OP_READ ? "DescribeThing (read)"
                                 : "CreateThing, 3 attributes (write)",
                   threads[t], r.calls_s, r.p50_ms, r.p99_ms, r.client_us, r.sim_us,
                   r.failed);
            if (r.failed)
                printf("      first error: %s\n", r.first_err);
            double *best = op == OP_READ ? best_read : best_write;
            if (r.calls_s > *best)
                *best = r.calls_s;
            fflush(stdout);
        }
    }
    rc = 0;
out:
    if (bl_reap(&sp) != 0 && rc == 0)
        fprintf(stderr, "client_bench: the sim did not stop cleanly (see %s)\n", log);
    return rc;
}

/* ---- part 2: paced, aws-default quotas ------------------------------------- */

typedef enum {
    P_REGISTER,
    P_UPDATE_CERT,
    P_DESCRIBE_CERT,
    P_CREATE_THING,
    P_DESCRIBE_THING,
    P_ATTACH_PRINCIPAL,
    P_ATTACH_POLICY,
    P_ADD_TO_GROUP,
    P_GET_POLICY,
    P_DESCRIBE_GROUP,
    P_DESCRIBE_TYPE,
    P_COUNT
} paced_op;

/* The operations the engine calls (engine/engine.c), and DescribeThing. */
static const char *const paced_names[P_COUNT] = {"RegisterCertificateWithoutCA",
                                                 "UpdateCertificate",
                                                 "DescribeCertificate",
                                                 "CreateThing",
                                                 "DescribeThing",
                                                 "AttachThingPrincipal",
                                                 "AttachPolicy",
                                                 "AddThingToThingGroup",
                                                 "GetPolicy",
                                                 "DescribeThingGroup",
                                                 "DescribeThingType"};

typedef struct pacer {
    const bench *b;
    paced_op op;
    double quota, rate;
    double t0, window;
    size_t n_calls;          /* scheduled: floor(rate * window) */
    unsigned long long base; /* resource offset: each window touches new ones */
    int phase;
    atomic_ullong next;
    atomic_ullong ok, throttled, other, ok_steady;
    double *late; /* per call: seconds behind its due time when sent */
    atomic_int have_err;
    char first_err[IOT_MSG_MAX + 200];
} pacer;

typedef struct sender {
    pthread_t th;
    pacer *p;
    const char *url;
    pthread_barrier_t *ready;
    int setup_failed;
    char setup_err[400];
} sender;

static iot_class paced_call(pacer *p, iot_client *c, unsigned long long k,
                            iot_result *res)
{
    const bench *b = p->b;
    unsigned long long r = p->base + k;
    char name[96], serial[32];
    size_t cert = (size_t)(r % b->n_pool);
    snprintf(name, sizeof name, "bench-t-%06llu", r % b->n_things);
    switch (p->op) {
    case P_REGISTER: {
        iot_cert_ref ref;
        memset(&ref, 0, sizeof ref);
        iot_class cls = iot_register_certificate(c, b->fresh_pem[r % b->n_fresh],
                                                 "INACTIVE", &ref, res);
        iot_cert_ref_free(&ref);
        return cls;
    }
    case P_UPDATE_CERT:
        return iot_update_certificate(c, b->pool_id[cert], "ACTIVE", res);
    case P_DESCRIBE_CERT: {
        iot_cert_desc d;
        memset(&d, 0, sizeof d);
        iot_class cls = iot_describe_certificate(c, b->pool_id[cert], 0, &d, res);
        iot_cert_desc_free(&d);
        return cls;
    }
    case P_CREATE_THING: {
        snprintf(name, sizeof name, "bench-q%d-%08llu", p->phase, k);
        snprintf(serial, sizeof serial, "SN-q%d-%llu", p->phase, k);
        iot_attr attrs[3] = {{"serial", serial}, {"model", "m-7"}, {"site", "plant-3"}};
        iot_create_thing_req rq = {name, NULL, attrs, 3};
        iot_thing_ref ref;
        memset(&ref, 0, sizeof ref);
        iot_class cls = iot_create_thing(c, &rq, &ref, res);
        iot_thing_ref_free(&ref);
        return cls;
    }
    case P_DESCRIBE_THING: {
        iot_thing_desc d;
        memset(&d, 0, sizeof d);
        iot_class cls = iot_describe_thing(c, name, &d, res);
        iot_thing_desc_free(&d);
        return cls;
    }
    case P_ATTACH_PRINCIPAL:
        return iot_attach_thing_principal(c, name, b->pool_arn[cert], res);
    case P_ATTACH_POLICY:
        return iot_attach_policy(c, POLICY, b->pool_arn[cert], res);
    case P_ADD_TO_GROUP:
        return iot_add_thing_to_thing_group(c, GROUP, name, res);
    case P_GET_POLICY: {
        iot_policy_desc d;
        memset(&d, 0, sizeof d);
        iot_class cls = iot_get_policy(c, POLICY, &d, res);
        iot_policy_desc_free(&d);
        return cls;
    }
    case P_DESCRIBE_GROUP:
    case P_DESCRIBE_TYPE: {
        iot_named_desc d;
        memset(&d, 0, sizeof d);
        iot_class cls = p->op == P_DESCRIBE_GROUP
                            ? iot_describe_thing_group(c, GROUP, &d, res)
                            : iot_describe_thing_type(c, TYPE, &d, res);
        iot_named_desc_free(&d);
        return cls;
    }
    case P_COUNT:
        break;
    }
    return IOT_TERMINAL;
}

static void *sender_main(void *arg)
{
    sender *s = arg;
    pacer *p = s->p;
    iot_client *c = NULL;
    iot_result res;
    err e;
    err_clear(&e);
    if (new_client(&c, s->url, &e) < 0) {
        err_format(&e, s->setup_err, sizeof s->setup_err);
        s->setup_failed = 1;
    } else {
        /* Warm-up on an operation that is not measured: the connection is
         * open before the clock starts (a throttled answer does as well). */
        iot_name_page pg;
        memset(&pg, 0, sizeof pg);
        iot_list_thing_groups_for_thing(c, "bench-t-000000", NULL, &pg, &res);
        iot_name_page_free(&pg);
    }
    pthread_barrier_wait(s->ready);
    if (s->setup_failed)
        goto out;
    for (;;) {
        unsigned long long k = atomic_fetch_add(&p->next, 1);
        if (k >= p->n_calls)
            break;
        double due = p->t0 + (double)k / p->rate;
        bl_sleep_until(due);
        p->late[k] = bl_now() - due;
        iot_class cls = paced_call(p, c, k, &res);
        if (cls == IOT_OK) {
            atomic_fetch_add(&p->ok, 1);
            if ((double)k / p->rate >= 1.0)
                atomic_fetch_add(&p->ok_steady, 1);
        } else if (cls == IOT_RETRY_THROTTLE) {
            atomic_fetch_add(&p->throttled, 1);
        } else {
            atomic_fetch_add(&p->other, 1);
            if (!atomic_exchange(&p->have_err, 1))
                iot_result_format(&res, p->first_err, sizeof p->first_err);
        }
    }
out:
    iot_client_free(c);
    return NULL;
}

/* Sender threads per operation: enough that a call is never held back by the
 * previous ones (loopback latency is well under a millisecond; 50 calls/s per
 * thread leaves 20 ms per call). */
static int senders_for(double rate)
{
    return 2 + (int)ceil(rate / 50.0);
}

/* One window: every operation paced at factor x its quota, all at once. */
static int paced_window(const bench *b, const simproc *sp, double factor, int phase,
                        unsigned long long *base, err *e)
{
    pacer pc[P_COUNT];
    int n_senders = 0, rc = -1;
    memset(pc, 0, sizeof pc);
    for (int i = 0; i < P_COUNT; i++) {
        if (quota_aws_default(paced_names[i]) <= 0) {
            err_set(e, ERR_INTERNAL, NULL, 0, -1,
                    "%s has no aws-default quota in sim/quota.c (update paced_names)",
                    paced_names[i]);
            return -1;
        }
    }
    for (int i = 0; i < P_COUNT; i++) {
        pacer *p = &pc[i];
        p->b = b;
        p->op = (paced_op)i;
        p->quota = quota_aws_default(paced_names[i]);
        p->rate = p->quota * factor;
        p->window = b->paced_s;
        p->n_calls = (size_t)floor(p->rate * p->window + 1e-9);
        p->base = base[i];
        p->phase = phase;
        p->late = xcalloc(p->n_calls ? p->n_calls : 1, sizeof *p->late);
        atomic_init(&p->next, 0);
        atomic_init(&p->ok, 0);
        atomic_init(&p->throttled, 0);
        atomic_init(&p->other, 0);
        atomic_init(&p->ok_steady, 0);
        atomic_init(&p->have_err, 0);
        n_senders += senders_for(p->rate);
    }
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)n_senders + 1);
    sender *s = xcalloc((size_t)n_senders, sizeof *s);
    int k = 0;
    for (int i = 0; i < P_COUNT; i++) {
        for (int j = 0; j < senders_for(pc[i].rate); j++, k++) {
            s[k].p = &pc[i];
            s[k].url = sp->url;
            s[k].ready = &ready;
        }
    }
    /* t0 is set before the threads start, 1 s ahead: they connect meanwhile */
    double t0 = bl_now() + 1.0;
    for (int i = 0; i < P_COUNT; i++)
        pc[i].t0 = t0;
    for (int i = 0; i < n_senders; i++)
        if (pthread_create(&s[i].th, NULL, sender_main, &s[i]))
            /* the threads started wait at the barrier for this one: stop here */
            base_fatal("client_bench: cannot start a sender thread");
    pthread_barrier_wait(&ready);
    int late_start = bl_now() > t0;
    bl_sleep_until(t0);
    double cpu0 = bl_rusage_cpu_s(), sim0 = bl_proc_cpu_s(sp->pid);
    for (int i = 0; i < n_senders; i++)
        pthread_join(s[i].th, NULL);
    double t1 = bl_now(), cpu1 = bl_rusage_cpu_s(), sim1 = bl_proc_cpu_s(sp->pid);
    for (int i = 0; i < n_senders; i++) {
        if (s[i].setup_failed) {
            err_set(e, ERR_USAGE, NULL, 0, -1, "%s", s[i].setup_err);
            goto out;
        }
    }
    if (sim0 < 0 || sim1 < 0) {
        err_set(e, ERR_IO, NULL, 0, -1, "cannot read /proc/%d/stat of the sim",
                (int)sp->pid);
        goto out;
    }

    printf("\n   %s: all %d operations at once, %.0f s, open loop (%d sender threads, "
           "each its own iot_client)\n\n",
           factor == 1.0 ? "at quota" : "flood at 2x quota", P_COUNT, b->paced_s,
           n_senders);
    if (factor == 1.0)
        printf("   %-30s %6s %8s %11s %11s %9s %6s %12s\n", "operation", "quota",
               "sent/s", "accepted/s", "acc/quota", "throttled", "other", "late p99 ms");
    else
        printf("   %-30s %6s %8s %11s %11s %13s %9s %6s %12s\n", "operation", "quota",
               "sent/s", "accepted/s", "acc/quota", "after 1st s", "throttled", "other",
               "late p99 ms");
    unsigned long long calls = 0, total_ok = 0;
    double quota_sum = 0;
    for (int i = 0; i < P_COUNT; i++) {
        pacer *p = &pc[i];
        unsigned long long ok = atomic_load(&p->ok), thr = atomic_load(&p->throttled),
                           oth = atomic_load(&p->other);
        calls += ok + thr + oth;
        total_ok += ok;
        quota_sum += p->quota;
        double acc_s = (double)ok / p->window;
        double late99 = bl_percentile(p->late, p->n_calls, 99) * 1e3;
        if (factor == 1.0) {
            printf("   %-30s %6.0f %8.1f %11.1f %11.3f %9llu %6llu %12.2f\n",
                   paced_names[i], p->quota, (double)p->n_calls / p->window, acc_s,
                   acc_s / p->quota, thr, oth, late99);
        } else {
            double steady =
                (double)atomic_load(&p->ok_steady) / ((p->window - 1.0) * p->quota);
            printf("   %-30s %6.0f %8.1f %11.1f %11.3f %13.3f %9llu %6llu %12.2f\n",
                   paced_names[i], p->quota, (double)p->n_calls / p->window, acc_s,
                   acc_s / p->quota, steady, thr, oth, late99);
        }
        if (oth)
            printf("      first other error: %s\n", p->first_err);
        base[i] += p->n_calls;
    }
    if (factor != 1.0)
        printf("   (acc/quota over the whole window includes the bucket's initial burst "
               "of one second's worth,\n    at most (%.0f + 1) / %.0f = %.2f; "
               "'after 1st s' counts calls due once it is spent)\n",
               b->paced_s, b->paced_s, (b->paced_s + 1) / b->paced_s);
    double wall = t1 - t0, sim_cpu = sim1 - sim0, cli_cpu = cpu1 - cpu0;
    printf("\n   sim CPU: %.0f ms over %.1f s = %.1f%% of one core (of %ld cores); "
           "%.1f us per call (%llu calls, %.0f/s)\n",
           sim_cpu * 1e3, wall, 100.0 * sim_cpu / wall, sysconf(_SC_NPROCESSORS_ONLN),
           sim_cpu / (double)(calls ? calls : 1) * 1e6, calls, (double)calls / wall);
    printf("   client CPU: %.0f ms = %.1f%% of one core; accepted %llu calls, %.0f/s "
           "(sum of the quotas: %.0f/s)\n",
           cli_cpu * 1e3, 100.0 * cli_cpu / wall, total_ok, (double)total_ok / wall,
           quota_sum);
    if (late_start)
        printf("   note: the sender threads were not all connected 1 s after start\n");
    fflush(stdout);
    rc = 0;
out:
    for (int i = 0; i < P_COUNT; i++)
        free(pc[i].late);
    free(s);
    pthread_barrier_destroy(&ready);
    return rc;
}

static int part2(bench *b, double best_read, double best_write, err *e)
{
    simproc sp;
    int rc = -1;
    unsigned long long base[P_COUNT] = {0};
    const char *log = b->log2;
    if (sim_spawn(&sp, b->bin, "aws-default", b, log, e) < 0)
        goto out;
    printf("\n2. aws-default quotas (sim --quotas aws-default, signatures verified, same "
           "SQLite state)\n"
           "   each operation driven at exactly its quota by a paced sender (call k due "
           "at k/rate),\n"
           "   every call on a fresh certificate / thing where the operation changes "
           "state\n");
    fflush(stdout);
    if (paced_window(b, &sp, 1.0, 1, base, e) < 0)
        goto out;
    /* let the buckets refill to their full burst before the flood */
    bl_sleep_until(bl_now() + 1.5);
    if (paced_window(b, &sp, 2.0, 2, base, e) < 0)
        goto out;
    double sum = 0;
    for (int i = 0; i < P_COUNT; i++)
        sum += quota_aws_default(paced_names[i]);
    printf(
        "\n   headroom: quotas off, this machine served up to %.0f DescribeThing/s and "
        "%.0f CreateThing/s\n   (part 1), against %.0f calls/s for the sum of these "
        "operations' aws-default quotas.\n",
        best_read, best_write, sum);
    rc = 0;
out:
    if (bl_reap(&sp) != 0 && rc == 0)
        fprintf(stderr, "client_bench: the sim did not stop cleanly (see %s)\n", log);
    return rc;
}

/* ---- main ---------------------------------------------------------------- */

static const char usage[] =
    "usage: client_bench [--bin PATH] [--workdir DIR] [--quick]\n"
    "  --bin PATH     the thingpress binary (default bazel-bin/cli/thingpress)\n"
    "  --workdir DIR  where the sim's state and logs go (default: a new directory\n"
    "                 in $TMPDIR or /tmp, removed at the end unless a step fails)\n"
    "  --quick        1 s per part-1 row and 4 s paced windows (default 5 s, 10 s)\n"
    "Run through bench/run.sh client [--quick].\n";

static void free_state(bench *b)
{
    for (size_t i = 0; i < b->n_pool; i++) {
        free(b->pool_id ? b->pool_id[i] : NULL);
        free(b->pool_arn ? b->pool_arn[i] : NULL);
    }
    free(b->pool_id);
    free(b->pool_arn);
    for (size_t i = 0; i < b->n_fresh; i++)
        free(b->fresh_pem ? b->fresh_pem[i] : NULL);
    free(b->fresh_pem);
}

static void remove_files(const bench *b)
{
    const char *files[] = {b->db, b->creds, b->log1, b->log2};
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        for (size_t j = 0; j < (i == 0 ? 4u : 1u); j++) {
            char path[640];
            snprintf(path, sizeof path, "%s%s", files[i], suffixes[j]);
            unlink(path);
        }
    }
}

int main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof b);
    b.bin = "bazel-bin/cli/thingpress";
    const char *workdir = NULL;
    EVP_PKEY *key = NULL;
    int rc = 1, iot_inited = 0;
    err e;
    err_clear(&e);
    char msg[800];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            b.quick = 1;
        } else if (!strcmp(argv[i], "--bin") && i + 1 < argc) {
            b.bin = argv[++i];
        } else if (!strcmp(argv[i], "--workdir") && i + 1 < argc) {
            workdir = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "client_bench: unknown or incomplete option '%s'\n%s",
                    argv[i], usage);
            return 2;
        }
    }
    if (access(b.bin, X_OK) != 0) {
        fprintf(stderr,
                "client_bench: %s is not an executable (build it with 'bazel build "
                "//cli:thingpress' or pass --bin)\n",
                b.bin);
        return 2;
    }
    b.load_s = b.quick ? 1.0 : 5.0;
    b.paced_s = b.quick ? 4.0 : 10.0;

    if (workdir) {
        if (mkdir(workdir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "client_bench: cannot create --workdir %s: %s\n", workdir,
                    strerror(errno));
            return 2;
        }
        snprintf(b.workdir, sizeof b.workdir, "%s", workdir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(b.workdir, sizeof b.workdir, "%s/tp-client-bench-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(b.workdir)) {
            fprintf(stderr,
                    "client_bench: cannot create a directory in %s: %s (set TMPDIR or "
                    "pass --workdir)\n",
                    tmp && *tmp ? tmp : "/tmp", strerror(errno));
            return 2;
        }
        b.own_workdir = 1;
    }
    snprintf(b.db, sizeof b.db, "%s/sim.db", b.workdir);
    snprintf(b.creds, sizeof b.creds, "%s/credentials", b.workdir);
    snprintf(b.log1, sizeof b.log1, "%s/sim-unlimited.log", b.workdir);
    snprintf(b.log2, sizeof b.log2, "%s/sim-aws-default.log", b.workdir);
    remove_files(&b); /* a reused --workdir starts from an empty state */

    /* Resources for part 2: each window touches fresh certificates and things,
     * 1x then 2x, with a margin. */
    double w = b.paced_s;
    double upd = quota_aws_default("UpdateCertificate");
    double att = fmax(quota_aws_default("AttachThingPrincipal"),
                      quota_aws_default("AddThingToThingGroup"));
    b.n_pool = (size_t)ceil(upd * w * 3) + 16;
    b.n_things = (size_t)ceil(att * w * 3) + 16;
    b.n_fresh =
        (size_t)ceil(quota_aws_default("RegisterCertificateWithoutCA") * w * 3) + 16;
    b.pool_id = xcalloc(b.n_pool, sizeof *b.pool_id);
    b.pool_arn = xcalloc(b.n_pool, sizeof *b.pool_arn);
    b.fresh_pem = xcalloc(b.n_fresh, sizeof *b.fresh_pem);

    FILE *cf = NULL;
    int cfd = open(b.creds, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (cfd >= 0 && !(cf = fdopen(cfd, "w")))
        close(cfd);
    if (!cf || fprintf(cf, "%s:%s\n", AKID, SECRET) < 0 || fclose(cf) != 0) {
        fprintf(stderr, "client_bench: cannot write %s: %s (pass another --workdir)\n",
                b.creds, strerror(errno));
        goto out;
    }

    if (iot_global_init(&e) < 0)
        goto fail;
    iot_inited = 1;
    key = EVP_EC_gen("P-256");
    if (!key) {
        err_set(&e, ERR_CRYPTO, NULL, 0, -1, "cannot make an EC P-256 key with OpenSSL");
        goto fail;
    }
    double t = bl_now();
    for (size_t i = 0; i < b.n_fresh; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "bench-new-%06zu", i);
        b.fresh_pem[i] = bl_make_cert(key, cn, 2000000L + (long)i, &e);
        if (!b.fresh_pem[i])
            goto fail;
    }
    if (seed(&b, key, &e) < 0)
        goto fail;
    printf("client_bench: iot client vs `%s sim` on 127.0.0.1, %ld CPU cores\n", b.bin,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("seeded in %.1f s: %zu certificates, %zu things, 1 policy, group and type; "
           "%zu more certificates to register\n",
           bl_now() - t, b.n_pool, b.n_things, b.n_fresh);
    fflush(stdout);

    double best_read = 0, best_write = 0;
    if (part1(&b, &best_read, &best_write, &e) < 0)
        goto fail;
    if (part2(&b, best_read, best_write, &e) < 0)
        goto fail;
    rc = 0;
    remove_files(&b);
    if (b.own_workdir)
        rmdir(b.workdir);
    goto out;
fail:
    fprintf(stderr, "client_bench: %s (work directory kept: %s)\n",
            err_format(&e, msg, sizeof msg), b.workdir);
out:
    EVP_PKEY_free(key);
    free_state(&b);
    if (iot_inited)
        iot_global_cleanup();
    return rc;
}
