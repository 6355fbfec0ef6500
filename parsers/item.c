#include "parsers/item.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/xalloc.h"
#include "parsers/cert.h"

void item_init(item *it)
{
    memset(it, 0, sizeof *it);
}

void item_clear(item *it)
{
    free(it->where);
    free(it->thing_name);
    free(it->raw);
    free(it->der);
    free(it->chain);
    free(it->subject_cn);
    free(it->given_fingerprint);
    free(it->device_type);
    for (size_t i = 0; i < it->n_attrs; i++) {
        free(it->attrs[i].name);
        free(it->attrs[i].value);
    }
    free(it->attrs);
    item_init(it);
}

void item_flag(item *it, item_verdict v, const char *fmt, ...)
{
    char msg[ITEM_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    if (v > it->verdict) {
        it->verdict = v;
        snprintf(it->message, sizeof it->message, "%s", msg);
    } else if (v == it->verdict && v != ITEM_OK) {
        size_t n = strlen(it->message);
        if (n == 0)
            snprintf(it->message, sizeof it->message, "%s", msg);
        else if (n + 2 < sizeof it->message)
            snprintf(it->message + n, sizeof it->message - n, "; %s", msg);
    }
}

const char *item_verdict_name(item_verdict v)
{
    switch (v) {
    case ITEM_OK:
        return "ok";
    case ITEM_WARN:
        return "warn";
    case ITEM_ERROR:
        return "error";
    }
    return "?";
}

static int starts_with(const unsigned char *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && !memcmp(p, prefix, k);
}

/* raw -> der, per raw_kind. Returns 0 or -1 with the item flagged. */
static int raw_to_der(item *it)
{
    char why[ITEM_MSG_MAX];
    switch (it->raw_kind) {
    case RAW_NONE:
        return 0;
    case RAW_DER:
        it->der = (unsigned char *)it->raw;
        it->der_len = it->raw_len;
        it->raw = NULL;
        return 0;
    case RAW_PEM:
        if (cert_pem_to_der(&it->der, &it->der_len, it->raw, it->raw_len, why,
                            sizeof why)) {
            item_flag(it, ITEM_ERROR, "%s", why);
            return -1;
        }
        return 0;
    case RAW_B64: {
        /* a typical line decodes to ~1 KB: use the stack, not the allocator */
        unsigned char stack[8192];
        size_t max = b64_decoded_max(it->raw_len);
        unsigned char *bytes = max <= sizeof stack ? stack : xmalloc(max);
        size_t n = 0, bad = 0;
        if (b64_decode(bytes, &n, it->raw, it->raw_len, B64_STD | B64_SKIP_SPACE, &bad)) {
            if (bytes != stack)
                free(bytes);
            item_flag(it, ITEM_ERROR, "not valid base64 (at column %zu)", bad + 1);
            return -1;
        }
        if (starts_with(bytes, n, "-----BEGIN")) {
            /* upstream's format: base64 of the PEM text */
            int rc = cert_pem_to_der(&it->der, &it->der_len, (const char *)bytes, n, why,
                                     sizeof why);
            if (bytes != stack)
                free(bytes);
            if (rc) {
                item_flag(it, ITEM_ERROR, "base64 of a PEM text, but %s", why);
                return -1;
            }
            return 0;
        }
        if (n > 0 && bytes[0] == 0x30) { /* base64 of DER */
            it->der = bytes != stack ? bytes : xmemdup(bytes, n);
            it->der_len = n;
            return 0;
        }
        if (bytes != stack)
            free(bytes);
        item_flag(it, ITEM_ERROR, "decodes to neither a PEM certificate nor DER");
        return -1;
    }
    }
    return 0;
}

void item_decode(item *it)
{
    if (it->raw_kind == RAW_NONE && !it->raw)
        return;
    int rc = raw_to_der(it);
    free(it->raw);
    it->raw = NULL;
    it->raw_len = 0;
    it->raw_kind = RAW_NONE;
    if (rc || !it->der)
        return;

    char why[ITEM_MSG_MAX];
    cert_info ci;
    it->pem_chars = cert_pem_size(it->der_len);
    if (cert_inspect(&ci, it->der, it->der_len, 0, why, sizeof why)) {
        item_flag(it, ITEM_ERROR, "%s", why);
        return;
    }
    cert_fingerprint(it->fingerprint, it->der, it->der_len);
    it->not_before = ci.not_before;
    it->not_after = ci.not_after;
    if (ci.cn) {
        free(it->subject_cn);
        it->subject_cn = xstrndup((const char *)ci.cn, ci.cn_len);
        if (memchr(ci.cn, '\0', ci.cn_len))
            item_flag(it, ITEM_ERROR, "subject CN contains a NUL byte");
    }
    if (it->name_from_cn && !it->thing_name && it->subject_cn)
        it->thing_name = xstrdup(it->subject_cn);
}

char *item_fp_key(char *out, size_t n, const char *fp)
{
    if (!n)
        return out;
    size_t i = 0;
    for (; fp && fp[i] && i + 1 < n; i++) {
        char c = fp[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[i] = '\0';
    return out;
}
