#include "cli/jobopts.h"

#include <string.h>

const char jobopts_help[] =
    "Job options:\n"
    "  --vendor V            auto|espressif|infineon|microchip|generated|pem|der|\n"
    "                        device-infos (default auto: from extension and content)\n"
    "  --policies a,b        IoT policies attached to each certificate (at most 10)\n"
    "  --thing-groups a,b    thing groups each thing joins\n"
    "  --thing-type T        thing type; allows 50 attributes instead of 3\n"
    "  --cert-active B       true|false: register certificates ACTIVE (default false)\n"
    "  --thing-deferred B    true|false: create things in Phase 2 (default true)\n"
    "  --infineon-bundle B   E0E0|E0E1|E0E2 (default E0E0)\n"
    "  --microchip-signers D extra Microchip manifest signer certificates (*.crt, "
    "*.pem)\n"
    "  --config FILE         job configuration (TOML), or a SAM samconfig.toml whose\n"
    "                        parameter_overrides set IoTPolicies, IoTThingGroups,\n"
    "                        IoTThingType, IoTCertActive, IoTThingDeferred\n";

/* Options that are job keys (jobcfg_set), spelled as on the command line. */
static const char *const names[] = {
    "--vendor",      "--policies",       "--thing-groups",    "--thing-type",
    "--cert-active", "--thing-deferred", "--infineon-bundle", "--microchip-signers",
};

/* Splits "--opt=value" / "--opt value"; returns the option's length in arg. */
static size_t opt_len(const char *arg)
{
    const char *eq = strchr(arg, '=');
    return eq ? (size_t)(eq - arg) : strlen(arg);
}

static int value_of(const char **v, int argc, char **argv, int *i, const char *name,
                    err *e)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq) {
        *v = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "%s needs a value", name);
        return -1;
    }
    *v = argv[++*i];
    return 0;
}

int jobopts_preload(jobcfg *c, int argc, char **argv, err *e)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (opt_len(argv[i]) == 8 && !strncmp(argv[i], "--config", 8)) {
            const char *v;
            if (value_of(&v, argc, argv, &i, "--config", e))
                return -1;
            return jobcfg_load(c, v, e);
        }
    }
    return 0;
}

int jobopts_take(jobcfg *c, int argc, char **argv, int *i, err *e)
{
    const char *arg = argv[*i];
    size_t n = opt_len(arg);
    const char *v;
    if (n == 8 && !strncmp(arg, "--config", 8)) /* loaded by jobopts_preload */
        return value_of(&v, argc, argv, i, "--config", e) ? -1 : 1;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (strlen(names[k]) != n || strncmp(arg, names[k], n))
            continue;
        if (value_of(&v, argc, argv, i, names[k], e))
            return -1;
        int rc = jobcfg_set(c, names[k] + 2, v, NULL, 0, e);
        return rc < 0 ? -1 : 1;
    }
    return 0;
}
