/* benchlib - what the C benchmarks share: a monotonic clock, percentiles,
 * test certificates made with OpenSSL, and `thingpress sim` (or any
 * thingpress command) as a child process whose CPU time and memory can be
 * read from /proc.
 *
 * Threading: any thread, except bl_spawn / bl_reap (one thread per child).
 * Ownership: bl_make_cert's PEM is the caller's. */
#ifndef TP_BENCH_BENCHLIB_H
#define TP_BENCH_BENCHLIB_H

#include <openssl/evp.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

double bl_now(void); /* seconds, CLOCK_MONOTONIC */
void bl_sleep_until(double t);
double bl_rusage_cpu_s(void); /* this process's user + system time */
/* The p-th percentile (0..100) of v[0..n), which is sorted here. */
double bl_percentile(double *v, size_t n, double p);

/* A self-signed EC P-256 certificate with CN `cn` and serial `serial`, signed
 * with key, as PEM (caller frees); NULL with e set on failure. */
char *bl_make_cert(EVP_PKEY *key, const char *cn, long serial, err *e);
/* A fresh EC P-256 key, or NULL. */
EVP_PKEY *bl_make_key(void);

/* A child process. */
typedef struct bl_child {
    pid_t pid;
    int out_fd; /* its stdout (kept open so it never gets SIGPIPE); -1 if not piped */
    int port;   /* bl_spawn_sim: the port it listens on */
    char url[64];
} bl_child;

/* Starts argv (argv[0] is the program); its stdout goes to a pipe (out_fd)
 * when pipe_out, else to stderr_path too; its stderr to stderr_path. The
 * child gets SIGTERM if this process dies. */
int bl_spawn(bl_child *c, char *const argv[], int pipe_out, const char *stderr_path,
             err *e);
/* Starts `bin sim --listen 127.0.0.1:0 ARGS...` (args NULL-terminated) and
 * waits up to 30 s for its "listening on" line: port and url are set. */
int bl_spawn_sim(bl_child *c, const char *bin, const char *const *args,
                 const char *stderr_path, err *e);
/* SIGTERM, up to 15 s for an orderly exit, then SIGKILL. Returns the exit
 * status, or -1 when it had to be killed (or died of a signal). */
int bl_reap(bl_child *c);
/* Waits for the child to exit by itself; its exit status, or -1. */
int bl_wait(bl_child *c);

/* utime + stime of a process in seconds; -1 when unreadable. */
double bl_proc_cpu_s(pid_t pid);
/* A /proc/PID/status field in kB ("VmRSS", "VmHWM"); -1 when unreadable. */
long bl_proc_kb(pid_t pid, const char *field);

#ifdef __cplusplus
}
#endif
#endif
