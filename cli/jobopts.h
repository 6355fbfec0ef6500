/* jobopts - the common job options of DESIGN.md §4 on the command line,
 * shared by every subcommand that takes a file (validate, provision, the
 * console), so a validate command line can be turned into a provision one.
 * The values land in an engine/jobcfg.h configuration; --config FILE is
 * loaded first, so options on the command line win over the file.
 *
 * Threading: main thread. */
#ifndef TP_CLI_JOBOPTS_H
#define TP_CLI_JOBOPTS_H

#include "base/err.h"
#include "engine/jobcfg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the file of a --config option in argv, if any (before the rest). */
int jobopts_preload(jobcfg *c, int argc, char **argv, err *e);

/* If argv[*i] is a job option, consumes it (and its value, "--opt=v" or
 * "--opt v"), advancing *i, and returns 1; returns 0 if it is not one; -1 on
 * a bad value (e says which option and why). */
int jobopts_take(jobcfg *c, int argc, char **argv, int *i, err *e);

extern const char jobopts_help[];

#ifdef __cplusplus
}
#endif
#endif
