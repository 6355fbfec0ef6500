/* joblock - one runner per job: an OS lock on <state>/locks/job-<id>.lock,
 * held while a job runs, with the holder's pid and host written in it. The
 * lock is flock(2): it dies with the process (kill -9 frees it) and two
 * opens conflict even within one process (console running a job twice).
 * Private to engine/. */
#ifndef TP_ENGINE_JOBLOCK_H
#define TP_ENGINE_JOBLOCK_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/joblock.h is private to engine/ (engine/BUILD)"
#endif

#include <stddef.h>

/* Takes the lock of job_id in state dir dir. Returns the open descriptor
 * (>= 0), or -1 with a one-line reason in msg: "job 3 is running in pid 1234
 * on host line3-pc" when another runner holds it. */
int joblock_take(const char *dir, long long job_id, char *msg, size_t n);

/* Serialises finding or creating a job across processes: a blocking lock on
 * <dir>/locks/jobs.lock, held for the moment between jnl_job_open and
 * joblock_take so two runners started at once find one job, not two.
 * Returns the descriptor to joblock_release, or -1 with a reason in msg. */
int joblock_guard(const char *dir, char *msg, size_t n);

/* Whether a runner holds the lock of job_id now (1: *pid and host say who,
 * as written by joblock_take; pid 0 if unreadable), without taking it; 0
 * when no one does (or there is no lock file). Also 1 for this process's
 * own runner: compare *pid with getpid(). */
int joblock_holder(const char *dir, long long job_id, long *pid, char *host, size_t n);

/* Releases a lock from joblock_take (fd < 0: nothing). */
void joblock_release(int fd);

#endif
