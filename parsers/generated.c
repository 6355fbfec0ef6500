/* Generated files: one certificate per line, as base64 of the PEM text
 * (upstream's format) or base64 of the DER (what upstream's docs recommend,
 * and its code rejects). Thing name = subject CN. Streams: one line at a time;
 * item_decode() does the decoding so callers can spread it over threads. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "parsers/lines.h"
#include "parsers/src_impl.h"

typedef struct {
    lines *in;
    size_t max_line;
} gen;

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

static int gen_next(void *state, item *out, err *e)
{
    gen *g = state;
    const char *line;
    size_t len;
    unsigned long lineno;
    int too_long;
    for (;;) {
        int rc = lines_next(g->in, &line, &len, &lineno, &too_long, e);
        if (rc <= 0)
            return rc;
        out->line = lineno;
        out->name_from_cn = 1;
        if (too_long) {
            item_flag(out, ITEM_ERROR, "line longer than %zu bytes", g->max_line);
            return 1;
        }
        if (blank(line, len))
            continue;
        out->raw = xstrndup(line, len);
        out->raw_len = len;
        out->raw_kind = RAW_B64;
        return 1;
    }
}

static void gen_free(void *state)
{
    gen *g = state;
    lines_free(g->in);
    free(g);
}

int generated_open(src_impl *out, const char *path, const src_opts *opts, err *e)
{
    lines *in = lines_open(path, opts->limits.max_line, e);
    if (!in)
        return -1;
    gen *g = xcalloc(1, sizeof *g);
    g->in = in;
    g->max_line = opts->limits.max_line;
    out->state = g;
    out->next = gen_next;
    out->free = gen_free;
    return 0;
}
