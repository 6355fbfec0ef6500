#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
#define ERR_NAME(c, s) s,
    ERR_CODES(ERR_NAME)
#undef ERR_NAME
};

void err_clear(err *e)
{
    if (!e)
        return;
    e->code = ERR_NONE;
    e->line = 0;
    e->item = -1;
    e->where[0] = '\0';
    e->msg[0] = '\0';
}

static void copy_field(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void err_set(err *e, err_code code, const char *where, unsigned long line, long item,
             const char *fmt, ...)
{
    if (!e || e->code != ERR_NONE)
        return;
    e->code = code == ERR_NONE ? ERR_INTERNAL : code;
    e->line = line;
    e->item = item;
    copy_field(e->where, sizeof e->where, where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    for (char *p = e->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

void err_locate(err *e, const char *where, unsigned long line)
{
    if (!e || e->code == ERR_NONE)
        return;
    if (!e->where[0] && where)
        copy_field(e->where, sizeof e->where, where);
    if (!e->line)
        e->line = line;
}

int err_is_set(const err *e)
{
    return e && e->code != ERR_NONE;
}

const char *err_code_name(err_code c)
{
    if ((unsigned)c >= sizeof names / sizeof names[0])
        return "unknown";
    return names[c];
}

const char *err_format(const err *e, char *buf, size_t n)
{
    if (!n)
        return buf;
    buf[0] = '\0';
    if (!e || e->code == ERR_NONE)
        return buf;
    size_t off = 0;
#define PUT(...)                                                                         \
    do {                                                                                 \
        int k = snprintf(buf + off, n - off, __VA_ARGS__);                               \
        if (k > 0)                                                                       \
            off += (size_t)k < n - off ? (size_t)k : n - off - 1;                        \
    } while (0)
    if (e->where[0])
        PUT("%s:", e->where);
    if (e->line)
        PUT("%lu:", e->line);
    if (off)
        PUT(" ");
    if (e->item >= 0)
        PUT("item %ld: ", e->item);
    PUT("%s", e->msg);
#undef PUT
    return buf;
}
