/* The station profile (see station.h). */
#include "cli/station.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/journal.h"

/* "thing_groups", "Thing-Groups" -> "thinggroups"; "endpoint" ->
 * "endpointurl" (the form's name for it). */
static void norm(char *out, size_t n, const char *key)
{
    jobcfg_key_norm(out, n, key);
    if (!strcmp(out, "endpoint"))
        snprintf(out, n, "endpointurl");
}

static void user_path(char *out, size_t n)
{
    const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
    if (x && x[0] == '/')
        snprintf(out, n, "%s/thingpress/station.toml", x);
    else if (h && *h)
        snprintf(out, n, "%s/.config/thingpress/station.toml", h);
    else
        out[0] = '\0';
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n &&
           (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* A TOML value: "text", ["a", "b"] (joined with commas), true/false, a
 * number. NULL on a shape it does not take. */
static char *parse_value(const char *v)
{
    buf b = BUF_INIT;
    if (*v == '"') {
        const char *end = strchr(v + 1, '"');
        if (!end || *trim((char *)end + 1) != '\0')
            return NULL;
        buf_append(&b, v + 1, (size_t)(end - v - 1));
    } else if (*v == '[') {
        const char *p = v + 1;
        int first = 1;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            if (*p == ']')
                break;
            if (*p != '"') {
                buf_free(&b);
                return NULL;
            }
            const char *end = strchr(p + 1, '"');
            if (!end) {
                buf_free(&b);
                return NULL;
            }
            if (!first)
                buf_putc(&b, ',');
            buf_append(&b, p + 1, (size_t)(end - p - 1));
            first = 0;
            p = end + 1;
        }
    } else if (*v) {
        for (const char *p = v; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '+')
                return NULL;
        buf_puts(&b, v);
    } else {
        return NULL;
    }
    return b.data ? b.data : xstrdup("");
}

int station_load(station *s, err *e)
{
    memset(s, 0, sizeof *s);
    char u[PATH_MAX];
    user_path(u, sizeof u);
    const char *cands[2] = {u, "/etc/thingpress/station.toml"};
    FILE *f = NULL;
    for (int i = 0; i < 2 && !f; i++) {
        if (!cands[i][0])
            continue;
        f = fopen(cands[i], "r");
        if (f)
            snprintf(s->path, sizeof s->path, "%s", cands[i]);
        else if (errno != ENOENT) {
            err_set(e, ERR_IO, cands[i], 0, -1, "cannot read the station profile: %s",
                    strerror(errno));
            return -1;
        }
    }
    if (!f)
        return 0;
    char line[4096];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *hash = NULL;
        int in_str = 0;
        for (char *p = line; *p; p++) { /* a comment outside strings */
            if (*p == '"')
                in_str = !in_str;
            if (*p == '#' && !in_str) {
                hash = p;
                break;
            }
        }
        if (hash)
            *hash = '\0';
        char *t = trim(line);
        if (!*t || *t == '[')
            continue;
        char *eq = strchr(t, '=');
        if (!eq) {
            err_set(e, ERR_FORMAT, s->path, ln, -1, "expected key = value");
            fclose(f);
            station_free(s);
            return -1;
        }
        *eq = '\0';
        char *key = trim(t), *val = parse_value(trim(eq + 1));
        if (!val) {
            err_set(e, ERR_FORMAT, s->path, ln, -1,
                    "%s: expected \"text\", [\"a\", \"b\"], true, false or a number",
                    key);
            fclose(f);
            station_free(s);
            return -1;
        }
        char nk[128];
        norm(nk, sizeof nk, key);
        if (!strcmp(nk, "station") || !strcmp(nk, "name")) {
            free(s->name);
            s->name = val;
        } else if (!strcmp(nk, "hotfolder")) {
            free(s->hot_folder);
            s->hot_folder = val;
        } else if (!strcmp(nk, "locked")) {
            char **v = NULL;
            size_t n = 0;
            jobcfg_split_list(&v, &n, val);
            for (size_t i = 0; i < n; i++) {
                char one[128];
                norm(one, sizeof one, v[i]);
                s->locked = xrealloc(s->locked, (s->n_locked + 1) * sizeof *s->locked);
                s->locked[s->n_locked++] = xstrdup(one);
                free(v[i]);
            }
            free(v);
            free(val);
        } else {
            s->keys = xrealloc(s->keys, (s->n + 1) * sizeof *s->keys);
            s->vals = xrealloc(s->vals, (s->n + 1) * sizeof *s->vals);
            s->lines = xrealloc(s->lines, (s->n + 1) * sizeof *s->lines);
            s->keys[s->n] = xstrdup(key);
            s->vals[s->n] = val;
            s->lines[s->n++] = ln;
        }
    }
    fclose(f);
    return 0;
}

void station_free(station *s)
{
    free(s->name);
    free(s->hot_folder);
    for (size_t i = 0; i < s->n_locked; i++)
        free(s->locked[i]);
    free(s->locked);
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->vals[i]);
    }
    free(s->keys);
    free(s->vals);
    free(s->lines);
    memset(s, 0, sizeof *s);
}

int station_apply(const station *s, jobcfg *c, err *e)
{
    for (size_t i = 0; i < s->n; i++) {
        char nk[128];
        norm(nk, sizeof nk, s->keys[i]);
        if (!strcmp(nk, "endpointurl") && !strcmp(s->vals[i], "local"))
            continue; /* the embedded endpoint: station_local() */
        if (jobcfg_set(c, s->keys[i], s->vals[i], s->path, s->lines[i], e) < 0)
            return -1;
    }
    return 0;
}

int station_local(const station *s)
{
    return !strcmp(station_value(s, "endpoint_url"), "local");
}

int station_locked(const station *s, const char *key)
{
    char nk[128];
    norm(nk, sizeof nk, key);
    for (size_t i = 0; i < s->n_locked; i++)
        if (!strcmp(s->locked[i], nk))
            return 1;
    return 0;
}

const char *station_value(const station *s, const char *key)
{
    char nk[128], one[128];
    norm(nk, sizeof nk, key);
    const char *v = "";
    for (size_t i = 0; i < s->n; i++) {
        norm(one, sizeof one, s->keys[i]);
        if (!strcmp(one, nk))
            v = s->vals[i];
    }
    return v;
}

int station_save_where(const char *endpoint, const char *profile, const char *region,
                       err *e)
{
    char path[PATH_MAX];
    user_path(path, sizeof path);
    if (!path[0])
        return 0; /* no home: nothing to keep it in */
    buf out = BUF_INIT;
    FILE *f = fopen(path, "r");
    if (f) { /* every other line kept */
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            char copy[4096], nk[128];
            snprintf(copy, sizeof copy, "%s", line);
            char *eq = strchr(copy, '=');
            if (eq && copy[0] != '#') {
                *eq = '\0';
                norm(nk, sizeof nk, trim(copy));
                if (!strcmp(nk, "endpointurl") || !strcmp(nk, "profile") ||
                    !strcmp(nk, "region"))
                    continue;
            }
            buf_puts(&out, line);
            if (line[0] && line[strlen(line) - 1] != '\n')
                buf_putc(&out, '\n');
        }
        fclose(f);
    }
    const char *keys[3] = {"endpoint_url", "profile", "region"};
    const char *vals[3] = {endpoint, profile, region};
    for (int i = 0; i < 3; i++)
        if (vals[i] && *vals[i] && !strchr(vals[i], '"'))
            buf_printf(&out, "%s = \"%s\"\n", keys[i], vals[i]);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int rc = -1;
    FILE *w = NULL;
    err me;
    err_clear(&me);
    if (jnl_make_dirs(dir, &me) == 0 && (w = fopen(tmp, "w")) != NULL) {
        size_t len = out.len;
        int ok = (len == 0 || fwrite(out.data, 1, len, w) == len);
        ok = fclose(w) == 0 && ok;
        rc = ok && rename(tmp, path) == 0 ? 0 : -1;
    }
    if (rc)
        err_set(e, ERR_IO, path, 0, -1, "cannot save the station profile: %s",
                strerror(errno));
    buf_free(&out);
    return rc;
}
