/* The file picker's data: listing and probing (see picker.h). */
#include "console/picker.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xalloc.h"
#include "parsers/item.h"

/* ---- listing ---- */

static int by_kind_then_name(const void *pa, const void *pb)
{
    const pk_entry *a = pa, *b = pb;
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    return strcmp(a->name, b->name);
}

/* 1 when path is dir or inside it (both resolved). */
static int inside(const char *path, const char *dir)
{
    char rp[PATH_MAX], rd[PATH_MAX];
    if (!realpath(path, rp) || !realpath(dir, rd))
        return 0;
    size_t n = strlen(rd);
    return !strncmp(rp, rd, n) && (rp[n] == '\0' || rp[n] == '/' || n == 1);
}

int pk_list(pk_entry **out, size_t *n, const char *dir, const char *samples, err *e)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        err_set(e, ERR_IO, dir, 0, -1, "cannot open the folder: %s", strerror(errno));
        return -1;
    }
    pk_entry *v = NULL;
    size_t k = 0, cap = 0;
    char rd[PATH_MAX];
    int root = realpath(dir, rd) && !strcmp(rd, "/");
    if (!root) {
        v = xrealloc(v, (cap = 16) * sizeof *v);
        memset(&v[k], 0, sizeof v[k]);
        v[k].name = xstrdup("..");
        v[k].kind = PK_PARENT;
        v[k].count = -1;
        k++;
    }
    if (samples && *samples && !inside(dir, samples)) {
        if (k == cap)
            v = xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
        memset(&v[k], 0, sizeof v[k]);
        v[k].name = xstrdup(samples);
        v[k].kind = PK_SAMPLES;
        v[k].count = -1;
        k++;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        size_t plen = strlen(dir) + strlen(de->d_name) + 2;
        char *path = xmalloc(plen);
        snprintf(path, plen, "%s/%s", dir, de->d_name);
        int ok = stat(path, &st) == 0;
        free(path);
        if (!ok || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)))
            continue;
        if (k == cap)
            v = xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
        memset(&v[k], 0, sizeof v[k]);
        v[k].name = xstrdup(de->d_name);
        v[k].kind = S_ISDIR(st.st_mode) ? PK_DIR : PK_FILE;
        v[k].size = (long long)st.st_size;
        v[k].count = -1;
        k++;
    }
    closedir(d);
    qsort(v, k, sizeof *v, by_kind_then_name);
    *out = v;
    *n = k;
    return 0;
}

void pk_entries_free(pk_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* ---- probing ---- */

static void probe(pk_result *out, const char *path, const atomic_int *cancel)
{
    memset(out, 0, sizeof *out);
    out->count = -1;
    err e;
    err_clear(&e);
    vendor v;
    if (src_detect(&v, path, &e)) {
        snprintf(out->note, sizeof out->note, "%s", e.msg);
        return;
    }
    out->supported = 1;
    out->vendor = v;
    src_opts so;
    memset(&so, 0, sizeof so);
    so.vendor = v;
    src *s = NULL;
    if (src_open(&s, path, &so, &e)) {
        snprintf(out->note, sizeof out->note, "the file is rejected: %s", e.msg);
        return;
    }
    item it;
    item_init(&it);
    long long count = 0;
    int r;
    while ((r = src_next(s, &it, &e)) == 1) {
        item_clear(&it);
        if (++count >= PK_MAX_COUNT) {
            snprintf(out->note, sizeof out->note, "more than %lld items", PK_MAX_COUNT);
            break;
        }
        if (cancel && (count & 1023) == 0 && atomic_load(cancel)) {
            r = 0;
            count = -1;
            break;
        }
    }
    item_clear(&it);
    if (r < 0)
        snprintf(out->note, sizeof out->note, "the file is rejected: %s", e.msg);
    else
        out->count = count;
    src_free(s);
}

void pk_probe_file(pk_result *out, const char *path)
{
    probe(out, path, NULL);
}

struct pk_prober {
    pthread_t tid;
    atomic_int cancel;
    char **paths;
    size_t *index;
    size_t n;
    pthread_mutex_t mu;
    pk_result *done; /* finished, not taken yet */
    size_t n_done, cap_done;
    int busy;
    int started;
};

static void *prober_main(void *arg)
{
    pk_prober *p = arg;
    for (size_t i = 0; i < p->n && !atomic_load(&p->cancel); i++) {
        pk_result r;
        probe(&r, p->paths[i], &p->cancel);
        r.index = p->index[i];
        pthread_mutex_lock(&p->mu);
        if (p->n_done == p->cap_done) {
            p->cap_done = p->cap_done ? p->cap_done * 2 : 16;
            p->done = xrealloc(p->done, p->cap_done * sizeof *p->done);
        }
        p->done[p->n_done++] = r;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_lock(&p->mu);
    p->busy = 0;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

pk_prober *pk_probe_start(const char *dir, const pk_entry *v, size_t n)
{
    pk_prober *p = xcalloc(1, sizeof *p);
    atomic_init(&p->cancel, 0);
    pthread_mutex_init(&p->mu, NULL);
    p->paths = xcalloc(n ? n : 1, sizeof *p->paths);
    p->index = xcalloc(n ? n : 1, sizeof *p->index);
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != PK_FILE)
            continue;
        size_t len = strlen(dir) + strlen(v[i].name) + 2;
        p->paths[p->n] = xmalloc(len);
        snprintf(p->paths[p->n], len, "%s/%s", dir, v[i].name);
        p->index[p->n++] = i;
    }
    p->busy = 1;
    /* signals stay with the UI thread (SIGWINCH, SIGINT) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (pthread_create(&p->tid, NULL, prober_main, p) == 0)
        p->started = 1;
    else
        p->busy = 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p;
}

size_t pk_probe_take(pk_prober *p, pk_result *out, size_t max)
{
    pthread_mutex_lock(&p->mu);
    size_t k = p->n_done < max ? p->n_done : max;
    if (k) { /* done is NULL until the first result */
        memcpy(out, p->done, k * sizeof *out);
        memmove(p->done, p->done + k, (p->n_done - k) * sizeof *p->done);
        p->n_done -= k;
    }
    pthread_mutex_unlock(&p->mu);
    return k;
}

int pk_probe_busy(pk_prober *p)
{
    pthread_mutex_lock(&p->mu);
    int b = p->busy || p->n_done > 0;
    pthread_mutex_unlock(&p->mu);
    return b;
}

void pk_probe_free(pk_prober *p)
{
    if (!p)
        return;
    atomic_store(&p->cancel, 1);
    if (p->started)
        pthread_join(p->tid, NULL);
    for (size_t i = 0; i < p->n; i++)
        free(p->paths[i]);
    free(p->paths);
    free(p->index);
    free(p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
