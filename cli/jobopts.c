#include "cli/jobopts.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "parsers/validate.h"

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
    "  (--cert-active and --thing-deferred are checked by validate; they matter to\n"
    "  provisioning.)\n";

void jobopts_init(jobopts *o)
{
    memset(o, 0, sizeof *o);
    o->thing_deferred = 1;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void jobopts_free(jobopts *o)
{
    free_list(o->policies, o->n_policies);
    free_list(o->thing_groups, o->n_thing_groups);
    jobopts_init(o);
}

void jobopts_split_list(char ***out, size_t *n, const char *list)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *a = p, *b = p + len;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        size_t k = (size_t)(b - a);
        if (k && !(k == 4 && !strncasecmp(a, "None", 4))) {
            *out = xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = xstrndup(a, k);
        }
        if (!comma)
            break;
        p = comma + 1;
    }
}

static int parse_bool(int *out, const char *opt, const char *v, err *e)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
        *out = 0;
        return 0;
    }
    err_set(e, ERR_USAGE, NULL, 0, -1, "%s: expected true or false, got '%s'", opt, v);
    return -1;
}

static const char *const names[] = {
    "--vendor",      "--policies",       "--thing-groups",    "--thing-type",
    "--cert-active", "--thing-deferred", "--infineon-bundle", "--microchip-signers",
};

int jobopts_take(jobopts *o, int argc, char **argv, int *i, err *e)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const char *name = NULL;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k]) == nlen && !strncmp(arg, names[k], nlen))
            name = names[k];
    if (!name)
        return 0;
    const char *v;
    if (eq) {
        v = eq + 1;
    } else {
        if (*i + 1 >= argc) {
            err_set(e, ERR_USAGE, NULL, 0, -1, "%s needs a value", name);
            return -1;
        }
        v = argv[++*i];
    }
    if (!strcmp(name, "--vendor")) {
        if (vendor_parse(&o->vendor, v)) {
            err_set(
                e, ERR_USAGE, NULL, 0, -1,
                "--vendor: unknown vendor '%s' (auto, espressif, infineon, microchip, "
                "generated, pem, der, device-infos)",
                v);
            return -1;
        }
    } else if (!strcmp(name, "--policies")) {
        jobopts_split_list(&o->policies, &o->n_policies, v);
    } else if (!strcmp(name, "--thing-groups")) {
        jobopts_split_list(&o->thing_groups, &o->n_thing_groups, v);
    } else if (!strcmp(name, "--thing-type")) {
        o->thing_type = *v && strcasecmp(v, "None") ? v : NULL;
    } else if (!strcmp(name, "--cert-active")) {
        return parse_bool(&o->cert_active, name, v, e) ? -1 : 1;
    } else if (!strcmp(name, "--thing-deferred")) {
        return parse_bool(&o->thing_deferred, name, v, e) ? -1 : 1;
    } else if (!strcmp(name, "--infineon-bundle")) {
        if (strcmp(v, "E0E0") && strcmp(v, "E0E1") && strcmp(v, "E0E2")) {
            err_set(e, ERR_USAGE, NULL, 0, -1,
                    "--infineon-bundle: expected E0E0, E0E1 or E0E2, got '%s'", v);
            return -1;
        }
        o->infineon_bundle = v;
    } else if (!strcmp(name, "--microchip-signers")) {
        o->microchip_signers = v;
    }
    return 1;
}

int jobopts_check(const jobopts *o, err *e)
{
    char why[ITEM_MSG_MAX];
    if (val_check_policies((const char *const *)o->policies, o->n_policies, why,
                           sizeof why) == ITEM_ERROR) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "--policies: %s", why);
        return -1;
    }
    if (o->thing_type &&
        val_check_thing_type_name(o->thing_type, why, sizeof why) == ITEM_ERROR) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "--thing-type: %s", why);
        return -1;
    }
    for (size_t i = 0; i < o->n_thing_groups; i++) {
        if (val_check_thing_type_name(o->thing_groups[i], why, sizeof why) ==
            ITEM_ERROR) {
            err_set(e, ERR_USAGE, NULL, 0, -1, "--thing-groups: '%s': %s",
                    o->thing_groups[i], why);
            return -1;
        }
    }
    return 0;
}
