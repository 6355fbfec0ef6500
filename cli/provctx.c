#include "cli/provctx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli/cmd.h"
#include "cli/jobopts.h"
#include "engine/journal.h"
#include "iot/client.h"

const char provctx_help[] =
    "  --skip-invalid        provision the valid items of a file that has invalid ones\n"
    "  --endpoint-url URL    AWS IoT endpoint (default: from the AWS configuration)\n"
    "  --allow-http          allow a plain http:// endpoint that is not loopback\n"
    "  --region R, --profile P, --ca-bundle FILE\n"
    "  --local               use the embedded local endpoint even if AWS is configured\n"
    "  --account ID          the account id (else learned in the pre-flight)\n"
    "  --state DIR           journal, audit log and reports (default\n"
    "                        $XDG_STATE_HOME/thingpress or ~/.local/state/thingpress)\n"
    "  --workers N           concurrent calls (default 32)\n"
    "  --rate OP=TPS         starting rate of an operation (adapts to throttling)\n"
    "  --max-outage DUR      how long an outage is waited out before the job\n"
    "                        pauses, items pending (90s, 15m, 2h; default 15m;\n"
    "                        0 = pause at once)\n"
    "  --verbose             a line per AWS IoT call on stderr: operation, HTTP\n"
    "                        status, latency, attempt, request id (never a secret)\n";

void provctx_init(provctx *p)
{
    memset(p, 0, sizeof *p);
    jobcfg_init(&p->cfg);
}

void provctx_free(provctx *p)
{
    for (size_t i = 0; i < sizeof p->owned / sizeof p->owned[0]; i++)
        free(p->owned[i]);
    sim_stop(p->sm);
    p->sm = NULL;
    station_free(&p->st);
    creds_free(&p->cr);
    jobcfg_free(&p->cfg);
}

int provctx_preload(provctx *p, int argc, char **argv)
{
    err e;
    err_clear(&e);
    char msg[800];
    /* the station profile first: --config and the command line come after */
    if (station_load(&p->st, &e) || station_apply(&p->st, &p->cfg, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    if (station_local(&p->st))
        p->local = 1;
    if (p->st.name && !getenv("THINGPRESS_STATION"))
        setenv("THINGPRESS_STATION", p->st.name, 0);
    if (jobopts_preload(&p->cfg, argc, argv, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    return 0;
}

int provctx_option(provctx *p, int argc, char **argv, int *i)
{
    err e;
    err_clear(&e);
    char msg[800];
    const char *a = argv[*i];
    int t = jobopts_take(&p->cfg, argc, argv, i, &e);
    if (t < 0) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    if (t > 0)
        return 1;
    if (!strcmp(a, "--skip-invalid")) {
        p->cfg.skip_invalid = 1;
        return 1;
    }
    if (!strcmp(a, "--local")) {
        p->local = 1;
        return 1;
    }
    if (!strcmp(a, "--allow-http")) {
        p->allow_http = 1;
        return 1;
    }
    if (!strcmp(a, "--verbose")) {
        p->verbose = 1;
        return 1;
    }
    const char *opt = NULL;
    static const char *const valued[] = {"--endpoint-url", "--region",  "--profile",
                                         "--ca-bundle",    "--account", "--state",
                                         "--workers",      "--rate",    "--max-outage"};
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        size_t n = strlen(valued[k]);
        if (!strncmp(a, valued[k], n) && (a[n] == '\0' || a[n] == '='))
            opt = valued[k];
    }
    if (!opt)
        return 0;
    const char *v = strchr(a, '=')  ? strchr(a, '=') + 1
                    : *i + 1 < argc ? argv[++*i]
                                    : NULL;
    if (!v) {
        cli_error("%s needs a value", opt);
        return -1;
    }
    const char **dst = NULL;
    if (!strcmp(opt, "--endpoint-url"))
        dst = &p->endpoint;
    else if (!strcmp(opt, "--region"))
        dst = &p->region;
    else if (!strcmp(opt, "--profile"))
        dst = &p->profile;
    else if (!strcmp(opt, "--ca-bundle"))
        dst = &p->ca_bundle;
    else if (!strcmp(opt, "--account"))
        dst = &p->account;
    else if (!strcmp(opt, "--state"))
        dst = &p->state;
    if (dst) {
        *dst = v;
        return 1;
    }
    if (!strcmp(opt, "--workers")) {
        if (jobcfg_set(&p->cfg, "workers", v, NULL, 0, &e) < 0) {
            cli_error("%s", err_format(&e, msg, sizeof msg));
            return -1;
        }
        p->workers = p->cfg.workers;
        return 1;
    }
    if (!strcmp(opt, "--max-outage")) {
        long ms = provctx_parse_duration_ms(v);
        if (ms < 0) {
            cli_error("--max-outage: expected a duration like 90s, 15m or 2h, got '%s'",
                      v);
            return -1;
        }
        p->max_outage_ms = ms ? ms : -1; /* 0: pause at once */
        return 1;
    }
    /* --rate OP=TPS */
    const char *eq = strchr(v, '=');
    char key[128];
    if (!eq || (size_t)(eq - v) >= sizeof key - 6) {
        cli_error("--rate: expected OPERATION=TPS, got '%s'", v);
        return -1;
    }
    snprintf(key, sizeof key, "rate.%.*s", (int)(eq - v), v);
    if (jobcfg_set(&p->cfg, key, eq + 1, NULL, 0, &e) < 0) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    return 1;
}

/* The local endpoint's database in the resolved state directory, which is
 * created. */
static int local_db_in(char *out, size_t n, const char *state_dir, err *e)
{
    if (jnl_make_dirs(state_dir, e))
        return -1;
    if ((size_t)snprintf(out, n, "%s/local-endpoint.db", state_dir) >= n) {
        err_set(e, ERR_USAGE, state_dir, 0, -1, "the state directory's path is too long");
        return -1;
    }
    return 0;
}

int provctx_local_db(char *out, size_t n, const char *state, err *e)
{
    char dir[1024];
    if (jnl_state_dir(dir, sizeof dir, state, e))
        return -1;
    return local_db_in(out, n, dir, e);
}

/* Starts the embedded local endpoint (state in the state directory); on
 * success replaces p's credentials and server with its own. */
static int start_local(provctx *p, err *e)
{
    char local_url[64], local_akid[] = "AKIDLOCALENDPOINT", local_secret[48];
    char db[1100];
    if (local_db_in(db, sizeof db, p->state_dir, e))
        return -1;
    /* a fresh secret each run (the endpoint lives in this process only):
     * 20 random bytes from OpenSSL's CSPRNG, not guessable from the clock
     * and the pid */
    unsigned char rnd[20];
    if (RAND_bytes(rnd, (int)sizeof rnd) != 1) {
        err_set(e, ERR_INTERNAL, p->state_dir, 0, -1,
                "local endpoint: cannot draw a random secret (OpenSSL RAND_bytes)");
        return -1;
    }
    memcpy(local_secret, "local", 5);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(local_secret + 5 + 2 * i, 3, "%02x", rnd[i]);
    OPENSSL_cleanse(rnd, sizeof rnd);
    sim_opts so = {.listen = "127.0.0.1:0",
                   .db_path = db,
                   .quotas = "unlimited",
                   .region = p->region ? p->region : "us-east-1",
                   .access_key = local_akid,
                   .secret_key = local_secret};
    sim *sm = NULL;
    int port = sim_start(&sm, &so, e);
    if (port < 0 && e->code == ERR_USAGE && strstr(e->msg, "in use by another")) {
        /* the sim's advice names its own --db: say it in this command's terms */
        err_clear(e);
        err_set(e, ERR_USAGE, db, 0, -1,
                "the local endpoint's database is in use by another thingpress (a "
                "console, provision or watch on the same state directory): wait for it "
                "to end, or give this one another --state");
        return -1;
    }
    if (port < 0)
        return -1;
    snprintf(local_url, sizeof local_url, "http://127.0.0.1:%d", port);
    sim_stop(p->sm);
    p->sm = sm;
    /* The registry's name is part of a job's identity: a relative --state
     * is resolved (the database exists now), so that it names the same
     * registry from every directory. An absolute one is kept as given, as
     * the jobs recorded before name it. */
    char *abs = db[0] == '/' ? NULL : realpath(db, NULL);
    snprintf(p->registry, sizeof p->registry, "local endpoint %s", abs ? abs : db);
    free(abs);
    creds_free(&p->cr);
    iot_target_set(&p->cr.target, local_url, so.region, NULL, local_akid, local_secret,
                   NULL, NULL);
    return 0;
}

static creds_options options_of(const provctx *p)
{
    creds_options co = {.profile = p->profile,
                        .region = p->region,
                        .endpoint_url = p->endpoint,
                        .ca_bundle = p->ca_bundle,
                        .allow_http = p->allow_http};
    return co;
}

/* The --account option travels in the target (the engine's known account). */
static void set_account(provctx *p)
{
    free(p->cr.target.account);
    p->cr.target.account = p->account && *p->account ? strdup(p->account) : NULL;
}

static void join(char *out, size_t n, char *const *v, size_t k)
{
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < k && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s%s", i ? "," : "", v[i]);
}

/* A locked field of the station profile changed by --config or the command
 * line: refused (a line PC is not pointed elsewhere, nor attaches other
 * policies). */
static int check_locked(const provctx *p)
{
    static const char *const keys[] = {"endpoint_url", "profile",        "region",
                                       "policies",     "thing_groups",   "thing_type",
                                       "cert_active",  "thing_deferred", "skip_invalid"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (!station_locked(&p->st, keys[i]))
            continue;
        char now[1024];
        const jobcfg *c = &p->cfg;
        const char *want = station_value(&p->st, keys[i]);
        switch (i) {
        case 0:
            snprintf(now, sizeof now, "%s",
                     p->local      ? "local"
                     : p->endpoint ? p->endpoint
                                   : "");
            break;
        case 1:
            snprintf(now, sizeof now, "%s", p->profile ? p->profile : "");
            break;
        case 2:
            snprintf(now, sizeof now, "%s", p->region ? p->region : "");
            break;
        case 3:
            join(now, sizeof now, c->policies, c->n_policies);
            break;
        case 4:
            join(now, sizeof now, c->thing_groups, c->n_thing_groups);
            break;
        case 5:
            snprintf(now, sizeof now, "%s", c->thing_type ? c->thing_type : "");
            break;
        default: {
            int v = i == 6   ? c->cert_active
                    : i == 7 ? c->thing_deferred
                             : c->skip_invalid;
            snprintf(now, sizeof now, "%s", v ? "true" : "false");
            if (!*want)
                want = i == 7 ? "true" : "false";
        }
        }
        char w[1024];
        snprintf(w, sizeof w, "%s", want);
        for (char *q = w; *q; q++) /* "a, b" and "a,b" are the same list */
            if (*q == ' ')
                memmove(q, q + 1, strlen(q)), q--;
        if (strcmp(now, w)) {
            cli_error("%s is locked by the station profile %s (%s): it cannot be set to "
                      "'%s' here",
                      keys[i], p->st.path, *want ? want : "unset", now);
            return -1;
        }
    }
    return 0;
}

int provctx_connect(provctx *p)
{
    err e;
    err_clear(&e);
    char msg[800];
    if (jobcfg_check(&p->cfg, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    if (!p->endpoint)
        p->endpoint = p->cfg.endpoint_url;
    if (!p->region)
        p->region = p->cfg.region;
    if (!p->profile)
        p->profile = p->cfg.profile;
    if (!p->state)
        p->state = p->cfg.state_dir;
    if (check_locked(p))
        return -1;
    /* the journal's rule (journal.h), so every file of the state (journal,
     * locks, reports, the embedded endpoint's database) is in one place */
    if (jnl_state_dir(p->state_dir, sizeof p->state_dir, p->state, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }

    if (iot_global_init(&e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    /* Where to send: the AWS configuration, or the embedded local endpoint. */
    creds_options co = options_of(p);
    char what[256];
    if (!p->local && !creds_configured(&co, what, sizeof what))
        p->local = 1;
    if (!p->local) {
        if (creds_resolve(&p->cr, &co, &e)) {
            cli_error("%s", err_format(&e, msg, sizeof msg));
            return -1;
        }
        set_account(p);
        return 0;
    }
    /* the sample resources, as in the console: the bundled files run end to
     * end on a fresh local endpoint, headless too */
    if (start_local(p, &e) || sim_seed_samples(p->sm, &e)) {
        cli_error("local endpoint: %s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    fprintf(stderr,
            "thingpress: no AWS account configured: using the local endpoint %s "
            "(state in %s/local-endpoint.db)\n",
            p->cr.target.endpoint_url, p->state_dir);
    set_account(p);
    return 0;
}

int provctx_retarget(provctx *p, int local, const char *endpoint, const char *profile,
                     const char *region, err *e)
{
    char *v[3] = {endpoint && *endpoint ? strdup(endpoint) : NULL,
                  profile && *profile ? strdup(profile) : NULL,
                  region && *region ? strdup(region) : NULL};
    if (!local) {
        creds_options co = {.profile = v[1],
                            .region = v[2],
                            .endpoint_url = v[0],
                            .ca_bundle = p->ca_bundle,
                            .allow_http = p->allow_http};
        creds fresh;
        if (creds_resolve(&fresh, &co, e)) {
            for (int i = 0; i < 3; i++)
                free(v[i]);
            return -1;
        }
        creds_free(&p->cr);
        p->cr = fresh;
        sim_stop(p->sm);
        p->sm = NULL;
        p->registry[0] = '\0';
    } else if (!p->local || !p->sm) {
        /* profile and region are kept for a later switch to AWS */
        const char *keep = p->region;
        p->region = NULL; /* the local endpoint's region is its own */
        int rc = start_local(p, e);
        p->region = keep;
        if (rc) {
            for (int i = 0; i < 3; i++)
                free(v[i]);
            return -1;
        }
    }
    p->local = local;
    for (int i = 0; i < 3; i++) {
        free(p->owned[i]);
        p->owned[i] = v[i];
    }
    p->endpoint = v[0];
    p->profile = v[1];
    p->region = v[2];
    set_account(p);
    return 0;
}

long provctx_parse_duration_ms(const char *v)
{
    char *end;
    errno = 0;
    double n = strtod(v, &end);
    if (end == v || errno || n < 0 || n != n)
        return -1;
    double mult = 1000;
    if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "") || !strcmp(end, "s"))
        mult = 1000;
    else if (!strcmp(end, "m") || !strcmp(end, "min"))
        mult = 60000;
    else if (!strcmp(end, "h"))
        mult = 3600000;
    else
        return -1;
    double ms = n * mult;
    return ms > 7 * 24 * 3600000.0 ? -1 : (long)ms;
}

/* eng_opts.refresh: the same resolution again (credential_process run
 * again, the credentials file read again), on a worker thread. */
static int refresh_creds(void *ctx, iot_target *out, err *e)
{
    const provctx *p = ctx;
    creds fresh;
    creds_options co = options_of(p);
    if (creds_resolve(&fresh, &co, e))
        return -1;
    iot_target_set_credentials(out, fresh.target.access_key, fresh.target.secret_key,
                               fresh.target.session_token, fresh.target.expiration);
    creds_free(&fresh);
    return 0;
}

int provctx_refresh(provctx *p)
{
    if (p->local || !p->cr.target.expiration ||
        p->cr.target.expiration - time(NULL) > 15 * 60)
        return 0;
    err e;
    err_clear(&e);
    char msg[800];
    creds fresh;
    creds_options co = options_of(p);
    if (creds_resolve(&fresh, &co, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        return -1;
    }
    creds_free(&p->cr);
    p->cr = fresh;
    set_account(p);
    return 0;
}

void provctx_eng_opts(const provctx *p, eng_opts *out, const char *file)
{
    memset(out, 0, sizeof *out);
    out->file = file;
    out->cfg = &p->cfg;
    out->target = &p->cr.target;
    out->state_dir = p->state_dir;
    out->registry = p->local ? p->registry : NULL;
    out->workers = p->workers;
    out->max_outage_ms = p->max_outage_ms;
    if (!p->local) {
        out->refresh = refresh_creds;
        out->refresh_ctx = (void *)p;
    }
    if (p->verbose)
        out->trace = provctx_trace;
}

void provctx_trace(void *ctx, const struct iot_trace *t)
{
    (void)ctx;
    char line[1024];
    iot_trace_format(t, line, sizeof line);
    /* on a terminal, over the progress bar's line (it is drawn again) */
    fprintf(stderr, "%strace: %s\n", isatty(STDERR_FILENO) ? "\r\033[K" : "", line);
}
