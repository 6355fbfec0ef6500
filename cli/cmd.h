/* cmd - the subcommands of the thingpress binary (DESIGN.md §4).
 * Each returns the process exit code: 0 all good, 1 some items invalid or
 * failed, 2 the file or the invocation was rejected. Main thread only. */
#ifndef TP_CLI_CMD_H
#define TP_CLI_CMD_H

#ifdef __cplusplus
extern "C" {
#endif

enum { EXIT_GOOD = 0, EXIT_ITEMS = 1, EXIT_REJECTED = 2 };

int cmd_validate(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_sim_seed(int argc, char **argv); /* `thingpress sim seed` */
int cmd_provision(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_audit(int argc, char **argv);

/* thingpress --version: version, commit, build date, library versions. */
int cli_version(void);

/* "thingpress: " + message on stderr, one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif
