#include "parsers/scan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"

enum { BATCH = 512, SLOTS = 6 };

typedef enum { SLOT_FREE, SLOT_FILLED, SLOT_DECODING, SLOT_DECODED } slot_state;

typedef struct {
    item items[BATCH];
    size_t n;
    size_t seq;
    slot_state state;
    int last; /* the reader's final batch (possibly empty) */
} slot;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot slots[SLOTS];
    size_t next_fill; /* seq the reader fills next */
    size_t next_emit; /* seq the emitter wants next */
    int stop;         /* emitter gave up: reader and decoders wind down */
    int reader_done;
    int reader_failed;
    err reader_err;
    src *s;
} ring;

static slot *slot_of(ring *r, size_t seq)
{
    return &r->slots[seq % SLOTS];
}

static void *reader_main(void *arg)
{
    ring *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        slot *sl = slot_of(r, r->next_fill);
        while (!r->stop && sl->state != SLOT_FREE)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        size_t seq = r->next_fill;
        pthread_mutex_unlock(&r->mu);

        /* the slot is ours until we publish it */
        size_t n = 0;
        int rc = 1;
        while (n < BATCH) {
            item_init(&sl->items[n]);
            rc = src_next(r->s, &sl->items[n], &r->reader_err);
            if (rc != 1) {
                item_clear(&sl->items[n]);
                break;
            }
            n++;
        }
        pthread_mutex_lock(&r->mu);
        sl->n = n;
        sl->seq = seq;
        sl->last = rc != 1;
        sl->state = SLOT_FILLED;
        r->next_fill++;
        if (rc < 0)
            r->reader_failed = 1;
        if (rc != 1)
            r->reader_done = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (rc != 1)
            break;
    }
    return NULL;
}

static void *decoder_main(void *arg)
{
    ring *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        slot *pick = NULL;
        /* the oldest filled batch, so the emitter is never starved */
        for (size_t seq = r->next_emit; seq < r->next_fill; seq++) {
            slot *sl = slot_of(r, seq);
            if (sl->state == SLOT_FILLED && sl->seq == seq) {
                pick = sl;
                break;
            }
        }
        if (!pick) {
            if (r->stop || (r->reader_done && r->next_fill == r->next_emit))
                break;
            if (r->reader_done) {
                /* everything is decoded or being decoded: nothing left for us */
                int pending = 0;
                for (size_t seq = r->next_emit; seq < r->next_fill; seq++)
                    pending |= slot_of(r, seq)->state == SLOT_FILLED;
                if (!pending)
                    break;
            }
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        pick->state = SLOT_DECODING;
        pthread_mutex_unlock(&r->mu);
        for (size_t i = 0; i < pick->n; i++)
            item_decode(&pick->items[i]);
        pthread_mutex_lock(&r->mu);
        pick->state = SLOT_DECODED;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
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
        strncpy(sum->batch_id, src_batch_id(s), sizeof sum->batch_id - 1);

    int threads = o.threads;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > 16)
        threads = 16;

    ring *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    err_clear(&r->reader_err);
    r->s = s;
    val *v = val_new(&o.val);

    pthread_t reader, dec[16];
    pthread_create(&reader, NULL, reader_main, r);
    for (int i = 0; i < threads; i++)
        pthread_create(&dec[i], NULL, decoder_main, r);

    int stopped = 0;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        slot *sl = slot_of(r, r->next_emit);
        while (!(sl->seq == r->next_emit && sl->state == SLOT_DECODED))
            pthread_cond_wait(&r->cv, &r->mu);
        pthread_mutex_unlock(&r->mu);
        for (size_t i = 0; i < sl->n; i++) {
            item *it = &sl->items[i];
            if (!stopped) {
                val_item(v, it);
                count(sum, it);
                if (cb && cb(ctx, it) != 0)
                    stopped = 1;
            }
            item_clear(it);
        }
        int last = sl->last;
        pthread_mutex_lock(&r->mu);
        sl->state = SLOT_FREE;
        sl->n = 0;
        r->next_emit++;
        if (stopped)
            r->stop = 1;
        pthread_cond_broadcast(&r->cv);
        if (last || stopped)
            break;
    }
    pthread_mutex_unlock(&r->mu);

    pthread_join(reader, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(dec[i], NULL);
    /* after a stop, batches the reader or decoders left behind */
    for (size_t k = 0; k < SLOTS; k++)
        for (size_t i = 0; i < r->slots[k].n; i++)
            item_clear(&r->slots[k].items[i]);

    int rc = 0;
    if (r->reader_failed && !stopped) {
        if (e)
            *e = r->reader_err;
        rc = -1;
    }
    const char *notes = src_notes(s);
    sum->notes = xstrdup(notes ? notes : "");
    val_free(v);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
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
