/* Path matching over the operation table (see route.h). */
#include "sim/route.h"

#include <string.h>

const char *route_name(route_op op)
{
    return iot_op_name((iot_op)op);
}

route_op route_by_name(const char *name)
{
    return (route_op)iot_op_by_name(name);
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

int route_pct_decode(buf *out, const char *s, size_t len)
{
    buf_reserve(out, len);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        buf_putc(out, c);
    }
    return 0;
}

/* Compares one template against the path; the label (if any) is decoded into
 * label. Returns 1 on a match. */
static int match_one(const char *tmpl, const char *path, size_t path_len, buf *label)
{
    const char *t = tmpl;
    size_t p = 0;
    for (;;) {
        /* both at a segment start: the template and the path begin with '/' */
        if (*t == '\0' || p >= path_len)
            return *t == '\0' && p == path_len;
        if (*t != '/' || path[p] != '/')
            return 0;
        t++, p++;
        const char *tend = strchr(t, '/');
        size_t tlen = tend ? (size_t)(tend - t) : strlen(t);
        size_t pend = p;
        while (pend < path_len && path[pend] != '/')
            pend++;
        size_t plen = pend - p;
        if (tlen == 2 && t[0] == '{' && t[1] == '}') {
            if (plen == 0)
                return 0;
            buf_reset(label);
            if (route_pct_decode(label, path + p, plen) < 0 ||
                memchr(label->data, '\0', label->len))
                return 0;
        } else if (tlen != plen || memcmp(t, path + p, plen)) {
            return 0;
        }
        t += tlen;
        p = pend;
    }
}

route_op route_match(const char *method, const char *path, size_t path_len, buf *label)
{
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: literal templates only; pass 1: templates with a label */
        for (int i = 0; i < ROUTE_COUNT; i++) {
            const iot_op_info *o = iot_op_get((iot_op)i);
            int has_label = strstr(o->path, "{}") != NULL;
            if (has_label != pass || strcmp(o->method, method))
                continue;
            if (match_one(o->path, path, path_len, label)) {
                if (!has_label)
                    buf_reset(label);
                return (route_op)i;
            }
        }
    }
    buf_reset(label);
    return ROUTE_NONE;
}

int route_query_get(const char *query, const char *key, buf *out)
{
    buf_reset(out);
    if (!query)
        return 0;
    size_t klen = strlen(key);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        size_t nlen = eq ? (size_t)(eq - p) : plen;
        if (nlen == klen && !memcmp(p, key, klen)) {
            if (!eq)
                return 1;
            return route_pct_decode(out, eq + 1, plen - nlen - 1) < 0 ? -1 : 1;
        }
        p += plen;
        if (*p == '&')
            p++;
    }
    return 0;
}
