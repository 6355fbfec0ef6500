/* thingpress sim: the local AWS-IoT-compatible endpoint in the foreground
 * (DESIGN.md §4, §8) until SIGINT or SIGTERM.
 *
 * SIGINT/SIGTERM are blocked before the server threads start (they inherit
 * the mask) and taken with sigwait on the main thread, so the stop is an
 * orderly sim_stop(): connections closed, the SQLite state checkpointed. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "sim/sim.h"

static const char help[] =
    "usage: thingpress sim [options]\n"
    "       thingpress sim seed [options]   (your own policies, thing groups and\n"
    "                                       thing types: 'thingpress sim seed -h')\n"
    "\n"
    "Run the local AWS IoT endpoint (the control-plane REST API on 127.0.0.1) in the\n"
    "foreground until Ctrl-C. It enforces AWS IoT's validation and state rules, its\n"
    "per-operation quotas and SigV4 signatures, and can inject faults. Prints\n"
    "'thingpress sim: listening on http://127.0.0.1:PORT' once ready. Try it with\n"
    "  aws --endpoint-url http://127.0.0.1:PORT iot list-things\n"
    "\n"
    "  --listen 127.0.0.1:PORT   address (loopback only); PORT 0 = any free port\n"
    "                            (default 127.0.0.1:0)\n"
    "  --db FILE                 SQLite state that survives restarts (default: in\n"
    "                            memory, lost on exit)\n"
    "  --quotas SPEC             aws-default (default), aws-default*K (every quota\n"
    "                            times K, as raised quotas), unlimited, or FILE.json\n"
    "                            of {\"Operation\": calls per second, \"default\": N}\n"
    "  --faults SPEC             e.g. 500:0.03,503:0.02,throttle:0.03,reset:0.01,\n"
    "                            late:0.01,seed:42 (late: applied, then the\n"
    "                            connection drops without a response);\n"
    "                            expire:N: each session token (or access key)\n"
    "                            is accepted N seconds after its first use, then\n"
    "                            refused with 403 ExpiredTokenException;\n"
    "                            outage:S+L: every request from S to S+L seconds\n"
    "                            after the start answered 503; ops:A+B: only\n"
    "                            these operations get faults (and the outage)\n"
    "  --account ID              12-digit account id in ARNs (default 123456789012)\n"
    "  --region R                region in ARNs and the signing scope (default\n"
    "                            us-east-1)\n"
    "  --credentials AKID:SECRET verify SigV4 signatures strictly against this key\n"
    "                            pair; @FILE reads AKID:SECRET from a file. Without\n"
    "                            it any access key is accepted, but requests must\n"
    "                            still carry a well-formed, fresh SigV4 signature\n"
    "  --log FILE                append a JSON line per request (time, op, method,\n"
    "                            path, status, error, fault, sig, latency_us)\n"
    "  --threads N               server threads (default: 2 per CPU, 4 to 16)\n"
    "\n"
    "Exit status: 0 after a clean stop, 2 when the options or the state are\n"
    "rejected.\n";

/* "--name=value" or "--name value"; NULL when a is not --name. */
static const char *opt_value(const char *a, const char *name, int argc, char **argv,
                             int *i, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int cmd_sim(int argc, char **argv)
{
    sim_opts o;
    memset(&o, 0, sizeof o);
    char *akid = NULL, *secret = NULL;
    const char *creds = NULL;
    int rc = EXIT_REJECTED;
    sim *s = NULL;
    err e;
    err_clear(&e);
    char msg[700];

    if (argc > 1 && !strcmp(argv[1], "seed"))
        return cmd_sim_seed(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            rc = EXIT_GOOD;
            goto out;
        }
        static const char *const names[] = {"--listen",      "--db",      "--quotas",
                                            "--faults",      "--account", "--region",
                                            "--credentials", "--log",     "--threads"};
        const char *v = NULL;
        int which = -1, missing = 0;
        for (size_t k = 0; k < sizeof names / sizeof *names && !v && !missing; k++) {
            v = opt_value(a, names[k], argc, argv, &i, &missing);
            which = (int)k;
        }
        if (missing) {
            cli_error("%s needs a value (see 'thingpress sim --help')", a);
            goto out;
        }
        if (!v) {
            cli_error("sim: unknown option '%s' (see 'thingpress sim --help')", a);
            goto out;
        }
        switch (which) {
        case 0:
            o.listen = v;
            break;
        case 1:
            o.db_path = v;
            break;
        case 2:
            o.quotas = v;
            break;
        case 3:
            o.faults = v;
            break;
        case 4:
            o.account = v;
            break;
        case 5:
            o.region = v;
            break;
        case 6:
            creds = v;
            break;
        case 7:
            o.log_path = v;
            break;
        case 8: {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 256) {
                cli_error("--threads: expected a number from 1 to 256, got '%s'", v);
                goto out;
            }
            o.threads = (int)n;
            break;
        }
        }
    }
    if (creds) {
        if (sim_parse_credentials(&akid, &secret, creds, &e) < 0) {
            cli_error("%s", err_format(&e, msg, sizeof msg));
            goto out;
        }
        o.access_key = akid;
        o.secret_key = secret;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    int port = sim_start(&s, &o, &e);
    if (port < 0) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    printf("thingpress sim: listening on http://127.0.0.1:%d\n", port);
    fflush(stdout);
    fprintf(stderr,
            "thingpress sim: account %s, region %s, quotas %s, %s, state %s (Ctrl-C to "
            "stop)\n",
            o.account ? o.account : "123456789012", o.region ? o.region : "us-east-1",
            o.quotas ? o.quotas : "aws-default",
            akid ? "signatures verified" : "any access key accepted",
            o.db_path && *o.db_path ? o.db_path : "in memory");
    int sig = 0;
    sigwait(&set, &sig);
    unsigned long long served, rejected, faulted;
    sim_counts(s, &served, &rejected, &faulted);
    fprintf(stderr,
            "thingpress sim: stopping (%llu served, %llu rejected, %llu faulted)\n",
            served, rejected, faulted);
    rc = EXIT_GOOD;
out:
    sim_stop(s);
    free(akid);
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    return rc;
}
