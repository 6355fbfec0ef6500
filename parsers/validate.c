/* The validation rules of DESIGN.md §5 (see validate.h).
 *
 * Duplicates: every item leaves one record of two 64-bit hashes (thing name,
 * fingerprint; 0 = none) in a chunked array indexed by its ordinal (the n-th
 * item seen), and two open-addressing tables of uint32 ordinals (linear
 * probing, power-of-two size, grown at 0.75 load) point into it. That is
 * 16 bytes per item plus 2 x 4 bytes per slot: about 33 MB for 1,000,000
 * items. The hashes are SipHash-2-4 with a random key per val, so a crafted
 * file can neither flood a table nor forge a collision; two distinct values
 * share a 64-bit hash with probability about n^2 / 2^65 (3e-8 at a million).
 * Fingerprints are hashed lowercased, so a duplicate that differs only in
 * case is found. Thing names are case-sensitive, as in AWS IoT. */
#include "parsers/validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/xalloc.h"

#define NAME_MAX_LEN 128
#define ATTR_VALUE_MAX_LEN 800
#define REC_CHUNK 16384 /* records per chunk (256 KiB) */

typedef struct {
    uint64_t name_h; /* 0: no thing name */
    uint64_t fp_h;   /* 0: no fingerprint */
} rec;

typedef struct {
    uint32_t *slots; /* 0 empty, else ordinal + 1 */
    size_t cap;      /* power of two */
    size_t count;
} table;

struct val {
    val_opts o;
    long long now;
    uint64_t k0, k1; /* SipHash key */
    rec **chunks;
    size_t n_chunks, cap_chunks;
    uint32_t n; /* records (items seen) */
    /* item index of each ordinal; NULL while they have all been equal */
    size_t *index;
    size_t cap_index;
    table names, fps;
};

/* ---- SipHash-2-4 (Aumasson & Bernstein), 64-bit output ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                         \
    do {                                                                                 \
        v0 += v1;                                                                        \
        v1 = ROTL(v1, 13);                                                               \
        v1 ^= v0;                                                                        \
        v0 = ROTL(v0, 32);                                                               \
        v2 += v3;                                                                        \
        v3 = ROTL(v3, 16);                                                               \
        v3 ^= v2;                                                                        \
        v0 += v3;                                                                        \
        v3 = ROTL(v3, 21);                                                               \
        v3 ^= v0;                                                                        \
        v2 += v1;                                                                        \
        v1 = ROTL(v1, 17);                                                               \
        v1 ^= v2;                                                                        \
        v2 = ROTL(v2, 32);                                                               \
    } while (0)

static uint64_t load64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    const unsigned char *end = in + (len - len % 8);
    for (; in != end; in += 8) {
        uint64_t m = load64le(in);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- messages ---- */

static void say(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t n, const char *fmt, ...)
{
    if (!why || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

/* A value as it may appear in a one-line message: printable ASCII kept,
 * anything else as \xHH, cut at `keep` characters with "...". */
static const char *show(char *out, size_t n, const char *s, size_t keep)
{
    size_t o = 0, i = 0;
    for (; s[i] && i < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            if (o + 2 > n)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 5 > n)
                break;
            snprintf(out + o, n - o, "\\x%02x", c);
            o += 4;
        }
    }
    if (s[i] && o + 4 <= n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* One character for "contains 'X'": the character, or \xHH. */
static const char *show_char(char out[8], unsigned char c)
{
    if (c >= 0x20 && c < 0x7f && c != '\'')
        snprintf(out, 8, "%c", c);
    else if (c == '\'')
        snprintf(out, 8, "\\'");
    else
        snprintf(out, 8, "\\x%02x", c);
    return out;
}

/* ---- character classes ---- */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* ^[a-zA-Z0-9:_-]$ : thing names, thing type names, thing group names */
static int name_char(unsigned char c)
{
    return is_alnum(c) || c == ':' || c == '_' || c == '-';
}

/* ^[a-zA-Z0-9_.,@/:#-]$ */
static int attr_name_char(unsigned char c)
{
    return is_alnum(c) || (c && strchr("_.,@/:#-", c));
}

/* ^[a-zA-Z0-9_.,@/:#=\[\]-]$ */
static int attr_value_char(unsigned char c)
{
    return is_alnum(c) || (c && strchr("_.,@/:#=[]-", c));
}

/* ^[\w+=,.@-]$ (IAM-style policy names) */
static int policy_char(unsigned char c)
{
    return is_alnum(c) || (c && strchr("_+=,.@-", c));
}

/* Index of the first character outside the class, or len when none. */
static size_t first_bad(const char *s, size_t len, int (*ok)(unsigned char))
{
    size_t i = 0;
    while (i < len && ok((unsigned char)s[i]))
        i++;
    return i;
}

/* The shared shape of every name rule: 1..max characters from a class. */
static item_verdict check_charset(const char *label, const char *s, size_t min,
                                  size_t max, int (*ok)(unsigned char),
                                  const char *allowed, char *why, size_t n)
{
    char shown[96], ch[8];
    if (!s) {
        say(why, n, "%s is missing", label);
        return ITEM_ERROR;
    }
    size_t len = strlen(s);
    if (len < min) {
        say(why, n, "%s is empty", label);
        return ITEM_ERROR;
    }
    if (len > max) {
        say(why, n, "%s is %zu characters, more than %zu ('%s')", label, len, max,
            show(shown, sizeof shown, s, 40));
        return ITEM_ERROR;
    }
    size_t bad = first_bad(s, len, ok);
    if (bad < len) {
        say(why, n, "%s '%s' contains '%s' at position %zu (allowed: %s)", label,
            show(shown, sizeof shown, s, 40), show_char(ch, (unsigned char)s[bad]),
            bad + 1, allowed);
        return ITEM_ERROR;
    }
    return ITEM_OK;
}

static item_verdict check_name(const char *label, const char *name, char *why, size_t n)
{
    item_verdict r = check_charset(label, name, 1, NAME_MAX_LEN, name_char,
                                   "letters, digits, ':', '_', '-'", why, n);
    if (r != ITEM_OK)
        return r;
    if (strchr(name, ':')) {
        say(why, n,
            "%s contains ':' (allowed, but the name must be URL-encoded twice when "
            "signing requests; some tools get that wrong)",
            label);
        return ITEM_WARN;
    }
    return ITEM_OK;
}

/* ---- single rules ---- */

item_verdict val_check_thing_name(const char *name, char *why, size_t n)
{
    return check_name("thing name", name, why, n);
}

item_verdict val_check_fingerprint(const char *fp, char *why, size_t n)
{
    if (!fp) {
        say(why, n, "Missing certFingerprint");
        return ITEM_ERROR;
    }
    size_t len = strlen(fp);
    if (strchr(fp, ':')) {
        say(why, n,
            "Invalid certFingerprint format (must be 64 hex chars): remove the colons");
        return ITEM_ERROR;
    }
    if (len != 64) {
        say(why, n,
            "Invalid certFingerprint format (must be 64 hex chars), got %zu chars%s", len,
            len == 40 && first_bad(fp, len, is_hex) == len
                ? " (a SHA-1 fingerprint? use the SHA-256 one)"
                : "");
        return ITEM_ERROR;
    }
    size_t bad = first_bad(fp, len, is_hex);
    if (bad < len) {
        char ch[8];
        say(why, n,
            "certFingerprint must contain only hex characters (0-9, a-f, A-F), got '%s' "
            "at position %zu",
            show_char(ch, (unsigned char)fp[bad]), bad + 1);
        return ITEM_ERROR;
    }
    return ITEM_OK;
}

item_verdict val_check_attr_name(const char *name, char *why, size_t n)
{
    return check_charset("attribute name", name, 1, NAME_MAX_LEN, attr_name_char,
                         "letters, digits and _ . , @ / : # -", why, n);
}

item_verdict val_check_attr_value(const char *value, char *why, size_t n)
{
    if (!value) {
        say(why, n, "attribute values must be strings");
        return ITEM_ERROR;
    }
    return check_charset("attribute value", value, 0, ATTR_VALUE_MAX_LEN, attr_value_char,
                         "letters, digits and _ . , @ / : # = [ ] -", why, n);
}

item_verdict val_check_thing_type_name(const char *name, char *why, size_t n)
{
    return check_charset("thing type name", name, 1, NAME_MAX_LEN, name_char,
                         "letters, digits, ':', '_', '-'", why, n);
}

item_verdict val_check_policies(const char *const *names, size_t count, char *why,
                                size_t n)
{
    if (count > VAL_MAX_POLICIES) {
        say(why, n, "%zu policies, more than the %d AWS IoT attaches to one certificate",
            count, VAL_MAX_POLICIES);
        return ITEM_ERROR;
    }
    for (size_t i = 0; i < count; i++) {
        item_verdict r =
            check_charset("policy name", names[i], 1, NAME_MAX_LEN, policy_char,
                          "letters, digits and _ + = , . @ -", why, n);
        if (r != ITEM_OK)
            return r;
    }
    return ITEM_OK;
}

/* ---- the duplicate tables ---- */

static rec *rec_at(val *v, uint32_t ord)
{
    return &v->chunks[ord / REC_CHUNK][ord % REC_CHUNK];
}

static void rec_push(val *v, rec r)
{
    if (v->n % REC_CHUNK == 0) {
        if (v->n_chunks == v->cap_chunks) {
            v->cap_chunks = v->cap_chunks ? v->cap_chunks * 2 : 16;
            v->chunks = xrealloc(v->chunks, v->cap_chunks * sizeof *v->chunks);
        }
        v->chunks[v->n_chunks++] = xmalloc(REC_CHUNK * sizeof(rec));
    }
    *rec_at(v, v->n) = r;
    v->n++;
}

static uint64_t rec_hash(const rec *r, int fp)
{
    return fp ? r->fp_h : r->name_h;
}

static void table_grow(val *v, table *t, int fp)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    uint32_t *slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < t->cap; i++) {
        uint32_t s = t->slots[i];
        if (!s)
            continue;
        size_t j = (size_t)rec_hash(rec_at(v, s - 1), fp) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = s;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
}

/* Looks h up; returns the ordinal of the earlier record with the same hash,
 * or -1 after adding ord. */
static long long table_find_or_add(val *v, table *t, int fp, uint64_t h, uint32_t ord)
{
    if ((t->count + 1) * 4 > t->cap * 3)
        table_grow(v, t, fp);
    size_t j = (size_t)h & (t->cap - 1);
    for (;;) {
        uint32_t s = t->slots[j];
        if (!s)
            break;
        if (rec_hash(rec_at(v, s - 1), fp) == h)
            return (long long)(s - 1);
        j = (j + 1) & (t->cap - 1);
    }
    t->slots[j] = ord + 1;
    t->count++;
    return -1;
}

static uint64_t nonzero(uint64_t h)
{
    return h ? h : 1;
}

static int is_fingerprint(const char *fp)
{
    size_t len = strlen(fp);
    return len == 64 && first_bad(fp, len, is_hex) == len;
}

static size_t index_of(const val *v, uint32_t ord)
{
    return v->index ? v->index[ord] : ord;
}

/* The duplicate keys of an item: pure, so it runs with the per-item rules. */
static void dup_keys(const val *v, item *it)
{
    it->dup_keys[0] = it->dup_keys[1] = 0;
    if (it->thing_name && it->thing_name[0])
        it->dup_keys[0] = nonzero(siphash(
            v->k0, v->k1, (const unsigned char *)it->thing_name, strlen(it->thing_name)));
    /* a device item built without the reader may have only the given one */
    const char *fp = it->fingerprint;
    if (!is_fingerprint(fp) && it->is_device && it->given_fingerprint)
        fp = it->given_fingerprint;
    if (is_fingerprint(fp)) {
        char low[65];
        item_fp_key(low, sizeof low, fp);
        /* a different key, so a name can never match a fingerprint's hash */
        it->dup_keys[1] = nonzero(siphash(v->k1, v->k0, (const unsigned char *)low, 64));
    }
    it->dup_keys_set = 1;
}

static void check_duplicates(val *v, item *it)
{
    if (v->n == UINT32_MAX - 1)
        return; /* 4 billion items: beyond what the tables can name */
    uint32_t ord = v->n;
    if (!it->dup_keys_set)
        dup_keys(v, it);
    rec r = {it->dup_keys[0], it->dup_keys[1]};
    /* the item index, kept only once it differs from the ordinal */
    if (!v->index && it->index != ord) {
        v->cap_index = (size_t)ord + 1024;
        v->index = xmalloc(v->cap_index * sizeof *v->index);
        for (uint32_t i = 0; i < ord; i++)
            v->index[i] = i;
    }
    if (v->index) {
        if (ord == v->cap_index) {
            v->cap_index *= 2;
            v->index = xrealloc(v->index, v->cap_index * sizeof *v->index);
        }
        v->index[ord] = it->index;
    }
    rec_push(v, r);

    if (r.name_h) {
        long long prev = table_find_or_add(v, &v->names, 0, r.name_h, ord);
        if (prev >= 0)
            item_flag(it, ITEM_ERROR, "duplicate %s: same as item %zu",
                      it->is_device ? "deviceId" : "thing name",
                      index_of(v, (uint32_t)prev));
    }
    if (r.fp_h) {
        long long prev = table_find_or_add(v, &v->fps, 1, r.fp_h, ord);
        if (prev >= 0)
            item_flag(it, ITEM_ERROR, "duplicate fingerprint: same as item %zu",
                      index_of(v, (uint32_t)prev));
    }
}

/* ---- the per-item rules ---- */

static void flag_rule(item *it, item_verdict r, const char *prefix, const char *why)
{
    if (r != ITEM_OK)
        item_flag(it, r, "%s%s", prefix, why);
}

static void format_day(char out[16], long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, 16, "?");
        return;
    }
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static void check_attributes(const val *v, item *it)
{
    char why[ITEM_MSG_MAX], shown[96];
    int typed = v->o.has_thing_type || (it->device_type && it->device_type[0]);
    size_t max = typed ? VAL_MAX_ATTRS_TYPED : VAL_MAX_ATTRS;
    if (it->n_attrs > max) {
        if (typed)
            item_flag(it, ITEM_ERROR, "%zu attributes, more than the %d allowed",
                      it->n_attrs, VAL_MAX_ATTRS_TYPED);
        else
            item_flag(
                it, ITEM_ERROR,
                "%zu attributes, more than the %d allowed without a thing type (give "
                "the job a thing type: --thing-type, or the console's Thing type "
                "field%s)",
                it->n_attrs, VAL_MAX_ATTRS, it->is_device ? " or a deviceType" : "");
    }
    /* the first bad attribute in full, then how many more */
    size_t bad = 0;
    for (size_t i = 0; i < it->n_attrs; i++) {
        const item_attr *a = &it->attrs[i];
        item_verdict r = val_check_attr_name(a->name, why, sizeof why);
        int of_value = r == ITEM_OK;
        if (of_value)
            r = val_check_attr_value(a->value, why, sizeof why);
        if (r == ITEM_OK || bad++)
            continue;
        if (of_value)
            item_flag(it, r, "attribute '%s': %s", show(shown, sizeof shown, a->name, 40),
                      why);
        else
            item_flag(it, r, "%s", why);
    }
    if (bad > 1)
        item_flag(it, ITEM_ERROR, "%zu more attributes with problems", bad - 1);
}

static void check_certificate(const val *v, item *it)
{
    char day[16];
    if (it->pem_chars > VAL_MAX_PEM_CHARS)
        item_flag(
            it, ITEM_ERROR,
            "certificate is %zu characters as PEM, more than the %d AWS IoT accepts",
            it->pem_chars, VAL_MAX_PEM_CHARS);
    if (it->not_after && it->not_after < v->now) {
        format_day(day, it->not_after);
        item_flag(it, ITEM_WARN, "certificate expired on %s", day);
    }
    if (it->not_before && it->not_before > v->now) {
        format_day(day, it->not_before);
        item_flag(it, ITEM_WARN, "certificate not yet valid until %s", day);
    }
}

void val_item_rules(const val *v, item *it)
{
    char why[ITEM_MSG_MAX];
    /* an item the reader already rejected explained why its fields are
     * missing; only a field that is there gets a rule */
    int explained = it->verdict == ITEM_ERROR;

    if (it->is_device) {
        if (it->given_fingerprint)
            flag_rule(it, val_check_fingerprint(it->given_fingerprint, why, sizeof why),
                      "", why);
        else if (!explained)
            item_flag(it, ITEM_ERROR, "Missing certFingerprint");
        if (it->thing_name)
            flag_rule(it, check_name("deviceId", it->thing_name, why, sizeof why), "",
                      why);
        else if (!explained)
            item_flag(it, ITEM_ERROR, "Missing deviceId");
        if (it->device_type && it->device_type[0])
            flag_rule(it, val_check_thing_type_name(it->device_type, why, sizeof why),
                      "deviceType: ", why);
    } else {
        if (it->thing_name && it->thing_name[0])
            flag_rule(it, check_name("thing name", it->thing_name, why, sizeof why), "",
                      why);
        else if (!explained)
            item_flag(it, ITEM_ERROR, "%s",
                      it->name_from_cn
                          ? "certificate has no subject CN to name the thing"
                          : "no thing name (the vendor's name field is empty)");
    }
    if (it->n_attrs)
        check_attributes(v, it);
    if (it->der_len > 0)
        check_certificate(v, it);
    dup_keys(v, it);
}

void val_item_file(val *v, item *it)
{
    check_duplicates(v, it);
}

void val_item(val *v, item *it)
{
    val_item_rules(v, it);
    val_item_file(v, it);
}

/* ---- life cycle ---- */

static void random_key(uint64_t *k0, uint64_t *k1)
{
    uint64_t k[2];
    if (getrandom(k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) {
        /* no entropy yet (early boot): still differs per process and run */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)k;
        k[1] = (uint64_t)time(NULL) * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)ts.tv_sec;
    }
    *k0 = k[0];
    *k1 = k[1];
}

val *val_new(const val_opts *opts)
{
    val *v = xcalloc(1, sizeof *v);
    if (opts)
        v->o = *opts;
    v->now = v->o.now ? v->o.now : (long long)time(NULL);
    random_key(&v->k0, &v->k1);
    return v;
}

void val_free(val *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_chunks; i++)
        free(v->chunks[i]);
    free(v->chunks);
    free(v->index);
    free(v->names.slots);
    free(v->fps.slots);
    free(v);
}
