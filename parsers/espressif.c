/* Espressif manifests: a CSV file (header `MAC,cn,cert` upstream) with one
 * device per row. Thing name = the MAC cell; the certificate is the cert
 * cell, a quoted multi-line PEM. Columns are found by header name, any order,
 * case-insensitively; other columns are ignored.
 *
 * Streams one row at a time through the csv tokenizer; item_decode() turns
 * the PEM into DER later, possibly on another thread. The header decides the
 * whole file (missing column, not text: -1); a bad row is an ITEM_ERROR item
 * and reading goes on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "parsers/csv.h"
#include "parsers/src_impl.h"

typedef struct {
    csv *in;
    char *path;
    size_t n_cols;  /* fields in the header */
    size_t mac_col; /* 0-based columns */
    size_t cert_col;
} esp;

enum { MAX_COLUMNS = 64, NO_COL = (size_t)-1 };

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Trims spaces and tabs around s[0..*n); returns the new start. */
static const char *trim(const char *s, size_t *n)
{
    while (*n > 0 && is_space(s[0])) {
        s++;
        (*n)--;
    }
    while (*n > 0 && is_space(s[*n - 1]))
        (*n)--;
    return s;
}

/* Whitespace only, including line breaks (an empty PEM cell). */
static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]) && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

static int header_is(const char *s, size_t n, const char *name)
{
    s = trim(s, &n);
    return n == strlen(name) && !strncasecmp(s, name, n);
}

/* "MAC, cn, cert" for error messages (truncated by err_set if long). */
static void list_columns(buf *b, const csv *in)
{
    for (size_t i = 0; i < csv_nfields(in); i++) {
        size_t n;
        const char *s = csv_field(in, i, &n);
        if (!s)
            break;
        s = trim(s, &n);
        buf_printf(b, "%s\"%.*s\"", i ? ", " : "", (int)(n > 40 ? 40 : n), s);
    }
}

/* Reads the header row and finds the columns. Returns 0, or -1 with e set. */
static int read_header(esp *p, err *e)
{
    csv *in = p->in;
    int rc;
    /* Blank lines before the header are tolerated. */
    do {
        rc = csv_next_row(in, e);
    } while (rc == 1 && csv_nfields(in) == 0);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        err_set(e, ERR_FORMAT, p->path, 0, -1, "empty file");
        return -1;
    }
    unsigned long line = csv_row_line(in);
    size_t n_cols = csv_nfields(in);
    for (size_t i = 0; i < n_cols; i++) {
        size_t n;
        const char *s = csv_field(in, i, &n);
        if (s && memchr(s, '\0', n)) {
            err_set(e, ERR_FORMAT, p->path, line, -1,
                    "not a text file (NUL byte in the header), not an Espressif CSV");
            return -1;
        }
    }
    if (csv_row_problem(in)) {
        err_set(e, ERR_FORMAT, p->path, line, -1, "bad header row: %s",
                csv_row_problem(in));
        return -1;
    }
    p->n_cols = n_cols;
    p->mac_col = p->cert_col = NO_COL;
    for (size_t i = 0; i < n_cols; i++) {
        size_t n;
        const char *s = csv_field(in, i, &n);
        size_t *col = header_is(s, n, "MAC")    ? &p->mac_col
                      : header_is(s, n, "cert") ? &p->cert_col
                                                : NULL;
        if (!col)
            continue;
        if (*col != NO_COL) {
            err_set(e, ERR_FORMAT, p->path, line, -1,
                    "the header has two \"%s\" columns (%zu and %zu)",
                    col == &p->mac_col ? "MAC" : "cert", *col + 1, i + 1);
            return -1;
        }
        *col = i;
    }
    if (p->mac_col == NO_COL || p->cert_col == NO_COL) {
        buf cols = BUF_INIT;
        list_columns(&cols, in);
        err_set(e, ERR_FORMAT, p->path, line, -1,
                "the header has no \"%s\" column (an Espressif CSV needs MAC and cert; "
                "found %s)",
                p->mac_col == NO_COL ? "MAC" : "cert", cols.data ? cols.data : "none");
        buf_free(&cols);
        return -1;
    }
    return 0;
}

static int esp_next(void *state, item *out, err *e)
{
    esp *p = state;
    csv *in = p->in;
    size_t n_fields;
    for (;;) {
        int rc = csv_next_row(in, e);
        if (rc <= 0)
            return rc;
        n_fields = csv_nfields(in);
        if (n_fields == 0)
            continue;
        if (n_fields == 1 && p->n_cols > 1) {
            size_t n;
            const char *s = csv_field(in, 0, &n);
            if (s && blank(s, n) && !csv_row_problem(in))
                continue; /* a line of spaces */
        }
        break;
    }
    out->line = csv_row_line(in);
    out->name_from_cn = 0;

    size_t mac_len = 0, cert_len = 0;
    const char *mac = csv_field(in, p->mac_col, &mac_len);
    const char *cert = csv_field(in, p->cert_col, &cert_len);
    int mac_nul = mac && memchr(mac, '\0', mac_len) != NULL;
    if (mac) {
        mac = trim(mac, &mac_len);
        if (mac_len > 0 && !mac_nul)
            out->thing_name = xstrndup(mac, mac_len);
    }

    if (csv_row_problem(in)) {
        item_flag(out, ITEM_ERROR, "%s", csv_row_problem(in));
        return 1;
    }
    if (n_fields != p->n_cols) {
        item_flag(out, ITEM_ERROR, "the row has %zu field%s, the header has %zu",
                  n_fields, n_fields == 1 ? "" : "s", p->n_cols);
        return 1;
    }
    for (size_t i = 0; i < n_fields; i++) {
        size_t n;
        const char *s = csv_field(in, i, &n);
        if (s && memchr(s, '\0', n)) {
            item_flag(out, ITEM_ERROR, "NUL byte in field %zu", i + 1);
            return 1;
        }
    }
    if (mac_len == 0)
        item_flag(out, ITEM_ERROR, "empty MAC (the thing name)");
    if (blank(cert, cert_len)) {
        item_flag(out, ITEM_ERROR, "empty cert (no certificate)");
        return 1;
    }
    out->raw = xmemdup(cert, cert_len + 1); /* with the NUL the tokenizer adds */
    out->raw_len = cert_len;
    out->raw_kind = RAW_PEM;
    return 1;
}

/* A binary file (an archive given the wrong name, say) must not be read as
 * rows: a stray quote in it would swallow the rest of the file. Checks the
 * header line (up to the first 4 KiB) for NUL bytes. Returns 0, or -1. */
static int check_text(const char *path, err *e)
{
    char head[4096];
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return -1;
    }
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    const char *nl = memchr(head, '\n', n);
    if (nl)
        n = (size_t)(nl - head);
    if (memchr(head, '\0', n)) {
        err_set(e, ERR_FORMAT, path, 1, -1,
                "not a text file (NUL byte in the header), not an Espressif CSV");
        return -1;
    }
    return 0;
}

static void esp_free(void *state)
{
    esp *p = state;
    if (!p)
        return;
    csv_free(p->in);
    free(p->path);
    free(p);
}

int espressif_open(src_impl *out, const char *path, const src_opts *opts, err *e)
{
    size_t max_field = opts->limits.max_line ? opts->limits.max_line : 256 * 1024;
    csv_limits lim = {
        .max_field = max_field,
        .max_fields = MAX_COLUMNS,
        .max_row = 2 * max_field,
    };
    if (check_text(path, e))
        return -1;
    csv *in = csv_open(path, &lim, e);
    if (!in)
        return -1;
    esp *p = xcalloc(1, sizeof *p);
    p->in = in;
    p->path = xstrdup(path);
    if (read_header(p, e)) {
        esp_free(p);
        return -1;
    }
    out->state = p;
    out->next = esp_next;
    out->free = esp_free;
    return 0;
}
