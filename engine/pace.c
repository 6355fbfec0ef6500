/* pace - the learned rates file; see pace.h for the design. */
#include "engine/pace.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"

#define MAX_FILE_BYTES (1 << 20) /* a file of 512 entries is about 120 kB */
#define MAX_TPS 1e7
#define MAX_TIME (1LL << 40) /* unix seconds: any sane clock, and no overflow */
#define LOCK_WAIT_S 2.0

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* The file's root object, or NULL when there is none or it is not ours to
 * read (missing, unreadable, too large, not JSON, another format).
 * *newer = 1 when it is a pace file of a later version. */
static json_t *read_root(const char *dir, int *newer)
{
    *newer = 0;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" PACE_FILE, dir) >= (int)sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = xmalloc(MAX_FILE_BYTES + 1);
    size_t n = fread(data, 1, MAX_FILE_BYTES + 1, f);
    int bad = ferror(f) || n > MAX_FILE_BYTES;
    fclose(f);
    json_t *root = bad ? NULL : json_loadb(data, n, 0, NULL);
    free(data);
    json_t *v = json_object_get(root, "thingpress_pace");
    if (!json_is_object(root) || !json_is_integer(v)) {
        json_decref(root);
        return NULL;
    }
    if (json_integer_value(v) != PACE_VERSION) {
        *newer = json_integer_value(v) > PACE_VERSION;
        json_decref(root);
        return NULL;
    }
    return root;
}

/* An entry of the file: its key (strings borrowed from the JSON) and rate. */
typedef struct entry {
    const char *endpoint, *account, *region;
    pace_rate r;
} entry;

/* Reads and checks one entry: 0 when it is usable. */
static int entry_of(json_t *o, entry *out)
{
    const char *ep, *acct, *reg, *op;
    json_t *tps, *found = NULL;
    json_int_t updated;
    if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:o, s?o, s:I}", "endpoint", &ep, "account",
                    &acct, "region", &reg, "op", &op, "tps", &tps, "found", &found,
                    "updated", &updated))
        return -1;
    double t = json_number_value(tps);
    if (!json_is_number(tps) || !isfinite(t) || t <= 0 || t > MAX_TPS || updated < 0 ||
        updated > MAX_TIME || strlen(op) >= sizeof out->r.op || !*op ||
        (found && !json_is_boolean(found)))
        return -1;
    out->endpoint = ep;
    out->account = acct;
    out->region = reg;
    snprintf(out->r.op, sizeof out->r.op, "%s", op);
    out->r.tps = t;
    out->r.found = found && json_is_true(found);
    out->r.updated = (long long)updated;
    return 0;
}

static int same_key(const entry *en, const pace_key *k)
{
    return !strcmp(en->endpoint, str_or_empty(k->endpoint)) &&
           !strcmp(en->account, str_or_empty(k->account)) &&
           !strcmp(en->region, str_or_empty(k->region));
}

static int fresh(long long updated, long long now)
{
    return now - updated <= PACE_MAX_AGE;
}

size_t pace_load(const char *dir, const pace_key *key, long long now, pace_rate *out,
                 size_t max)
{
    int newer;
    json_t *root = read_root(dir, &newer);
    size_t n = 0;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(root, "rates"), i, o)
    {
        entry en;
        if (entry_of(o, &en) || !same_key(&en, key) || !fresh(en.r.updated, now))
            continue;
        size_t k = 0; /* the same operation twice: the newer wins */
        while (k < n && strcmp(out[k].op, en.r.op))
            k++;
        if (k < n) {
            if (en.r.updated > out[k].updated)
                out[k] = en.r;
        } else if (n < max) {
            out[n++] = en.r;
        }
    }
    json_decref(root);
    return n;
}

/* ---- writing ---- */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* DIR/locks/pace.lock, held (fd), or -1: no lock (then the write goes on
 * without: last writer wins). */
static int lock_take(const char *dir)
{
    char locks[4096], path[4096];
    if (snprintf(locks, sizeof locks, "%s/locks", dir) >= (int)sizeof locks ||
        snprintf(path, sizeof path, "%s/pace.lock", locks) >= (int)sizeof path)
        return -1;
    if (mkdir(locks, 0700) && errno != EEXIST)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    for (double waited = 0; waited < LOCK_WAIT_S; waited += 0.005) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR)
            break;
        sleep_s(0.005);
    }
    close(fd);
    return -1;
}

static void lock_release(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

static json_t *entry_json(const pace_key *k, const pace_rate *r, long long now)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:b, s:I}", "endpoint",
                     str_or_empty(k->endpoint), "account", str_or_empty(k->account),
                     "region", str_or_empty(k->region), "op", r->op, "tps", r->tps,
                     "found", r->found, "updated", (json_int_t)now);
}

typedef struct kept {
    json_t *o; /* borrowed from the old file's array */
    long long updated;
} kept;

static int newest_first(const void *a, const void *b)
{
    long long x = ((const kept *)a)->updated, y = ((const kept *)b)->updated;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Writes root to DIR/pace.json through a temporary file and a rename. */
static int write_atomic(const char *dir, json_t *root, err *e)
{
    char path[4096], tmp[4096];
    if (snprintf(path, sizeof path, "%s/" PACE_FILE, dir) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/." PACE_FILE ".XXXXXX", dir) >= (int)sizeof tmp) {
        err_set(e, ERR_USAGE, dir, 0, -1, "state directory path is too long");
        return -1;
    }
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        err_set(e, ERR_IO, tmp, 0, -1, "cannot create: %s", strerror(errno));
        return -1;
    }
    char *text = json_dumps(root, JSON_INDENT(1));
    size_t len = text ? strlen(text) : 0, off = 0;
    int rc = text ? 0 : -1;
    while (!rc && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    if (!rc && (write(fd, "\n", 1) != 1 || fsync(fd)))
        rc = -1;
    if (rc)
        err_set(e, ERR_IO, tmp, 0, -1, "cannot write: %s", strerror(errno));
    free(text);
    if (close(fd) && !rc) {
        err_set(e, ERR_IO, tmp, 0, -1, "cannot write: %s", strerror(errno));
        rc = -1;
    }
    if (!rc && rename(tmp, path)) {
        err_set(e, ERR_IO, path, 0, -1, "cannot replace: %s", strerror(errno));
        rc = -1;
    }
    if (rc)
        unlink(tmp);
    return rc;
}

int pace_store(const char *dir, const pace_key *key, const pace_rate *rates, size_t n,
               long long now, err *e)
{
    if (n == 0)
        return 0;
    int lock = lock_take(dir);
    int newer;
    json_t *old = read_root(dir, &newer);
    if (newer) {
        lock_release(lock);
        err_set(e, ERR_FORMAT, dir, 0, -1,
                PACE_FILE " was written by a newer thingpress: the learned pace is not "
                          "recorded");
        return -1;
    }
    /* the old entries to keep: fresh, valid, not replaced by ours */
    json_t *arr = json_object_get(old, "rates");
    size_t cap = json_array_size(arr);
    kept *keep = xcalloc(cap ? cap : 1, sizeof *keep);
    size_t nk = 0, i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        entry en;
        if (entry_of(o, &en) || !fresh(en.r.updated, now))
            continue;
        int replaced = 0;
        for (size_t j = 0; j < n && !replaced; j++)
            replaced = same_key(&en, key) && !strcmp(en.r.op, rates[j].op);
        if (!replaced)
            keep[nk++] = (kept){o, en.r.updated};
    }
    qsort(keep, nk, sizeof *keep, newest_first);

    json_t *out = json_array();
    for (size_t j = 0; j < n && json_array_size(out) < PACE_MAX_ENTRIES; j++) {
        int dup = 0; /* one entry per operation: the last given */
        for (size_t k = j + 1; k < n && !dup; k++)
            dup = !strcmp(rates[j].op, rates[k].op);
        if (!dup && rates[j].op[0] && isfinite(rates[j].tps) && rates[j].tps > 0 &&
            rates[j].tps <= MAX_TPS)
            json_array_append_new(out, entry_json(key, &rates[j], now));
    }
    for (size_t j = 0; j < nk && json_array_size(out) < PACE_MAX_ENTRIES; j++)
        json_array_append(out, keep[j].o);
    free(keep);
    json_t *root = json_pack("{s:i, s:o}", "thingpress_pace", PACE_VERSION, "rates", out);
    int rc = write_atomic(dir, root, e);
    json_decref(root);
    json_decref(old);
    lock_release(lock);
    return rc;
}
