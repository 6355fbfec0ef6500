/* fuzz_http - splits fuzz input into HTTP/1.1 requests, the way a server
 * (libmicrohttpd for the sim) hands them to thingpress: method, request
 * target exactly as received, header name/value pairs (values trimmed of
 * spaces and tabs), and a body of Content-Length bytes.
 *
 * This is harness code, deliberately lenient: a line that is not a header is
 * skipped, a Content-Length larger than what is left takes what is left.
 * Ownership: a fz_req owns one copy of the request head; its strings point
 * into it and live until fz_req_free(). The body points into the input. */
#ifndef TP_FUZZ_HTTP_H
#define TP_FUZZ_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iot/sigv4.h"

#define FZ_MAX_HEADERS 64

typedef struct fz_req {
    char *head; /* owned copy of the request line and headers, NUL-split */
    const char *method;
    const char *target; /* path?query as received */
    sigv4_header h[FZ_MAX_HEADERS];
    size_t n;
    const uint8_t *body;
    size_t body_len;
} fz_req;

static inline void fz_req_free(fz_req *r)
{
    free(r->head);
    memset(r, 0, sizeof *r);
}

static inline int fz_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static inline char *fz_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* The value of header name (case-insensitive) and how many there are. */
static inline const char *fz_header(const fz_req *r, const char *name, int *count)
{
    const char *v = NULL;
    int c = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!strcasecmp(r->h[i].name, name)) {
            if (!v)
                v = r->h[i].value;
            c++;
        }
    if (count)
        *count = c;
    return v;
}

/* Parses the request starting at p[0..n). Returns the bytes it used (> 0),
 * or 0 when nothing is left. r must be zeroed; free it with fz_req_free. */
static inline size_t fz_http_parse(fz_req *r, const uint8_t *p, size_t n)
{
    /* skip blank lines between requests */
    size_t start = 0;
    while (start < n && (p[start] == '\r' || p[start] == '\n'))
        start++;
    if (start == n)
        return 0;
    /* the head ends at the first empty line */
    size_t end = start, head_end = n;
    while (end < n) {
        if (p[end] == '\n' && end + 1 < n &&
            (p[end + 1] == '\n' ||
             (p[end + 1] == '\r' && end + 2 < n && p[end + 2] == '\n'))) {
            head_end = end + (p[end + 1] == '\n' ? 2 : 3);
            break;
        }
        end++;
    }
    size_t hl = (end < n ? end : n) - start;
    r->head = malloc(hl + 1);
    if (!r->head)
        abort();
    memcpy(r->head, p + start, hl);
    r->head[hl] = '\0';

    char *line = r->head, *next;
    int first = 1;
    for (; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (first) {
            first = 0;
            char *sp = strchr(line, ' ');
            r->method = line;
            r->target = "/";
            if (sp) {
                *sp = '\0';
                char *t = sp + 1;
                char *sp2 = strchr(t, ' ');
                if (sp2)
                    *sp2 = '\0'; /* drop " HTTP/1.1" */
                r->target = t;
            }
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line || r->n == FZ_MAX_HEADERS)
            continue;
        *colon = '\0';
        int token = 1;
        for (char *q = line; *q && token; q++)
            token = fz_tchar((unsigned char)*q);
        if (!token)
            continue;
        r->h[r->n].name = line;
        r->h[r->n].value = fz_trim(colon + 1);
        r->n++;
    }

    size_t used = head_end;
    r->body = p + used;
    r->body_len = 0;
    const char *cl = fz_header(r, "content-length", NULL);
    if (cl && used < n) {
        unsigned long long want = strtoull(cl, NULL, 10);
        size_t left = n - used;
        r->body_len = want < left ? (size_t)want : left;
    }
    return used + r->body_len;
}

#endif
