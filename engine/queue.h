/* queue - the engine's FIFO of owned nodes between threads: items from the
 * feeder to the workers (bounded), records from everyone to the journal
 * thread (unbounded). Private to engine/.
 *
 * Design: a singly linked list threaded through each node's first member
 * (a `next` pointer at offset 0, so any struct that starts with one can be
 * queued without a wrapper), a mutex and two condition variables (something
 * to take, room to push). The lock is held only to link or unlink, never
 * during work (redis bio.c). A bounded queue makes a fast feeder wait for
 * the workers, so memory follows the work in flight, not the file. Closing
 * wakes everyone: pushes no longer wait, pops return NULL once it is empty.
 *
 * Threading: any thread. Ownership: a pushed node belongs to the queue until
 * it is popped or taken; the queue never frees a node (queue_destroy leaves
 * what is still in it: take it all first). */
#ifndef TP_ENGINE_QUEUE_H
#define TP_ENGINE_QUEUE_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/queue.h is private to engine/ (engine/BUILD)"
#endif

#include <pthread.h>
#include <stddef.h>

typedef struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t room;
    void *head, **tail; /* a singly linked list through `next` at offset 0 */
    size_t n, max;
    int closed;
} queue;

/* max = 0: unbounded. */
void queue_init(queue *q, size_t max);
void queue_destroy(queue *q);
/* Appends node (blocks while the queue is full and open). */
void queue_push(queue *q, void *node);
/* The oldest node, waiting for one; NULL once closed and empty. */
void *queue_pop(queue *q);
/* Everything queued, as a list through `next`, waiting up to ms for the
 * first node; NULL if none came. */
void *queue_take_all(queue *q, int ms);
void queue_close(queue *q);
int queue_closed_and_empty(queue *q);

#endif
