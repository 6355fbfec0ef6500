/* load_bench - the load test of issue 6: the local endpoint under many
 * concurrent clients with faults on, and the engine on a large job. Prints
 * the figures of this one run and exits 1 when a check fails.
 *
 *   1. `thingpress sim` (quotas off, faults on: 500, 503, throttle, reset,
 *      late) under C clients (64 by default; threads, each its own
 *      iot_client and keep-alive connection) sending R requests in all (100,000
 *      by default): per item a fresh certificate is registered, described,
 *      activated, a thing created, the certificate attached to it, the thing
 *      described, its principals listed (exactly that certificate), the
 *      certificate registered again (designed to get 409
 *      ResourceAlreadyExistsException naming it) and a thing never created
 *      described (designed to get 404 ResourceNotFoundException): 9 calls; a
 *      failed call ends the item, as its followers depend on it. Checks:
 *      every answer is a success, the designed API error, or an injected
 *      fault (an injected error reply, or a dropped connection for reset /
 *      late); per operation, the client's count of each class equals the
 *      sim's request log's (so each fault hit the operation it was logged
 *      for); the log has one line per request sent; the sim exits 0 on SIGTERM (an
 *      ASan build of thingpress then also reports leaks, failing that); its
 *      resident memory after the run is within 1.5 x + 16 MB of what it was
 *      once warm (10% of the requests). Prints requests/s, p50/p99 latency,
 *      counts per class, RSS warm / end / peak and their ratio.
 *   2. `thingpress provision` (Phase 1, one policy) of a Generated file of N
 *      certificates (100,000 by default) against a fresh sim, quotas off,
 *      the same faults on. Its resident memory is sampled every 0.1 s.
 *      Checks: exit 0; the journal (`thingpress status --output json`) says
 *      N done, 0 failed; the sim holds exactly N certificates (ListCertificates
 *      to the end), each with the policy attached count checked on a sample;
 *      no RSS sample in the second half of the job is above 1.25 x the one at
 *      its half (memory flat: nothing held per item beyond the validation's
 *      duplicate check).
 *      Prints items/s and RSS at 25/50/75/100% of the job.
 *
 * Design: both servers and the provision run are child processes of the
 * binary users run (--bin); the sim's state is an SQLite file in the work
 * directory; the policy of part 2 is seeded straight through sim/reg.h before
 * the sim starts. Certificates are EC P-256, self-signed with one key,
 * distinct serial and CN (benchlib.h).
 *
 * Usage: load_bench --bin PATH [--clients N] [--requests N] [--items N]
 *                   [--faults SPEC] [--part sim|engine|both] [--workdir DIR] */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/xalloc.h"
#include "bench/benchlib.h"
#include "iot/client.h"
#include "sim/reg.h"

/* Built with AddressSanitizer (bazel --config=asan), as then is the
 * thingpress under test: its resident memory is mostly the allocator's
 * quarantine of freed blocks (up to 256 MB), so the memory bounds are printed
 * but not checked; a leak fails the exit status of the sim and of provision
 * instead. */
#if defined(__SANITIZE_ADDRESS__)
#define LOAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOAD_ASAN 1
#endif
#endif
#ifndef LOAD_ASAN
#define LOAD_ASAN 0
#endif
#define RSS_NOTE (LOAD_ASAN ? " (not checked: ASan build)" : "")

#define ACCOUNT "123456789012"
#define REGION "us-east-1"
#define AKID "AKIDLOADBENCH0000001"
#define SECRET "load-bench-secret-not-a-real-one"
#define POLICY "load-policy"
#define N_OPS 9

/* The calls of an item, in order: the operation (as the sim logs it), a label,
 * and the API error it is designed to get (NULL: it should succeed). */
static const struct {
    const char *name, *label, *expect;
} ops[N_OPS] = {
    {"RegisterCertificateWithoutCA", "RegisterCertificateWithoutCA", NULL},
    {"DescribeCertificate", "DescribeCertificate", NULL},
    {"UpdateCertificate", "UpdateCertificate", NULL},
    {"CreateThing", "CreateThing", NULL},
    {"AttachThingPrincipal", "AttachThingPrincipal", NULL},
    {"DescribeThing", "DescribeThing", NULL},
    {"ListThingPrincipals", "ListThingPrincipals", NULL},
    {"RegisterCertificateWithoutCA", "RegisterCertificateWithoutCA again",
     "ResourceAlreadyExistsException"},
    {"DescribeThing", "DescribeThing of a missing thing", "ResourceNotFoundException"},
};

/* What an answer was. */
enum { C_OK, C_EXPECTED, C_500, C_503, C_THROTTLE, C_DROPPED, C_UNEXPECTED, C_N };
static const char *const class_names[C_N] = {
    "ok",           "designed API error", "injected 500",
    "injected 503", "injected throttle",  "dropped (reset/late)",
    "unexpected"};

typedef struct opts {
    const char *bin;
    int clients;
    long requests;
    long items;
    const char *faults;
    int part; /* 1, 2, or 3 = both */
    char workdir[512];
    int own_workdir;
} opts;

/* ---- part 1: the sim under load ------------------------------------------ */

typedef struct load {
    const opts *o;
    const char *url;
    char **pems; /* certificates for the items */
    size_t n_pems;
    atomic_long sent; /* requests claimed */
    atomic_long next_item;
    atomic_long counts[C_N];
    atomic_long op_unexpected[N_OPS];
    atomic_long by_route[ROUTE_COUNT][C_N]; /* per operation as the sim logs it */
    double *lat;                            /* latency of request k (seconds) */
    pthread_mutex_t mu;
    char first_unexpected[600];
} load;

/* expect: the API error the call was designed to get, or NULL. */
static int classify(const iot_result *r, const char *expect)
{
    if (r->cls == IOT_OK)
        return expect ? C_UNEXPECTED : C_OK;
    if (expect && r->cls == IOT_TERMINAL && !strcmp(r->code, expect))
        return C_EXPECTED;
    int injected = strstr(r->message, "(injected by --faults)") != NULL;
    if (r->status == 500 && injected && !strcmp(r->code, "InternalFailureException"))
        return C_500;
    if (r->status == 503 && injected && !strcmp(r->code, "ServiceUnavailableException"))
        return C_503;
    if (r->status == 400 && injected && !strcmp(r->code, "ThrottlingException"))
        return C_THROTTLE;
    if (r->cls == IOT_RETRY_TRANSPORT && r->status == 0)
        return C_DROPPED;
    return C_UNEXPECTED;
}

/* Claims the next request slot; 0 when all are sent. */
static long claim(load *l)
{
    long k = atomic_fetch_add(&l->sent, 1);
    return k < l->o->requests ? k + 1 : 0;
}

/* One call of an item: records it; 1 when it got what it was designed to
 * get. wrong: why a successful answer's content is wrong, or NULL. */
static int record(load *l, long k, int op, const iot_result *r, const char *wrong,
                  double dt)
{
    int c = wrong ? C_UNEXPECTED : classify(r, ops[op].expect);
    atomic_fetch_add(&l->counts[c], 1);
    route_op ro = route_by_name(ops[op].name);
    if (ro != ROUTE_NONE)
        atomic_fetch_add(&l->by_route[ro][c], 1);
    l->lat[k - 1] = dt;
    if (c == C_UNEXPECTED) {
        atomic_fetch_add(&l->op_unexpected[op], 1);
        pthread_mutex_lock(&l->mu);
        if (!l->first_unexpected[0]) {
            if (wrong)
                snprintf(l->first_unexpected, sizeof l->first_unexpected, "%s: %s",
                         ops[op].label, wrong);
            else
                iot_result_format(r, l->first_unexpected, sizeof l->first_unexpected);
        }
        pthread_mutex_unlock(&l->mu);
    }
    return c == C_OK || c == C_EXPECTED;
}

static int new_client(iot_client **c, const char *url, err *e)
{
    iot_target t;
    iot_target_set(&t, url, REGION, NULL, AKID, SECRET, NULL, NULL);
    iot_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.target = &t;
    cfg.timeout_ms = 20000;
    int rc = iot_client_new(c, &cfg, e);
    iot_target_free(&t);
    return rc;
}

static void *client_main(void *arg)
{
    load *l = arg;
    iot_client *c = NULL;
    err e;
    err_clear(&e);
    if (new_client(&c, l->url, &e)) {
        fprintf(stderr, "load_bench: %s\n", e.msg);
        return NULL;
    }
    for (;;) {
        long item = atomic_fetch_add(&l->next_item, 1);
        if ((size_t)item >= l->n_pems)
            base_fatal("load_bench: more items than certificates (faults above 30%?)");
        const char *pem = l->pems[item];
        char thing[64];
        snprintf(thing, sizeof thing, "load-%07ld", item);
        iot_cert_ref ref = {0};
        iot_result r;
        const char *wrong;
        int op = 0, ok = 1;
        for (; op < N_OPS && ok; op++) {
            long k = claim(l);
            if (!k) {
                iot_cert_ref_free(&ref);
                iot_client_free(c);
                return NULL;
            }
            double t0 = bl_now();
            wrong = NULL;
            switch (op) {
            case 0:
                iot_register_certificate(c, pem, "INACTIVE", &ref, &r);
                break;
            case 1: {
                iot_cert_desc d = {0};
                iot_describe_certificate(c, ref.certificate_id, 0, &d, &r);
                iot_cert_desc_free(&d);
                break;
            }
            case 2:
                iot_update_certificate(c, ref.certificate_id, "ACTIVE", &r);
                break;
            case 3: {
                iot_attr attrs[] = {{"serial", thing + 5}, {"line", "L3"}};
                iot_create_thing_req q = {thing, NULL, attrs, 2};
                iot_create_thing(c, &q, NULL, &r);
                break;
            }
            case 4:
                iot_attach_thing_principal(c, thing, ref.certificate_arn, &r);
                break;
            case 5: {
                iot_thing_desc d = {0};
                iot_describe_thing(c, thing, &d, &r);
                iot_thing_desc_free(&d);
                break;
            }
            case 6: {
                iot_name_page pg = {0};
                iot_page_req pr = {0, NULL};
                if (iot_list_thing_principals(c, thing, &pr, &pg, &r) == IOT_OK &&
                    (pg.n != 1 || !pg.items[0].arn ||
                     strcmp(pg.items[0].arn, ref.certificate_arn)))
                    wrong = "not exactly the certificate attached";
                iot_name_page_free(&pg);
                break;
            }
            case 7: {
                iot_cert_ref again = {0};
                iot_register_certificate(c, pem, "INACTIVE", &again, &r);
                if (r.cls == IOT_TERMINAL && strcmp(r.resource_id, ref.certificate_id))
                    wrong = "the 409 names another certificate";
                iot_cert_ref_free(&again);
                break;
            }
            default: {
                char missing[80];
                snprintf(missing, sizeof missing, "load-missing-%07ld", item);
                iot_thing_desc d = {0};
                iot_describe_thing(c, missing, &d, &r);
                iot_thing_desc_free(&d);
                break;
            }
            }
            ok = record(l, k, op, &r, wrong, bl_now() - t0);
        }
        iot_cert_ref_free(&ref);
    }
}

/* Counts the request log's lines, and per operation its lines by class:
 * the injected fault if any, else ok (2xx) or an API error (which the
 * client's count of designed errors must then match). */
static int read_log(const char *path, long *lines, long by_route[ROUTE_COUNT][C_N],
                    err *e)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot read: %s", strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    *lines = 0;
    memset(by_route, 0, sizeof(long) * ROUTE_COUNT * C_N);
    while (getline(&line, &cap, f) > 0) {
        (*lines)++;
        const char *o = strstr(line, "\"op\":\"");
        const char *k = strstr(line, "\"fault\":\"");
        const char *st = strstr(line, "\"status\":");
        if (!o || !k || !st)
            continue;
        o += 6;
        char name[64];
        size_t n = strcspn(o, "\"");
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1),
                 o);
        route_op ro = route_by_name(name);
        if (ro == ROUTE_NONE)
            continue;
        k += 9;
        int c;
        if (!strncmp(k, "500\"", 4))
            c = C_500;
        else if (!strncmp(k, "503\"", 4))
            c = C_503;
        else if (!strncmp(k, "throttle\"", 9))
            c = C_THROTTLE;
        else if (!strncmp(k, "reset\"", 6) || !strncmp(k, "late\"", 5))
            c = C_DROPPED;
        else
            c = st[9] == '2' ? C_OK : C_EXPECTED;
        by_route[ro][c]++;
    }
    free(line);
    fclose(f);
    return 0;
}

static int make_pems(char ***out, size_t n, long serial0, err *e)
{
    EVP_PKEY *key = bl_make_key();
    if (!key) {
        err_set(e, ERR_CRYPTO, NULL, 0, -1, "cannot make an EC key");
        return -1;
    }
    char **v = xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "load-%ld", serial0 + (long)i);
        if (!(v[i] = bl_make_cert(key, cn, serial0 + (long)i, e))) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            EVP_PKEY_free(key);
            return -1;
        }
    }
    EVP_PKEY_free(key);
    *out = v;
    return 0;
}

static void free_pems(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int part1(const opts *o, err *e)
{
    char db[700], log[700], creds[700], errlog[700], creds_arg[710];
    snprintf(db, sizeof db, "%s/load-sim.db", o->workdir);
    snprintf(log, sizeof log, "%s/load-sim.jsonl", o->workdir);
    snprintf(creds, sizeof creds, "%s/creds", o->workdir);
    snprintf(errlog, sizeof errlog, "%s/load-sim.err", o->workdir);
    snprintf(creds_arg, sizeof creds_arg, "@%s", creds);
    FILE *cf = fopen(creds, "w");
    if (!cf || fprintf(cf, "%s:%s\n", AKID, SECRET) < 0 || fclose(cf)) {
        err_set(e, ERR_IO, creds, 0, -1, "cannot write");
        return -1;
    }
    /* enough certificates that each item has its own: an item takes 9
     * requests, fewer when a fault ends it (about 7.7 at the default 4%) */
    size_t n_items = (size_t)(o->requests / 3) + (size_t)o->clients * 2 + 16;
    load l;
    memset(&l, 0, sizeof l);
    l.o = o;
    pthread_mutex_init(&l.mu, NULL);
    double t = bl_now();
    if (make_pems(&l.pems, n_items, 100000, e))
        return -1;
    l.n_pems = n_items;
    printf("part 1: %zu certificates made in %.1f s\n", n_items, bl_now() - t);
    l.lat = xcalloc((size_t)o->requests, sizeof *l.lat);

    const char *args[] = {"--db",      db,      "--quotas", "unlimited",     "--faults",
                          o->faults,   "--log", log,        "--credentials", creds_arg,
                          "--account", ACCOUNT, "--region", REGION,          NULL};
    bl_child sim;
    if (bl_spawn_sim(&sim, o->bin, args, errlog, e)) {
        free_pems(l.pems, l.n_pems);
        free(l.lat);
        return -1;
    }
    l.url = sim.url;
    pthread_t *th = xcalloc((size_t)o->clients, sizeof *th);
    double t0 = bl_now(), cpu0 = bl_proc_cpu_s(sim.pid);
    for (int i = 0; i < o->clients; i++)
        if (pthread_create(&th[i], NULL, client_main, &l))
            base_fatal("load_bench: cannot start a client thread");
    /* the sim's memory once warm (10% of the requests), then at the end */
    long warm_kb = -1;
    while (atomic_load(&l.sent) < o->requests / 10)
        bl_sleep_until(bl_now() + 0.05);
    warm_kb = bl_proc_kb(sim.pid, "VmRSS");
    for (int i = 0; i < o->clients; i++)
        pthread_join(th[i], NULL);
    double wall = bl_now() - t0, cpu = bl_proc_cpu_s(sim.pid) - cpu0;
    long end_kb = bl_proc_kb(sim.pid, "VmRSS"), peak_kb = bl_proc_kb(sim.pid, "VmHWM");
    int sim_rc = bl_reap(&sim);

    long sent = 0;
    for (int c = 0; c < C_N; c++)
        sent += atomic_load(&l.counts[c]);
    long log_lines = 0;
    long(*log_by)[C_N] = xcalloc(ROUTE_COUNT, sizeof *log_by);
    int rc = read_log(log, &log_lines, log_by, e);
    double p50 = bl_percentile(l.lat, (size_t)sent, 50) * 1e3;
    double p99 = bl_percentile(l.lat, (size_t)sent, 99) * 1e3;
    printf("part 1: %d clients, %ld requests in %.1f s: %.0f requests/s, latency p50 "
           "%.2f ms p99 %.2f ms, sim CPU %.0f us/request\n",
           o->clients, sent, wall, (double)sent / wall, p50, p99,
           cpu * 1e6 / (double)sent);
    int fail = rc != 0;
    long log_tot[C_N] = {0};
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int c = 0; c < C_N; c++)
            log_tot[c] += log_by[r][c];
    for (int c = 0; c < C_N; c++) {
        long n = atomic_load(&l.counts[c]);
        if (c == C_UNEXPECTED) {
            printf("  %-22s %8ld\n", class_names[c], n);
            continue;
        }
        int same = n == log_tot[c];
        printf("  %-22s %8ld   sim log %8ld   %s\n", class_names[c], n, log_tot[c],
               same ? "same" : "DIFFERENT");
        fail |= !same || n == 0;
    }
    /* per operation: each class as the client saw it and as the sim logged it */
    printf("  per operation (client = sim log): ok / designed error / 500 / 503 / "
           "throttle / dropped\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        long any = 0;
        int same = 1;
        for (int c = 0; c < C_N; c++) {
            any += atomic_load(&l.by_route[r][c]) + log_by[r][c];
            same &= c == C_UNEXPECTED || atomic_load(&l.by_route[r][c]) == log_by[r][c];
        }
        if (!any)
            continue;
        printf("    %-29s", route_name((route_op)r));
        for (int c = 0; c < C_UNEXPECTED; c++)
            printf(" %ld%s", atomic_load(&l.by_route[r][c]),
                   c + 1 < C_UNEXPECTED ? " /" : "");
        if (!same) {
            printf("   DIFFERENT, sim log:");
            for (int c = 0; c < C_UNEXPECTED; c++)
                printf(" %ld", log_by[r][c]);
        }
        printf("\n");
        fail |= !same;
    }
    free(log_by);
    if (atomic_load(&l.counts[C_UNEXPECTED])) {
        printf("  FAIL: unexpected answers, the first: %s\n", l.first_unexpected);
        for (int op = 0; op < N_OPS; op++)
            if (atomic_load(&l.op_unexpected[op]))
                printf("    %s: %ld\n", ops[op].label, atomic_load(&l.op_unexpected[op]));
        fail = 1;
    }
    printf("  sim request log: %ld lines for %ld requests sent: %s\n", log_lines, sent,
           log_lines == sent ? "same" : "DIFFERENT");
    fail |= log_lines != sent || sent != o->requests;
    printf("  sim exit status after SIGTERM: %d\n", sim_rc);
    fail |= sim_rc != 0;
    double limit_kb = 1.5 * (double)warm_kb + 16 * 1024;
    printf("  sim RSS: warm %.1f MB, end %.1f MB (end / warm %.2f; limit %.1f MB), "
           "peak %.1f MB%s\n",
           warm_kb / 1024.0, end_kb / 1024.0,
           warm_kb > 0 ? (double)end_kb / (double)warm_kb : 0, limit_kb / 1024.0,
           peak_kb / 1024.0, RSS_NOTE);
    if (!LOAD_ASAN)
        fail |= warm_kb <= 0 || end_kb <= 0 || (double)end_kb > limit_kb;
    printf("part 1: %s\n", fail ? "FAIL" : "pass");
    free(th);
    free(l.lat);
    free_pems(l.pems, l.n_pems);
    pthread_mutex_destroy(&l.mu);
    return fail ? 1 : 0;
}

/* ---- part 2: the engine on a large job ------------------------------------ */

static int seed_policy(const char *db, err *e)
{
    reg *r = NULL;
    reg_opts ro = {db, ACCOUNT, REGION};
    if (reg_open(&r, &ro, e) < 0)
        return -1;
    reg_reply rp;
    reg_reply_init(&rp);
    const char *body = "{\"policyDocument\":\"{\\\"Version\\\":\\\"2012-10-17\\\","
                       "\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\",\\\"Action\\\":"
                       "\\\"iot:Connect\\\",\\\"Resource\\\":\\\"*\\\"}]}\"}";
    reg_req q;
    memset(&q, 0, sizeof q);
    q.op = ROUTE_CREATE_POLICY;
    q.label = POLICY;
    q.body = body;
    q.body_len = strlen(body);
    reg_do(r, &q, &rp);
    int rc = rp.status == 200 ? 0 : -1;
    if (rc)
        err_set(e, ERR_INTERNAL, NULL, 0, -1, "seeding the policy: HTTP %d", rp.status);
    reg_reply_free(&rp);
    reg_close(r);
    return rc;
}

/* A Generated file (one base64 PEM per line) of n certificates. */
static int write_generated(const char *path, long n, err *e)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot write: %s", strerror(errno));
        return -1;
    }
    EVP_PKEY *key = bl_make_key();
    int rc = key ? 0 : -1;
    unsigned char *b64 = xmalloc(4096);
    for (long i = 0; i < n && rc == 0; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "engine-load-%07ld", i);
        char *pem = bl_make_cert(key, cn, 5000000L + i, e);
        if (!pem) {
            rc = -1;
            break;
        }
        size_t len = strlen(pem);
        if (len * 4 / 3 + 8 > 4096) {
            rc = -1;
            free(pem);
            break;
        }
        int w = EVP_EncodeBlock(b64, (const unsigned char *)pem, (int)len);
        fwrite(b64, 1, (size_t)w, f);
        fputc('\n', f);
        free(pem);
    }
    free(b64);
    EVP_PKEY_free(key);
    if (fclose(f) || rc) {
        err_set(e, ERR_IO, path, 0, -1, "cannot write the certificates");
        return -1;
    }
    return 0;
}

/* Runs argv to the end with stdout into out_path; its exit status. */
static int run_to(char *const argv[], const char *out_path, err *e)
{
    bl_child c;
    if (bl_spawn(&c, argv, 0, out_path, e))
        return -1;
    return bl_wait(&c);
}

/* Lists every certificate of the registry (retrying the injected faults);
 * prints and returns how many there are, all INACTIVE; -1 on an error. */
static long count_certs(const char *url, long want, err *e)
{
    iot_client *c = NULL;
    if (new_client(&c, url, e))
        return -1;
    long certs = 0, inactive = 0;
    char *marker = NULL;
    for (;;) {
        iot_page_req pr = {250, marker};
        iot_cert_page pg = {0};
        iot_result r;
        int tries = 0;
        while (iot_list_certificates(c, &pr, 1, &pg, &r) != IOT_OK &&
               iot_class_retryable(r.cls) && ++tries < 20)
            ;
        if (r.cls != IOT_OK) {
            char m[600];
            printf("  ListCertificates: %s\n", iot_result_format(&r, m, sizeof m));
            certs = -1;
            break;
        }
        certs += (long)pg.n;
        for (size_t i = 0; i < pg.n; i++)
            inactive += !strcmp(pg.items[i].status, "INACTIVE");
        free(marker);
        marker = pg.next_marker ? xstrdup(pg.next_marker) : NULL;
        iot_cert_page_free(&pg);
        if (!marker)
            break;
    }
    free(marker);
    iot_client_free(c);
    printf("  registry: %ld certificates, %ld INACTIVE (want %ld)\n", certs, inactive,
           want);
    return certs == inactive ? certs : -1;
}

static int part2(const opts *o, err *e)
{
    char db[700], log[700], creds[700], errlog[700], creds_arg[710], gen[700], state[700],
        out[700], st_out[700];
    snprintf(db, sizeof db, "%s/engine-sim.db", o->workdir);
    snprintf(log, sizeof log, "%s/engine-sim.jsonl", o->workdir);
    snprintf(creds, sizeof creds, "%s/creds", o->workdir);
    snprintf(errlog, sizeof errlog, "%s/engine-sim.err", o->workdir);
    snprintf(creds_arg, sizeof creds_arg, "@%s", creds);
    snprintf(gen, sizeof gen, "%s/engine-load.txt", o->workdir);
    snprintf(state, sizeof state, "%s/engine-state", o->workdir);
    snprintf(out, sizeof out, "%s/engine-provision.out", o->workdir);
    snprintf(st_out, sizeof st_out, "%s/engine-status.json", o->workdir);
    FILE *cf = fopen(creds, "w");
    if (!cf || fprintf(cf, "%s:%s\n", AKID, SECRET) < 0 || fclose(cf)) {
        err_set(e, ERR_IO, creds, 0, -1, "cannot write");
        return -1;
    }
    double t = bl_now();
    if (write_generated(gen, o->items, e) || seed_policy(db, e))
        return -1;
    printf("part 2: %ld certificates written in %.1f s\n", o->items, bl_now() - t);
    const char *args[] = {"--db",      db,      "--quotas", "unlimited",     "--faults",
                          o->faults,   "--log", log,        "--credentials", creds_arg,
                          "--account", ACCOUNT, "--region", REGION,          NULL};
    bl_child sim;
    if (bl_spawn_sim(&sim, o->bin, args, errlog, e))
        return -1;

    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_REGION", REGION, 1);
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    /* quotas off: the engine starts each operation at a rate no quota holds back */
    char *argv[] = {(char *)o->bin,
                    "provision",
                    "--endpoint-url",
                    sim.url,
                    "--state",
                    state,
                    "--policies",
                    POLICY,
                    "--rate",
                    "RegisterCertificateWithoutCA=1000000",
                    "--rate",
                    "AttachPolicy=1000000",
                    gen,
                    NULL};
    bl_child pv;
    double t0 = bl_now();
    if (bl_spawn(&pv, argv, 0, out, e)) {
        bl_reap(&sim);
        return -1;
    }
    size_t cap = 1 << 18, n = 0;
    long *rss = xcalloc(cap, sizeof *rss);
    int st = 0;
    for (;;) { /* the provision's memory every 0.1 s until it exits */
        long kb = bl_proc_kb(pv.pid, "VmRSS");
        if (kb > 0 && n < cap)
            rss[n++] = kb;
        if (waitpid(pv.pid, &st, WNOHANG) == pv.pid)
            break;
        bl_sleep_until(bl_now() + 0.1);
    }
    pv.pid = -1;
    int prc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    double wall = bl_now() - t0;
    int fail = prc != 0;
    printf("part 2: provision of %ld items: exit %d in %.1f s, %.0f items/s\n", o->items,
           prc, wall, (double)o->items / wall);
    if (n >= 4) {
        /* flat: nothing in the second half of the job (teardown included)
         * above 1.25 x what it held at the half */
        long late_max = 0;
        for (size_t i = n / 2; i < n; i++)
            late_max = rss[i] > late_max ? rss[i] : late_max;
        printf(
            "  provision RSS at 25/50/75/100%% of the job (%zu samples): %.1f / %.1f / "
            "%.1f / %.1f MB (end / 25%% %.2f, end / half %.2f; second half's peak %.1f "
            "MB = %.2f x half)%s\n",
            n, rss[n / 4] / 1024.0, rss[n / 2] / 1024.0, rss[3 * n / 4] / 1024.0,
            rss[n - 1] / 1024.0, (double)rss[n - 1] / (double)rss[n / 4],
            (double)rss[n - 1] / (double)rss[n / 2], late_max / 1024.0,
            (double)late_max / (double)rss[n / 2], RSS_NOTE);
        if (!LOAD_ASAN)
            fail |= (double)late_max > 1.25 * (double)rss[n / 2];
    } else {
        printf("  provision RSS: too few samples (%zu)\n", n);
        fail = 1;
    }
    free(rss);
    bl_wait(&pv);

    /* the journal */
    char *sargv[] = {(char *)o->bin, "status",   "1",    "--state",
                     state,          "--output", "json", NULL};
    int src = run_to(sargv, st_out, e);
    json_t *j = json_load_file(st_out, 0, NULL);
    json_t *counts = json_object_get(json_object_get(j, "job"), "counts");
    if (!counts)
        counts = json_object_get(j, "counts");
    long done = (long)json_integer_value(json_object_get(counts, "done"));
    long failed = (long)json_integer_value(json_object_get(counts, "failed"));
    printf("  journal: %ld done, %ld failed (status exit %d)\n", done, failed, src);
    fail |= src != 0 || done != o->items || failed != 0;
    json_decref(j);

    /* the registry: every certificate, once */
    long certs = count_certs(sim.url, o->items, e);
    fail |= certs != o->items;
    int sim_rc = bl_reap(&sim);
    printf("  sim exit status after SIGTERM: %d\n", sim_rc);
    fail |= sim_rc != 0;
    printf("part 2: %s\n", fail ? "FAIL" : "pass");
    return fail ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------ */

static const char usage[] =
    "usage: load_bench --bin PATH [--clients N] [--requests N] [--items N]\n"
    "                  [--faults SPEC] [--part sim|engine|both] [--workdir DIR]\n";

int main(int argc, char **argv)
{
    opts o = {.clients = 64,
              .requests = 100000,
              .items = 100000,
              .faults = "500:0.01,503:0.01,throttle:0.01,reset:0.005,late:0.005,seed:7",
              .part = 3};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "load_bench: %s needs a value\n%s", a, usage);
            return 2;
        }
        i++;
        if (!strcmp(a, "--bin"))
            o.bin = v;
        else if (!strcmp(a, "--clients"))
            o.clients = atoi(v);
        else if (!strcmp(a, "--requests"))
            o.requests = atol(v);
        else if (!strcmp(a, "--items"))
            o.items = atol(v);
        else if (!strcmp(a, "--faults"))
            o.faults = v;
        else if (!strcmp(a, "--workdir"))
            snprintf(o.workdir, sizeof o.workdir, "%s", v);
        else if (!strcmp(a, "--part"))
            o.part = !strcmp(v, "sim") ? 1 : !strcmp(v, "engine") ? 2 : 3;
        else {
            fprintf(stderr, "load_bench: unknown option %s\n%s", a, usage);
            return 2;
        }
    }
    if (!o.bin || o.clients < 1 || o.clients > 1024 || o.requests < 100 || o.items < 10) {
        fputs(usage, stderr);
        return 2;
    }
    if (!o.workdir[0]) {
        snprintf(o.workdir, sizeof o.workdir, "/tmp/load_bench.XXXXXX");
        if (!mkdtemp(o.workdir)) {
            perror("load_bench: mkdtemp");
            return 2;
        }
        o.own_workdir = 1;
    } else {
        mkdir(o.workdir, 0700);
    }
    err e;
    err_clear(&e);
    if (iot_global_init(&e)) {
        fprintf(stderr, "load_bench: %s\n", e.msg);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("load_bench: faults %s, work directory %s\n", o.faults, o.workdir);
    int rc = 0;
    if (o.part & 1) {
        int r = part1(&o, &e);
        if (r < 0) {
            char m[800];
            fprintf(stderr, "load_bench: %s\n", err_format(&e, m, sizeof m));
            return 2;
        }
        rc |= r;
    }
    if (o.part & 2) {
        err_clear(&e);
        int r = part2(&o, &e);
        if (r < 0) {
            char m[800];
            fprintf(stderr, "load_bench: %s\n", err_format(&e, m, sizeof m));
            return 2;
        }
        rc |= r;
    }
    if (o.own_workdir && rc == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", o.workdir);
        if (system(cmd) != 0)
            fprintf(stderr, "load_bench: could not remove %s\n", o.workdir);
    }
    printf("load_bench: %s\n", rc ? "FAIL" : "pass");
    return rc;
}
