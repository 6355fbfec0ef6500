#include "parsers/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct lines {
    FILE *f;
    char *path;
    char *buf;
    size_t cap;   /* buffer size: max_line + block */
    size_t start; /* first unconsumed byte */
    size_t end;   /* end of valid bytes */
    size_t max_line;
    unsigned long lineno;
    int eof;
};

enum { BLOCK = 256 * 1024 };

lines *lines_open(const char *path, size_t max_line, err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return NULL;
    }
    lines *l = xcalloc(1, sizeof *l);
    l->f = f;
    l->path = xstrdup(path);
    l->max_line = max_line ? max_line : 1 << 20;
    l->cap = l->max_line + BLOCK + 2;
    l->buf = xmalloc(l->cap);
    return l;
}

/* Moves the unconsumed tail to the front and reads more. Returns bytes read,
 * 0 at EOF, -1 on error. */
static long fill(lines *l, err *e)
{
    if (l->eof)
        return 0;
    if (l->start > 0) {
        memmove(l->buf, l->buf + l->start, l->end - l->start);
        l->end -= l->start;
        l->start = 0;
    }
    size_t room = l->cap - l->end;
    if (room == 0)
        return 0;
    size_t n = fread(l->buf + l->end, 1, room, l->f);
    if (n == 0) {
        if (ferror(l->f)) {
            err_set(e, ERR_IO, l->path, l->lineno + 1, -1, "read error: %s",
                    strerror(errno));
            return -1;
        }
        l->eof = 1;
    }
    l->end += n;
    return (long)n;
}

int lines_next(lines *l, const char **line, size_t *len, unsigned long *lineno,
               int *too_long, err *e)
{
    *too_long = 0;
    size_t scanned = 0; /* bytes of the current line already known to hold no LF */
    for (;;) {
        char *base = l->buf + l->start;
        size_t avail = l->end - l->start;
        char *nl = memchr(base + scanned, '\n', avail - scanned);
        if (nl) {
            size_t n = (size_t)(nl - base);
            l->start += n + 1;
            l->lineno++;
            if (n > 0 && base[n - 1] == '\r')
                n--;
            *line = base;
            *len = n;
            *lineno = l->lineno;
            if (n > l->max_line) {
                *len = 0;
                *too_long = 1;
            }
            return 1;
        }
        scanned = avail;
        if (avail > l->max_line) {
            /* Too long: discard through the next LF without buffering it. */
            l->start = l->end = 0;
            for (;;) {
                long r = fill(l, e);
                if (r < 0)
                    return -1;
                if (r == 0 && l->end == 0)
                    break;
                char *p = memchr(l->buf, '\n', l->end);
                if (p) {
                    l->start = (size_t)(p - l->buf) + 1;
                    break;
                }
                l->start = l->end = 0;
                if (r == 0)
                    break;
            }
            l->lineno++;
            *line = l->buf;
            *len = 0;
            *lineno = l->lineno;
            *too_long = 1;
            return 1;
        }
        long r = fill(l, e);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (l->end == l->start)
                return 0;
            /* final line without LF */
            base = l->buf + l->start;
            size_t n = l->end - l->start;
            l->start = l->end;
            l->lineno++;
            if (n > 0 && base[n - 1] == '\r')
                n--;
            *line = base;
            *len = n;
            *lineno = l->lineno;
            if (n > l->max_line) {
                *len = 0;
                *too_long = 1;
            }
            return 1;
        }
        scanned = l->end - l->start - (size_t)r;
    }
}

void lines_free(lines *l)
{
    if (!l)
        return;
    fclose(l->f);
    free(l->path);
    free(l->buf);
    free(l);
}
