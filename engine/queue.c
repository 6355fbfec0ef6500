/* The bounded work / journal queue (see queue.h). */
#include "engine/queue.h"

#include <string.h>
#include <time.h>

void queue_init(queue *q, size_t max)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    pthread_cond_init(&q->room, NULL);
    q->tail = &q->head;
    q->max = max;
}

void queue_destroy(queue *q)
{
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

void queue_push(queue *q, void *node)
{
    *(void **)node = NULL;
    pthread_mutex_lock(&q->mu);
    while (q->max && q->n >= q->max && !q->closed)
        pthread_cond_wait(&q->room, &q->mu);
    *q->tail = node;
    q->tail = (void **)node;
    q->n++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void *queue_pop(queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    void *node = q->head;
    if (node) {
        q->head = *(void **)node;
        if (!q->head)
            q->tail = &q->head;
        q->n--;
        pthread_cond_signal(&q->room);
    }
    pthread_mutex_unlock(&q->mu);
    return node;
}

void *queue_take_all(queue *q, int ms)
{
    pthread_mutex_lock(&q->mu);
    if (!q->head && !q->closed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    void *list = q->head;
    q->head = NULL;
    q->tail = &q->head;
    q->n = 0;
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mu);
    return list;
}

void queue_close(queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mu);
}

int queue_closed_and_empty(queue *q)
{
    pthread_mutex_lock(&q->mu);
    int r = q->closed && !q->head;
    pthread_mutex_unlock(&q->mu);
    return r;
}
