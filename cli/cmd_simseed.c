/* thingpress sim seed: one's own policies, thing groups and thing types on
 * the local endpoint, for training (sim/seed.h).
 *
 * It writes the local endpoint's database only: --state DIR names the one
 * `provision`, `watch` and the console serve with no AWS account
 * (DIR/local-endpoint.db), --db FILE a `thingpress sim --db` one. There is no
 * option that reaches AWS, and the options that would elsewhere are refused
 * by name. Policy documents are read before the database is opened, so an
 * unreadable file changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "cli/cmd.h"
#include "cli/provctx.h"
#include "sim/seed.h"

static const char help[] =
    "usage: thingpress sim seed [--state DIR | --db FILE] [--policy NAME[=FILE.json]]\n"
    "                           [--thing-group NAME] [--thing-type NAME] ...\n"
    "\n"
    "Create policies, thing groups and thing types of your own on the local endpoint,\n"
    "for training: straight in its database, the one `provision`, `watch` and the\n"
    "console use when no AWS account is configured. It never contacts AWS: create\n"
    "resources in an AWS account with the AWS CLI or the AWS console.\n"
    "\n"
    "  --policy NAME[=FILE.json]  a policy; its document from FILE.json (the name ends\n"
    "                             at the first '='), else the samples' document (that\n"
    "                             of BasicTestPolicy: connect as the thing, publish and\n"
    "                             receive under topic_prefix)\n"
    "  --thing-group NAME         a thing group\n"
    "  --thing-type NAME          a thing type\n"
    "  --state DIR                the state directory whose local endpoint to seed\n"
    "                             (default, as provision's: $XDG_STATE_HOME/thingpress\n"
    "                             or ~/.local/state/thingpress)\n"
    "  --db FILE                  a `thingpress sim --db FILE` database instead\n"
    "\n"
    "Each may be given several times; they are created in order. What exists already\n"
    "is kept as it is, so seeding twice is harmless; a policy that exists with another\n"
    "document than FILE.json is refused (the local endpoint keeps one version). Names\n"
    "and documents follow AWS IoT's rules. Only a local endpoint's database is\n"
    "accepted (created when missing), and only while no console, provision, watch or\n"
    "sim uses it. Then, e.g.: thingpress provision FILE --policies NAME\n"
    "\n"
    "Exit status: 0 when all are there, 2 when something is refused (what came\n"
    "before it is created, nothing after it).\n";

typedef struct {
    seed_kind kind;
    const char *name; /* borrowed from argv, or from `owned` */
    char *doc;        /* a policy's document read from its file; NULL = samples' */
    char *owned;      /* NAME of NAME=FILE */
} want;

/* Reads a policy document (a JSON text of a few KiB; 1 MiB at most). */
static char *read_doc(const char *path, err *e)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        err_set(e, ERR_IO, path, 0, -1, "cannot read the policy document: %s",
                strerror(errno));
        return NULL;
    }
    size_t cap = 1024 * 1024, len = 0;
    char *b = xmalloc(cap + 1);
    size_t n;
    while (len <= cap && (n = fread(b + len, 1, cap + 1 - len, fp)) > 0)
        len += n;
    int bad = ferror(fp);
    fclose(fp);
    if (bad || len > cap) {
        err_set(e, bad ? ERR_IO : ERR_LIMIT, path, 0, -1, "%s",
                bad ? "cannot read the policy document"
                    : "the policy document is larger than 1 MiB");
        free(b);
        return NULL;
    }
    if (memchr(b, '\0', len)) {
        err_set(e, ERR_FORMAT, path, 0, -1, "the policy document is not text");
        free(b);
        return NULL;
    }
    b[len] = '\0';
    return b;
}

/* Options that elsewhere point at AWS: said so, rather than "unknown". */
static int aws_option(const char *a)
{
    static const char *const names[] = {"--endpoint-url", "--profile",   "--region",
                                        "--account",      "--local",     "--ca-bundle",
                                        "--credentials",  "--allow-http"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (!strncmp(a, names[i], n) && (a[n] == '\0' || a[n] == '='))
            return 1;
    }
    return 0;
}

int cmd_sim_seed(int argc, char **argv)
{
    const char *state = NULL, *db_file = NULL;
    want *w = xcalloc((size_t)argc, sizeof *w);
    size_t nw = 0;
    int rc = EXIT_REJECTED;
    reg *r = NULL;
    err e;
    err_clear(&e);
    char msg[800];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            rc = EXIT_GOOD;
            goto out;
        }
        if (aws_option(a)) {
            cli_error(
                "sim seed: %s: seeding writes the local endpoint's database only, it "
                "never contacts AWS (create resources in an AWS account with the "
                "AWS CLI or the AWS console)",
                a);
            goto out;
        }
        static const char *const valued[] = {"--policy", "--thing-group", "--thing-type",
                                             "--state", "--db"};
        int which = -1;
        const char *v = NULL;
        for (int k = 0; k < 5 && which < 0; k++) {
            size_t n = strlen(valued[k]);
            if (strncmp(a, valued[k], n) || (a[n] != '\0' && a[n] != '='))
                continue;
            which = k;
            v = a[n] == '=' ? a + n + 1 : i + 1 < argc ? argv[++i] : NULL;
        }
        if (which < 0) {
            cli_error("sim seed: unknown option '%s' (see 'thingpress sim seed --help')",
                      a);
            goto out;
        }
        if (!v || !*v) {
            cli_error("%s needs a value (see 'thingpress sim seed --help')",
                      valued[which]);
            goto out;
        }
        if (which == 3 || which == 4) {
            if ((which == 3 ? db_file : state) != NULL) {
                cli_error("sim seed: give --state DIR or --db FILE, not both");
                goto out;
            }
            *(which == 3 ? &state : &db_file) = v;
            continue;
        }
        want *x = &w[nw++];
        x->kind = which == 0   ? SEED_POLICY
                  : which == 1 ? SEED_THING_GROUP
                               : SEED_THING_TYPE;
        x->name = v;
        const char *eq = which == 0 ? strchr(v, '=') : NULL;
        if (eq) {
            x->owned = xstrndup(v, (size_t)(eq - v));
            x->name = x->owned;
            if (!eq[1]) {
                cli_error("--policy %s: no file after '=' (--policy NAME=FILE.json)", v);
                goto out;
            }
            if (!(x->doc = read_doc(eq + 1, &e))) {
                cli_error("%s", err_format(&e, msg, sizeof msg));
                goto out;
            }
        }
    }
    if (!nw) {
        cli_error("sim seed: nothing to create: give --policy, --thing-group or "
                  "--thing-type (see 'thingpress sim seed --help')");
        goto out;
    }

    char db[1100];
    if (db_file)
        snprintf(db, sizeof db, "%s", db_file);
    else if (provctx_local_db(db, sizeof db, state, &e) < 0) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    if (seed_open(&r, db, &e) < 0) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    printf("local endpoint %s:\n", db);
    for (size_t i = 0; i < nw; i++) {
        int created = 0;
        if (seed_create(r, w[i].kind, w[i].name, w[i].doc, &created, &e) < 0) {
            fflush(stdout);
            /* the message names the resource; `where` repeats it */
            cli_error("%s", e.msg);
            goto out;
        }
        printf("  %s %s: %s\n", seed_kind_name(w[i].kind), w[i].name,
               created ? "created" : "there already, kept");
    }
    rc = EXIT_GOOD;
out:
    fflush(stdout);
    reg_close(r);
    for (size_t i = 0; i < nw; i++) {
        free(w[i].doc);
        free(w[i].owned);
    }
    free(w);
    return rc;
}
