#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static base_fatal_hook fatal_hook;

void base_set_fatal_hook(base_fatal_hook hook)
{
    fatal_hook = hook;
}

void base_fatal(const char *what)
{
    if (fatal_hook)
        fatal_hook();
    fprintf(stderr, "thingpress: fatal: %s\n", what);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        base_fatal("out of memory");
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        base_fatal("out of memory");
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        base_fatal("out of memory");
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *xmemdup(const void *p, size_t n)
{
    void *q = xmalloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}
