/* screen - the one module of the console that calls curses (ncursesw).
 *
 * Design: scr_draw() paints a view model (vm.h) row by row: each row in its
 * role's attributes, then its spans; colors are chosen here, by role, and
 * only here. Without color support, or with NO_COLOR set (any value but
 * ""), roles map to plain attributes (reverse, bold, dim). Keys come out of
 * scr_key() already translated into keymap.h codes, so nothing else knows
 * curses' key codes. UTF-8 text goes through the wide-character API (the
 * caller sets the locale first).
 *
 * A screen is either the real terminal (scr_open: newterm on the tty) or a
 * virtual one for tests (scr_open_virtual: newterm writing to /dev/null at a
 * fixed size), read back with scr_read_row()/scr_attr_at().
 *
 * Threading: curses is not thread-safe: one thread (the UI thread) owns the
 * screen from scr_open to scr_close. Only one screen exists at a time. */
#ifndef TP_CONSOLE_SCREEN_H
#define TP_CONSOLE_SCREEN_H

#include <stddef.h>

#include "base/err.h"
#include "console/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scr scr;

/* Takes over the terminal (stdin/stdout). color: 0 never, 1 when the
 * terminal has colors. Returns 0 or -1 with e set. */
int scr_open(scr **out, int color, err *e);
/* A h x w virtual terminal of type `term` (NULL = "xterm-256color") that
 * writes to /dev/null and reads no keys. */
int scr_open_virtual(scr **out, int h, int w, const char *term, int color, err *e);
/* Restores the terminal; NULL-safe. */
void scr_close(scr *s);

/* The terminal size. */
void scr_size(scr *s, int *h, int *w);
/* Changes the virtual terminal's size (tests); on the real one, re-reads it. */
void scr_resize(scr *s, int h, int w);

/* Waits up to timeout_ms for a key; returns a keymap.h key, KM_RESIZE when the
 * terminal was resized, or KM_NONE on timeout. */
int scr_key(scr *s, int timeout_ms);

/* Paints v (same size as the screen) and refreshes. */
void scr_draw(scr *s, const vm *v);
/* Forces a full repaint on the next scr_draw (after a resize). */
void scr_invalidate(scr *s);

/* Tests: row y as UTF-8 text (what mvwinnstr reads back), and the role whose
 * attributes are at (y, x) (-1 when none matches). */
int scr_read_row(scr *s, int y, char *out, size_t n);
int scr_role_at(scr *s, int y, int x);
/* 1 when roles are drawn with colors. */
int scr_has_color(const scr *s);

/* The curses library's version ("ncurses 6.4.20221231"; static string). */
const char *scr_curses_version(void);

#ifdef __cplusplus
}
#endif
#endif
