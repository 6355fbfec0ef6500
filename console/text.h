/* text - display-width text for the console's view models: UTF-8 decoding,
 * column widths, truncation with an ellipsis, padding, and the small number
 * and duration formats the screens share.
 *
 * Design: every string that reaches the screen goes through tx_fit(), which
 * turns arbitrary bytes (file names, item messages, journal rows) into exactly
 * `width` display columns: invalid UTF-8 and control characters become '?',
 * wide characters count two columns, and a cut is marked with "…" (UTF-8
 * glyphs) or "~" (ASCII). Widths come from the C library's wcwidth(), so the
 * caller sets an LC_CTYPE locale first (setlocale(LC_ALL, "")); the decoding
 * itself does not depend on the locale.
 *
 * Threading: any thread; no state. Ownership: results are appended to the
 * caller's buf or written into the caller's array. */
#ifndef TP_CONSOLE_TEXT_H
#define TP_CONSOLE_TEXT_H

#include <stddef.h>

#include "base/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TX_LEFT = 0, TX_RIGHT = 1 };

/* Display columns of s (after sanitising as tx_fit does). */
int tx_width(const char *s);

/* Appends s fitted into exactly width columns: truncated with an ellipsis
 * when longer, padded with spaces (on the right for TX_LEFT, on the left for
 * TX_RIGHT) when shorter. utf8: 1 to use "…", 0 for "~" and to replace every
 * non-ASCII character by '?'. width <= 0 appends nothing. */
void tx_fit(buf *out, const char *s, int width, int align, int utf8);

/* Like tx_fit(), but cuts the start instead ("…/long/path/file.csv"). */
void tx_fit_tail(buf *out, const char *s, int width, int utf8);

/* "00:42", "12:03", "3h05"; "--:--" for negative (unknown). */
void tx_duration(char *out, size_t n, double seconds);

/* "12.5", "1.2k", "3.4M" (per second rates and sizes; 3 significant digits). */
void tx_short_num(char *out, size_t n, double v);

/* The first 8 and last 4 hex digits: "349dc88b…e196" ("..." in ASCII). */
void tx_fingerprint(char *out, size_t n, const char *fp, int utf8);

#ifdef __cplusplus
}
#endif
#endif
