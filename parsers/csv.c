/* csv - a streaming RFC 4180 tokenizer with size caps (see csv.h).
 *
 * One byte at a time through a block buffer: a state machine per field
 * (unquoted, quoted, after a closing quote) is simpler to get right across
 * block boundaries than scanning for delimiters. Line numbers are tracked in
 * the byte reader itself, so every state sees the line of the byte it just
 * read. */
#include "parsers/csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

enum { BLOCK = 64 * 1024, END = -1 };

struct csv {
    FILE *f;
    int own_f;
    char *where;
    csv_limits lim;

    unsigned char *in; /* block buffer */
    size_t in_pos, in_len;
    int in_eof;
    int failed; /* an I/O error was reported */
    int done;   /* 0 while reading; else the sticky return value (0 or -1) */

    unsigned long line; /* line of the byte last read (of the next one at a line start) */
    int prev_cr;        /* the byte last read was CR (a following LF ends no new line) */

    /* The current row: field contents back to back, each NUL-terminated. */
    char *row;
    size_t row_len, row_cap;
    size_t *f_off, *f_len; /* stored fields */
    size_t f_cap;          /* capacity of f_off / f_len */
    size_t n_stored;       /* fields stored (<= max_fields) */
    size_t n_fields;       /* fields seen (may exceed n_stored) */
    unsigned long row_line;
    int field_full; /* the current field stopped being stored */
    char problem[200];
};

static void init_limits(csv *c, const csv_limits *lim)
{
    if (lim)
        c->lim = *lim;
    if (!c->lim.max_field)
        c->lim.max_field = 1u << 20;
    if (!c->lim.max_fields)
        c->lim.max_fields = 256;
    if (!c->lim.max_row)
        c->lim.max_row =
            c->lim.max_field > ((size_t)-1) / 4 ? c->lim.max_field : 4 * c->lim.max_field;
}

/* Reads the first block and skips a UTF-8 BOM if the input starts with one.
 * (fread only returns short at end of input or on an error.) */
static void skip_bom(csv *c)
{
    /* An empty read is left for refill() to see again and report. */
    c->in_len = fread(c->in, 1, BLOCK, c->f);
    if (c->in_len - c->in_pos >= 3 && !memcmp(c->in + c->in_pos, "\xEF\xBB\xBF", 3))
        c->in_pos += 3;
}

static csv *csv_new(FILE *f, int own_f, const char *where, const csv_limits *lim)
{
    csv *c = xcalloc(1, sizeof *c);
    c->f = f;
    c->own_f = own_f;
    c->where = xstrdup(where ? where : "");
    init_limits(c, lim);
    c->in = xmalloc(BLOCK);
    c->line = 1;
    skip_bom(c);
    return c;
}

csv *csv_open(const char *path, const csv_limits *lim, err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return NULL;
    }
    return csv_new(f, 1, path, lim);
}

csv *csv_from_file(FILE *f, const char *where, const csv_limits *lim)
{
    return csv_new(f, 0, where, lim);
}

void csv_free(csv *c)
{
    if (!c)
        return;
    if (c->own_f)
        fclose(c->f);
    free(c->where);
    free(c->in);
    free(c->row);
    free(c->f_off);
    free(c->f_len);
    free(c);
}

/* Refills the block buffer. Returns 1 when bytes are available, 0 at end of
 * input or after an I/O error (c->failed, reported in e). */
static int refill(csv *c, err *e)
{
    if (c->in_eof || c->failed)
        return 0;
    c->in_pos = 0;
    c->in_len = fread(c->in, 1, BLOCK, c->f);
    if (c->in_len == 0) {
        if (ferror(c->f)) {
            err_set(e, ERR_IO, c->where, c->line, -1, "read error: %s", strerror(errno));
            c->failed = 1;
        }
        c->in_eof = 1;
        return 0;
    }
    return 1;
}

/* The next byte (0..255) or END; keeps the line count. */
static inline int get_byte(csv *c, err *e)
{
    if (c->in_pos == c->in_len && !refill(c, e))
        return END;
    int ch = c->in[c->in_pos++];
    if (ch == '\r') {
        c->line++;
        c->prev_cr = 1;
    } else {
        if (ch == '\n' && !c->prev_cr)
            c->line++;
        c->prev_cr = 0;
    }
    return ch;
}

/* Consumes the LF of a CRLF whose CR was just read. */
static void eat_lf(csv *c, err *e)
{
    if (c->in_pos == c->in_len && !refill(c, e))
        return;
    if (c->in[c->in_pos] == '\n')
        get_byte(c, e);
}

static void problem(csv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the row's first problem. */
static void problem(csv *c, const char *fmt, ...)
{
    if (c->problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->problem, sizeof c->problem, fmt, ap);
    va_end(ap);
}

/* Grows the row buffer so `need` more bytes fit (callers keep row_len +
 * need within max_row + max_fields, so this is bounded). */
static void row_reserve(csv *c, size_t need)
{
    if (c->row_len + need <= c->row_cap)
        return;
    size_t cap = c->row_cap ? c->row_cap : 1024;
    while (cap < c->row_len + need)
        cap *= 2;
    c->row = xrealloc(c->row, cap);
    c->row_cap = cap;
}

static void field_begin(csv *c)
{
    c->field_full = 0;
    if (c->n_fields == c->lim.max_fields)
        problem(c, "more than %zu fields in the row starting on line %lu",
                c->lim.max_fields, c->row_line);
    if (c->n_fields < c->lim.max_fields) {
        if (c->n_stored == c->f_cap) {
            size_t cap = c->f_cap ? c->f_cap * 2 : 8;
            if (cap > c->lim.max_fields)
                cap = c->lim.max_fields;
            c->f_off = xrealloc(c->f_off, cap * sizeof *c->f_off);
            c->f_len = xrealloc(c->f_len, cap * sizeof *c->f_len);
            c->f_cap = cap;
        }
        c->f_off[c->n_stored] = c->row_len;
        c->f_len[c->n_stored] = 0;
        c->n_stored++;
    } else {
        c->field_full = 1;
    }
    c->n_fields++;
}

/* Appends one content byte to the current field, unless a cap is reached. */
static inline void put(csv *c, int ch)
{
    if (c->field_full)
        return;
    size_t i = c->n_stored - 1;
    if (c->f_len[i] >= c->lim.max_field) {
        problem(c, "field %zu on line %lu is longer than %zu bytes", c->n_fields, c->line,
                c->lim.max_field);
        c->field_full = 1;
        return;
    }
    if (c->row_len >= c->lim.max_row) {
        problem(c, "the row starting on line %lu is longer than %zu bytes", c->row_line,
                c->lim.max_row);
        c->field_full = 1;
        return;
    }
    row_reserve(c, 2); /* the byte and room for the field's NUL */
    c->row[c->row_len++] = (char)ch;
    c->f_len[i]++;
}

static void field_end(csv *c)
{
    if (c->n_fields > c->n_stored)
        return; /* past max_fields: never stored */
    row_reserve(c, 1);
    c->row[c->row_len++] = '\0';
}

static int is_end(int ch)
{
    return ch == ',' || ch == '\r' || ch == '\n' || ch == END;
}

int csv_next_row(csv *c, err *e)
{
    if (c->done)
        return c->done < 0 ? -1 : 0;
    c->row_len = 0;
    c->n_stored = 0;
    c->n_fields = 0;
    c->problem[0] = '\0';
    /* get_byte() counted the previous row's line end when it read it, so
     * c->line is already the line of this row's first byte. */
    c->row_line = c->line;
    int ch = get_byte(c, e);
    if (ch == END) {
        c->done = c->failed ? -1 : 1;
        return c->failed ? -1 : 0;
    }
    if (ch == '\r' || ch == '\n') { /* empty line: a row with no fields */
        if (ch == '\r')
            eat_lf(c, e);
        goto out;
    }
    for (;;) {
        field_begin(c);
        if (ch == '"') {
            unsigned long open_line = c->line;
            for (;;) {
                ch = get_byte(c, e);
                if (ch == END) {
                    if (!c->failed)
                        err_set(e, ERR_FORMAT, c->where, open_line, -1,
                                "unterminated quoted field: the quote opened on line %lu "
                                "(field %zu) is never closed",
                                open_line, c->n_fields);
                    c->done = -1;
                    return -1;
                }
                if (ch == '"') {
                    ch = get_byte(c, e);
                    if (ch != '"')
                        break; /* the closing quote; ch follows it */
                }
                put(c, ch);
            }
            if (!is_end(ch))
                problem(c,
                        "text after the closing quote of field %zu on line %lu (a quote "
                        "inside a quoted field must be doubled)",
                        c->n_fields, c->line);
        }
        /* Unquoted content, or what follows a malformed closing quote. */
        while (!is_end(ch)) {
            if (ch == '"')
                problem(c,
                        "stray quote in unquoted field %zu on line %lu (quote the whole "
                        "field and double the quote)",
                        c->n_fields, c->line);
            put(c, ch);
            ch = get_byte(c, e);
        }
        field_end(c);
        if (ch != ',')
            break;
        ch = get_byte(c, e);
    }
    if (ch == '\r')
        eat_lf(c, e);
out:
    if (c->failed) {
        c->done = -1;
        return -1;
    }
    return 1;
}

unsigned long csv_row_line(const csv *c)
{
    return c->row_line;
}

size_t csv_nfields(const csv *c)
{
    return c->n_fields;
}

const char *csv_field(const csv *c, size_t i, size_t *len)
{
    if (i >= c->n_stored) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = c->f_len[i];
    return c->row + c->f_off[i];
}

const char *csv_row_problem(const csv *c)
{
    return c->problem[0] ? c->problem : NULL;
}
