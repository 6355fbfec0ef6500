/* PEM bundles (.pem, .crt: many CERTIFICATE blocks, text between ignored) and
 * DER files (.der, .cer: one certificate, or several concatenated). Thing
 * name = subject CN.
 *
 * PEM streams line by line and buffers one block at most (capped: AWS takes
 * at most 65,536 characters of PEM). Blocks of other types (a private key
 * pasted into the bundle, say) are skipped and noted, never echoed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "parsers/cert.h"
#include "parsers/lines.h"
#include "parsers/src_impl.h"
#include "parsers/validate.h"

typedef struct {
    lines *in;
    char *path;
    buf block;
    buf notes;
    size_t certs;
    size_t max_line;
    unsigned long pending_begin; /* a BEGIN line already read, for the next call */
} pem;

static int has_prefix(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && !memcmp(s, p, k);
}

/* Block size cap: the AWS limit plus slack for CRLF and trailing spaces. */
enum { BLOCK_CAP = VAL_MAX_PEM_CHARS * 2 };

static int pem_next(void *state, item *out, err *e)
{
    pem *p = state;
    const char *line;
    size_t len;
    unsigned long lineno, begin_line = 0;
    int too_long, in_cert = 0, oversized = 0;
    char other[64] = "";

    if (p->pending_begin) {
        in_cert = 1;
        begin_line = p->pending_begin;
        p->pending_begin = 0;
        buf_reset(&p->block);
        buf_puts(&p->block, "-----BEGIN CERTIFICATE-----\n");
    }
    for (;;) {
        int rc = lines_next(p->in, &line, &len, &lineno, &too_long, e);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (in_cert) {
                out->line = begin_line;
                out->name_from_cn = 1;
                item_flag(
                    out, ITEM_ERROR,
                    "PEM block starting at line %lu has no -----END CERTIFICATE----- "
                    "line",
                    begin_line);
                buf_reset(&p->block);
                p->certs++;
                return 1;
            }
            if (other[0])
                buf_printf(&p->notes, "line %lu: %s block has no END line\n", begin_line,
                           other);
            if (p->certs == 0) {
                err_set(e, ERR_FORMAT, p->path, 0, -1,
                        "no PEM certificate (-----BEGIN CERTIFICATE-----) found");
                return -1;
            }
            return 0;
        }
        if (too_long) {
            if (in_cert)
                oversized = 1;
            continue;
        }
        if (other[0]) { /* skipping a non-certificate block */
            if (has_prefix(line, len, "-----END "))
                other[0] = '\0';
            continue;
        }
        if (has_prefix(line, len, "-----BEGIN CERTIFICATE-----")) {
            if (in_cert) { /* a BEGIN inside a block: report the first, start anew */
                out->line = begin_line;
                out->name_from_cn = 1;
                item_flag(
                    out, ITEM_ERROR,
                    "PEM block starting at line %lu has no END line before the next "
                    "BEGIN (line %lu)",
                    begin_line, lineno);
                buf_reset(&p->block);
                p->certs++;
                p->pending_begin = lineno;
                return 1;
            }
            in_cert = 1;
            oversized = 0;
            begin_line = lineno;
            buf_reset(&p->block);
            buf_append(&p->block, line, len);
            buf_putc(&p->block, '\n');
            continue;
        }
        if (!in_cert) {
            if (has_prefix(line, len, "-----BEGIN ")) {
                size_t k = len - 11;
                const char *t = line + 11;
                const char *dash = memchr(t, '-', k);
                size_t tl = dash ? (size_t)(dash - t) : k;
                if (tl >= sizeof other)
                    tl = sizeof other - 1;
                memcpy(other, t, tl);
                other[tl] = '\0';
                if (!other[0])
                    snprintf(other, sizeof other, "unnamed");
                buf_printf(&p->notes,
                           "line %lu: skipped a %s block (not a certificate)\n", lineno,
                           other);
            }
            continue; /* text between blocks is ignored */
        }
        if (p->block.len + len + 1 > BLOCK_CAP)
            oversized = 1;
        if (!oversized) {
            buf_append(&p->block, line, len);
            buf_putc(&p->block, '\n');
        }
        if (has_prefix(line, len, "-----END CERTIFICATE-----")) {
            out->line = begin_line;
            out->name_from_cn = 1;
            p->certs++;
            if (oversized) {
                item_flag(out, ITEM_ERROR, "PEM block larger than %d characters",
                          VAL_MAX_PEM_CHARS);
            } else {
                out->raw = buf_take(&p->block, &out->raw_len);
                out->raw_kind = RAW_PEM;
            }
            buf_reset(&p->block);
            return 1;
        }
    }
}

static const char *pem_notes(void *state)
{
    pem *p = state;
    return p->notes.data ? p->notes.data : "";
}

static void pem_free(void *state)
{
    pem *p = state;
    lines_free(p->in);
    free(p->path);
    buf_free(&p->block);
    buf_free(&p->notes);
    free(p);
}

int pembundle_open(src_impl *out, const char *path, const src_opts *opts, err *e)
{
    lines *in = lines_open(path, opts->limits.max_line, e);
    if (!in)
        return -1;
    pem *p = xcalloc(1, sizeof *p);
    p->in = in;
    p->path = xstrdup(path);
    p->max_line = opts->limits.max_line;
    out->state = p;
    out->next = pem_next;
    out->free = pem_free;
    out->notes = pem_notes;
    return 0;
}

/* ---- DER ---- */

typedef struct {
    unsigned char *data;
    size_t len;
    size_t off;
    char *path;
    int done;
} der;

static int der_next(void *state, item *out, err *e)
{
    der *d = state;
    (void)e;
    if (d->done || d->off >= d->len)
        return 0;
    cert_info ci;
    char why[ITEM_MSG_MAX];
    const unsigned char *p = d->data + d->off;
    size_t n = d->len - d->off;
    char where[64];
    snprintf(where, sizeof where, "byte offset %zu", d->off);
    out->where = xstrdup(where);
    out->name_from_cn = 1;
    if (cert_inspect(&ci, p, n, 1, why, sizeof why)) {
        /* framing lost: nothing after this point can be trusted */
        item_flag(out, ITEM_ERROR, "%s", why);
        d->done = 1;
        return 1;
    }
    out->raw = xmemdup(p, ci.total_len);
    out->raw_len = ci.total_len;
    out->raw_kind = RAW_DER;
    d->off += ci.total_len;
    return 1;
}

static void der_free(void *state)
{
    der *d = state;
    free(d->data);
    free(d->path);
    free(d);
}

int der_open(src_impl *out, const char *path, const src_opts *opts, err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return -1;
    }
    buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    int rc = -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > opts->limits.max_member_bytes) {
            err_set(e, ERR_LIMIT, path, 0, -1, "DER file larger than %zu bytes",
                    opts->limits.max_member_bytes);
            goto out;
        }
        buf_append(&b, chunk, n);
    }
    if (ferror(f)) {
        err_set(e, ERR_IO, path, 0, -1, "read error: %s", strerror(errno));
        goto out;
    }
    if (b.len == 0 || (unsigned char)b.data[0] != 0x30) {
        err_set(e, ERR_FORMAT, path, 0, -1,
                "not a DER certificate (does not start with a SEQUENCE)");
        goto out;
    }
    der *d = xcalloc(1, sizeof *d);
    d->data = (unsigned char *)buf_take(&b, &d->len);
    d->path = xstrdup(path);
    out->state = d;
    out->next = der_next;
    out->free = der_free;
    rc = 0;
out:
    buf_free(&b);
    fclose(f);
    return rc;
}
