/* creds - the resolver: credentials, region, endpoint and CA bundle from
 * options, environment and profile, in the AWS CLI's order (see creds.h).
 *
 * Design: creds_resolve() reads both INI files (creds_ini.c), walks the
 * sources in order and fills a creds, running credential_process
 * (creds_process.c) when the profile has one. Error messages name files,
 * profiles and variables, never a value read from a credentials source.
 *
 * Threading: as creds.h: getenv, so where nothing calls setenv concurrently.
 * Ownership: as creds.h; the profile's files are loaded and freed (wiped)
 * within one creds_resolve(). */
#include "iot/creds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "iot/creds_impl.h"

/* ---- small helpers ---- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static const char *given(const char *s)
{
    return s && *s ? s : NULL;
}

static int is_true(const char *v)
{
    return v && strcasecmp(v, "true") == 0;
}

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        base_fatal("out of memory");
    va_end(ap);
    return s;
}

/* ---- validation of the non-secret values ---- */

static int check_region(const char *r, const char *src, err *e)
{
    size_t n = strlen(r);
    int ok = n > 0 && n < 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-';
    if (!ok) {
        char shown[70];
        creds_printable(shown, sizeof shown, r);
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "region '%s' (from %s) is not an AWS region name like us-east-1", shown,
                src);
    }
    return ok ? 0 : -1;
}

/* Is the host of a URL (after the scheme) loopback: localhost, 127.0.0.0/8
 * or [::1]? Ends at ':', '/', '?' or the end. */
static int loopback_host(const char *h)
{
    size_t n = strcspn(h, "/?#");
    if (n >= 5 && strncmp(h, "[::1]", 5) == 0 && (n == 5 || h[5] == ':'))
        return 1;
    size_t hn = strcspn(h, ":/?#");
    if (hn == 9 && strncasecmp(h, "localhost", 9) == 0)
        return 1;
    if (hn < 4 || strncmp(h, "127.", 4) != 0)
        return 0;
    int dots = 0;
    for (size_t i = 0; i < hn; i++) {
        if (h[i] == '.')
            dots++;
        else if (h[i] < '0' || h[i] > '9')
            return 0;
    }
    return dots == 3 && h[hn - 1] != '.';
}

static int check_url(const char *u, const char *src, int allow_http, err *e)
{
    const char *host = NULL;
    if (strncasecmp(u, "https://", 8) == 0)
        host = u + 8;
    else if (strncasecmp(u, "http://", 7) == 0)
        host = u + 7;
    int ok = host && *host && *host != '/';
    for (const char *p = u; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f;
    if (!ok) {
        char shown[120];
        creds_printable(shown, sizeof shown, u);
        err_set(
            e, ERR_USAGE, NULL, 0, -1,
            "endpoint URL '%s' (from %s) must start with https:// or http:// and name a "
            "host",
            shown, src);
        return -1;
    }
    if (host == u + 7 && !allow_http && !loopback_host(host)) {
        char shown[120];
        size_t hn = strcspn(host, "/?#");
        snprintf(shown, sizeof shown, "%.*s", (int)(hn < 100 ? hn : 100), host);
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "endpoint URL host '%s' (from %s): plain http:// is allowed only to "
                "loopback (127.0.0.1, ::1, localhost); use https:// or --allow-http",
                shown, src);
        return -1;
    }
    return 0;
}

/* ---- resolution ---- */

static char *src_of_profile(const char *what, const char *name, const char *file)
{
    return str_printf("%s%s%s (%s)", what, *what ? " " : "", name, file);
}

static void no_creds_error(err *e, const creds_profile *pr, int named)
{
    if (named && creds_prof_exists(pr)) {
        err_set(
            e, ERR_USAGE, NULL, 0, -1,
            "profile '%s' has no credentials: add aws_access_key_id and "
            "aws_secret_access_key (aws configure --profile %s) or credential_process",
            pr->name, pr->name);
        return;
    }
    err_set(e, ERR_USAGE, NULL, 0, -1,
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "configure a profile (aws configure), or use --local for the embedded local "
            "endpoint");
}

/* Static keys of one file's profile section; 1 found, 0 none, -1 error. */
static int static_keys(creds *c, const creds_profile *pr, const creds_ini *f,
                       const creds_ini_kv *(*get)(const creds_profile *, const char *),
                       err *e)
{
    const creds_ini_kv *ak = get(pr, "aws_access_key_id");
    const creds_ini_kv *sk = get(pr, "aws_secret_access_key");
    const creds_ini_kv *tk = get(pr, "aws_session_token");
    if (!tk)
        tk = get(pr, "aws_security_token");
    int has_ak = ak && *ak->value, has_sk = sk && *sk->value;
    if (!has_ak && !has_sk)
        return 0;
    if (!has_ak || !has_sk) {
        err_set(e, ERR_USAGE, f->display, (has_ak ? ak : sk)->line, -1,
                "profile '%s' has %s but no %s: add it (aws configure --profile %s)",
                pr->name, has_ak ? "aws_access_key_id" : "aws_secret_access_key",
                has_ak ? "aws_secret_access_key" : "aws_access_key_id", pr->name);
        return -1;
    }
    c->target.access_key = xstrdup(ak->value);
    c->target.secret_key = xstrdup(sk->value);
    if (tk && *tk->value)
        c->target.session_token = xstrdup(tk->value);
    c->creds_source = src_of_profile("profile", pr->name, f->display);
    return 1;
}

/* Profiles thingpress cannot turn into keys by itself; 0 or -1. */
static int unsupported_profile(const creds_profile *pr, err *e)
{
    static const char *const keys[] = {"role_arn", "sso_session", "sso_start_url",
                                       "web_identity_token_file"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *where;
        if (creds_prof_get(pr, keys[i], &where)) {
            err_set(e, ERR_USAGE, where, 0, -1,
                    "profile '%s' uses %s, which thingpress does not resolve: run eval "
                    "\"$(aws configure export-credentials --profile %s --format env)\" "
                    "first, or use credential_process",
                    pr->name, keys[i], pr->name);
            return -1;
        }
    }
    return 0;
}

static int resolve_credentials(creds *c, const creds_options *opt,
                               const creds_profile *pr, int named, err *e)
{
    /* 1. environment, unless a profile was given explicitly (aws --profile) */
    if (!given(opt->profile)) {
        const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
        if (ak && !sk) {
            err_set(
                e, ERR_USAGE, NULL, 0, -1,
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, "
                "or unset AWS_ACCESS_KEY_ID to use a profile");
            return -1;
        }
        if (sk && !ak) {
            err_set(
                e, ERR_USAGE, NULL, 0, -1,
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, "
                "or unset AWS_SECRET_ACCESS_KEY to use a profile");
            return -1;
        }
        if (ak) {
            const char *tk = env("AWS_SESSION_TOKEN");
            if (!tk)
                tk = env("AWS_SECURITY_TOKEN");
            const char *exp = env("AWS_CREDENTIAL_EXPIRATION");
            if (exp && (c->target.expiration = creds_parse_time(exp)) < 0) {
                c->target.expiration = 0;
                err_set(e, ERR_USAGE, NULL, 0, -1,
                        "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time like "
                        "2026-11-28T16:17:42Z: fix or unset it");
                return -1;
            }
            c->target.access_key = xstrdup(ak);
            c->target.secret_key = xstrdup(sk);
            c->target.session_token = tk ? xstrdup(tk) : NULL;
            c->creds_source = xstrdup("environment");
            return 0;
        }
    }
    /* 2. the profile */
    if (unsupported_profile(pr, e) < 0)
        return -1;
    int r = static_keys(c, pr, &pr->cred, creds_cred_get, e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    const char *where = NULL;
    const char *cmd = creds_prof_get(pr, "credential_process", &where);
    if (cmd && *cmd) {
        char *who = src_of_profile("credential_process of profile", pr->name, where);
        int timeout = opt->process_timeout_ms > 0 ? opt->process_timeout_ms
                                                  : CREDS_DEFAULT_PROCESS_TIMEOUT_MS;
        if (creds_from_process(c, cmd, timeout, who, e) < 0) {
            free(who);
            return -1;
        }
        c->creds_source = who;
        return 0;
    }
    r = static_keys(c, pr, &pr->conf, creds_conf_get, e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    no_creds_error(e, pr, named);
    return -1;
}

static int resolve_rest(creds *c, const creds_options *opt, const creds_profile *pr,
                        err *e)
{
    const char *where = NULL, *v;

    /* endpoint first: a custom endpoint makes the region optional */
    int ignore = is_true(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
                 is_true(creds_prof_get(pr, "ignore_configured_endpoint_urls", &where));
    if (given(opt->endpoint_url)) {
        c->target.endpoint_url = xstrdup(opt->endpoint_url);
        c->endpoint_source = xstrdup("--endpoint-url");
    } else if (!ignore && (v = env("AWS_ENDPOINT_URL_IOT"))) {
        c->target.endpoint_url = xstrdup(v);
        c->endpoint_source = xstrdup("AWS_ENDPOINT_URL_IOT");
    } else if (!ignore && (v = env("AWS_ENDPOINT_URL"))) {
        c->target.endpoint_url = xstrdup(v);
        c->endpoint_source = xstrdup("AWS_ENDPOINT_URL");
    } else if (!ignore) {
        const char *svc = creds_prof_get(pr, "services", &where);
        if (svc && *svc) {
            char sect[300];
            snprintf(sect, sizeof sect, "services %s", svc);
            const creds_ini_kv *iot = creds_ini_find(&pr->conf, sect, "iot");
            if (!creds_ini_has_section(&pr->conf, sect)) {
                err_set(e, ERR_USAGE, pr->conf.display, 0, -1,
                        "profile '%s' refers to services '%.60s', but there is no "
                        "[services %.60s] section: add it or remove the services line",
                        pr->name, svc, svc);
                return -1;
            }
            char *u = iot ? creds_ini_nested_get(iot->value, "endpoint_url") : NULL;
            if (u && *u) {
                c->target.endpoint_url = u;
                c->endpoint_source = str_printf("[services %s] of profile %s (%s)", svc,
                                                pr->name, pr->conf.display);
            } else {
                free(u);
            }
        }
        if (!c->target.endpoint_url && (v = creds_prof_get(pr, "endpoint_url", &where)) &&
            *v) {
            c->target.endpoint_url = xstrdup(v);
            c->endpoint_source = src_of_profile("profile", pr->name, where);
        }
    }

    if (given(opt->region)) {
        c->target.region = xstrdup(opt->region);
        c->region_source = xstrdup("--region");
    } else if ((v = env("AWS_REGION"))) {
        c->target.region = xstrdup(v);
        c->region_source = xstrdup("AWS_REGION");
    } else if ((v = env("AWS_DEFAULT_REGION"))) {
        c->target.region = xstrdup(v);
        c->region_source = xstrdup("AWS_DEFAULT_REGION");
    } else if ((v = creds_prof_get(pr, "region", &where)) && *v) {
        c->target.region = xstrdup(v);
        c->region_source = src_of_profile("profile", pr->name, where);
    } else if (c->target.endpoint_url) {
        c->target.region = xstrdup("us-east-1");
        c->region_source = xstrdup("default for a custom endpoint");
    } else {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "no AWS region: set AWS_REGION, use --region, or add `region = ...` to "
                "profile '%s' (aws configure)",
                pr->name);
        return -1;
    }
    if (check_region(c->target.region, c->region_source, e) < 0)
        return -1;

    if (!c->target.endpoint_url) {
        int cn = strncmp(c->target.region, "cn-", 3) == 0;
        c->target.endpoint_url = str_printf("https://iot.%s.amazonaws.com%s",
                                            c->target.region, cn ? ".cn" : "");
        c->endpoint_source = xstrdup("default for the region");
    }
    if (check_url(c->target.endpoint_url, c->endpoint_source, opt->allow_http, e) < 0)
        return -1;
    size_t ul = strlen(c->target.endpoint_url);
    while (ul > 8 && c->target.endpoint_url[ul - 1] == '/')
        c->target.endpoint_url[--ul] = '\0';

    const char *ca = NULL;
    if (given(opt->ca_bundle)) {
        ca = opt->ca_bundle;
        c->ca_bundle_source = xstrdup("--ca-bundle");
    } else if ((v = env("AWS_CA_BUNDLE"))) {
        ca = v;
        c->ca_bundle_source = xstrdup("AWS_CA_BUNDLE");
    } else if ((v = creds_prof_get(pr, "ca_bundle", &where)) && *v) {
        ca = v;
        c->ca_bundle_source = src_of_profile("profile", pr->name, where);
    }
    if (ca) {
        c->target.ca_bundle = creds_expand_user(ca);
        if (access(c->target.ca_bundle, R_OK) != 0) {
            char *d = creds_display_path(c->target.ca_bundle);
            err_set(e, ERR_IO, d, 0, -1,
                    "CA bundle (from %s) cannot be read: %s; fix the path or unset it",
                    c->ca_bundle_source, strerror(errno));
            free(d);
            return -1;
        }
    }
    c->target.signing_name = xstrdup(
        given(opt->signing_name) ? opt->signing_name : CREDS_DEFAULT_SIGNING_NAME);
    return 0;
}

static char *default_path(const char *var, const char *leaf)
{
    const char *v = env(var);
    if (v)
        return xstrdup(v);
    return str_printf("~/.aws/%s", leaf);
}

/* Profile name and whether it was named (not the implicit "default"). */
static const char *profile_name(const creds_options *opt, int *named)
{
    const char *p = given(opt->profile);
    if (!p)
        p = env("AWS_PROFILE");
    if (!p)
        p = env("AWS_DEFAULT_PROFILE");
    *named = p != NULL;
    return p ? p : "default";
}

int creds_resolve(creds *out, const creds_options *opt, err *e)
{
    static const creds_options none = {0};
    if (!opt)
        opt = &none;
    memset(out, 0, sizeof *out);
    creds_profile pr;
    memset(&pr, 0, sizeof pr);
    int named;
    pr.name = profile_name(opt, &named);
    char *cred_path = default_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *conf_path = default_path("AWS_CONFIG_FILE", "config");
    int rc = -1;
    if (creds_ini_load(&pr.cred, cred_path, e) < 0 ||
        creds_ini_load(&pr.conf, conf_path, e) < 0)
        goto out;
    if (named && !creds_prof_exists(&pr)) {
        err_set(
            e, ERR_USAGE, NULL, 0, -1,
            "profile '%s' is in neither %s nor %s: create it (aws configure --profile "
            "%s) or choose another (--profile, AWS_PROFILE)",
            pr.name, pr.conf.display, pr.cred.display, pr.name);
        goto out;
    }
    out->profile = xstrdup(pr.name);
    if (resolve_credentials(out, opt, &pr, named, e) < 0 ||
        resolve_rest(out, opt, &pr, e) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        creds_free(out);
    creds_ini_free(&pr.cred);
    creds_ini_free(&pr.conf);
    free(cred_path);
    free(conf_path);
    return rc;
}

void creds_free(creds *c)
{
    if (!c)
        return;
    iot_target_free(&c->target);
    free(c->profile);
    free(c->creds_source);
    free(c->region_source);
    free(c->endpoint_source);
    free(c->ca_bundle_source);
    memset(c, 0, sizeof *c);
}

void creds_mask_key(char *out, size_t n, const char *k)
{
    static const char ell[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t len = k ? strlen(k) : 0;
    size_t keep = len >= 12 ? 4 : len >= 6 ? 2 : 0;
    if (keep)
        snprintf(out, n, "%.*s%s%s", (int)keep, k, ell, k + len - keep);
    else
        snprintf(out, n, "%s", ell);
}

void creds_describe(buf *out, const creds *c)
{
    char akid[32];
    creds_mask_key(akid, sizeof akid, c->target.access_key);
    buf_printf(out, "credentials: %s from %s\n", akid,
               c->creds_source ? c->creds_source : "nowhere");
    if (c->target.expiration) {
        char t[40];
        creds_format_time(t, sizeof t, c->target.expiration);
        buf_printf(out, "session token: %s, expires %s\n",
                   c->target.session_token ? "yes" : "no", t);
    } else {
        buf_printf(out, "session token: %s\n", c->target.session_token ? "yes" : "no");
    }
    buf_printf(out, "region: %s (%s)\n", c->target.region ? c->target.region : "-",
               c->region_source ? c->region_source : "-");
    buf_printf(out, "endpoint: %s (%s)\n",
               c->target.endpoint_url ? c->target.endpoint_url : "-",
               c->endpoint_source ? c->endpoint_source : "-");
    if (c->target.ca_bundle)
        buf_printf(out, "CA bundle: %s (%s)\n", c->target.ca_bundle, c->ca_bundle_source);
    buf_printf(out, "signing name: %s\n",
               c->target.signing_name ? c->target.signing_name : "-");
}

/* Whether the file of var (default ~/.aws/leaf) names a profile. */
static int file_configured(const char *var, const char *leaf, char *what, size_t n)
{
    char *raw = default_path(var, leaf);
    char *path = creds_expand_user(raw);
    free(raw);
    int found = creds_ini_names_section(path);
    if (found && what && n)
        snprintf(what, n, "%s", path);
    free(path);
    return found;
}

int creds_configured(const creds_options *opt, char *what, size_t what_len)
{
    if (what && what_len)
        what[0] = '\0';
    if (opt && given(opt->profile)) {
        if (what && what_len)
            snprintf(what, what_len, "--profile");
        return 1;
    }
    if (opt && given(opt->endpoint_url)) {
        if (what && what_len)
            snprintf(what, what_len, "--endpoint-url");
        return 1;
    }
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",    "AWS_SECRET_ACCESS_KEY",
                                       "AWS_PROFILE",          "AWS_DEFAULT_PROFILE",
                                       "AWS_ENDPOINT_URL_IOT", "AWS_ENDPOINT_URL"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        if (env(vars[i])) {
            if (what && what_len)
                snprintf(what, what_len, "%s", vars[i]);
            return 1;
        }
    }
    return file_configured("AWS_SHARED_CREDENTIALS_FILE", "credentials", what,
                           what_len) ||
           file_configured("AWS_CONFIG_FILE", "config", what, what_len);
}
