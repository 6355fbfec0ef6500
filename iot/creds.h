/* creds - AWS credentials, region, endpoint and CA bundle, resolved the way
 * the AWS CLI resolves them (DESIGN.md §6).
 *
 * Design: one call, creds_resolve(), walks the sources in the AWS CLI's order
 * and fills a struct of owned strings that says where each value came from,
 * so the console and `provision` can show it (creds_describe, secret masked).
 *   profile name:  options.profile > AWS_PROFILE > AWS_DEFAULT_PROFILE > "default"
 *   credentials:   environment (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *                  [+ AWS_SESSION_TOKEN]), skipped when options.profile is
 *                  given, as `aws --profile` does; then the profile: static
 *                  keys in the credentials file > credential_process >
 *                  static keys in the config file. Profiles that need STS
 *                  (role_arn, SSO, web identity) are reported, not resolved.
 *   region:        options.region > AWS_REGION > AWS_DEFAULT_REGION > profile
 *                  `region`; with a custom endpoint and no region, us-east-1.
 *   endpoint:      options.endpoint_url > AWS_ENDPOINT_URL_IOT > AWS_ENDPOINT_URL
 *                  > profile `services` section (`iot = \n endpoint_url = ...`)
 *                  > profile `endpoint_url` > https://iot.REGION.amazonaws.com
 *                  (env and config ones are ignored when
 *                  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true or the profile's
 *                  ignore_configured_endpoint_urls = true).
 *   CA bundle:     options.ca_bundle > AWS_CA_BUNDLE > profile `ca_bundle`.
 *   files:         AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *                  AWS_CONFIG_FILE (~/.aws/config); `[NAME]` sections in the
 *                  credentials file, `[profile NAME]` (and `[default]`) in the
 *                  config file; the credentials file wins for the same key.
 * Environment values that are empty count as unset, as in botocore.
 *
 * credential_process runs through /bin/sh -c with fork+exec (stdin
 * /dev/null, its own process group), its stdout is read up to 64 KiB and
 * parsed as {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken",
 * "Expiration"}; a timeout kills the whole group. Its stdout is never shown:
 * errors name the exit status and the last line of its stderr.
 *
 * Errors are one line that says what to set. No error, and nothing
 * creds_describe() prints, ever contains the secret key or the session token;
 * an access key id is shown masked (AKIA…WXYZ).
 *
 * Threading: creds_resolve and creds_configured read the environment
 * (getenv), so call them where nothing calls setenv concurrently (main()
 * before the workers start, or the UI thread). They may fork; the child only
 * calls async-signal-safe functions before exec. A creds belongs to one
 * thread at a time.
 *
 * Ownership: creds_resolve fills a caller-provided creds (all strings owned
 * by it, or NULL); creds_free wipes the secrets and frees them; creds_free on
 * a zeroed or already freed struct is a no-op. */
#ifndef TP_IOT_CREDS_H
#define TP_IOT_CREDS_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "iot/target.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CREDS_DEFAULT_SIGNING_NAME "iot"
#define CREDS_DEFAULT_PROCESS_TIMEOUT_MS 60000
#define CREDS_MAX_PROCESS_OUTPUT (64 * 1024)

/* Explicit settings (command-line flags); NULL or "" = not given. */
typedef struct creds_options {
    const char *profile;      /* --profile */
    const char *region;       /* --region */
    const char *endpoint_url; /* --endpoint-url */
    const char *ca_bundle;    /* --ca-bundle */
    const char *signing_name; /* SigV4 service; NULL = "iot" */
    int process_timeout_ms;   /* credential_process; 0 = the default above */
    int allow_http;           /* --allow-http: plain http:// to any host, not
                                 only loopback (127.0.0.0/8, ::1, localhost) */
} creds_options;

typedef struct creds {
    /* The resolved target: credentials (with their expiration), region,
     * endpoint URL (no trailing '/'), CA bundle (NULL = the system store),
     * signing name ("iot" unless configured). account stays NULL. */
    iot_target target;
    char *profile; /* the profile name looked at ("default" if none named) */
    /* Where each value came from, for display: "environment",
     * "profile dev (~/.aws/credentials)", "credential_process of profile dev
     * (~/.aws/config)", "AWS_REGION", "--region", "default for the region". */
    char *creds_source;
    char *region_source;
    char *endpoint_source;
    char *ca_bundle_source; /* NULL when no bundle */
} creds;

/* Resolves everything (see the order above) into *out, which is
 * overwritten (not freed) first. Returns 0, or -1 with a one-line error in e
 * and *out left empty. opt may be NULL. */
int creds_resolve(creds *out, const creds_options *opt, err *e);

/* Wipes and frees the strings; leaves *c zeroed. NULL-safe. */
void creds_free(creds *c);

/* Appends a few "label: value" lines (each ending in '\n') describing c:
 * masked access key and its source, session token present or not (never its
 * value), expiry, region, endpoint, CA bundle, signing name. The secret key
 * and the session token never appear. */
void creds_describe(buf *out, const creds *c);

/* The access key id masked for display: "AKIA…WXYZ" (first and last four)
 * for ids of 12+ characters, shorter ids keep two at each end, tiny ones
 * become "…". out needs at least 16 bytes. */
void creds_mask_key(char *out, size_t n, const char *access_key);

/* Whether any AWS configuration exists at all: an explicit profile or
 * endpoint in opt, credential, profile or endpoint environment variables, or
 * a credentials or config file that defines at least one profile. When it
 * does not, the console can fall back to the embedded local endpoint. what
 * (may be NULL) gets a short description of the first thing found, e.g.
 * "AWS_ACCESS_KEY_ID" or "/root/.aws/config". Never runs credential_process
 * and never fails: an unreadable file counts as configuration (resolving will
 * then report it). */
int creds_configured(const creds_options *opt, char *what, size_t what_len);

#ifdef __cplusplus
}
#endif
#endif
