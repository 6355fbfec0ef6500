/* xalloc - allocation that never returns NULL, and the fatal-error hook.
 *
 * Out of memory is not a condition the program can recover from mid-job, so
 * the wrappers call base_fatal(), which runs the hook main() registered (to
 * restore the terminal) and aborts. base/ knows nothing about curses.
 *
 * Threading: any thread. The hook is set once, before threads start. */
#ifndef TP_BASE_XALLOC_H
#define TP_BASE_XALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*base_fatal_hook)(void);

void base_set_fatal_hook(base_fatal_hook hook);
_Noreturn void base_fatal(const char *what);

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
