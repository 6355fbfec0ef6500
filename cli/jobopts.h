/* jobopts - the common job options of DESIGN.md §4, parsed once for every
 * subcommand that takes a file (validate now; provision and the console
 * later), so a validate command line can be turned into a provision one.
 *
 * Threading: main thread. Strings point into argv or are owned (lists). */
#ifndef TP_CLI_JOBOPTS_H
#define TP_CLI_JOBOPTS_H

#include <stddef.h>

#include "base/err.h"
#include "parsers/src.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jobopts {
    vendor vendor;
    const char *thing_type;
    char **policies; /* owned; empty and "None" items dropped */
    size_t n_policies;
    char **thing_groups; /* owned */
    size_t n_thing_groups;
    int cert_active;    /* 0/1 */
    int thing_deferred; /* 0/1 */
    const char *infineon_bundle;
    const char *microchip_signers;
} jobopts;

void jobopts_init(jobopts *o);
void jobopts_free(jobopts *o);

/* If argv[*i] is a job option, consumes it (and its value, "--opt=v" or
 * "--opt v"), advancing *i, and returns 1; returns 0 if it is not one; -1 on
 * a bad value (e says which option and why). */
int jobopts_take(jobopts *o, int argc, char **argv, int *i, err *e);

/* Checks the combination (policy count and names, thing type name). */
int jobopts_check(const jobopts *o, err *e);

/* Splits "a,b, ,None" into owned items, dropping empty and "None" ones. */
void jobopts_split_list(char ***out, size_t *n, const char *list);

extern const char jobopts_help[];

#ifdef __cplusplus
}
#endif
#endif
