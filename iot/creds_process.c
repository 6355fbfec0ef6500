/* creds_process - credential_process: running a profile's helper command
 * and reading the credentials it prints (see creds_impl.h).
 *
 * Design: the command runs through /bin/sh -c with fork+exec, stdin
 * /dev/null, in its own process group; stdout is read up to 64 KiB and parsed
 * as {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken",
 * "Expiration"}; past the timeout (or the size limit) the whole group is
 * killed. Its stdout is never shown: errors name the exit status and the
 * last line of its stderr, with key-like runs hidden. Every buffer that held
 * its output is wiped before it is freed.
 *
 * Threading: the caller's thread; forks, and the child calls only
 * async-signal-safe functions before exec. Call where nothing calls setenv
 * concurrently (the child inherits environ).
 * Ownership: the credentials go into the caller's creds (owned strings). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "iot/creds_impl.h"

extern char **environ;

#define STDERR_KEEP 4096

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
    while (end && creds_is_blank(b->data[end - 1]))
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
long long creds_parse_time(const char *s)
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

void creds_format_time(char *out, size_t n, long long t)
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
            (expiration = creds_parse_time(json_string_value(exp))) < 0) {
            creds_printable(shown, sizeof shown,
                            json_is_string(exp) ? json_string_value(exp) : "");
            err_set(e, ERR_FORMAT, NULL, 0, -1,
                    "%s: \"Expiration\" '%s' is not an ISO 8601 time like "
                    "2026-11-28T16:17:42Z",
                    who, shown);
            goto out;
        }
        if (expiration <= (long long)time(NULL)) {
            creds_format_time(shown, sizeof shown, expiration);
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

int creds_from_process(creds *c, const char *cmd, int timeout_ms, const char *who, err *e)
{
    buf out = BUF_INIT, errb = BUF_INIT;
    int rc = run_process(cmd, timeout_ms, &out, &errb, who, e);
    if (rc == 0)
        rc = parse_process_json(c, &out, who, e);
    if (out.data)
        explicit_bzero(out.data, out.len);
    if (errb.data)
        explicit_bzero(errb.data, errb.len);
    buf_free(&out);
    buf_free(&errb);
    return rc;
}
