#include "engine/jobcfg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "base/xalloc.h"
#include "parsers/validate.h"

void jobcfg_init(jobcfg *c)
{
    memset(c, 0, sizeof *c);
    c->thing_deferred = 1;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void jobcfg_free(jobcfg *c)
{
    free_list(c->policies, c->n_policies);
    free_list(c->thing_groups, c->n_thing_groups);
    free(c->thing_type);
    free(c->infineon_bundle);
    free(c->microchip_signers);
    free(c->endpoint_url);
    free(c->region);
    free(c->profile);
    free(c->state_dir);
    for (size_t i = 0; i < c->n_rates; i++)
        free(c->rates[i].op);
    free(c->rates);
    jobcfg_init(c);
}

void jobcfg_split_list(char ***v, size_t *n, const char *list)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *a = p, *b = comma ? comma : p + strlen(p);
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        size_t k = (size_t)(b - a);
        if (k && !(k == 4 && !strncasecmp(a, "None", 4))) {
            *v = xrealloc(*v, (*n + 1) * sizeof **v);
            (*v)[(*n)++] = xstrndup(a, k);
        }
        if (!comma)
            break;
        p = comma + 1;
    }
}

/* ---- keys ---- */

typedef enum {
    K_POLICIES,
    K_GROUPS,
    K_TYPE,
    K_CERT_ACTIVE,
    K_DEFERRED,
    K_SKIP_INVALID,
    K_VENDOR,
    K_BUNDLE,
    K_SIGNERS,
    K_ENDPOINT,
    K_REGION,
    K_PROFILE,
    K_STATE,
    K_WORKERS,
} key_id;

static const struct {
    const char *name; /* normalised: lowercase, no '-' or '_' */
    key_id id;
} keys[] = {
    {"policies", K_POLICIES},
    {"iotpolicies", K_POLICIES},
    {"iotpolicy", K_POLICIES}, /* legacy single-value name */
    {"thinggroups", K_GROUPS},
    {"iotthinggroups", K_GROUPS},
    {"iotthinggroup", K_GROUPS}, /* legacy single-value name */
    {"thingtype", K_TYPE},
    {"iotthingtype", K_TYPE},
    {"certactive", K_CERT_ACTIVE},
    {"iotcertactive", K_CERT_ACTIVE},
    {"thingdeferred", K_DEFERRED},
    {"iotthingdeferred", K_DEFERRED},
    {"skipinvalid", K_SKIP_INVALID},
    {"vendor", K_VENDOR},
    {"infineonbundle", K_BUNDLE},
    {"infineoncertbundletype", K_BUNDLE},
    {"microchipsigners", K_SIGNERS},
    {"endpointurl", K_ENDPOINT},
    {"region", K_REGION},
    {"profile", K_PROFILE},
    {"statedir", K_STATE},
    {"state", K_STATE},
    {"workers", K_WORKERS},
};

void jobcfg_key_norm(char *out, size_t n, const char *key)
{
    size_t o = 0;
    for (; *key && o + 1 < n; key++)
        if (*key != '-' && *key != '_')
            out[o++] = (char)tolower((unsigned char)*key);
    out[o] = '\0';
}

static int parse_bool(int *out, const char *v)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = *v ? xstrdup(v) : NULL;
}

static int set_rate(jobcfg *c, const char *op, const char *v, const char *where,
                    unsigned long line, err *e)
{
    char *end;
    errno = 0;
    double tps = strtod(v, &end);
    if (!*v || *end || errno || !(tps > 0) || !isfinite(tps) || tps > 1e6) {
        err_set(e, ERR_USAGE, where, line, -1,
                "rate.%s: expected requests per second (a number > 0), got '%s'", op, v);
        return -1;
    }
    for (size_t i = 0; i < c->n_rates; i++) {
        if (!strcmp(c->rates[i].op, op)) {
            c->rates[i].tps = tps;
            return 1;
        }
    }
    c->rates = xrealloc(c->rates, (c->n_rates + 1) * sizeof *c->rates);
    c->rates[c->n_rates].op = xstrdup(op);
    c->rates[c->n_rates].tps = tps;
    c->n_rates++;
    return 1;
}

int jobcfg_set(jobcfg *c, const char *key, const char *value, const char *where,
               unsigned long line, err *e)
{
    if (!strncasecmp(key, "rate.", 5) && key[5])
        return set_rate(c, key + 5, value, where, line, e);
    char k[64];
    jobcfg_key_norm(k, sizeof k, key);
    const key_id *id = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k, keys[i].name))
            id = &keys[i].id;
    if (!id)
        return 0;
    switch (*id) {
    case K_POLICIES:
        free_list(c->policies, c->n_policies);
        c->policies = NULL;
        c->n_policies = 0;
        jobcfg_split_list(&c->policies, &c->n_policies, value);
        break;
    case K_GROUPS:
        free_list(c->thing_groups, c->n_thing_groups);
        c->thing_groups = NULL;
        c->n_thing_groups = 0;
        jobcfg_split_list(&c->thing_groups, &c->n_thing_groups, value);
        break;
    case K_TYPE:
        set_str(&c->thing_type, strcasecmp(value, "None") ? value : "");
        break;
    case K_CERT_ACTIVE:
    case K_DEFERRED:
    case K_SKIP_INVALID: {
        int *dst = *id == K_CERT_ACTIVE ? &c->cert_active
                   : *id == K_DEFERRED  ? &c->thing_deferred
                                        : &c->skip_invalid;
        if (parse_bool(dst, value)) {
            err_set(e, ERR_USAGE, where, line, -1, "%s: expected true or false, got '%s'",
                    key, value);
            return -1;
        }
        break;
    }
    case K_VENDOR:
        if (vendor_parse(&c->vendor, value)) {
            err_set(e, ERR_USAGE, where, line, -1,
                    "%s: unknown vendor '%s' (auto, espressif, infineon, microchip, "
                    "generated, pem, der, device-infos)",
                    key, value);
            return -1;
        }
        break;
    case K_BUNDLE:
        if (strcmp(value, "E0E0") && strcmp(value, "E0E1") && strcmp(value, "E0E2")) {
            err_set(e, ERR_USAGE, where, line, -1,
                    "%s: expected E0E0, E0E1 or E0E2, got '%s'", key, value);
            return -1;
        }
        set_str(&c->infineon_bundle, value);
        break;
    case K_SIGNERS:
        set_str(&c->microchip_signers, value);
        break;
    case K_ENDPOINT:
        set_str(&c->endpoint_url, value);
        break;
    case K_REGION:
        set_str(&c->region, value);
        break;
    case K_PROFILE:
        set_str(&c->profile, value);
        break;
    case K_STATE:
        set_str(&c->state_dir, value);
        break;
    case K_WORKERS: {
        char *end;
        long n = strtol(value, &end, 10);
        if (!*value || *end || n < 1 || n > 256) {
            err_set(e, ERR_USAGE, where, line, -1,
                    "%s: expected a number from 1 to 256, got '%s'", key, value);
            return -1;
        }
        c->workers = (int)n;
        break;
    }
    }
    return 1;
}

int jobcfg_check(const jobcfg *c, err *e)
{
    char why[ITEM_MSG_MAX];
    if (val_check_policies((const char *const *)c->policies, c->n_policies, why,
                           sizeof why) == ITEM_ERROR) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "policies: %s", why);
        return -1;
    }
    if (c->thing_type &&
        val_check_thing_type_name(c->thing_type, why, sizeof why) == ITEM_ERROR) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "thing type: %s", why);
        return -1;
    }
    if (c->n_thing_groups > JOBCFG_MAX_THING_GROUPS) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "thing groups: %zu given, AWS IoT allows at most %d per thing",
                c->n_thing_groups, JOBCFG_MAX_THING_GROUPS);
        return -1;
    }
    for (size_t i = 0; i < c->n_thing_groups; i++) {
        if (val_check_thing_type_name(c->thing_groups[i], why, sizeof why) ==
            ITEM_ERROR) {
            err_set(e, ERR_USAGE, NULL, 0, -1, "thing group '%s': %s", c->thing_groups[i],
                    why);
            return -1;
        }
    }
    return 0;
}

void jobcfg_identity(const jobcfg *c, buf *out)
{
    buf_puts(out, "{\"policies\":[");
    for (size_t i = 0; i < c->n_policies; i++) {
        if (i)
            buf_putc(out, ',');
        buf_json_str(out, c->policies[i]);
    }
    buf_puts(out, "],\"thing_groups\":[");
    for (size_t i = 0; i < c->n_thing_groups; i++) {
        if (i)
            buf_putc(out, ',');
        buf_json_str(out, c->thing_groups[i]);
    }
    buf_puts(out, "],\"thing_type\":");
    if (c->thing_type)
        buf_json_str(out, c->thing_type);
    else
        buf_puts(out, "null");
    buf_printf(out, ",\"cert_active\":%s,\"thing_deferred\":%s,\"vendor\":\"%s\"",
               c->cert_active ? "true" : "false", c->thing_deferred ? "true" : "false",
               vendor_name(c->vendor));
    buf_puts(out, ",\"infineon_bundle\":");
    buf_json_str(out, c->infineon_bundle ? c->infineon_bundle : "E0E0");
    buf_puts(out, ",\"skip_invalid\":");
    buf_puts(out, c->skip_invalid ? "true" : "false");
    buf_putc(out, '}');
}

/* One identity value as jobcfg_set() text: a string as is, an array of
 * strings joined with commas, null as "", booleans as "true"/"false".
 * Returns -1 for any other shape. */
static int identity_value(buf *out, const json_t *v)
{
    if (json_is_string(v)) {
        buf_puts(out, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item))
                return -1;
            if (i)
                buf_putc(out, ',');
            buf_puts(out, json_string_value(item));
        }
    } else if (json_is_boolean(v)) {
        buf_puts(out, json_is_true(v) ? "true" : "false");
    } else if (!json_is_null(v)) {
        return -1;
    }
    return 0;
}

int jobcfg_from_identity(jobcfg *c, const char *identity, err *e)
{
    json_t *root = json_loads(identity ? identity : "", JSON_REJECT_DUPLICATES, NULL);
    buf val = BUF_INIT;
    int rc = -1;
    if (!json_is_object(root))
        goto bad;
    const char *key;
    const json_t *v;
    json_object_foreach(root, key, v)
    {
        buf_reset(&val);
        if (identity_value(&val, v))
            goto bad;
        if (jobcfg_set(c, key, val.data ? val.data : "", "job identity", 0, e) < 0)
            goto out;
    }
    rc = 0;
    goto out;
bad:
    err_set(e, ERR_FORMAT, NULL, 0, -1,
            "the journal's job configuration is not readable");
out:
    buf_free(&val);
    json_decref(root);
    return rc;
}

/* ---- the TOML subset ----
 * Enough TOML for configuration files and samconfig.toml: [tables] and
 * [dotted.tables], key = value with bare or quoted keys, basic "..." and
 * literal '...' strings, booleans, numbers, single-line arrays of those,
 * comments. Multi-line strings and inline tables are refused with a message
 * that says so. */

typedef struct {
    const char *path;
    unsigned long line;
    err *e;
} toml_ctx;

static int fail(toml_ctx *t, const char *fmt, const char *detail)
{
    err_set(t->e, ERR_FORMAT, t->path, t->line, -1, fmt, detail);
    return -1;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses one string at *pp into out; advances *pp past it. */
static int parse_string(toml_ctx *t, const char **pp, buf *out)
{
    const char *p = *pp;
    char q = *p;
    if (!strncmp(p, "\"\"\"", 3) || !strncmp(p, "'''", 3))
        return fail(t, "%s", "multi-line strings are not supported here; use one line");
    p++;
    for (;;) {
        if (!*p)
            return fail(t, "%s", "unterminated string");
        if (*p == q) {
            p++;
            break;
        }
        if (q == '"' && *p == '\\') {
            p++;
            switch (*p) {
            case '"':
                buf_putc(out, '"');
                break;
            case '\\':
                buf_putc(out, '\\');
                break;
            case 'n':
                buf_putc(out, '\n');
                break;
            case 't':
                buf_putc(out, '\t');
                break;
            case 'r':
                buf_putc(out, '\r');
                break;
            default:
                return fail(t, "unsupported escape '\\%.1s' in a string", p);
            }
            p++;
            continue;
        }
        buf_putc(out, *p++);
    }
    *pp = p;
    return 0;
}

/* A scalar value: string, or a bare word (true/false/number). */
static int parse_scalar(toml_ctx *t, const char **pp, buf *out)
{
    const char *p = *pp;
    if (*p == '"' || *p == '\'')
        return parse_string(t, pp, out);
    if (*p == '{')
        return fail(t, "%s", "inline tables are not supported here");
    const char *s = p;
    while (*p && *p != ',' && *p != ']' && *p != ' ' && *p != '\t' && *p != '#')
        p++;
    if (p == s)
        return fail(t, "%s", "missing value after '='");
    buf_append(out, s, (size_t)(p - s));
    *pp = p;
    return 0;
}

typedef int (*toml_kv)(void *ctx, const char *table, const char *key, char **vals,
                       size_t n_vals, int is_array, toml_ctx *t);

static void free_vals(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int parse_line(toml_ctx *t, char *line, buf *table, toml_kv kv, void *ctx)
{
    const char *p = skip_ws(line);
    if (!*p || *p == '#')
        return 0;
    if (*p == '[') {
        if (p[1] == '[')
            return fail(t, "%s", "arrays of tables ([[...]]) are not supported here");
        const char *end = strchr(p, ']');
        if (!end)
            return fail(t, "%s", "table header without ']'");
        const char *rest = skip_ws(end + 1);
        if (*rest && *rest != '#')
            return fail(t, "unexpected text after the table header: '%s'", rest);
        buf_reset(table);
        for (const char *q = p + 1; q < end; q++)
            if (*q != ' ' && *q != '\t' && *q != '"')
                buf_putc(table, *q);
        return 0;
    }
    buf key = BUF_INIT, val = BUF_INIT;
    char **vals = NULL;
    size_t n_vals = 0;
    int is_array = 0, rc = -1;
    if (*p == '"' || *p == '\'') {
        if (parse_string(t, &p, &key))
            goto out;
    } else {
        const char *s = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
            p++;
        if (p == s) {
            fail(t, "expected 'key = value', got '%s'", line);
            goto out;
        }
        buf_append(&key, s, (size_t)(p - s));
    }
    buf_puts(&key, ""); /* a quoted key may be empty (""): "" then, never NULL */
    p = skip_ws(p);
    if (*p != '=') {
        fail(t, "expected '=' after the key '%s'", key.data);
        goto out;
    }
    p = skip_ws(p + 1);
    if (*p == '[') {
        is_array = 1;
        p = skip_ws(p + 1);
        while (*p != ']') {
            buf_reset(&val);
            if (parse_scalar(t, &p, &val))
                goto out;
            vals = xrealloc(vals, (n_vals + 1) * sizeof *vals);
            vals[n_vals++] = xstrdup(val.data ? val.data : "");
            p = skip_ws(p);
            if (*p == ',')
                p = skip_ws(p + 1);
            else if (*p != ']') {
                fail(t, "%s", "an array must be on one line, items separated by ','");
                goto out;
            }
        }
        p++;
    } else {
        if (parse_scalar(t, &p, &val))
            goto out;
        vals = xmalloc(sizeof *vals);
        vals[0] = xstrdup(val.data ? val.data : "");
        n_vals = 1;
    }
    p = skip_ws(p);
    if (*p && *p != '#') {
        fail(t, "unexpected text after the value: '%s'", p);
        goto out;
    }
    rc = kv(ctx, table->data ? table->data : "", key.data, vals, n_vals, is_array, t);
out:
    free_vals(vals, n_vals);
    buf_free(&key);
    buf_free(&val);
    return rc;
}

static int toml_walk(const char *path, toml_kv kv, void *ctx, err *e)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return -1;
    }
    toml_ctx t = {path, 0, e};
    buf table = BUF_INIT;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        t.line++;
        if (n > 65536) {
            rc = fail(&t, "%s", "line longer than 65536 characters");
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (parse_line(&t, line, &table, kv, ctx)) {
            rc = -1;
            break;
        }
    }
    if (!rc && ferror(f)) {
        err_set(e, ERR_IO, path, t.line, -1, "read error: %s", strerror(errno));
        rc = -1;
    }
    free(line);
    buf_free(&table);
    fclose(f);
    return rc;
}

/* ---- samconfig.toml ---- */

typedef struct {
    char *overrides; /* from default.deploy.parameters */
    char *any;       /* from any other *.parameters table */
    int is_samconfig;
} sam_scan;

static int sam_kv(void *ctx, const char *table, const char *key, char **vals,
                  size_t n_vals, int is_array, toml_ctx *t)
{
    (void)t;
    sam_scan *s = ctx;
    size_t tl = strlen(table);
    if (!strcmp(key, "version") && !*table)
        s->is_samconfig = 1;
    if (strcmp(key, "parameter_overrides") || tl < 11 ||
        strcmp(table + tl - 11, ".parameters"))
        return 0;
    s->is_samconfig = 1;
    buf joined = BUF_INIT;
    for (size_t i = 0; i < n_vals; i++) {
        if (i)
            buf_putc(&joined, ' ');
        if (is_array) { /* each item is one Key=Value: quote the value */
            const char *eq = strchr(vals[i], '=');
            if (eq) {
                buf_append(&joined, vals[i], (size_t)(eq - vals[i]) + 1);
                buf_putc(&joined, '"');
                for (const char *q = eq + 1; *q; q++) {
                    if (*q == '"' || *q == '\\')
                        buf_putc(&joined, '\\');
                    buf_putc(&joined, *q);
                }
                buf_putc(&joined, '"');
                continue;
            }
        }
        buf_puts(&joined, vals[i]);
    }
    char **dst = !strcmp(table, "default.deploy.parameters") ? &s->overrides : &s->any;
    if (!*dst || dst == &s->overrides) {
        free(*dst);
        *dst = buf_take(&joined, NULL);
    }
    buf_free(&joined);
    return 0;
}

/* parameter_overrides: Key=Value tokens, values optionally quoted. */
static int apply_overrides(jobcfg *c, const char *s, const char *path, err *e)
{
    const char *p = s;
    buf key = BUF_INIT, val = BUF_INIT;
    int rc = 0;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        buf_reset(&key);
        buf_reset(&val);
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            buf_putc(&key, *p++);
        if (*p != '=' || !key.len) { /* "=x" has no key */
            err_set(e, ERR_FORMAT, path, 0, -1,
                    "parameter_overrides: expected Key=Value, got '%s'",
                    key.data ? key.data : "");
            rc = -1;
            break;
        }
        p++;
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q) {
                    if (q == '"' && *p == '\\' && p[1])
                        p++;
                    buf_putc(&val, *p++);
                }
                if (*p != q) {
                    err_set(e, ERR_FORMAT, path, 0, -1,
                            "parameter_overrides: unterminated quote in %s", key.data);
                    rc = -1;
                    goto out;
                }
                p++;
            } else {
                buf_putc(&val, *p++);
            }
        }
        if (jobcfg_set(c, key.data, val.data ? val.data : "", path, 0, e) < 0) {
            rc = -1;
            break;
        }
    }
out:
    buf_free(&key);
    buf_free(&val);
    return rc;
}

/* ---- our own format ---- */

static int own_kv(void *ctx, const char *table, const char *key, char **vals,
                  size_t n_vals, int is_array, toml_ctx *t)
{
    jobcfg *c = ctx;
    buf full = BUF_INIT;
    if (!strcmp(table, "rates") || !strcmp(table, "rate"))
        buf_printf(&full, "rate.%s", key);
    else if (!*table || !strcmp(table, "job"))
        buf_puts(&full, key);
    else {
        err_set(t->e, ERR_FORMAT, t->path, t->line, -1,
                "unknown table [%s] (expected [job] or [rates])", table);
        buf_free(&full);
        return -1;
    }
    buf joined = BUF_INIT; /* an array of names is the same as "a,b" */
    for (size_t i = 0; i < n_vals; i++) {
        if (i)
            buf_putc(&joined, ',');
        buf_puts(&joined, vals[i]);
    }
    (void)is_array;
    int rc =
        jobcfg_set(c, full.data, joined.data ? joined.data : "", t->path, t->line, t->e);
    if (rc == 0) {
        err_set(t->e, ERR_FORMAT, t->path, t->line, -1, "unknown key '%s'", key);
        rc = -1;
    }
    buf_free(&full);
    buf_free(&joined);
    return rc < 0 ? -1 : 0;
}

int jobcfg_load(jobcfg *c, const char *path, err *e)
{
    sam_scan s = {0};
    int rc;
    if (toml_walk(path, sam_kv, &s, e)) {
        rc = -1; /* a line after a parameter_overrides was not TOML */
    } else if (s.is_samconfig) {
        const char *ov = s.overrides ? s.overrides : s.any;
        if (!ov) {
            err_set(e, ERR_FORMAT, path, 0, -1,
                    "samconfig.toml without parameter_overrides: nothing to configure");
            rc = -1;
        } else {
            rc = apply_overrides(c, ov, path, e);
        }
    } else {
        rc = toml_walk(path, own_kv, c, e);
    }
    free(s.overrides);
    free(s.any);
    return rc;
}
