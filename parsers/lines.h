/* lines - a streaming line reader with a line-length cap.
 *
 * Design: reads the file in 256 KiB blocks and returns each line as a
 * borrowed slice of the block (no copy, no allocation per line). A line longer
 * than max_line is not buffered: it is skipped to its end and reported with
 * too_long set, so a file with a 1 GB "line" costs the buffer, not 1 GB.
 * Line ends: LF or CRLF (the CR is dropped); a final line without LF counts.
 *
 * Threading: one thread. Pointers returned are valid until the next call. */
#ifndef TP_PARSERS_LINES_H
#define TP_PARSERS_LINES_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lines lines;

/* Opens path for reading; where = the name used in errors. */
lines *lines_open(const char *path, size_t max_line, err *e);
/* 1: a line in *line and *len (*lineno 1-based, *too_long 0/1 - then *len = 0);
 * 0: end of file; -1: read error (e names the file and line). */
int lines_next(lines *l, const char **line, size_t *len, unsigned long *lineno,
               int *too_long, err *e);
void lines_free(lines *l);

#ifdef __cplusplus
}
#endif
#endif
