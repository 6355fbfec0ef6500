/* csv - a streaming RFC 4180 tokenizer with size caps.
 *
 * Design: reads a FILE* through a 64 KiB block buffer and hands back one row
 * (record) at a time, its fields as borrowed slices of a per-row buffer. It
 * understands what real exports contain: quoted fields with commas, doubled
 * quotes ("") and line breaks inside; CRLF, LF or bare CR row ends; a leading
 * UTF-8 byte order mark (skipped). An empty line is a row with no fields, so
 * the caller decides whether blank lines matter.
 *
 * Hostile input cannot exhaust memory: a field longer than max_field, a row
 * longer than max_row, or more than max_fields fields are not buffered; the
 * tokenizer scans on to the end of the row (staying in step with the file) and
 * reports the row with a problem. Malformed rows are likewise reported, not
 * fatal: a quote inside an unquoted field, or text after a closing quote, is
 * kept as a literal character (as Python's csv module does) and the row
 * carries a one-line problem naming the line. Only two things end reading:
 * an I/O error, and a quoted field still open at end of file (everything
 * after its opening quote was swallowed, so no row after it can be trusted);
 * both are -1 with an err naming the file and the line.
 *
 * Lines are physical lines of the file, 1-based, counting LF, CRLF and bare CR
 * as one line end each; a row that spans lines (a multi-line quoted field)
 * reports the line it starts on.
 *
 * Threading: a csv belongs to one thread. Ownership: csv_open() owns the FILE
 * it opens; csv_from_file() borrows its FILE (the caller closes it after
 * csv_free()). Pointers returned for a row are valid until the next
 * csv_next_row() or csv_free(). */
#ifndef TP_PARSERS_CSV_H
#define TP_PARSERS_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct csv_limits {
    size_t max_field;  /* bytes of one field's content; 0: 1 MiB */
    size_t max_fields; /* fields of one row; 0: 256 */
    size_t max_row;    /* bytes of one row's content; 0: 4 * max_field */
} csv_limits;

typedef struct csv csv;

/* Opens path for reading. lim may be NULL (defaults). Returns NULL with an
 * ERR_IO err naming the file when it cannot be opened. */
csv *csv_open(const char *path, const csv_limits *lim, err *e);

/* Reads from f, which the caller keeps owning; where names the input in
 * errors (may be NULL). lim may be NULL. */
csv *csv_from_file(FILE *f, const char *where, const csv_limits *lim);

/* 1: a row is available (see the getters below); 0: end of input;
 * -1: reading stops (I/O error, or a quoted field open at end of file);
 * e says why, naming the file and line. After -1 or 0, further calls
 * return the same. */
int csv_next_row(csv *c, err *e);

/* Line where the current row starts (1-based). */
unsigned long csv_row_line(const csv *c);

/* Number of fields the current row has (0 for an empty line). This counts
 * every field, also those past max_fields that were not stored. */
size_t csv_nfields(const csv *c);

/* Field i of the current row: its bytes (NUL-terminated; they may contain
 * NUL bytes, so use *len) or NULL when i >= csv_nfields() or the field was
 * past max_fields. len may be NULL. When the row has a problem, field
 * contents may be incomplete. */
const char *csv_field(const csv *c, size_t i, size_t *len);

/* NULL when the current row is well formed; else a one-line reason naming
 * the line (the first problem of the row). */
const char *csv_row_problem(const csv *c);

void csv_free(csv *c);

#ifdef __cplusplus
}
#endif
#endif
