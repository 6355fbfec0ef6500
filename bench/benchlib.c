/* What the C benchmarks share (see benchlib.h). */
#include "bench/benchlib.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"

double bl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bl_sleep_until(double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

double bl_rusage_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bl_percentile(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

EVP_PKEY *bl_make_key(void)
{
    return EVP_EC_gen("P-256");
}

char *bl_make_cert(EVP_PKEY *key, const char *cn, long serial, err *e)
{
    char *pem = NULL;
    X509 *x = X509_new();
    BIO *b = BIO_new(BIO_s_mem());
    if (!x || !b)
        goto fail;
    if (!X509_set_version(x, 2) ||
        !ASN1_INTEGER_set_int64(X509_get_serialNumber(x), serial) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400L))
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                                    -1, -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
        !X509_sign(x, key, EVP_sha256()) || !PEM_write_bio_X509(b, x))
        goto fail;
    char *data;
    long len = BIO_get_mem_data(b, &data);
    pem = xstrndup(data, (size_t)len);
    goto out;
fail:
    err_set(e, ERR_CRYPTO, NULL, 0, -1, "cannot make a test certificate with OpenSSL");
out:
    BIO_free(b);
    X509_free(x);
    return pem;
}

int bl_spawn(bl_child *c, char *const argv[], int pipe_out, const char *stderr_path,
             err *e)
{
    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->out_fd = -1;
    int fds[2] = {-1, -1};
    if (pipe_out && pipe(fds) < 0) {
        err_set(e, ERR_IO, NULL, 0, -1, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        err_set(e, ERR_IO, NULL, 0, -1, "fork: %s", strerror(errno));
        if (pipe_out) {
            close(fds[0]);
            close(fds[1]);
        }
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        int lf = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (lf >= 0)
            dup2(lf, 2);
        if (pipe_out) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
        } else if (lf >= 0) {
            dup2(lf, 1);
        }
        execv(argv[0], argv);
        dprintf(2, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    c->pid = pid;
    if (pipe_out) {
        close(fds[1]);
        c->out_fd = fds[0];
    }
    return 0;
}

int bl_spawn_sim(bl_child *c, const char *bin, const char *const *args,
                 const char *stderr_path, err *e)
{
    size_t n = 0;
    while (args && args[n])
        n++;
    char **argv = xcalloc(n + 5, sizeof *argv);
    argv[0] = (char *)bin;
    argv[1] = (char *)"sim";
    argv[2] = (char *)"--listen";
    argv[3] = (char *)"127.0.0.1:0";
    for (size_t i = 0; i < n; i++)
        argv[4 + i] = (char *)args[i];
    int rc = bl_spawn(c, argv, 1, stderr_path, e);
    free(argv);
    if (rc)
        return -1;
    char line[256];
    size_t got = 0;
    double deadline = bl_now() + 30;
    while (got < sizeof line - 1) {
        struct pollfd pf = {c->out_fd, POLLIN, 0};
        int left = (int)((deadline - bl_now()) * 1000);
        if (left <= 0 || poll(&pf, 1, left) <= 0)
            break;
        ssize_t r = read(c->out_fd, line + got, sizeof line - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        line[got] = 0;
        if (memchr(line, '\n', got))
            break;
    }
    line[got] = 0;
    const char *at = strstr(line, "listening on http://127.0.0.1:");
    if (at) {
        char *end;
        long port = strtol(at + strlen("listening on http://127.0.0.1:"), &end, 10);
        if (port > 0 && port < 65536 && *end == '\n')
            c->port = (int)port;
    }
    if (!c->port) {
        err_set(e, ERR_IO, stderr_path, 0, -1,
                "'%s sim' did not start (its messages are in this file; build it "
                "with 'bazel build //cli:thingpress' and pass --bin)",
                bin);
        bl_reap(c);
        return -1;
    }
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:%d", c->port);
    return 0;
}

int bl_reap(bl_child *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGTERM);
        double deadline = bl_now() + 15;
        for (;;) { /* see it exit (WNOWAIT: bl_wait reaps it) */
            siginfo_t si;
            memset(&si, 0, sizeof si);
            if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
                si.si_pid == c->pid)
                break;
            if (bl_now() >= deadline) {
                kill(c->pid, SIGKILL);
                break;
            }
            bl_sleep_until(bl_now() + 0.01);
        }
    }
    return bl_wait(c);
}

int bl_wait(bl_child *c)
{
    int rc = -1;
    if (c->pid > 0) {
        int st = 0;
        while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(st))
            rc = WEXITSTATUS(st);
        c->pid = -1;
    }
    if (c->out_fd >= 0)
        close(c->out_fd);
    c->out_fd = -1;
    return rc;
}

double bl_proc_cpu_s(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *s = strrchr(text, ')'); /* the command name may hold spaces */
    if (!s)
        return -1;
    s++;
    /* after ')': state is field 3; utime and stime are fields 14 and 15 */
    unsigned long long v[13] = {0};
    for (int i = 0; i < 13; i++) {
        while (*s == ' ')
            s++;
        if (!*s)
            return -1;
        char *end;
        v[i] = i == 0 ? 0 : strtoull(s, &end, 10);
        while (*s && *s != ' ')
            s++;
    }
    return (double)(v[11] + v[12]) / (double)sysconf(_SC_CLK_TCK);
}

long bl_proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            kb = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}
