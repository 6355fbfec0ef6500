/* buf - a growable byte buffer (owns its bytes). Always NUL-terminated so it
 * can be used as a C string when it holds text.
 *
 * Threading: any thread; a buf belongs to one thread at a time. */
#ifndef TP_BASE_BUF_H
#define TP_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
} buf;

#define BUF_INIT                                                                         \
    {                                                                                    \
        NULL, 0, 0                                                                       \
    }

void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_putc(buf *b, char c);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf *b); /* len = 0, keeps the memory */
void buf_free(buf *b);
/* Hands the bytes to the caller (NUL-terminated, never NULL); b is reset. */
char *buf_take(buf *b, size_t *len);

/* Appends s as a JSON string literal (quotes, escapes, control chars); bytes
 * that are not well-formed UTF-8 become U+FFFD, so the result always parses. */
void buf_json_str(buf *b, const char *s);

#ifdef __cplusplus
}
#endif
#endif
