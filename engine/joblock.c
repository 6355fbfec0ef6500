/* joblock - see joblock.h. */
#include "engine/joblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int lock_dir(const char *dir, char *msg, size_t n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/locks", dir);
    if (mkdir(path, 0700) && errno != EEXIST) {
        snprintf(msg, n, "%s: cannot create the lock directory: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int joblock_guard(const char *dir, char *msg, size_t n)
{
    if (lock_dir(dir, msg, n))
        return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/locks/jobs.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(msg, n, "%s: cannot open the jobs lock: %s", path, strerror(errno));
        return -1;
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX)) && errno == EINTR)
        ;
    if (rc) {
        snprintf(msg, n, "%s: cannot lock: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int joblock_take(const char *dir, long long job_id, char *msg, size_t n)
{
    if (lock_dir(dir, msg, n))
        return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/locks/job-%lld.lock", dir, job_id);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(msg, n, "%s: cannot open the job lock: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int er = errno;
        char who[300] = "";
        ssize_t r = pread(fd, who, sizeof who - 1, 0);
        who[r > 0 ? r : 0] = '\0';
        close(fd);
        long pid = 0;
        char host[256] = "?";
        if (er == EWOULDBLOCK && sscanf(who, "pid %ld host %255s", &pid, host) >= 1)
            snprintf(msg, n, "job %lld is running in pid %ld on host %s", job_id, pid,
                     host);
        else if (er == EWOULDBLOCK)
            snprintf(msg, n, "job %lld is running in another process (%s)", job_id, path);
        else
            snprintf(msg, n, "%s: cannot lock the job: %s", path, strerror(er));
        return -1;
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) || !host[0])
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    char line[400];
    int k = snprintf(line, sizeof line, "pid %ld host %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) || pwrite(fd, line, (size_t)k, 0) != k) {
        snprintf(msg, n, "%s: cannot write the job lock: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int joblock_holder(const char *dir, long long job_id, long *pid, char *host, size_t n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/locks/job-%lld.lock", dir, job_id);
    *pid = 0;
    if (n)
        host[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    /* a shared lock conflicts with the runner's exclusive one */
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        close(fd); /* closing drops it */
        return 0;
    }
    int held = errno == EWOULDBLOCK;
    if (held) {
        char who[300] = "", h[256] = "";
        ssize_t r = pread(fd, who, sizeof who - 1, 0);
        who[r > 0 ? r : 0] = '\0';
        if (sscanf(who, "pid %ld host %255s", pid, h) >= 1 && n)
            snprintf(host, n, "%s", h);
    }
    close(fd);
    return held;
}

void joblock_release(int fd)
{
    if (fd >= 0)
        close(fd); /* the file stays: truncating it here would race a new holder */
}
