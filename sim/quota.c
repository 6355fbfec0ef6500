/* quota - per-operation token buckets (GCRA); see quota.h for the design. */
#include "sim/quota.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "iot/op.h"

#define MAX_FILE_BYTES (1024 * 1024)
#define SPEC_HINT "--quotas takes aws-default, aws-default*K, unlimited or a JSON file"

/* The aws-default table is the operation table's tps column (iot/ops.def);
 * bucket i is operation i. */
#define NOPS ((size_t)IOT_OP_COUNT)

static double default_rate(size_t i)
{
    return iot_op_get((iot_op)i)->tps;
}

/* One operation's bucket. `tat` is GCRA's theoretical arrival time: the clock
 * reading at which the bucket will be full again (every allowed call paid back
 * at one interval each); a call is allowed when advancing it by one interval
 * keeps it within `limit` (burst x interval) of now. Cache-line aligned so that busy
 * operations do not slow each other. */
struct bucket {
    _Alignas(64) _Atomic unsigned long long tat;
    _Atomic unsigned long long allowed;
    _Atomic unsigned long long throttled;
    unsigned long long interval; /* ns per call; 0 = unlimited */
    unsigned long long limit;    /* ns */
    double rate;
    double burst;
};

struct quota {
    char *spec;
    quota_clock_fn clock;
    void *clock_ctx;
    /* table order, then one shared bucket for operations outside the table */
    struct bucket b[NOPS + 1];
};

size_t quota_op_count(void)
{
    return NOPS;
}

const char *quota_op_name(size_t i)
{
    return i < NOPS ? iot_op_name((iot_op)i) : NULL;
}

int quota_op_index(const char *op)
{
    return (int)iot_op_by_name(op); /* IOT_OP_NONE is -1 */
}

double quota_aws_default(const char *op)
{
    int i = quota_op_index(op);
    return i < 0 ? QUOTA_UNLIMITED : default_rate((size_t)i);
}

static unsigned long long monotonic_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void bucket_init(struct bucket *b, double rate)
{
    atomic_init(&b->tat, 0);
    atomic_init(&b->allowed, 0);
    atomic_init(&b->throttled, 0);
    b->rate = rate;
    if (rate <= 0) {
        b->rate = QUOTA_UNLIMITED;
        b->burst = 0;
        b->interval = 0;
        b->limit = 0;
        return;
    }
    b->burst = rate < 1 ? 1 : rate;
    double interval = 1e9 / rate;
    /* Rounded down, so a client calling at exactly the rate is never throttled
     * (the bucket is lax by under 1 ns per interval: 350 TPS runs at
     * 350.00002/s). The limit is computed from the rounded interval, so that an
     * integral burst is exactly that many calls. */
    b->interval = interval < 1 ? 1 : (unsigned long long)interval;
    b->limit = (unsigned long long)llround(b->burst * (double)b->interval);
}

static struct bucket *bucket_of(const quota *q, const char *op)
{
    int i = quota_op_index(op);
    return (struct bucket *)&q->b[i < 0 ? NOPS : (size_t)i];
}

/* 1-based line of the first `"key"` in text, 0 when not found (escaped keys). */
static unsigned long key_line(const char *text, size_t len, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen + 2 <= len; i++) {
        if (text[i] == '"' && memcmp(text + i + 1, key, klen) == 0 &&
            text[i + 1 + klen] == '"') {
            unsigned long line = 1;
            for (size_t j = 0; j < i; j++)
                line += text[j] == '\n';
            return line;
        }
    }
    return 0;
}

/* Reads the whole file into a fresh buffer (caller frees). */
static char *read_file(const char *path, size_t *len, err *e)
{
    char *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open quota file: %s; " SPEC_HINT,
                strerror(errno));
        return NULL;
    }
    data = xmalloc(MAX_FILE_BYTES + 1);
    size_t n = fread(data, 1, MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        err_set(e, ERR_IO, path, 0, -1, "cannot read quota file: %s; " SPEC_HINT,
                strerror(errno));
        goto fail;
    }
    if (n > MAX_FILE_BYTES) {
        err_set(e, ERR_LIMIT, path, 0, -1,
                "quota file is over %d bytes; a quota table is a small JSON object",
                MAX_FILE_BYTES);
        goto fail;
    }
    fclose(f);
    data[n] = '\0';
    *len = n;
    return data;
fail:
    fclose(f);
    free(data);
    return NULL;
}

/* A rate value: a number in (0, QUOTA_MAX_RATE] or "unlimited". */
static int parse_rate(json_t *v, const char *key, const char *path, unsigned long line,
                      double *rate, err *e)
{
    if (json_is_string(v) && strcmp(json_string_value(v), "unlimited") == 0) {
        *rate = QUOTA_UNLIMITED;
        return 0;
    }
    if (json_is_number(v)) {
        double r = json_number_value(v);
        if (isfinite(r) && r > 0 && r <= QUOTA_MAX_RATE) {
            *rate = r;
            return 0;
        }
    }
    char *shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    err_set(e, ERR_FORMAT, path, line, -1,
            "\"%s\": %.40s is not a rate; give calls per second above 0 (at most %.0f) "
            "or \"unlimited\"",
            key, shown ? shown : "value", QUOTA_MAX_RATE);
    free(shown);
    return -1;
}

static int load_file(quota *q, const char *path, err *e)
{
    int rc = -1;
    size_t len = 0;
    json_t *root = NULL;
    double rates[NOPS] = {0};
    int named[NOPS] = {0};
    int has_default = 0;
    double def = QUOTA_UNLIMITED;
    char *text = read_file(path, &len, e);
    if (!text)
        goto out;
    json_error_t je;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        err_set(e, ERR_FORMAT, path, je.line > 0 ? (unsigned long)je.line : 0, -1,
                "not valid JSON: %s; a quota file looks like "
                "{\"CreateThing\": 50, \"default\": 20}",
                je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        err_set(e, ERR_FORMAT, path, 0, -1,
                "a quota file is a JSON object of operation name to calls per second, "
                "like {\"CreateThing\": 50, \"default\": 20}");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        unsigned long line = key_line(text, len, key);
        if (strcmp(key, "default") == 0) {
            if (parse_rate(v, key, path, line, &def, e) < 0)
                goto out;
            has_default = 1;
            continue;
        }
        int i = quota_op_index(key);
        if (i < 0) {
            err_set(e, ERR_FORMAT, path, line, -1,
                    "unknown operation \"%.80s\"; use an AWS IoT operation name the sim "
                    "serves (e.g. CreateThing, AttachPolicy) or \"default\"",
                    key);
            goto out;
        }
        if (parse_rate(v, key, path, line, &rates[i], e) < 0)
            goto out;
        named[i] = 1;
    }
    for (size_t i = 0; i < NOPS; i++)
        bucket_init(&q->b[i], named[i] ? rates[i] : has_default ? def : default_rate(i));
    bucket_init(&q->b[NOPS], has_default ? def : QUOTA_UNLIMITED);
    rc = 0;
out:
    json_decref(root);
    free(text);
    return rc;
}

/* "aws-default" (scale 1) or "aws-default*K" (every quota times K, as an
 * account with raised quotas): *scale > 0. Anything else: *scale = 0. */
static int is_scaled_default(const char *spec, double *scale, err *e)
{
    static const char base[] = "aws-default";
    *scale = 0;
    if (strncmp(spec, base, sizeof base - 1) != 0)
        return 0;
    const char *p = spec + sizeof base - 1;
    if (!*p) {
        *scale = 1;
        return 0;
    }
    if (*p != '*')
        return 0;
    char *end = NULL;
    errno = 0;
    double k = strtod(p + 1, &end);
    if (errno || end == p + 1 || *end || !(k > 0) || k > 1e6) {
        err_set(e, ERR_USAGE, "--quotas", 0, -1,
                "'%s': aws-default*K takes a factor K between 0 and 1000000", spec);
        return -1;
    }
    *scale = k;
    return 0;
}

int quota_new(quota **out, const char *spec, err *e)
{
    *out = NULL;
    if (!spec || !spec[0]) {
        err_set(e, ERR_USAGE, "--quotas", 0, -1, "empty value; " SPEC_HINT);
        return -1;
    }
    quota *q = aligned_alloc(_Alignof(quota), sizeof *q);
    if (!q)
        base_fatal("out of memory");
    memset(q, 0, sizeof *q);
    q->spec = xstrdup(spec);
    q->clock = monotonic_ns;
    double scale = 0;
    if (is_scaled_default(spec, &scale, e) < 0) {
        quota_free(q);
        return -1;
    }
    if (scale > 0) {
        for (size_t i = 0; i < NOPS; i++)
            bucket_init(&q->b[i], default_rate(i) * scale);
        bucket_init(&q->b[NOPS], QUOTA_UNLIMITED);
    } else if (strcmp(spec, "unlimited") == 0) {
        for (size_t i = 0; i <= NOPS; i++)
            bucket_init(&q->b[i], QUOTA_UNLIMITED);
    } else if (load_file(q, spec, e) < 0) {
        quota_free(q);
        return -1;
    }
    *out = q;
    return 0;
}

void quota_set_clock(quota *q, quota_clock_fn fn, void *ctx)
{
    q->clock = fn ? fn : monotonic_ns;
    q->clock_ctx = fn ? ctx : NULL;
}

int quota_take(quota *q, const char *op)
{
    if (!q)
        return 0;
    struct bucket *b = bucket_of(q, op);
    if (!b->interval) {
        atomic_fetch_add_explicit(&b->allowed, 1, memory_order_relaxed);
        return 0;
    }
    unsigned long long now = q->clock(q->clock_ctx);
    unsigned long long old = atomic_load_explicit(&b->tat, memory_order_relaxed);
    for (;;) {
        unsigned long long next = (old > now ? old : now) + b->interval;
        if (next - now > b->limit) {
            atomic_fetch_add_explicit(&b->throttled, 1, memory_order_relaxed);
            return 1;
        }
        /* On failure `old` is reloaded: another call got in first; re-check. */
        if (atomic_compare_exchange_weak_explicit(
                &b->tat, &old, next, memory_order_relaxed, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&b->allowed, 1, memory_order_relaxed);
            return 0;
        }
    }
}

double quota_rate(const quota *q, const char *op)
{
    return q ? bucket_of(q, op)->rate : QUOTA_UNLIMITED;
}

double quota_burst(const quota *q, const char *op)
{
    return q ? bucket_of(q, op)->burst : 0;
}

void quota_stats(const quota *q, const char *op, unsigned long long *allowed,
                 unsigned long long *throttled)
{
    struct bucket *b = q ? bucket_of(q, op) : NULL;
    if (allowed)
        *allowed = b ? atomic_load_explicit(&b->allowed, memory_order_relaxed) : 0;
    if (throttled)
        *throttled = b ? atomic_load_explicit(&b->throttled, memory_order_relaxed) : 0;
}

const char *quota_spec(const quota *q)
{
    return q ? q->spec : "";
}

void quota_free(quota *q)
{
    if (!q)
        return;
    free(q->spec);
    free(q);
}
