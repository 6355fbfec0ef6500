/* thingpress - provision device certificates and things into AWS IoT Core.
 * main(): dispatch to the subcommands of DESIGN.md §4. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"

static const char usage[] = "usage: thingpress COMMAND [options]\n"
                            "\n"
                            "Commands:\n"
                            "  console [FILE]         the full-screen operator console "
                            "(also: no command on a terminal)\n"
                            "  validate FILE [opts]   parse and validate a vendor or "
                            "device-infos file (no network)\n"
                            "  provision FILE [opts]  run a job headless; progress on "
                            "stderr\n"
                            "  watch DIR [opts]       hot folder: provision each new "
                            "file once\n"
                            "  sim [opts]             the local AWS IoT endpoint, in the "
                            "foreground\n"
                            "  sim seed [opts]        your own policies, groups, types "
                            "on it\n"
                            "  status [JOB] [opts]    jobs and item outcomes from the "
                            "journal\n"
                            "  audit verify [opts]    check the audit log's hash chain "
                            "(exit 0 / 1 / 2)\n"
                            "\n"
                            "'thingpress --version': the version, commit and libraries.\n"
                            "Run 'thingpress COMMAND --help' for a command's options.\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("thingpress: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int main(int argc, char **argv)
{
    if (argc < 2 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return cmd_console(argc, argv);
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_REJECTED;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return EXIT_GOOD;
    }
    if (!strcmp(cmd, "--version"))
        return cli_version();
    if (!strcmp(cmd, "validate"))
        return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "sim"))
        return cmd_sim(argc - 1, argv + 1);
    if (!strcmp(cmd, "provision"))
        return cmd_provision(argc - 1, argv + 1);
    if (!strcmp(cmd, "status"))
        return cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "console"))
        return cmd_console(argc - 1, argv + 1);
    if (!strcmp(cmd, "watch"))
        return cmd_watch(argc - 1, argv + 1);
    if (!strcmp(cmd, "audit"))
        return cmd_audit(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'thingpress --help')", cmd);
    return EXIT_REJECTED;
}
