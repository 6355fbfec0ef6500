/* thingpress provision FILE: run a job headless (DESIGN.md §4). Progress on
 * stderr (a bar on a terminal, a line every few seconds otherwise), a final
 * summary, exit status 0 / 1 / 2. With no AWS configuration and no
 * --endpoint-url, the job runs against the embedded local endpoint. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/cmd.h"
#include "cli/jobopts.h"
#include "engine/engine.h"
#include "iot/client.h"
#include "iot/creds.h"
#include "sim/sim.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static const char help[] =
    "usage: thingpress provision FILE [options]\n"
    "\n"
    "Provision a vendor file (Phase 1: register the certificates) or a device-infos\n"
    "file (Phase 2: activate, create things, attach) into AWS IoT Core. The same file\n"
    "with the same configuration resumes where an earlier run stopped.\n"
    "\n"
    "  --skip-invalid        provision the valid items of a file that has invalid ones\n"
    "  --dry-run             validate and check the account (pre-flight); send nothing\n"
    "  --endpoint-url URL    AWS IoT endpoint (default: from the AWS configuration)\n"
    "  --region R, --profile P, --ca-bundle FILE\n"
    "  --local               use the embedded local endpoint even if AWS is configured\n"
    "  --account ID          the account id (else learned in the pre-flight)\n"
    "  --state DIR           journal, audit log and reports (default\n"
    "                        $XDG_STATE_HOME/thingpress)\n"
    "  --workers N           concurrent calls (default 32)\n"
    "  --rate OP=TPS         starting rate of an operation (adapts to throttling)\n"
    "\n"
    "Exit status: 0 every item done, 1 some items invalid or failed, 2 the file,\n"
    "the configuration or the account pre-flight was rejected.\n"
    "\n";

static int mkdirs(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0700);
            *p = '/';
        }
    }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* The state directory the journal will use (see journal.h). */
static void state_dir_of(char *out, size_t n, const char *given)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (given && *given)
        snprintf(out, n, "%s", given);
    else if (xdg && *xdg)
        snprintf(out, n, "%s/thingpress", xdg);
    else
        snprintf(out, n, "%s/.local/state/thingpress", home && *home ? home : ".");
}

static void fmt_duration(char *out, size_t n, double s)
{
    if (s < 0)
        snprintf(out, n, "--:--");
    else if (s < 3600)
        snprintf(out, n, "%02d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%dh%02d", (int)s / 3600, (int)s / 60 % 60);
}

static void progress(const eng_snapshot *s, int tty, int final)
{
    size_t finished = s->done + s->failed + s->skipped;
    double frac = s->total ? (double)finished / (double)s->total : 0;
    char eta[32];
    fmt_duration(eta, sizeof eta, s->eta);
    if (tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr,
                "\r\033[K[%s] %3.0f%% %zu/%zu  %.1f items/s  ETA %s  failed %zu  "
                "throttled %llu",
                bar, frac * 100, finished, s->total, s->items_per_s, eta, s->failed,
                s->throttles);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr,
                "progress: %zu/%zu items (%.0f%%), %.1f items/s, ETA %s, failed %zu, "
                "throttled %llu, %s\n",
                finished, s->total, frac * 100, s->items_per_s, eta, s->failed,
                s->throttles, eng_state_name(s->state));
    }
}

int cmd_provision(int argc, char **argv)
{
    jobcfg cfg;
    jobcfg_init(&cfg);
    err e;
    err_clear(&e);
    char msg[800];
    const char *path = NULL, *endpoint = NULL, *region = NULL, *profile = NULL,
               *ca_bundle = NULL, *account = NULL, *state = NULL;
    int dry_run = 0, local = 0, workers = 0, rc = EXIT_REJECTED;
    creds cr = {0};
    sim *sm = NULL;
    eng *g = NULL;

    if (jobopts_preload(&cfg, argc, argv, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t = jobopts_take(&cfg, argc, argv, &i, &e);
        if (t < 0) {
            cli_error("%s", err_format(&e, msg, sizeof msg));
            goto out;
        }
        if (t > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            fputs(jobopts_help, stdout);
            rc = EXIT_GOOD;
            goto out;
        }
        if (!strcmp(a, "--skip-invalid")) {
            cfg.skip_invalid = 1;
            continue;
        }
        if (!strcmp(a, "--dry-run")) {
            dry_run = 1;
            continue;
        }
        if (!strcmp(a, "--local")) {
            local = 1;
            continue;
        }
        const char **dst = NULL;
        const char *opt = NULL;
        static const char *const valued[] = {"--endpoint-url", "--region",  "--profile",
                                             "--ca-bundle",    "--account", "--state",
                                             "--workers",      "--rate"};
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
            size_t n = strlen(valued[k]);
            if (!strncmp(a, valued[k], n) && (a[n] == '\0' || a[n] == '='))
                opt = valued[k];
        }
        if (!opt) {
            if (a[0] == '-' && a[1]) {
                cli_error(
                    "provision: unknown option '%s' (try 'thingpress provision --help')",
                    a);
                goto out;
            }
            if (path) {
                cli_error("provision: one FILE only ('%s' and '%s')", path, a);
                goto out;
            }
            path = a;
            continue;
        }
        const char *v = strchr(a, '=') ? strchr(a, '=') + 1
                        : i + 1 < argc ? argv[++i]
                                       : NULL;
        if (!v) {
            cli_error("%s needs a value", opt);
            goto out;
        }
        if (!strcmp(opt, "--endpoint-url"))
            dst = &endpoint;
        else if (!strcmp(opt, "--region"))
            dst = &region;
        else if (!strcmp(opt, "--profile"))
            dst = &profile;
        else if (!strcmp(opt, "--ca-bundle"))
            dst = &ca_bundle;
        else if (!strcmp(opt, "--account"))
            dst = &account;
        else if (!strcmp(opt, "--state"))
            dst = &state;
        if (dst) {
            *dst = v;
            continue;
        }
        if (!strcmp(opt, "--workers")) {
            if (jobcfg_set(&cfg, "workers", v, NULL, 0, &e) < 0) {
                cli_error("%s", err_format(&e, msg, sizeof msg));
                goto out;
            }
            workers = cfg.workers;
            continue;
        }
        /* --rate OP=TPS */
        const char *eq = strchr(v, '=');
        char key[128];
        if (!eq || (size_t)(eq - v) >= sizeof key - 6) {
            cli_error("--rate: expected OPERATION=TPS, got '%s'", v);
            goto out;
        }
        snprintf(key, sizeof key, "rate.%.*s", (int)(eq - v), v);
        if (jobcfg_set(&cfg, key, eq + 1, NULL, 0, &e) < 0) {
            cli_error("%s", err_format(&e, msg, sizeof msg));
            goto out;
        }
    }
    if (!path) {
        cli_error("provision: missing FILE (try 'thingpress provision --help')");
        goto out;
    }
    if (jobcfg_check(&cfg, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    if (!endpoint)
        endpoint = cfg.endpoint_url;
    if (!region)
        region = cfg.region;
    if (!profile)
        profile = cfg.profile;
    if (!state)
        state = cfg.state_dir;
    char state_dir[1024];
    state_dir_of(state_dir, sizeof state_dir, state);

    if (iot_global_init(&e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    /* Where to send: the AWS configuration, or the embedded local endpoint. */
    creds_options co = {.profile = profile,
                        .region = region,
                        .endpoint_url = endpoint,
                        .ca_bundle = ca_bundle};
    char what[256];
    if (!local && !creds_configured(&co, what, sizeof what))
        local = 1;
    char local_url[64], local_akid[] = "AKIDLOCALENDPOINT", local_secret[48];
    char local_registry[1200] = "";
    if (local) {
        if (mkdirs(state_dir)) {
            cli_error("%s: cannot create the state directory: %s", state_dir,
                      strerror(errno));
            goto out;
        }
        char db[1100];
        snprintf(db, sizeof db, "%s/local-endpoint.db", state_dir);
        /* a fresh secret each run: the endpoint lives in this process only */
        unsigned long long r =
            (unsigned long long)time(NULL) ^ (unsigned long long)getpid();
        snprintf(local_secret, sizeof local_secret, "local%016llx",
                 r * 6364136223846793005ULL);
        sim_opts so = {.listen = "127.0.0.1:0",
                       .db_path = db,
                       .quotas = "unlimited",
                       .region = region ? region : "us-east-1",
                       .access_key = local_akid,
                       .secret_key = local_secret};
        int port = sim_start(&sm, &so, &e);
        if (port < 0) {
            cli_error("local endpoint: %s", err_format(&e, msg, sizeof msg));
            goto out;
        }
        snprintf(local_url, sizeof local_url, "http://127.0.0.1:%d", port);
        snprintf(local_registry, sizeof local_registry, "local endpoint %s", db);
        fprintf(stderr,
                "thingpress: no AWS account configured: using the local endpoint %s "
                "(state in %s)\n",
                local_url, db);
        cr.access_key = strdup(local_akid);
        cr.secret_key = strdup(local_secret);
        cr.region = strdup(so.region);
        cr.endpoint_url = strdup(local_url);
    } else if (creds_resolve(&cr, &co, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }

    eng_opts eo = {
        .file = path,
        .cfg = &cfg,
        .endpoint_url = cr.endpoint_url,
        .region = cr.region,
        .access_key = cr.access_key,
        .secret_key = cr.secret_key,
        .session_token = cr.session_token,
        .ca_bundle = cr.ca_bundle,
        .account = account,
        .state_dir = state_dir,
        .registry = local ? local_registry : NULL,
        .workers = workers,
        .dry_run = dry_run,
    };
    if (eng_start(&g, &eo, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int tty = isatty(fileno(stderr));
    double last = rate_now(); /* the first line once there is something to say */
    eng_snapshot s;
    int cancelled = 0;
    for (;;) {
        eng_snapshot_get(g, &s);
        if (s.state >= ENG_DONE)
            break;
        if (interrupted && !cancelled) {
            eng_cancel(g);
            cancelled = 1;
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "thingpress: interrupted: finishing the calls in flight; run "
                            "the same command again to resume\n");
        }
        eng_event ev[16];
        size_t n = eng_events(g, ev, 16);
        for (size_t i = 0; i < n; i++) {
            if (tty)
                fputs("\r\033[K", stderr);
            fprintf(stderr, "  item %zu %s: %s\n", ev[i].idx, ev[i].key, ev[i].text);
        }
        double now = rate_now();
        if (s.state == ENG_RUNNING && (tty ? now - last >= 0.2 : now - last >= 5)) {
            progress(&s, tty, 0);
            last = now;
        }
        usleep(100000);
    }
    eng_wait(g);
    eng_snapshot_get(g, &s);
    eng_event ev[64];
    size_t n;
    while ((n = eng_events(g, ev, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  item %zu %s: %s\n", ev[i].idx, ev[i].key, ev[i].text);
    if (s.state == ENG_RUNNING || s.state >= ENG_DONE) {
        if (s.job_id)
            progress(&s, tty, 1);
    }

    switch (s.state) {
    case ENG_REJECTED:
        cli_error("%s: %s", path, s.message);
        rc = s.invalid && !cfg.skip_invalid ? EXIT_ITEMS : EXIT_REJECTED;
        break;
    case ENG_ERROR:
        cli_error("%s: %s", path, s.message);
        rc = EXIT_REJECTED;
        break;
    default: {
        if (s.dry_run) {
            printf("%s: %s\n", path, s.message);
            rc = EXIT_GOOD;
            break;
        }
        const char *counts[] = {"registered", "activated", "things",
                                "principals", "policies",  "groups"};
        printf("%s: job %lld (Phase %d%s%s%s) %s: %zu items, %zu done", path, s.job_id,
               s.phase, s.batch_id[0] ? ", batch " : "", s.batch_id,
               s.resumed ? ", resumed" : "", eng_state_name(s.state), s.total, s.done);
        if (s.already)
            printf(" (%zu earlier)", s.already);
        printf(", %zu failed, %zu skipped\n", s.failed, s.skipped);
        printf("  calls %llu, retries %llu, throttled %llu;", s.calls, s.retries,
               s.throttles);
        for (int i = 0; i < ENG_N_COUNTS; i++)
            if (s.counts[i])
                printf(" %s %zu", counts[i], s.counts[i]);
        printf("\n  endpoint %s, account %s, %.1f s", s.endpoint,
               s.account[0] ? s.account : "?", s.elapsed);
        if (s.elapsed > 0)
            printf(", %.1f items/s", s.items_per_s);
        printf("\n");
        if (s.report[0])
            printf("  report: %s\n", s.report);
        if (s.state == ENG_CANCELLED)
            printf("  interrupted: run the same command again to resume\n");
        /* skipped items are invalid ones: the file was not all good */
        rc = s.state == ENG_DONE && !s.skipped ? EXIT_GOOD : EXIT_ITEMS;
    }
    }
out:
    eng_free(g);
    sim_stop(sm);
    creds_free(&cr);
    jobcfg_free(&cfg);
    return rc;
}
