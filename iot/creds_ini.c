/* creds_ini - the AWS CLI's two INI files (~/.aws/credentials and
 * ~/.aws/config) and a profile read across both (see creds_impl.h).
 *
 * Design: each file is read whole (at most 1 MiB) into a flat list of
 * (section, key, value) entries; lookups are linear, the files are small.
 * Section names are squeezed ("[ profile   dev ]" -> "profile dev"), keys
 * lowercased, values trimmed; an indented line continues the previous value
 * (the nested `services` form). A duplicate section or key is an error, as
 * botocore's parser makes it. Error messages name the file (with "~") and the
 * line, never a value: a malformed line may hold a key.
 *
 * Threading: the caller's thread; getenv("HOME") only.
 * Ownership: a creds_ini owns its entries; creds_ini_free wipes the values
 * (they may be secrets) and frees everything. Lookups return pointers into
 * the creds_ini, valid until creds_ini_free. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "iot/creds_impl.h"
#include "iot/target.h"

#define MAX_FILE (1 << 20)

static char *trim_dup(const char *s, size_t n)
{
    while (n && creds_is_blank(*s))
        s++, n--;
    while (n && creds_is_blank(s[n - 1]))
        n--;
    return xstrndup(s, n);
}

static char *home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h)
        return xstrdup(h);
    struct passwd pw, *res = NULL;
    char tmp[4096];
    if (getpwuid_r(getuid(), &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_dir)
        return xstrdup(res->pw_dir);
    return NULL;
}

/* "~/x" -> "$HOME/x"; anything else copied. */
char *creds_expand_user(const char *p)
{
    if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
        char *h = home_dir();
        if (h) {
            buf b = BUF_INIT;
            buf_puts(&b, h);
            buf_puts(&b, p + 1);
            free(h);
            return buf_take(&b, NULL);
        }
    }
    return xstrdup(p);
}

/* The path with $HOME shown as "~" (for messages). */
char *creds_display_path(const char *p)
{
    char *h = home_dir();
    size_t hl = h ? strlen(h) : 0;
    char *out;
    if (h && hl > 1 && strncmp(p, h, hl) == 0 && p[hl] == '/') {
        buf b = BUF_INIT;
        buf_putc(&b, '~');
        buf_puts(&b, p + hl);
        out = buf_take(&b, NULL);
    } else {
        out = xstrdup(p);
    }
    free(h);
    return out;
}

void creds_ini_free(creds_ini *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->kv[i].section);
        free(f->kv[i].key);
        iot_secret_free(f->kv[i].value);
    }
    free(f->kv);
    for (size_t i = 0; i < f->n_sections; i++)
        free(f->sections[i]);
    free(f->sections);
    free(f->path);
    free(f->display);
    memset(f, 0, sizeof *f);
}

int creds_ini_has_section(const creds_ini *f, const char *s)
{
    for (size_t i = 0; i < f->n_sections; i++)
        if (strcmp(f->sections[i], s) == 0)
            return 1;
    return 0;
}

const creds_ini_kv *creds_ini_find(const creds_ini *f, const char *section,
                                   const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->kv[i].section, section) == 0 && strcmp(f->kv[i].key, key) == 0)
            return &f->kv[i];
    return NULL;
}

/* "[ profile   dev ]" -> "profile dev". */
static char *section_name(const char *s, size_t n)
{
    buf b = BUF_INIT;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        if (creds_is_blank(s[i])) {
            space = b.len > 0;
            continue;
        }
        if (space)
            buf_putc(&b, ' ');
        space = 0;
        buf_putc(&b, s[i]);
    }
    return buf_take(&b, NULL);
}

/* Reads the whole file; 0 with *exists = 0 when there is none. */
static int read_file(const char *path, const char *display, buf *out, int *exists, err *e)
{
    *exists = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        err_set(e, ERR_IO, display, 0, -1, "cannot read: %s (fix its permissions)",
                strerror(errno));
        return -1;
    }
    *exists = 1;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        err_set(e, ERR_IO, display, 0, -1,
                "is a directory, not an AWS configuration file");
        return -1;
    }
    char tmp[8192];
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err_set(e, ERR_IO, display, 0, -1, "cannot read: %s", strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        buf_append(out, tmp, (size_t)r);
        if (out->len > MAX_FILE) {
            close(fd);
            err_set(e, ERR_LIMIT, display, 0, -1,
                    "larger than 1 MiB: not an AWS configuration file");
            return -1;
        }
    }
    explicit_bzero(tmp, sizeof tmp);
    close(fd);
    return 0;
}

int creds_ini_load(creds_ini *f, const char *path, err *e)
{
    memset(f, 0, sizeof *f);
    f->path = creds_expand_user(path);
    f->display = creds_display_path(f->path);
    buf text = BUF_INIT;
    int rc = -1;
    if (read_file(f->path, f->display, &text, &f->exists, e) < 0)
        goto out;
    const char *p = text.data ? text.data : "";
    const char *end = p + text.len;
    char *section = NULL;
    creds_ini_kv *last = NULL;
    unsigned long lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *s = p;
        size_t n = (size_t)(le - p);
        p = nl ? nl + 1 : end;
        if (lineno == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
            s += 3, n -= 3; /* UTF-8 BOM */
        int indented = n && (s[0] == ' ' || s[0] == '\t');
        while (n && creds_is_blank(*s))
            s++, n--;
        while (n && creds_is_blank(s[n - 1]))
            n--;
        if (n == 0 || s[0] == '#' || s[0] == ';')
            continue;
        if (indented && last) { /* continuation: a nested value */
            buf v = BUF_INIT;
            buf_puts(&v, last->value);
            buf_putc(&v, '\n');
            buf_append(&v, s, n);
            iot_secret_free(last->value);
            last->value = buf_take(&v, NULL);
            continue;
        }
        if (s[0] == '[') {
            if (s[n - 1] != ']') {
                err_set(e, ERR_FORMAT, f->display, lineno, -1,
                        "a section header must look like [name]");
                goto fail;
            }
            free(section);
            section = section_name(s + 1, n - 2);
            if (!*section) {
                err_set(e, ERR_FORMAT, f->display, lineno, -1, "empty section name []");
                goto fail;
            }
            if (creds_ini_has_section(f, section)) {
                err_set(e, ERR_FORMAT, f->display, lineno, -1,
                        "section [%.100s] appears twice: merge the two", section);
                goto fail;
            }
            f->sections =
                xrealloc(f->sections, (f->n_sections + 1) * sizeof *f->sections);
            f->sections[f->n_sections++] = xstrdup(section);
            last = NULL;
            continue;
        }
        const char *eq = NULL;
        for (size_t i = 0; i < n && !eq; i++)
            if (s[i] == '=' || s[i] == ':')
                eq = s + i;
        if (!eq || eq == s) {
            /* the line is not echoed: it may hold a secret */
            err_set(e, ERR_FORMAT, f->display, lineno, -1,
                    "expected `key = value` or `[section]` (fix or remove this line)");
            goto fail;
        }
        if (!section) {
            err_set(e, ERR_FORMAT, f->display, lineno, -1,
                    "`key = value` before any [section]: add a [default] or [profile "
                    "NAME] line above it");
            goto fail;
        }
        char *key = trim_dup(s, (size_t)(eq - s));
        for (char *k = key; *k; k++)
            if (*k >= 'A' && *k <= 'Z')
                *k = (char)(*k - 'A' + 'a');
        if (creds_ini_find(f, section, key)) {
            err_set(e, ERR_FORMAT, f->display, lineno, -1,
                    "'%.60s' is set twice in [%.100s]: keep one", key, section);
            free(key);
            goto fail;
        }
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 16;
            f->kv = xrealloc(f->kv, f->cap * sizeof *f->kv);
        }
        last = &f->kv[f->n++];
        last->section = xstrdup(section);
        last->key = key;
        last->value = trim_dup(eq + 1, (size_t)(s + n - eq - 1));
        last->line = lineno;
    }
    rc = 0;
fail:
    free(section);
out:
    if (text.data)
        explicit_bzero(text.data, text.len);
    buf_free(&text);
    return rc;
}

/* Value of `key` inside a nested value ("\nendpoint_url = http://..."). */
char *creds_ini_nested_get(const char *value, const char *key)
{
    size_t kl = strlen(key);
    const char *p = value;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            char *k = trim_dup(p, (size_t)(eq - p));
            int match = strlen(k) == kl && strncasecmp(k, key, kl) == 0;
            free(k);
            if (match)
                return trim_dup(eq + 1, n - (size_t)(eq - p) - 1);
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* The config-file section of the profile: "default" also as [profile default]. */
static const char *conf_section(const creds_profile *pr, char *tmp, size_t n)
{
    if (strcmp(pr->name, "default") == 0 && creds_ini_has_section(&pr->conf, "default"))
        return "default";
    snprintf(tmp, n, "profile %s", pr->name);
    return tmp;
}

const creds_ini_kv *creds_conf_get(const creds_profile *pr, const char *key)
{
    char tmp[300];
    return creds_ini_find(&pr->conf, conf_section(pr, tmp, sizeof tmp), key);
}

const creds_ini_kv *creds_cred_get(const creds_profile *pr, const char *key)
{
    return creds_ini_find(&pr->cred, pr->name, key);
}

/* Credentials file first (it overrides the config file, as in botocore);
 * *where = the file's display path. */
const char *creds_prof_get(const creds_profile *pr, const char *key, const char **where)
{
    const creds_ini_kv *kv = creds_cred_get(pr, key);
    if (kv) {
        *where = pr->cred.display;
        return kv->value;
    }
    kv = creds_conf_get(pr, key);
    if (kv) {
        *where = pr->conf.display;
        return kv->value;
    }
    return NULL;
}

int creds_prof_exists(const creds_profile *pr)
{
    char tmp[300];
    return creds_ini_has_section(&pr->cred, pr->name) ||
           creds_ini_has_section(&pr->conf, conf_section(pr, tmp, sizeof tmp));
}

/* Whether the file at path (expanded) names at least one [section]; a file
 * that exists but cannot be read counts as one (resolving reports it). */
int creds_ini_names_section(const char *path)
{
    int found = 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        found = errno != ENOENT && errno != ENOTDIR;
    } else {
        char line[512];
        while (!found && fgets(line, sizeof line, f)) {
            const char *s = line;
            while (creds_is_blank(*s))
                s++;
            found = *s == '[';
        }
        explicit_bzero(line, sizeof line);
        fclose(f);
    }
    return found;
}
