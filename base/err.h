/* err - the error value every module fills and returns.
 *
 * Design: a caller-owned, fixed-size struct (no allocation, so it is safe to
 * fill on the out-of-memory path and to hand across threads by copy). The
 * first error wins: once set, later err_set() calls are ignored, so the root
 * cause is what the user sees, not a "failed to X: failed to Y" chain.
 * Functions return 0 / -1 (or NULL) and fill the err they are given; every
 * function accepts err == NULL.
 *
 * Threading: any thread; an err belongs to one thread at a time. */
#ifndef TP_BASE_ERR_H
#define TP_BASE_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X-macro table: code, short name. */
#define ERR_CODES(X)                                                                     \
    X(ERR_NONE, "ok")                                                                    \
    X(ERR_IO, "io")         /* cannot open/read/write */                                 \
    X(ERR_FORMAT, "format") /* the bytes are not what the format says */                 \
    X(ERR_LIMIT, "limit")   /* a size or count limit was exceeded */                     \
    X(ERR_USAGE, "usage")   /* bad option or invocation */                               \
    X(ERR_CRYPTO, "crypto") /* a signature or key did not verify */                      \
    X(ERR_INTERNAL, "internal")

typedef enum {
#define ERR_ENUM(c, s) c,
    ERR_CODES(ERR_ENUM)
#undef ERR_ENUM
} err_code;

typedef struct err {
    err_code code;
    unsigned long line; /* 1-based line in `where`, 0 when not known */
    long item;          /* 0-based item index, -1 when not about one item */
    char where[256];    /* file, member or URL */
    char msg[320];      /* one line, no trailing newline */
} err;

/* Resets to "no error". */
void err_clear(err *e);

/* Sets the error unless one is already set (first error wins). `where` may be
 * NULL; `line` 0 and `item` -1 mean unknown. The message is printf-style,
 * truncated to fit, and newlines in it are replaced by spaces. */
void err_set(err *e, err_code code, const char *where, unsigned long line, long item,
             const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Fills in `where`/`line` on an error that lacks them (callers up the stack
 * know the file name the lower layer did not). */
void err_locate(err *e, const char *where, unsigned long line);

int err_is_set(const err *e);
const char *err_code_name(err_code c);

/* "WHERE:LINE: item N: MSG" (parts omitted when unknown) into buf; returns buf. */
const char *err_format(const err *e, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
