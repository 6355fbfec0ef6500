/* Credentials, region and endpoint resolution (see creds.h for the order).
 *
 * The two INI files are read whole (at most 1 MiB each) into a flat list of
 * (section, key, value) entries; lookups are linear, the files are small.
 * Error messages name files, profiles and variables, never a value read from
 * a credentials source: a malformed line is reported by number only, since it
 * may hold a key. */
#include "iot/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"

extern char **environ;

#define MAX_FILE (1 << 20)
#define STDERR_KEEP 4096

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

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char *trim_dup(const char *s, size_t n)
{
    while (n && is_blank(*s))
        s++, n--;
    while (n && is_blank(s[n - 1]))
        n--;
    return xstrndup(s, n);
}

static char *home_dir(void)
{
    const char *h = env("HOME");
    if (h)
        return xstrdup(h);
    struct passwd pw, *res = NULL;
    char tmp[4096];
    if (getpwuid_r(getuid(), &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_dir)
        return xstrdup(res->pw_dir);
    return NULL;
}

/* "~/x" -> "$HOME/x"; anything else copied. */
static char *expand_user(const char *p)
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
static char *display_path(const char *p)
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

/* Copy of an untrusted short value for a message: printable ASCII only,
 * truncated. Only used for values that are not secrets (region, URL). */
static void printable(char *out, size_t n, const char *s)
{
    size_t w = 0;
    for (; *s && w + 1 < n; s++)
        out[w++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
    out[w] = '\0';
}

/* ---- INI files ---- */

typedef struct {
    char *section; /* "default", "profile dev", "services s" (spaces squeezed) */
    char *key;     /* lowercased */
    char *value;   /* trimmed; continuation lines appended after '\n' */
    unsigned long line;
} ini_kv;

typedef struct {
    ini_kv *kv;
    size_t n, cap;
    char **sections; /* names seen, for existence and duplicate checks */
    size_t n_sections;
    char *path;    /* expanded */
    char *display; /* with "~" */
    int exists;
} ini;

static void ini_free(ini *f)
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

static int ini_has_section(const ini *f, const char *s)
{
    for (size_t i = 0; i < f->n_sections; i++)
        if (strcmp(f->sections[i], s) == 0)
            return 1;
    return 0;
}

static const ini_kv *ini_find(const ini *f, const char *section, const char *key)
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
        if (is_blank(s[i])) {
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

static int ini_load(ini *f, const char *path, err *e)
{
    memset(f, 0, sizeof *f);
    f->path = expand_user(path);
    f->display = display_path(f->path);
    buf text = BUF_INIT;
    int rc = -1;
    if (read_file(f->path, f->display, &text, &f->exists, e) < 0)
        goto out;
    const char *p = text.data ? text.data : "";
    const char *end = p + text.len;
    char *section = NULL;
    ini_kv *last = NULL;
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
        while (n && is_blank(*s))
            s++, n--;
        while (n && is_blank(s[n - 1]))
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
            if (ini_has_section(f, section)) {
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
        if (ini_find(f, section, key)) {
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
static char *nested_get(const char *value, const char *key)
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

/* ---- the profile across both files ---- */

typedef struct {
    ini cred; /* credentials file: [NAME] */
    ini conf; /* config file: [profile NAME], [default] */
    const char *name;
} profile;

/* The config-file section of the profile: "default" also as [profile default]. */
static const char *conf_section(const profile *pr, char *tmp, size_t n)
{
    if (strcmp(pr->name, "default") == 0 && ini_has_section(&pr->conf, "default"))
        return "default";
    snprintf(tmp, n, "profile %s", pr->name);
    return tmp;
}

static const ini_kv *conf_get(const profile *pr, const char *key)
{
    char tmp[300];
    return ini_find(&pr->conf, conf_section(pr, tmp, sizeof tmp), key);
}

static const ini_kv *cred_get(const profile *pr, const char *key)
{
    return ini_find(&pr->cred, pr->name, key);
}

/* Credentials file first (it overrides the config file, as in botocore);
 * *where = the file's display path. */
static const char *prof_get(const profile *pr, const char *key, const char **where)
{
    const ini_kv *kv = cred_get(pr, key);
    if (kv) {
        *where = pr->cred.display;
        return kv->value;
    }
    kv = conf_get(pr, key);
    if (kv) {
        *where = pr->conf.display;
        return kv->value;
    }
    return NULL;
}

static int prof_exists(const profile *pr)
{
    char tmp[300];
    return ini_has_section(&pr->cred, pr->name) ||
           ini_has_section(&pr->conf, conf_section(pr, tmp, sizeof tmp));
}

static int is_true(const char *v)
{
    return v && strcasecmp(v, "true") == 0;
}

/* ---- credential_process ---- */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '/' || c == '+' || c == '=';
}

/* Replaces each run of 20 or more base64-like characters with "[hidden]":
 * a helper that fails may print the key or token it had (AWS secret keys
 * are 40 such characters, session tokens hundreds), and thingpress never
 * prints a secret. Words, URLs, host names and numbers are left alone. */
static void hide_key_like(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        size_t k = 0;
        while (is_key_char(r[k]))
            k++;
        if (k >= 20) {
            static const char hidden[] = "[hidden]";
            memmove(w, hidden, sizeof hidden - 1); /* k >= 20 > 8: w stays behind r */
            w += sizeof hidden - 1;
            r += k;
        } else if (k) {
            memmove(w, r, k);
            w += k;
            r += k;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* Last non-empty line of the process's stderr, printable and with key-like
 * runs hidden (hide_key_like), for a message. */
static void last_line(char *out, size_t n, const buf *b)
{
    out[0] = '\0';
    if (!b->len)
        return;
    size_t end = b->len;
    while (end && is_blank(b->data[end - 1]))
        end--;
    size_t start = end;
    while (start && b->data[start - 1] != '\n')
        start--;
    size_t w = 0;
    for (size_t i = start; i < end && w + 1 < n; i++) {
        unsigned char c = (unsigned char)b->data[i];
        out[w++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[w] = '\0';
    hide_key_like(out);
}

/* Runs cmd with /bin/sh -c; stdout into out (bounded), the tail of stderr
 * into errb. `who` names the source in messages ("credential_process of
 * profile dev (~/.aws/config)"). */
static int run_process(const char *cmd, int timeout_ms, buf *out, buf *errb,
                       const char *who, err *e)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, devnull = -1, rc = -1;
    pid_t pid = -1;
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 ||
        (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        err_set(e, ERR_IO, NULL, 0, -1, "%s: cannot start it: %s", who, strerror(errno));
        goto out;
    }
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL};
    pid = fork();
    if (pid < 0) {
        err_set(e, ERR_IO, NULL, 0, -1, "%s: cannot start it: %s", who, strerror(errno));
        goto out;
    }
    if (pid == 0) {
        /* child: async-signal-safe calls only */
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        if (dup2(devnull, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            _exit(127);
        execve("/bin/sh", argv, environ);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no race with the kill below */
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;

    long long deadline = mono_ms() + timeout_ms;
    int open_fds = 2, overflow = 0, timed_out = 0;
    char tmp[4096];
    while (open_fds > 0) {
        struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        long long left = deadline - mono_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int r = poll(fds, 2, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (!fds[i].revents || fds[i].fd < 0)
                continue;
            ssize_t got = read(fds[i].fd, tmp, sizeof tmp);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                close(fds[i].fd);
                if (i == 0)
                    po[0] = -1;
                else
                    pe[0] = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                buf_append(out, tmp, (size_t)got);
                if (out->len > CREDS_MAX_PROCESS_OUTPUT) {
                    overflow = 1;
                    break;
                }
            } else {
                buf_append(errb, tmp, (size_t)got);
                if (errb->len > 2 * STDERR_KEEP) { /* keep the tail */
                    memmove(errb->data, errb->data + errb->len - STDERR_KEEP,
                            STDERR_KEEP);
                    errb->len = STDERR_KEEP;
                    errb->data[errb->len] = '\0';
                }
            }
        }
        if (overflow)
            break;
    }
    explicit_bzero(tmp, sizeof tmp);

    int status = 0;
    if (!overflow && !timed_out) {
        /* outputs closed; the shell may still be exiting */
        for (;;) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                break;
            if (w < 0 && errno != EINTR) {
                status = -1;
                break;
            }
            if (mono_ms() >= deadline) {
                timed_out = 1;
                break;
            }
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!timed_out) {
            pid = -1;
        }
    }
    if (pid > 0) { /* overflow or timeout: stop the whole group */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        pid = -1;
    }
    char line[200];
    last_line(line, sizeof line, errb);
    if (timed_out) {
        err_set(e, ERR_IO, NULL, 0, -1,
                "%s did not finish within %d s and was stopped: check that it runs "
                "without prompting",
                who, (timeout_ms + 999) / 1000);
        goto out;
    }
    if (overflow) {
        err_set(e, ERR_LIMIT, NULL, 0, -1,
                "%s printed more than %d KiB: it must print one "
                "small JSON object",
                who, CREDS_MAX_PROCESS_OUTPUT / 1024);
        goto out;
    }
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        if (status != -1 && WIFSIGNALED(status))
            snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
        else if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
            snprintf(how, sizeof how, "exited with status 127 (command not found?)");
        else if (status != -1 && WIFEXITED(status))
            snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
        else
            snprintf(how, sizeof how, "failed");
        err_set(e, ERR_IO, NULL, 0, -1, "%s %s%s%s", who, how, line[0] ? ": " : "", line);
        goto out;
    }
    rc = 0;
out:
    if (pid > 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    if (devnull >= 0)
        close(devnull);
    return rc;
}

/* RFC 3339 / ISO 8601 UTC time ("2026-11-28T16:17:42Z", fractions and
 * +HH:MM offsets allowed) to unix seconds; -1 when malformed. */
static long long parse_iso8601(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) !=
            6 ||
        n == 0)
        return -1;
    const char *p = s + n;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 &&
            sscanf(p + 1, "%2d%2d%n", &oh, &om, &m) != 2)
            return -1;
        off = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
        p += 1 + m;
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (long long)timegm(&tm) - off;
}

static void format_utc(char *out, size_t n, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parses the process's JSON into c. */
static int parse_process_json(creds *c, const buf *out, const char *who, err *e)
{
    json_error_t je;
    json_t *root = json_loadb(out->data ? out->data : "", out->len, 0, &je);
    int rc = -1;
    if (!root) {
        /* je.text may quote the output: not shown */
        err_set(
            e, ERR_FORMAT, NULL, 0, -1,
            "%s printed no valid JSON (line %d, column %d): it must print {\"Version\": "
            "1, \"AccessKeyId\": ..., \"SecretAccessKey\": ...}",
            who, je.line, je.column);
        return -1;
    }
    if (!json_is_object(root)) {
        err_set(e, ERR_FORMAT, NULL, 0, -1,
                "%s printed JSON that is not an object: it must print {\"Version\": 1, "
                "\"AccessKeyId\": ..., \"SecretAccessKey\": ...}",
                who);
        goto out;
    }
    json_t *ver = json_object_get(root, "Version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
        err_set(e, ERR_FORMAT, NULL, 0, -1,
                "%s: \"Version\" must be the number 1 (the only version AWS defines)",
                who);
        goto out;
    }
    static const char *const need[] = {"AccessKeyId", "SecretAccessKey"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(root, need[i]);
        if (!json_is_string(v) || !*json_string_value(v)) {
            err_set(e, ERR_FORMAT, NULL, 0, -1, "%s: \"%s\" is missing or not a string",
                    who, need[i]);
            goto out;
        }
    }
    json_t *tok = json_object_get(root, "SessionToken");
    if (tok && !json_is_null(tok) && !json_is_string(tok)) {
        err_set(e, ERR_FORMAT, NULL, 0, -1, "%s: \"SessionToken\" is not a string", who);
        goto out;
    }
    json_t *exp = json_object_get(root, "Expiration");
    long long expiration = 0;
    if (exp && !json_is_null(exp)) {
        char shown[40];
        if (!json_is_string(exp) ||
            (expiration = parse_iso8601(json_string_value(exp))) < 0) {
            printable(shown, sizeof shown,
                      json_is_string(exp) ? json_string_value(exp) : "");
            err_set(e, ERR_FORMAT, NULL, 0, -1,
                    "%s: \"Expiration\" '%s' is not an ISO 8601 time like "
                    "2026-11-28T16:17:42Z",
                    who, shown);
            goto out;
        }
        if (expiration <= (long long)time(NULL)) {
            format_utc(shown, sizeof shown, expiration);
            err_set(
                e, ERR_USAGE, NULL, 0, -1,
                "%s returned credentials that expired at %s: renew them at their source",
                who, shown);
            goto out;
        }
    }
    c->target.access_key =
        xstrdup(json_string_value(json_object_get(root, "AccessKeyId")));
    c->target.secret_key =
        xstrdup(json_string_value(json_object_get(root, "SecretAccessKey")));
    if (json_is_string(tok) && *json_string_value(tok))
        c->target.session_token = xstrdup(json_string_value(tok));
    c->target.expiration = expiration;
    rc = 0;
out:
    json_decref(root);
    return rc;
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
        printable(shown, sizeof shown, r);
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "region '%s' (from %s) is not an AWS region name like us-east-1", shown,
                src);
    }
    return ok ? 0 : -1;
}

static int check_url(const char *u, const char *src, err *e)
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
        printable(shown, sizeof shown, u);
        err_set(
            e, ERR_USAGE, NULL, 0, -1,
            "endpoint URL '%s' (from %s) must start with https:// or http:// and name a "
            "host",
            shown, src);
    }
    return ok ? 0 : -1;
}

/* ---- resolution ---- */

static char *src_of_profile(const char *what, const char *name, const char *file)
{
    return str_printf("%s%s%s (%s)", what, *what ? " " : "", name, file);
}

static void no_creds_error(err *e, const profile *pr, int named)
{
    if (named && prof_exists(pr)) {
        err_set(
            e, ERR_USAGE, NULL, 0, -1,
            "profile '%s' has no credentials: add aws_access_key_id and "
            "aws_secret_access_key (aws configure --profile %s) or credential_process",
            pr->name, pr->name);
        return;
    }
    err_set(e, ERR_USAGE, NULL, 0, -1,
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "configure a profile (aws configure), or use --endpoint-url for the local "
            "endpoint");
}

/* Static keys of one file's profile section; 1 found, 0 none, -1 error. */
static int static_keys(creds *c, const profile *pr, const ini *f,
                       const ini_kv *(*get)(const profile *, const char *), err *e)
{
    const ini_kv *ak = get(pr, "aws_access_key_id");
    const ini_kv *sk = get(pr, "aws_secret_access_key");
    const ini_kv *tk = get(pr, "aws_session_token");
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
static int unsupported_profile(const profile *pr, err *e)
{
    static const char *const keys[] = {"role_arn", "sso_session", "sso_start_url",
                                       "web_identity_token_file"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *where;
        if (prof_get(pr, keys[i], &where)) {
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

static int resolve_credentials(creds *c, const creds_options *opt, const profile *pr,
                               int named, err *e)
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
            if (exp && (c->target.expiration = parse_iso8601(exp)) < 0) {
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
    int r = static_keys(c, pr, &pr->cred, cred_get, e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    const char *where = NULL;
    const char *cmd = prof_get(pr, "credential_process", &where);
    if (cmd && *cmd) {
        char *who = src_of_profile("credential_process of profile", pr->name, where);
        buf out = BUF_INIT, errb = BUF_INIT;
        int timeout = opt->process_timeout_ms > 0 ? opt->process_timeout_ms
                                                  : CREDS_DEFAULT_PROCESS_TIMEOUT_MS;
        int rc = run_process(cmd, timeout, &out, &errb, who, e);
        if (rc == 0)
            rc = parse_process_json(c, &out, who, e);
        if (out.data)
            explicit_bzero(out.data, out.len);
        if (errb.data)
            explicit_bzero(errb.data, errb.len);
        buf_free(&out);
        buf_free(&errb);
        if (rc < 0) {
            free(who);
            return -1;
        }
        c->creds_source = who;
        return 0;
    }
    r = static_keys(c, pr, &pr->conf, conf_get, e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    no_creds_error(e, pr, named);
    return -1;
}

static int resolve_rest(creds *c, const creds_options *opt, const profile *pr, err *e)
{
    const char *where = NULL, *v;

    /* endpoint first: a custom endpoint makes the region optional */
    int ignore = is_true(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
                 is_true(prof_get(pr, "ignore_configured_endpoint_urls", &where));
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
        const char *svc = prof_get(pr, "services", &where);
        if (svc && *svc) {
            char sect[300];
            snprintf(sect, sizeof sect, "services %s", svc);
            const ini_kv *iot = ini_find(&pr->conf, sect, "iot");
            if (!ini_has_section(&pr->conf, sect)) {
                err_set(e, ERR_USAGE, pr->conf.display, 0, -1,
                        "profile '%s' refers to services '%.60s', but there is no "
                        "[services %.60s] section: add it or remove the services line",
                        pr->name, svc, svc);
                return -1;
            }
            char *u = iot ? nested_get(iot->value, "endpoint_url") : NULL;
            if (u && *u) {
                c->target.endpoint_url = u;
                c->endpoint_source = str_printf("[services %s] of profile %s (%s)", svc,
                                                pr->name, pr->conf.display);
            } else {
                free(u);
            }
        }
        if (!c->target.endpoint_url && (v = prof_get(pr, "endpoint_url", &where)) && *v) {
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
    } else if ((v = prof_get(pr, "region", &where)) && *v) {
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
    if (check_url(c->target.endpoint_url, c->endpoint_source, e) < 0)
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
    } else if ((v = prof_get(pr, "ca_bundle", &where)) && *v) {
        ca = v;
        c->ca_bundle_source = src_of_profile("profile", pr->name, where);
    }
    if (ca) {
        c->target.ca_bundle = expand_user(ca);
        if (access(c->target.ca_bundle, R_OK) != 0) {
            char *d = display_path(c->target.ca_bundle);
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
    profile pr;
    memset(&pr, 0, sizeof pr);
    int named;
    pr.name = profile_name(opt, &named);
    char *cred_path = default_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *conf_path = default_path("AWS_CONFIG_FILE", "config");
    int rc = -1;
    if (ini_load(&pr.cred, cred_path, e) < 0 || ini_load(&pr.conf, conf_path, e) < 0)
        goto out;
    if (named && !prof_exists(&pr)) {
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
    ini_free(&pr.cred);
    ini_free(&pr.conf);
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
        format_utc(t, sizeof t, c->target.expiration);
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

/* Whether the file exists and names at least one [section] (or cannot be
 * read, which resolving will report). */
static int file_configured(const char *var, const char *leaf, char *what, size_t n)
{
    char *raw = default_path(var, leaf);
    char *path = expand_user(raw);
    free(raw);
    int found = 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        found = errno != ENOENT && errno != ENOTDIR;
    } else {
        char line[512];
        while (!found && fgets(line, sizeof line, f)) {
            const char *s = line;
            while (is_blank(*s))
                s++;
            found = *s == '[';
        }
        explicit_bzero(line, sizeof line);
        fclose(f);
    }
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
