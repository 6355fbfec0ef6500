/* thingpress provision FILE: run a job headless (DESIGN.md §4). Progress on
 * stderr (a bar on a terminal, a line every few seconds otherwise), a final
 * summary naming the job's report (DESIGN.md §7), exit status 0 / 1 / 2. With no AWS
 * configuration and no
 * --endpoint-url, the job runs against the embedded local endpoint. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/cmd.h"
#include "cli/jobopts.h"
#include "cli/provctx.h"
#include "cli/regfold.h"
#include "engine/engine.h"

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
    "  --dry-run             validate, check the account (pre-flight) and the\n"
    "                        registry's state of every item; send nothing\n"
    "  --resume-cancelled    go on with a job that was cancelled (else refused)\n";

static const char help_exit[] =
    "\n"
    "Exit status: 0 every item done, 1 some items invalid or failed, 2 the file,\n"
    "the configuration or the account pre-flight was rejected, or the job could not\n"
    "go on (its journal could not be written, an outage lasted --max-outage, Ctrl-C\n"
    "or SIGTERM paused it): its items stay pending and the same command resumes it.\n"
    "\n";

static void fmt_duration(char *out, size_t n, double s)
{
    if (s < 0)
        snprintf(out, n, "--:--");
    else if (s < 3600)
        snprintf(out, n, "%02d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%dh%02d", (int)s / 3600, (int)s / 60 % 60);
}

/* "waiting 1m10s for the service (HTTP 503 ...): next try in 8 s, pauses
 * in 13m50s" while an outage is waited out. */
static void waiting_line(const eng_snapshot *s, int tty)
{
    char lasted[32], left[32];
    fmt_duration(lasted, sizeof lasted, s->outage_s);
    double rest = s->max_outage_s - s->outage_s;
    fmt_duration(left, sizeof left, rest > 0 ? rest : 0);
    fprintf(stderr,
            "%swaiting %s for the service: %s; next try in %.0f s, the job pauses in "
            "%s%s",
            tty ? "\r\033[K" : "progress: ", lasted, s->waiting_for, s->next_try_s, left,
            tty ? "" : "\n");
}

static void progress(const eng_snapshot *s, int tty, int final)
{
    if (s->waiting && !final) {
        waiting_line(s, tty);
        return;
    }
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

/* --dry-run: the registry's state of every item (read-only, as `validate
 * --check-registry`): the items it would refuse are errors (exit 1). */
static int dry_run_registry(provctx *pc, const char *path)
{
    scan_opts so = {0};
    so.src.vendor = pc->cfg.vendor;
    so.src.infineon_bundle = pc->cfg.infineon_bundle;
    so.src.microchip_signers = pc->cfg.microchip_signers;
    so.val.has_thing_type = pc->cfg.thing_type != NULL;
    rc_result *reg = NULL;
    size_t n = 0;
    int phase = 0;
    if (regfold_check(pc, path, &so, &reg, &n, &phase))
        return EXIT_REJECTED;
    size_t bad = 0, warned = 0, present = 0, absent = 0;
    for (size_t i = 0; i < n; i++) {
        char why[200];
        item_verdict v = rc_verdict(phase, &reg[i], why, sizeof why);
        present += reg[i].state == RC_PRESENT;
        absent += reg[i].state == RC_ABSENT;
        if (v == ITEM_ERROR && bad++ < 20)
            printf("  error index %zu: %s\n", i, why);
        if (v == ITEM_WARN && warned++ < 20)
            printf("  warn  index %zu: %s\n", i, why);
    }
    printf("%s: registry: %zu registered, %zu not registered; %zu would fail\n", path,
           present, absent, bad);
    free(reg);
    return bad ? EXIT_ITEMS : EXIT_GOOD;
}

/* "  report: PATH" once the job's report is written (every job that ran),
 * or why it could not be. */
static void print_report(const eng_snapshot *s)
{
    if (s->report[0])
        printf("  report: %s\n", s->report);
    else if (s->report_error[0])
        printf("  report not written: %s\n", s->report_error);
}

int cmd_provision(int argc, char **argv)
{
    provctx pc;
    provctx_init(&pc);
    err e;
    err_clear(&e);
    char msg[800];
    const char *path = NULL;
    int dry_run = 0, resume_cancelled = 0, rc = EXIT_REJECTED;
    eng *g = NULL;

    if (provctx_preload(&pc, argc, argv))
        goto out;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t = provctx_option(&pc, argc, argv, &i);
        if (t < 0)
            goto out;
        if (t > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            fputs(provctx_help, stdout);
            fputs(help_exit, stdout);
            fputs(jobopts_help, stdout);
            rc = EXIT_GOOD;
            goto out;
        }
        if (!strcmp(a, "--dry-run")) {
            dry_run = 1;
            continue;
        }
        if (!strcmp(a, "--resume-cancelled")) {
            resume_cancelled = 1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            cli_error(
                "provision: unknown option '%s' (try 'thingpress provision --help')", a);
            goto out;
        }
        if (path) {
            cli_error("provision: one FILE only ('%s' and '%s')", path, a);
            goto out;
        }
        path = a;
    }
    if (!path) {
        cli_error("provision: missing FILE (try 'thingpress provision --help')");
        goto out;
    }
    if (provctx_connect(&pc))
        goto out;

    eng_opts eo;
    provctx_eng_opts(&pc, &eo, path);
    eo.dry_run = dry_run;
    eo.resume_cancelled = resume_cancelled;
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
            eng_pause(g); /* an interruption pauses; only an operator cancels */
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
            fprintf(stderr, "  index %zu %s: %s\n", ev[i].idx, ev[i].key, ev[i].text);
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
            fprintf(stderr, "  index %zu %s: %s\n", ev[i].idx, ev[i].key, ev[i].text);
    if (s.state == ENG_RUNNING || s.state >= ENG_DONE) {
        if (s.job_id)
            progress(&s, tty, 1);
    }

    switch (s.state) {
    case ENG_REJECTED: /* the message names the file unless it is about the account */
        if (!strncmp(s.message, path, strlen(path)) && s.message[strlen(path)] == ':')
            cli_error("%s", s.message);
        else
            cli_error("%s: %s", path, s.message);
        rc = s.invalid && !pc.cfg.skip_invalid ? EXIT_ITEMS : EXIT_REJECTED;
        break;
    case ENG_ERROR:
        cli_error("%s: %s", path, s.message);
        print_report(&s);
        rc = EXIT_REJECTED;
        break;
    default: {
        if (s.dry_run) {
            printf("%s: %s\n", path, s.message);
            rc = dry_run_registry(&pc, path);
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
        printf("\n  endpoint %s, account %s, %.*f s", s.endpoint,
               s.account[0] ? s.account : "?", s.elapsed < 1 ? 3 : 1, s.elapsed);
        if (s.elapsed > 0)
            printf(", %.1f items/s", s.items_per_s);
        printf("\n");
        int seeded = 0; /* pacers that started from what earlier jobs learned */
        for (size_t i = 0; i < s.n_ops; i++)
            if (s.ops[i].seeded)
                printf("%s %s %.1f/s",
                       seeded++ ? "," : "  started from the pace learned before:",
                       s.ops[i].op, s.ops[i].start_tps);
        if (seeded)
            printf("\n");
        print_report(&s);
        if (s.state == ENG_PAUSED && !s.job_id)
            printf("  paused before its job started: nothing was sent\n");
        else if (s.state == ENG_PAUSED)
            printf("  paused with %zu items pending: run the same command again to "
                   "resume\n",
                   s.total - s.done - s.failed - s.skipped);
        if (s.state == ENG_PAUSED && !cancelled)
            cli_error("%s: job %lld %s", path, s.job_id, s.message); /* an outage */
        if (s.state == ENG_CANCELLED)
            printf("  cancelled: it resumes only with --resume-cancelled\n");
        if (s.outages)
            printf("  waited out %u outage%s (%.0f s)\n", s.outages,
                   s.outages == 1 ? "" : "s", s.outage_total_s);
        if (s.creds_refreshed)
            printf("  credentials refreshed %u time%s\n", s.creds_refreshed,
                   s.creds_refreshed == 1 ? "" : "s");
        /* skipped items are invalid ones: the file was not all good; a paused
         * job did not finish (and nothing of it failed for that) */
        rc = s.state == ENG_PAUSED               ? EXIT_REJECTED
             : s.state == ENG_DONE && !s.skipped ? EXIT_GOOD
                                                 : EXIT_ITEMS;
    }
    }
out:
    eng_free(g);
    provctx_free(&pc);
    return rc;
}
