/* SigV4 canonicalisation, signing and verification (see sigv4.h).
 *
 * Everything is built in bufs and hashed with OpenSSL's SHA-256 (HMAC on top
 * of it, see below); the derived keys live on the stack and are wiped with
 * OPENSSL_cleanse() before return. Nothing here keeps state between calls but
 * the process-wide, immutable SHA-256 method handle. */
#include "iot/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/b64.h"
#include "base/xalloc.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define MAX_SKEW_SECONDS (15 * 60)

/* ---- hashing ----
 *
 * OpenSSL 3 looks the algorithm up again on every SHA256()/HMAC() call (an
 * implicit fetch, ~2 us per HMAC), which would be most of the cost of a
 * signature. SHA-256 is fetched once per process instead and HMAC is built
 * on it (RFC 2104); the one reference is dropped at exit. */

static EVP_MD *g_sha256;

static void drop_sha256(void)
{
    EVP_MD *md = __atomic_exchange_n(&g_sha256, NULL, __ATOMIC_ACQ_REL);
    EVP_MD_free(md);
}

static const EVP_MD *sha256_md(void)
{
    EVP_MD *md = __atomic_load_n(&g_sha256, __ATOMIC_ACQUIRE);
    if (md)
        return md;
    EVP_MD *fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!fetched)
        return EVP_sha256(); /* implicit fetch on each use: slower, same result */
    EVP_MD *expected = NULL;
    if (__atomic_compare_exchange_n(&g_sha256, &expected, fetched, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        /* registered after OpenSSL's own exit handler, so it runs first */
        atexit(drop_sha256);
        return fetched;
    }
    EVP_MD_free(fetched); /* another thread won */
    return expected;
}

static void sha256(unsigned char out[32], const void *p, size_t n)
{
    static const unsigned char empty = 0;
    if (!EVP_Digest(n ? p : &empty, n, out, NULL, sha256_md(), NULL))
        base_fatal("SHA-256 failed (OpenSSL)");
}

static void sha256_hex(char out[65], const void *p, size_t n)
{
    unsigned char md[32];
    sha256(md, p, n);
    hex_encode(out, md, sizeof md);
}

static EVP_MD_CTX *md_ctx(void)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c)
        base_fatal("out of memory");
    return c;
}

/* out = SHA-256(a || b) */
static void digest2(EVP_MD_CTX *c, unsigned char out[32], const void *a, size_t an,
                    const void *b, size_t bn)
{
    unsigned int len = 32;
    if (!EVP_DigestInit_ex(c, sha256_md(), NULL) || !EVP_DigestUpdate(c, a, an) ||
        (bn && !EVP_DigestUpdate(c, b, bn)) || !EVP_DigestFinal_ex(c, out, &len))
        base_fatal("SHA-256 failed (OpenSSL)");
}

/* HMAC-SHA256 (RFC 2104); out may alias key. */
static void hmac(EVP_MD_CTX *c, unsigned char out[32], const unsigned char *key,
                 size_t key_len, const char *msg)
{
    unsigned char k[64], pad[64], inner[32];
    memset(k, 0, sizeof k);
    if (key_len > sizeof k)
        digest2(c, k, key, key_len, NULL, 0);
    else
        memcpy(k, key, key_len);
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    digest2(c, inner, pad, 64, msg, strlen(msg));
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    digest2(c, out, pad, 64, inner, sizeof inner);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
}

void sigv4_signature(char out[65], const char *secret_key, const char *date,
                     const char *region, const char *service, const char *string_to_sign)
{
    size_t slen = strlen(secret_key);
    unsigned char *k0 = xmalloc(slen + 4);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret_key, slen);
    char d8[9];
    snprintf(d8, sizeof d8, "%.8s", date);
    unsigned char k[32], sig[32];
    EVP_MD_CTX *c = md_ctx();
    hmac(c, k, k0, slen + 4, d8);
    hmac(c, k, k, 32, region);
    hmac(c, k, k, 32, service);
    hmac(c, k, k, 32, "aws4_request");
    hmac(c, sig, k, 32, string_to_sign);
    EVP_MD_CTX_free(c);
    hex_encode(out, sig, sizeof sig);
    OPENSSL_cleanse(k0, slen + 4);
    OPENSSL_cleanse(k, sizeof k);
    free(k0);
}

/* ---- small string helpers ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Case-insensitive equality of name[0..n) (trimmed) with the lowercase lname. */
static int name_eq(const char *name, const char *lname)
{
    while (is_space(*name))
        name++;
    size_t n = strlen(name);
    while (n && is_space(name[n - 1]))
        n--;
    if (strlen(lname) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(name[i]) != lname[i])
            return 0;
    return 1;
}

/* Lowercased, trimmed copy of a header name. */
static char *lower_name(const char *name)
{
    while (is_space(*name))
        name++;
    size_t n = strlen(name);
    while (n && is_space(name[n - 1]))
        n--;
    char *s = xstrndup(name, n);
    for (size_t i = 0; i < n; i++)
        s[i] = lower(s[i]);
    return s;
}

/* Appends value trimmed, with every inner run of whitespace (including the
 * CR/LF of a folded header) squeezed to one space. */
static void put_value(buf *out, const char *v)
{
    if (!v)
        return;
    while (is_space(*v))
        v++;
    int pending = 0;
    for (; *v; v++) {
        if (is_space(*v)) {
            pending = 1;
            continue;
        }
        if (pending)
            buf_putc(out, ' ');
        pending = 0;
        buf_putc(out, *v);
    }
}

void sigv4_uri_encode(buf *out, const char *s, size_t len, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_reserve(out, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
            buf_putc(out, (char)c);
        } else {
            char t[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(out, t, 3);
        }
    }
}

/* Percent-decodes s[0..len) into out; a '%' not followed by two hex digits is
 * kept as is ('+' is not a space in SigV4). */
static void percent_decode(buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < len && (h = hexval(s[i + 1])) >= 0 &&
            (l = hexval(s[i + 2])) >= 0) {
            buf_putc(out, (char)(h << 4 | l));
            i += 2;
        } else {
            buf_putc(out, s[i]);
        }
    }
}

/* ---- canonical URI ---- */

/* RFC 3986 §5.2.4 dot-segment removal, also dropping empty segments (repeated
 * '/'), as botocore and aws-c-auth do: a leading '/' is kept, a trailing one
 * is kept when anything is left. */
static void normalize_path(buf *out, const char *p, size_t len)
{
    size_t *starts = xmalloc((len / 2 + 2) * sizeof *starts);
    size_t nseg = 0;
    buf tmp = BUF_INIT;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && p[j] != '/')
            j++;
        size_t n = j - i;
        if (n == 0 || (n == 1 && p[i] == '.')) {
            /* empty or "." */
        } else if (n == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (nseg) {
                nseg--;
                tmp.len = starts[nseg];
                tmp.data[tmp.len] = '\0';
            }
        } else {
            starts[nseg++] = tmp.len;
            buf_putc(&tmp, '/');
            buf_append(&tmp, p + i, n);
        }
        i = j + 1;
    }
    if (len && p[0] != '/' && tmp.len) /* relative path: no leading '/' */
        buf_append(out, tmp.data + 1, tmp.len - 1);
    else if (tmp.len)
        buf_append(out, tmp.data, tmp.len);
    else if (len && p[0] == '/')
        buf_putc(out, '/');
    if (tmp.len && len && p[len - 1] == '/')
        buf_putc(out, '/');
    buf_free(&tmp);
    free(starts);
}

static void canonical_uri(buf *out, const char *path, int flags)
{
    if (!path || !*path)
        path = "/";
    buf norm = BUF_INIT;
    const char *p = path;
    size_t len = strlen(path);
    if (flags & SIGV4_NORMALIZE_PATH) {
        normalize_path(&norm, path, len);
        if (norm.len == 0)
            buf_putc(&norm, '/');
        p = norm.data;
        len = norm.len;
    }
    if (flags & SIGV4_DOUBLE_ENCODE)
        sigv4_uri_encode(out, p, len, 1);
    else
        buf_append(out, p, len);
    buf_free(&norm);
}

/* ---- canonical query ---- */

typedef struct {
    char *key; /* encoded */
    char *val; /* encoded */
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->val, y->val);
}

/* Encodes s[0..len) the canonical way: decode whatever percent-encoding the
 * sender used, then encode per SigV4, so "%E1%88%B4" and raw UTF-8 agree. */
static char *canon_component(const char *s, size_t len)
{
    buf dec = BUF_INIT, enc = BUF_INIT;
    percent_decode(&dec, s, len);
    sigv4_uri_encode(&enc, dec.data ? dec.data : "", dec.len, 0);
    buf_free(&dec);
    return buf_take(&enc, NULL);
}

static void canonical_query(buf *out, const char *query)
{
    if (!query || !*query)
        return;
    size_t cap = 1;
    for (const char *q = query; *q; q++)
        cap += *q == '&';
    qpair *pairs = xcalloc(cap, sizeof *pairs);
    size_t n = 0;
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg) {
            const char *eq = memchr(p, '=', seg);
            size_t klen = eq ? (size_t)(eq - p) : seg;
            pairs[n].key = canon_component(p, klen);
            pairs[n].val = eq ? canon_component(eq + 1, seg - klen - 1) : xstrdup("");
            n++;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    qsort(pairs, n, sizeof *pairs, qpair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(out, '&');
        buf_puts(out, pairs[i].key);
        buf_putc(out, '=');
        buf_puts(out, pairs[i].val);
        free(pairs[i].key);
        free(pairs[i].val);
    }
    free(pairs);
}

/* ---- canonical headers ---- */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, de-duplicated, lowercased names: from the ';'-list `list` when not
 * NULL, else from every header of req except `exclude` (lowercase or NULL). */
static size_t signed_names(char ***out, const sigv4_request *req, const char *list,
                           const char *exclude)
{
    size_t cap = 1, n = 0;
    char **names;
    if (list) {
        for (const char *s = list; *s; s++)
            cap += *s == ';';
        names = xcalloc(cap, sizeof *names);
        const char *p = list;
        for (;;) {
            const char *semi = strchr(p, ';');
            size_t len = semi ? (size_t)(semi - p) : strlen(p);
            char *nm = xstrndup(p, len);
            char *l = lower_name(nm);
            free(nm);
            if (*l)
                names[n++] = l;
            else
                free(l);
            if (!semi)
                break;
            p = semi + 1;
        }
    } else {
        cap = req->n_headers + 1;
        names = xcalloc(cap, sizeof *names);
        for (size_t i = 0; i < req->n_headers; i++) {
            char *l = lower_name(req->headers[i].name ? req->headers[i].name : "");
            if (!*l || (exclude && strcmp(l, exclude) == 0))
                free(l);
            else
                names[n++] = l;
        }
    }
    qsort(names, n, sizeof *names, str_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && strcmp(names[w - 1], names[i]) == 0)
            free(names[i]);
        else
            names[w++] = names[i];
    }
    *out = names;
    return w;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The whole canonical request into out; the signed-headers list into sh. */
static int canonical(buf *out, buf *sh, const sigv4_request *req, const char *list,
                     int flags, err *e)
{
    char **names = NULL;
    const char *exclude =
        (flags & SIGV4_SIGN_TOKEN) || list ? NULL : "x-amz-security-token";
    size_t n = signed_names(&names, req, list, exclude);
    int rc = -1;
    if (n == 0) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "SigV4: no headers to sign (host is required)");
        goto out;
    }
    buf_puts(out, req->method ? req->method : "GET");
    buf_putc(out, '\n');
    canonical_uri(out, req->path, flags);
    buf_putc(out, '\n');
    canonical_query(out, req->query);
    buf_putc(out, '\n');
    for (size_t i = 0; i < n; i++) {
        buf_puts(out, names[i]);
        buf_putc(out, ':');
        int found = 0;
        for (size_t h = 0; h < req->n_headers; h++) {
            if (!req->headers[h].name || !name_eq(req->headers[h].name, names[i]))
                continue;
            if (found++)
                buf_putc(out, ',');
            put_value(out, req->headers[h].value);
        }
        if (!found) {
            err_set(e, ERR_USAGE, NULL, 0, -1,
                    "SigV4: signed header '%.64s' is not in the request", names[i]);
            goto out;
        }
        buf_putc(out, '\n');
    }
    buf_putc(out, '\n');
    size_t sh_start = out->len;
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(out, ';');
        buf_puts(out, names[i]);
    }
    if (sh)
        buf_append(sh, out->data + sh_start, out->len - sh_start);
    buf_putc(out, '\n');
    char hex[65];
    sha256_hex(hex, req->body, req->body ? req->body_len : 0);
    buf_puts(out, hex);
    rc = 0;
out:
    free_names(names, n);
    return rc;
}

int sigv4_canonical_request(buf *out, const sigv4_request *req,
                            const char *signed_headers, int flags, err *e)
{
    return canonical(out, NULL, req, signed_headers, flags, e);
}

int sigv4_string_to_sign(buf *out, const char *canonical_request, const char *amz_date,
                         const char *region, const char *service)
{
    if (!canonical_request || !amz_date || strlen(amz_date) < 8 || !region || !service)
        return -1;
    char hex[65];
    sha256_hex(hex, canonical_request, strlen(canonical_request));
    buf_printf(out, ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date, amz_date,
               region, service, hex);
    return 0;
}

static const char *find_header(const sigv4_request *req, const char *lname, int *count)
{
    const char *v = NULL;
    *count = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (req->headers[i].name && name_eq(req->headers[i].name, lname)) {
            if (!(*count)++)
                v = req->headers[i].value ? req->headers[i].value : "";
        }
    }
    return v;
}

/* Header value trimmed into out (size n); 0, or -1 if it does not fit. */
static int trimmed(char *out, size_t n, const char *v)
{
    while (is_space(*v))
        v++;
    size_t len = strlen(v);
    while (len && is_space(v[len - 1]))
        len--;
    if (len >= n)
        return -1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
}

int sigv4_sign(buf *authz, const sigv4_request *req, const sigv4_key *key,
               const char *amz_date, int flags, err *e)
{
    int count;
    const char *v;
    char val[32];
    if (!key || !key->access_key || !*key->access_key || !key->secret_key ||
        !key->region || !*key->region || !key->service || !*key->service) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "SigV4: access key, secret key, region and service are required");
        return -1;
    }
    if (!amz_date || strlen(amz_date) != 16) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "SigV4: the date must be YYYYMMDDTHHMMSSZ");
        return -1;
    }
    if (!find_header(req, "host", &count)) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "SigV4: the request has no Host header");
        return -1;
    }
    v = find_header(req, "x-amz-date", &count);
    if (!v || count != 1 || trimmed(val, sizeof val, v) || strcmp(val, amz_date) != 0) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "SigV4: the request needs one X-Amz-Date header equal to %s", amz_date);
        return -1;
    }
    if (key->session_token && *key->session_token && (flags & SIGV4_SIGN_TOKEN)) {
        v = find_header(req, "x-amz-security-token", &count);
        /* compared, never printed: the token is a secret */
        buf t = BUF_INIT;
        if (v)
            put_value(&t, v);
        int same = v && count == 1 && t.len == strlen(key->session_token) &&
                   CRYPTO_memcmp(t.data, key->session_token, t.len) == 0;
        buf_free(&t);
        if (!same) {
            err_set(e, ERR_USAGE, NULL, 0, -1,
                    "SigV4: the request needs one X-Amz-Security-Token header with the "
                    "session token");
            return -1;
        }
    }
    buf creq = BUF_INIT, sh = BUF_INIT, sts = BUF_INIT;
    int rc = -1;
    if (canonical(&creq, &sh, req, NULL, flags, e) < 0)
        goto out;
    sigv4_string_to_sign(&sts, creq.data, amz_date, key->region, key->service);
    char sig[65];
    sigv4_signature(sig, key->secret_key, amz_date, key->region, key->service, sts.data);
    buf_printf(authz,
               ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
                         "Signature=%s",
               key->access_key, amz_date, key->region, key->service, sh.data, sig);
    rc = 0;
out:
    buf_free(&creq);
    buf_free(&sh);
    buf_free(&sts);
    return rc;
}

/* ---- verification ---- */

const char *sigv4_verdict_name(sigv4_verdict v)
{
    switch (v) {
    case SIGV4_OK:
        return "ok";
    case SIGV4_MISSING:
        return "missing";
    case SIGV4_UNKNOWN_KEY:
        return "unknown-key";
    case SIGV4_BAD_SIGNATURE:
        return "bad-signature";
    case SIGV4_STALE:
        return "stale";
    case SIGV4_BAD_SCOPE:
        return "bad-scope";
    }
    return "unknown";
}

static sigv4_verdict verdict(sigv4_verdict v, char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sigv4_verdict verdict(sigv4_verdict v, char *why, size_t n, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
        for (char *p = why; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
    }
    return v;
}

/* Printable copy of an untrusted token for a message (at most n-1 bytes). */
static void printable(char *out, size_t n, const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len && w + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[w++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[w] = '\0';
}

typedef struct {
    char akid[129];
    char date[9];
    char region[64];
    char service[64];
    char *signed_headers; /* owned */
    char signature[65];
} authz_parts;

/* Parses "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=a;b, Signature=hex". 0, or -1 when malformed. */
static int parse_authz(authz_parts *a, const char *v)
{
    while (is_space(*v))
        v++;
    size_t alen = strlen(ALGORITHM);
    if (strncmp(v, ALGORITHM, alen) != 0 || !is_space(v[alen]))
        return -1;
    const char *p = v + alen;
    int have_cred = 0, have_sig = 0;
    while (*p) {
        while (is_space(*p) || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && is_space(p[len - 1]))
            len--;
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return -1;
        size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
        const char *val = eq + 1;
        if (klen == 10 && strncmp(p, "Credential", 10) == 0 && !have_cred) {
            /* AKID/YYYYMMDD/region/service/aws4_request */
            const char *f[5];
            size_t fl[5];
            size_t nf = 0;
            const char *s = val, *stop = val + vlen;
            while (nf < 5) {
                const char *slash = memchr(s, '/', (size_t)(stop - s));
                f[nf] = s;
                fl[nf] = slash ? (size_t)(slash - s) : (size_t)(stop - s);
                nf++;
                if (!slash)
                    break;
                s = slash + 1;
            }
            if (nf != 5 || f[4] + fl[4] != stop || fl[4] != 12 ||
                strncmp(f[4], "aws4_request", 12) != 0 || fl[0] == 0 ||
                fl[0] >= sizeof a->akid || fl[1] != 8 || fl[2] == 0 ||
                fl[2] >= sizeof a->region || fl[3] == 0 || fl[3] >= sizeof a->service)
                return -1;
            memcpy(a->akid, f[0], fl[0]);
            a->akid[fl[0]] = '\0';
            memcpy(a->date, f[1], 8);
            a->date[8] = '\0';
            memcpy(a->region, f[2], fl[2]);
            a->region[fl[2]] = '\0';
            memcpy(a->service, f[3], fl[3]);
            a->service[fl[3]] = '\0';
            have_cred = 1;
        } else if (klen == 13 && strncmp(p, "SignedHeaders", 13) == 0 &&
                   !a->signed_headers) {
            if (vlen == 0)
                return -1;
            a->signed_headers = xstrndup(val, vlen);
        } else if (klen == 9 && strncmp(p, "Signature", 9) == 0 && !have_sig) {
            if (vlen != 64)
                return -1;
            for (size_t i = 0; i < 64; i++) {
                if (hexval(val[i]) < 0)
                    return -1;
                a->signature[i] = lower(val[i]);
            }
            a->signature[64] = '\0';
            have_sig = 1;
        } else {
            return -1; /* unknown or repeated component */
        }
        p += len;
        while (*p && *p != ',')
            p++;
    }
    return have_cred && have_sig && a->signed_headers ? 0 : -1;
}

/* Unix time of "YYYYMMDDTHHMMSSZ"; -1 when malformed. */
static long long parse_amz_date(const char *s)
{
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    int f[6];
    static const int pos[6] = {0, 4, 6, 9, 11, 13}, len[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0; i < 6; i++) {
        int v = 0;
        for (int j = 0; j < len[i]; j++) {
            char c = s[pos[i] + j];
            if (c < '0' || c > '9')
                return -1;
            v = v * 10 + (c - '0');
        }
        f[i] = v;
    }
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
        f[5] > 60)
        return -1;
    /* days from civil (proleptic Gregorian), no timegm/TZ dependency */
    int y = f[0] - (f[1] <= 2);
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (f[1] + (f[1] > 2 ? -3 : 9)) + 2) / 5 + f[2] - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return days * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
}

void sigv4_amz_date(char out[17], long long t)
{
    long long days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    long long secs = t - days * 86400;
    /* civil from days */
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, 17, "%04lld%02lld%02lldT%02lld%02lld%02lldZ", y % 10000, m, d,
             secs / 3600, secs / 60 % 60, secs % 60);
}

/* Whether `name` is one of the ','-separated names in `list`. */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int list_has(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

sigv4_verdict sigv4_verify(const sigv4_request *req, const char *region,
                           const char *service, long long now, sigv4_secret_fn secret,
                           void *ctx, char *why, size_t why_len)
{
    authz_parts a;
    memset(&a, 0, sizeof a);
    sigv4_verdict v = SIGV4_OK;
    buf creq = BUF_INIT, sts = BUF_INIT;
    char **names = NULL;
    size_t n_names = 0;
    char tok[40];
    int count;
    if (why && why_len)
        why[0] = '\0';

    const char *authz = find_header(req, "authorization", &count);
    if (!authz) {
        v = verdict(SIGV4_MISSING, why, why_len, "no Authorization header");
        goto out;
    }
    if (count > 1) {
        v = verdict(SIGV4_MISSING, why, why_len, "more than one Authorization header");
        goto out;
    }
    if (parse_authz(&a, authz) < 0) {
        v = verdict(SIGV4_MISSING, why, why_len,
                    "malformed Authorization header: expected " ALGORITHM
                    " Credential=AKID/DATE/REGION/SERVICE/aws4_request, "
                    "SignedHeaders=..., Signature=<64 hex>");
        goto out;
    }
    n_names = signed_names(&names, req, a.signed_headers, NULL);
    if (!list_has(names, n_names, "host") || !list_has(names, n_names, "x-amz-date")) {
        v = verdict(SIGV4_MISSING, why, why_len,
                    "SignedHeaders must include host and x-amz-date");
        goto out;
    }
    const char *dv = find_header(req, "x-amz-date", &count);
    char amz_date[20];
    if (!dv || count != 1) {
        v = verdict(SIGV4_MISSING, why, why_len,
                    dv ? "more than one X-Amz-Date header" : "no X-Amz-Date header");
        goto out;
    }
    long long t = -1;
    if (trimmed(amz_date, sizeof amz_date, dv) == 0)
        t = parse_amz_date(amz_date);
    if (t < 0) {
        v = verdict(SIGV4_MISSING, why, why_len, "X-Amz-Date is not YYYYMMDDTHHMMSSZ");
        goto out;
    }

    const char *sk = secret ? secret(ctx, a.akid) : NULL;
    if (!sk) {
        printable(tok, sizeof tok, a.akid, strlen(a.akid));
        v = verdict(SIGV4_UNKNOWN_KEY, why, why_len,
                    "the access key %s is not known to this endpoint", tok);
        goto out;
    }
    if (strcmp(a.region, region ? region : "") != 0) {
        printable(tok, sizeof tok, a.region, strlen(a.region));
        v = verdict(SIGV4_BAD_SCOPE, why, why_len,
                    "credential scope region '%s' is not this endpoint's region '%.32s'",
                    tok, region ? region : "");
        goto out;
    }
    if (service && !in_list(service, a.service)) {
        printable(tok, sizeof tok, a.service, strlen(a.service));
        v = verdict(SIGV4_BAD_SCOPE, why, why_len,
                    "credential scope service '%s' is not '%.40s'", tok, service);
        goto out;
    }
    if (strncmp(a.date, amz_date, 8) != 0) {
        printable(tok, sizeof tok, a.date, strlen(a.date));
        v = verdict(SIGV4_BAD_SCOPE, why, why_len,
                    "credential scope date %s does not match X-Amz-Date %s", tok,
                    amz_date);
        goto out;
    }
    long long skew = t - now;
    if (skew > MAX_SKEW_SECONDS || skew < -MAX_SKEW_SECONDS) {
        v = verdict(
            SIGV4_STALE, why, why_len,
            "signature expired: X-Amz-Date %s is %lld s %s the server time (at most "
            "%d s allowed; check the clock)",
            amz_date, skew < 0 ? -skew : skew, skew < 0 ? "before" : "after",
            MAX_SKEW_SECONDS);
        goto out;
    }

    int tries = strcmp(a.service, "s3") == 0 ? 2 : 1;
    for (int i = 0; i < tries; i++) {
        int flags = i == 0 ? SIGV4_DEFAULT : SIGV4_DEFAULT & ~SIGV4_DOUBLE_ENCODE;
        err e;
        err_clear(&e);
        buf_reset(&creq);
        buf_reset(&sts);
        if (canonical(&creq, NULL, req, a.signed_headers, flags, &e) < 0) {
            v = verdict(SIGV4_BAD_SIGNATURE, why, why_len, "%s", e.msg);
            goto out;
        }
        sigv4_string_to_sign(&sts, creq.data, amz_date, a.region, a.service);
        char sig[65];
        sigv4_signature(sig, sk, amz_date, a.region, a.service, sts.data);
        if (CRYPTO_memcmp(sig, a.signature, 64) == 0) {
            v = SIGV4_OK;
            goto out;
        }
    }
    v = verdict(SIGV4_BAD_SIGNATURE, why, why_len,
                "the signature does not match (signed headers %.120s): check the secret "
                "key and that nothing changed the request after signing",
                a.signed_headers);
out:
    free(a.signed_headers);
    if (names)
        free_names(names, n_names);
    buf_free(&creq);
    buf_free(&sts);
    return v;
}
