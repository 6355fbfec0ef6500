/* fault - spec parsing and counter-based fault decisions; see fault.h. */
#include "sim/fault.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "sim/quota.h"

#define WHERE "--faults"
#define ITEM_HINT                                                                        \
    "use 500, 503, throttle, reset, late (with a probability), seed, ops, expire or "    \
    "outage"
#define TWO53 9007199254740992.0 /* 2^53: u is drawn in [0, 2^53) */

struct fault {
    unsigned long long seed;
    unsigned long long key; /* mix(seed) */
    double prob[FAULT_KIND_COUNT];
    /* u < cut[k] and u >= cut[k-1] selects kind k (k >= FAULT_500) */
    unsigned long long cut[FAULT_KIND_COUNT];
    int filtered;                /* an ops: item was given */
    unsigned char *ops;          /* quota_op_count() flags, when filtered */
    unsigned long long expire_s; /* expire:N; 0: credentials never expire */
    unsigned long long outage_from, outage_len; /* outage:S+L; len 0: none */
    _Atomic unsigned long long count[FAULT_KIND_COUNT];
};

static const char *const kind_names[FAULT_KIND_COUNT] = {
    "none", "500", "503", "throttle", "reset", "late",
};

const char *fault_kind_name(fault_kind k)
{
    return (unsigned)k < FAULT_KIND_COUNT ? kind_names[k] : "unknown";
}

/* splitmix64's output function (Steele, Lea, Flood 2014). */
static unsigned long long mix64(unsigned long long z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define GOLDEN 0x9e3779b97f4a7c15ull

/* Parses a plain decimal in [0, 1] from s[0..n). */
static int parse_prob(const char *s, size_t n, double *out)
{
    size_t i = 0;
    double v = 0, scale = 1;
    int digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (s[i++] - '0');
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            scale /= 10;
            v += (s[i++] - '0') * scale;
            digits++;
        }
    }
    if (!digits || i != n || v > 1)
        return -1;
    *out = v;
    return 0;
}

/* Parses an unsigned 64-bit decimal from s[0..n). */
static int parse_u64(const char *s, size_t n, unsigned long long *out)
{
    unsigned long long v = 0;
    if (!n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ull - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Parses "A+B+..." into f->ops. Fills e naming the item on a bad name. */
static int parse_ops(fault *f, const char *s, size_t n, int ilen, const char *item,
                     err *e)
{
    f->filtered = 1;
    f->ops = xcalloc(quota_op_count(), 1);
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < n && s[j] != '+')
            j++;
        char name[64];
        if (j == i || j - i >= sizeof name) {
            err_set(e, ERR_USAGE, WHERE, 0, -1,
                    "\"%.*s\": %s; write ops:CreateThing+AttachPolicy", ilen, item,
                    j == i ? "empty operation name" : "operation name too long");
            return -1;
        }
        memcpy(name, s + i, j - i);
        name[j - i] = '\0';
        int k = quota_op_index(name);
        if (k < 0) {
            err_set(e, ERR_USAGE, WHERE, 0, -1,
                    "\"%.*s\": unknown operation \"%s\"; use AWS IoT operation names the "
                    "sim serves (e.g. CreateThing) joined with +",
                    ilen, item, name);
            return -1;
        }
        f->ops[k] = 1;
        if (j == n)
            return 0;
        i = j + 1;
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses one item s[0..n) (already trimmed) into f. seen tracks repeated keys:
 * bits 0..FAULT_KIND_COUNT-1 for kinds, then seed, then ops. */
static int parse_item(fault *f, const char *s, size_t n, unsigned *seen, err *e)
{
    int ilen = n > 80 ? 80 : (int)n; /* item as quoted in messages */
    const char *colon = memchr(s, ':', n);
    if (!colon) {
        err_set(e, ERR_USAGE, WHERE, 0, -1, "\"%.*s\": expected NAME:VALUE; " ITEM_HINT,
                ilen, s);
        return -1;
    }
    size_t klen = (size_t)(colon - s);
    const char *val = colon + 1;
    size_t vlen = n - klen - 1;
    int bit = -1;
    for (int k = FAULT_500; k < FAULT_KIND_COUNT; k++)
        if (strlen(kind_names[k]) == klen && memcmp(s, kind_names[k], klen) == 0)
            bit = k;
    if (klen == 4 && memcmp(s, "seed", 4) == 0)
        bit = FAULT_KIND_COUNT;
    if (klen == 3 && memcmp(s, "ops", 3) == 0)
        bit = FAULT_KIND_COUNT + 1;
    if (klen == 6 && memcmp(s, "expire", 6) == 0)
        bit = FAULT_KIND_COUNT + 2;
    if (klen == 6 && memcmp(s, "outage", 6) == 0)
        bit = FAULT_KIND_COUNT + 3;
    if (bit < 0) {
        err_set(e, ERR_USAGE, WHERE, 0, -1,
                "\"%.*s\": unknown fault \"%.*s\"; " ITEM_HINT, ilen, s,
                (int)(klen > 40 ? 40 : klen), s);
        return -1;
    }
    if (*seen & (1u << bit)) {
        err_set(e, ERR_USAGE, WHERE, 0, -1,
                "\"%.*s\": \"%.*s\" is given twice; give it once", ilen, s, (int)klen, s);
        return -1;
    }
    *seen |= 1u << bit;
    if (bit == FAULT_KIND_COUNT) {
        if (parse_u64(val, vlen, &f->seed) < 0) {
            err_set(e, ERR_USAGE, WHERE, 0, -1,
                    "\"%.*s\": the seed must be a whole number from 0 to "
                    "18446744073709551615",
                    ilen, s);
            return -1;
        }
        return 0;
    }
    if (bit == FAULT_KIND_COUNT + 1)
        return parse_ops(f, val, vlen, ilen, s, e);
    if (bit == FAULT_KIND_COUNT + 2) {
        if (parse_u64(val, vlen, &f->expire_s) < 0 || f->expire_s == 0 ||
            f->expire_s > 86400ull * 366) {
            err_set(e, ERR_USAGE, WHERE, 0, -1,
                    "\"%.*s\": expire takes whole seconds from 1 to 31622400, like "
                    "expire:20",
                    ilen, s);
            return -1;
        }
        return 0;
    }
    if (bit == FAULT_KIND_COUNT + 3) {
        const char *plus = memchr(val, '+', vlen);
        if (!plus || parse_u64(val, (size_t)(plus - val), &f->outage_from) < 0 ||
            parse_u64(plus + 1, vlen - (size_t)(plus - val) - 1, &f->outage_len) < 0 ||
            f->outage_len == 0 || f->outage_from > 86400ull * 366 ||
            f->outage_len > 86400ull * 366) {
            err_set(e, ERR_USAGE, WHERE, 0, -1,
                    "\"%.*s\": outage takes START+LENGTH in whole seconds from the "
                    "start, like outage:10+90",
                    ilen, s);
            return -1;
        }
        return 0;
    }
    if (parse_prob(val, vlen, &f->prob[bit]) < 0) {
        err_set(e, ERR_USAGE, WHERE, 0, -1,
                "\"%.*s\": the probability must be a decimal from 0 to 1, like 0.03",
                ilen, s);
        return -1;
    }
    return 0;
}

static int parse_spec(fault *f, const char *spec, err *e)
{
    unsigned seen = 0;
    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (a == b) {
            err_set(e, ERR_USAGE, WHERE, 0, -1,
                    "empty item in \"%.80s\"; items are separated by single commas, like "
                    "500:0.03,seed:42",
                    spec);
            return -1;
        }
        if (parse_item(f, a, (size_t)(b - a), &seen, e) < 0)
            return -1;
        if (!*end)
            break;
        p = end + 1;
    }
    double sum = 0;
    for (int k = FAULT_500; k < FAULT_KIND_COUNT; k++)
        sum += f->prob[k];
    if (sum > 1 + 1e-9) {
        err_set(e, ERR_USAGE, WHERE, 0, -1,
                "the probabilities add up to %.6g; their sum must be at most 1", sum);
        return -1;
    }
    return 0;
}

int fault_new(fault **out, const char *spec, err *e)
{
    *out = NULL;
    if (!spec || !spec[0]) {
        err_set(e, ERR_USAGE, WHERE, 0, -1,
                "empty value; give e.g. 500:0.03,503:0.02,throttle:0.03,reset:0.01,"
                "late:0.01,seed:42 or none");
        return -1;
    }
    fault *f = xcalloc(1, sizeof *f);
    for (int k = 0; k < FAULT_KIND_COUNT; k++)
        atomic_init(&f->count[k], 0);
    if (strcmp(spec, "none") != 0 && parse_spec(f, spec, e) < 0) {
        fault_free(f);
        return -1;
    }
    f->key = mix64(f->seed);
    double cum = 0;
    for (int k = FAULT_500; k < FAULT_KIND_COUNT; k++) {
        cum += f->prob[k];
        double c = cum * TWO53;
        f->cut[k] = c >= TWO53 ? (1ull << 53) : (unsigned long long)c;
    }
    double none = 1 - cum;
    f->prob[FAULT_NONE] = none < 0 ? 0 : none;
    *out = f;
    return 0;
}

int fault_applies(const fault *f, const char *op)
{
    if (!f)
        return 0;
    if (!f->filtered)
        return 1;
    int i = quota_op_index(op);
    return i >= 0 && f->ops[i];
}

fault_kind fault_decide(fault *f, const char *op, unsigned long long seq)
{
    if (!f)
        return FAULT_NONE;
    fault_kind k = FAULT_NONE;
    if (fault_applies(f, op)) {
        unsigned long long u = mix64(f->key + (seq + 1) * GOLDEN) >> 11;
        for (int i = FAULT_500; i < FAULT_KIND_COUNT; i++) {
            if (u < f->cut[i]) {
                k = (fault_kind)i;
                break;
            }
        }
    }
    atomic_fetch_add_explicit(&f->count[k], 1, memory_order_relaxed);
    return k;
}

unsigned long long fault_count(const fault *f, fault_kind k)
{
    if (!f || (unsigned)k >= FAULT_KIND_COUNT)
        return 0;
    return atomic_load_explicit(&f->count[k], memory_order_relaxed);
}

double fault_probability(const fault *f, fault_kind k)
{
    if ((unsigned)k >= FAULT_KIND_COUNT)
        return 0;
    if (!f)
        return k == FAULT_NONE ? 1 : 0;
    return f->prob[k];
}

int fault_outage_at(const fault *f, const char *op, double since_start)
{
    return f && f->outage_len && since_start >= (double)f->outage_from &&
           since_start < (double)(f->outage_from + f->outage_len) &&
           (!op || fault_applies(f, op));
}

unsigned long long fault_expire_seconds(const fault *f)
{
    return f ? f->expire_s : 0;
}

unsigned long long fault_seed(const fault *f)
{
    return f ? f->seed : 0;
}

int fault_http_status(fault_kind k)
{
    switch (k) {
    case FAULT_500:
        return 500;
    case FAULT_503:
        return 503;
    case FAULT_THROTTLE:
        return 400;
    default:
        return 0;
    }
}

const char *fault_error_code(fault_kind k)
{
    switch (k) {
    case FAULT_500:
        return "InternalFailureException";
    case FAULT_503:
        return "ServiceUnavailableException";
    case FAULT_THROTTLE:
        return "ThrottlingException";
    default:
        return NULL;
    }
}

const char *fault_error_message(fault_kind k)
{
    switch (k) {
    case FAULT_500:
        return "An unexpected error has occurred (injected by --faults)";
    case FAULT_503:
        return "The service is temporarily unavailable (injected by --faults)";
    case FAULT_THROTTLE:
        return "Rate exceeded (injected by --faults)";
    default:
        return NULL;
    }
}

void fault_free(fault *f)
{
    if (!f)
        return;
    free(f->ops);
    free(f);
}
