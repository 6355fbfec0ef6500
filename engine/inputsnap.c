/* The private copy of a job's input (inputsnap.h). */
#include "engine/inputsnap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/b64.h" /* hex_encode */
#include "base/xalloc.h"
#include "engine/jnl_impl.h"

enum {
    CHUNK = 1 << 16,
    NAME_TAIL = 100, /* bytes of the original's name kept at the end of the copy's */
};

void inputsnap_init(inputsnap *s)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->src_fd = -1;
}

/* Removes the copies nobody holds: those of processes that were killed. */
static void sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    int dfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        int fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlinkat(dfd, de->d_name, 0);
        close(fd);
    }
    closedir(d);
}

/* The last NAME_TAIL bytes of the base name of path (its extension with them). */
static const char *name_tail(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n == 0)
        return "input";
    return n > NAME_TAIL ? b + n - NAME_TAIL : b;
}

/* A new, empty, locked file in dir: its descriptor, its name in tmp. A
 * sweep by another process may remove the name between the creation and the
 * lock; the name is then checked to still be ours, else made again. */
static int create_locked(const char *dir, char *tmp, size_t n, err *e)
{
    for (int tries = 0; tries < 8; tries++) {
        snprintf(tmp, n, "%s/.copy-XXXXXX", dir);
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
            err_set(e, ERR_IO, dir, 0, -1, "cannot copy the input here: %s",
                    strerror(errno));
            return -1;
        }
        struct stat a, b;
        if (flock(fd, LOCK_SH) == 0 && fstat(fd, &a) == 0 && stat(tmp, &b) == 0 &&
            a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            return fd;
        close(fd);
    }
    err_set(e, ERR_IO, dir, 0, -1,
            "cannot copy the input here: its copies keep vanishing");
    return -1;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int inputsnap_take(inputsnap *s, const char *state_dir, const char *file,
                   const char *name, int *refused, err *e)
{
    inputsnap_init(s);
    *refused = 0;
    char state[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
    if (jnl_state_dir(state, sizeof state, state_dir, e))
        return -1;
    /* room for the copy's name: sha256-random-tail */
    if (snprintf(dir, sizeof dir, "%s/inputs", state) >= (int)sizeof dir - 200) {
        err_set(e, ERR_USAGE, state, 0, -1, "state directory path is too long");
        return -1;
    }
    if (jnl_make_dirs(dir, e))
        return -1;
    sweep(dir);

    /* the original: a regular file (O_NONBLOCK: a FIFO must not hang us) */
    s->src_fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (s->src_fd < 0) {
        err_set(e, ERR_IO, name, 0, -1, "cannot open: %s", strerror(errno));
        *refused = 1;
        goto fail;
    }
    if (fstat(s->src_fd, &s->src_st) != 0) {
        err_set(e, ERR_IO, name, 0, -1, "cannot stat: %s", strerror(errno));
        *refused = 1;
        goto fail;
    }
    if (!S_ISREG(s->src_st.st_mode)) {
        err_set(e, ERR_IO, name, 0, -1, "not a regular file");
        *refused = 1;
        goto fail;
    }

    s->fd = create_locked(dir, tmp, sizeof tmp, e);
    if (s->fd < 0)
        goto fail;
    snprintf(s->path, sizeof s->path, "%s", tmp); /* removed by drop on failure */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        base_fatal("EVP_MD_CTX_new");
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    unsigned char *chunk = xmalloc(CHUNK);
    int rc = 0;
    for (;;) {
        ssize_t r = read(s->src_fd, chunk, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err_set(e, ERR_IO, name, 0, -1, "read error: %s", strerror(errno));
            *refused = 1;
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        EVP_DigestUpdate(md, chunk, (size_t)r);
        if (write_all(s->fd, chunk, (size_t)r)) {
            err_set(e, ERR_IO, dir, 0, -1, "cannot copy the input here: %s",
                    strerror(errno));
            rc = -1;
            break;
        }
        s->copied += r;
    }
    free(chunk);
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md, sum, &len);
    EVP_MD_CTX_free(md);
    if (rc)
        goto fail;
    hex_encode(s->sha256, sum, len);

    /* read-only from here on, under its final name */
    char final[PATH_MAX];
    snprintf(final, sizeof final, "%s/%s-%s-%s", dir, s->sha256, strrchr(tmp, '-') + 1,
             name_tail(name));
    if (fchmod(s->fd, 0400) != 0 || rename(tmp, final) != 0) {
        err_set(e, ERR_IO, dir, 0, -1, "cannot copy the input here: %s", strerror(errno));
        goto fail;
    }
    snprintf(s->path, sizeof s->path, "%s", final);
    return 0;
fail:
    inputsnap_drop(s);
    return -1;
}

int inputsnap_unchanged(const inputsnap *s, const char *file, const char *name, err *e)
{
    struct stat now, at_path;
    const struct stat *was = &s->src_st;
    int same = fstat(s->src_fd, &now) == 0 && now.st_size == was->st_size &&
               now.st_size == s->copied && now.st_mtim.tv_sec == was->st_mtim.tv_sec &&
               now.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
    if (same && stat(file, &at_path) != 0) {
        err_set(e, ERR_IO, name, 0, -1,
                "moved or removed while its job was reading it: nothing was sent");
        return -1;
    }
    if (same && (at_path.st_dev != now.st_dev || at_path.st_ino != now.st_ino))
        same = 0; /* replaced by another file */
    if (!same) {
        err_set(e, ERR_IO, name, 0, -1,
                "changed while its job was reading it: nothing was sent; provision it "
                "again once it is complete");
        return -1;
    }
    return 0;
}

void inputsnap_drop(inputsnap *s)
{
    if (s->path[0])
        unlink(s->path);
    if (s->fd >= 0)
        close(s->fd);
    if (s->src_fd >= 0)
        close(s->src_fd);
    inputsnap_init(s);
}
