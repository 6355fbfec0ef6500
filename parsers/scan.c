#include "parsers/scan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"

enum {
    BATCH = 256,    /* items per slot */
    PER_WORKER = 3, /* slots per worker: one read/decoded, one queued, one spare */
    MAX_WORKERS = 16,
    RING = 64, /* >= MAX_WORKERS * PER_WORKER: slots by batch number */
};

typedef enum {
    SLOT_FREE,     /* empty, owner may fill it */
    SLOT_BUSY,     /* being filled or decoded by its owner */
    SLOT_DECODED,  /* waiting for the emitter */
    SLOT_CONSUMED, /* emitted; its owner clears it before reuse */
} slot_state;

typedef struct {
    item items[BATCH];
    size_t n;
    size_t seq;
    slot_state state;
    int last; /* the final batch of the file (possibly empty) */
} slot;

typedef struct scan scan;

typedef struct {
    scan *sc;
    slot slots[PER_WORKER];
    pthread_t tid;
} worker;

struct scan {
    pthread_mutex_t mu; /* slot states, counters */
    pthread_cond_t emit_cv;
    pthread_cond_t work_cv;
    pthread_mutex_t read_mu; /* src and next_seq */
    src *s;
    const val *rules;
    size_t next_seq;
    size_t next_emit;
    slot *by_seq[RING];
    int read_done;
    int read_failed;
    int stop;
    err read_err;
    int waiting_workers;
};

static void clear_slot(slot *sl)
{
    for (size_t i = 0; i < sl->n; i++)
        item_clear(&sl->items[i]);
    sl->n = 0;
}

/* Waits for one of w's slots to be reusable; NULL when the scan is over. */
static slot *own_slot(worker *w)
{
    scan *sc = w->sc;
    pthread_mutex_lock(&sc->mu);
    for (;;) {
        if (sc->stop || sc->read_done) {
            pthread_mutex_unlock(&sc->mu);
            return NULL;
        }
        for (int k = 0; k < PER_WORKER; k++) {
            slot *sl = &w->slots[k];
            if (sl->state == SLOT_FREE || sl->state == SLOT_CONSUMED) {
                int consumed = sl->state == SLOT_CONSUMED;
                sl->state = SLOT_BUSY;
                pthread_mutex_unlock(&sc->mu);
                if (consumed)
                    clear_slot(sl);
                return sl;
            }
        }
        sc->waiting_workers++;
        pthread_cond_wait(&sc->work_cv, &sc->mu);
        sc->waiting_workers--;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    scan *sc = w->sc;
    for (;;) {
        slot *sl = own_slot(w);
        if (!sl)
            break;

        /* read the next batch, in file order */
        pthread_mutex_lock(&sc->read_mu);
        if (sc->read_done) {
            pthread_mutex_unlock(&sc->read_mu);
            pthread_mutex_lock(&sc->mu);
            sl->state = SLOT_FREE;
            pthread_mutex_unlock(&sc->mu);
            break;
        }
        size_t n = 0;
        int rc = 1;
        while (n < BATCH) {
            item_init(&sl->items[n]);
            rc = src_next(sc->s, &sl->items[n], &sc->read_err);
            if (rc != 1) {
                item_clear(&sl->items[n]);
                break;
            }
            n++;
        }
        sl->n = n;
        sl->last = rc != 1;
        pthread_mutex_lock(&sc->mu);
        sl->seq = sc->next_seq++;
        sc->by_seq[sl->seq % RING] = sl;
        if (rc != 1)
            sc->read_done = 1;
        if (rc < 0)
            sc->read_failed = 1;
        if (rc != 1 && sc->waiting_workers)
            pthread_cond_broadcast(&sc->work_cv); /* nothing more to read */
        pthread_mutex_unlock(&sc->mu);
        pthread_mutex_unlock(&sc->read_mu);

        /* the expensive part, in parallel with the other workers */
        for (size_t i = 0; i < n; i++) {
            item_decode(&sl->items[i]);
            val_item_rules(sc->rules, &sl->items[i]);
        }

        pthread_mutex_lock(&sc->mu);
        sl->state = SLOT_DECODED;
        if (sl->seq == sc->next_emit)
            pthread_cond_signal(&sc->emit_cv);
        pthread_mutex_unlock(&sc->mu);
    }
    return NULL;
}

static void count(scan_summary *sum, const item *it)
{
    sum->total++;
    switch (it->verdict) {
    case ITEM_OK:
        sum->ok++;
        break;
    case ITEM_WARN:
        sum->warn++;
        break;
    case ITEM_ERROR:
        sum->error++;
        break;
    }
}

int scan_file(scan_summary *sum, const char *path, const scan_opts *opts, scan_cb cb,
              void *ctx, err *e)
{
    memset(sum, 0, sizeof *sum);
    scan_opts o = opts ? *opts : (scan_opts){0};
    src *s = NULL;
    if (src_open(&s, path, &o.src, e))
        return -1;
    sum->vendor = src_vendor(s);
    if (src_batch_id(s))
        snprintf(sum->batch_id, sizeof sum->batch_id, "%s", src_batch_id(s));

    int nw = o.threads;
    if (nw <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nw = n > 0 ? (int)n : 1;
    }
    if (nw > MAX_WORKERS)
        nw = MAX_WORKERS;

    val *v = val_new(&o.val);
    scan *sc = xcalloc(1, sizeof *sc);
    pthread_mutex_init(&sc->mu, NULL);
    pthread_mutex_init(&sc->read_mu, NULL);
    pthread_cond_init(&sc->emit_cv, NULL);
    pthread_cond_init(&sc->work_cv, NULL);
    err_clear(&sc->read_err);
    sc->s = s;
    sc->rules = v;
    worker *ws = xcalloc((size_t)nw, sizeof *ws);
    int started = 0, trc = 0;
    for (int i = 0; i < nw; i++) {
        ws[i].sc = sc;
        if ((trc = pthread_create(&ws[i].tid, NULL, worker_main, &ws[i])))
            break; /* fewer workers still read the whole file */
        started++;
    }
    nw = started; /* only these are joined and cleared */

    int stopped = 0;
    if (!started) { /* nobody would decode a batch: no waiting for one */
        err_set(e, ERR_INTERNAL, path, 0, -1,
                "cannot start a thread to read the file: %s", strerror(trc));
        goto joined;
    }
    pthread_mutex_lock(&sc->mu);
    for (;;) {
        slot *sl;
        for (;;) {
            sl = sc->by_seq[sc->next_emit % RING];
            if (sl && sl->seq == sc->next_emit && sl->state == SLOT_DECODED)
                break;
            pthread_cond_wait(&sc->emit_cv, &sc->mu);
        }
        pthread_mutex_unlock(&sc->mu);
        for (size_t i = 0; i < sl->n && !stopped; i++) {
            item *it = &sl->items[i];
            val_item_file(v, it);
            count(sum, it);
            if (cb && cb(ctx, it) != 0)
                stopped = 1;
        }
        int last = sl->last;
        pthread_mutex_lock(&sc->mu);
        sl->state = SLOT_CONSUMED;
        sc->by_seq[sc->next_emit % RING] = NULL;
        sc->next_emit++;
        if (stopped)
            sc->stop = 1;
        if (sc->waiting_workers)
            pthread_cond_broadcast(&sc->work_cv);
        /* the next batch may already be decoded: no need to sleep */
        if (last || stopped)
            break;
    }
    pthread_mutex_unlock(&sc->mu);

joined:
    for (int i = 0; i < nw; i++)
        pthread_join(ws[i].tid, NULL);
    for (int i = 0; i < nw; i++)
        for (int k = 0; k < PER_WORKER; k++)
            clear_slot(&ws[i].slots[k]);

    int rc = 0;
    if (!started) {
        rc = -1;
    } else if (sc->read_failed && !stopped) {
        if (e)
            *e = sc->read_err;
        rc = -1;
    } else if (sum->total == 0 && !stopped) {
        err_set(e, ERR_FORMAT, path, 0, -1, "%s",
                vendor_is_phase2(sum->vendor) ? "no devices in the file"
                                              : "no certificates in the file");
        rc = -1;
    }
    const char *notes = src_notes(s);
    sum->notes = xstrdup(notes ? notes : "");
    free(ws);
    pthread_cond_destroy(&sc->work_cv);
    pthread_cond_destroy(&sc->emit_cv);
    pthread_mutex_destroy(&sc->read_mu);
    pthread_mutex_destroy(&sc->mu);
    free(sc);
    val_free(v);
    src_free(s);
    return rc;
}

void scan_summary_free(scan_summary *sum)
{
    if (!sum)
        return;
    free(sum->notes);
    sum->notes = NULL;
}
