/* A running job's credentials (see keeper.h). */
#include "engine/keeper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"

struct keeper {
    pthread_mutex_t mu;
    iot_target cur; /* credentials only (and expiration) */
    unsigned gen;
    long long obtained; /* unix s the current credentials were had */
    long long next_try; /* monotonic ms before which no refresh is tried */
    keeper_refresh_fn refresh;
    void *ctx;
    unsigned refreshed, failed;
    char last_why[300];
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

keeper *keeper_new(const iot_target *t, keeper_refresh_fn refresh, void *ctx)
{
    keeper *k = xcalloc(1, sizeof *k);
    pthread_mutex_init(&k->mu, NULL);
    iot_target_set_credentials(&k->cur, t->access_key, t->secret_key, t->session_token,
                               t->expiration);
    k->obtained = (long long)time(NULL);
    k->refresh = refresh;
    k->ctx = ctx;
    return k;
}

void keeper_free(keeper *k)
{
    if (!k)
        return;
    iot_target_free(&k->cur);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* Runs the refresh function (k->mu held): 1 when it gave new credentials. */
static int refresh_locked(keeper *k)
{
    iot_target fresh;
    memset(&fresh, 0, sizeof fresh);
    err e;
    err_clear(&e);
    int ok = 0;
    long long now = (long long)time(NULL);
    if (k->refresh(k->ctx, &fresh, &e)) {
        err_format(&e, k->last_why, sizeof k->last_why);
    } else if (!fresh.access_key || !fresh.secret_key) {
        snprintf(k->last_why, sizeof k->last_why, "the refresh gave no credentials");
    } else if (fresh.expiration && fresh.expiration <= now) {
        snprintf(k->last_why, sizeof k->last_why,
                 "the refreshed credentials have already expired");
    } else if (same(fresh.access_key, k->cur.access_key) &&
               same(fresh.secret_key, k->cur.secret_key) &&
               same(fresh.session_token, k->cur.session_token)) {
        snprintf(k->last_why, sizeof k->last_why,
                 "the refresh gave back the credentials that were refused");
    } else {
        iot_target_set_credentials(&k->cur, fresh.access_key, fresh.secret_key,
                                   fresh.session_token, fresh.expiration);
        k->gen++;
        k->obtained = now;
        k->refreshed++;
        k->last_why[0] = '\0';
        ok = 1;
    }
    iot_target_free(&fresh);
    if (!ok) {
        k->failed++;
        k->next_try = mono_ms() + KEEPER_RETRY_MS;
    }
    return ok;
}

/* Whether the current credentials are within their refresh margin (mu held). */
static int due(const keeper *k)
{
    if (!k->refresh || !k->cur.expiration || mono_ms() < k->next_try)
        return 0;
    long long life = k->cur.expiration - k->obtained;
    long long ahead = life / 4 < KEEPER_AHEAD_MAX_S ? life / 4 : KEEPER_AHEAD_MAX_S;
    if (ahead < 1)
        ahead = 1;
    return (long long)time(NULL) >= k->cur.expiration - ahead;
}

void keeper_sync(keeper *k, iot_client *c, unsigned *gen)
{
    if (!k)
        return;
    /* ahead of expiration: one thread refreshes, the others go on with the
     * credentials they have (still valid) */
    if (pthread_mutex_trylock(&k->mu) == 0) {
        if (due(k))
            refresh_locked(k);
    } else {
        pthread_mutex_lock(&k->mu);
    }
    if (*gen == k->gen) {
        pthread_mutex_unlock(&k->mu);
        return;
    }
    iot_target copy;
    memset(&copy, 0, sizeof copy);
    iot_target_set_credentials(&copy, k->cur.access_key, k->cur.secret_key,
                               k->cur.session_token, k->cur.expiration);
    unsigned g = k->gen;
    pthread_mutex_unlock(&k->mu);
    err e;
    err_clear(&e);
    if (!iot_client_set_credentials(c, copy.access_key, copy.secret_key,
                                    copy.session_token, &e))
        *gen = g;
    iot_target_free(&copy);
}

int keeper_renew(keeper *k, unsigned gen, char *why, size_t why_n)
{
    if (!k) {
        snprintf(why, why_n, "the credentials cannot be refreshed");
        return 0;
    }
    pthread_mutex_lock(&k->mu);
    int ok;
    if (k->gen != gen) {
        ok = 1; /* another thread already replaced them */
    } else if (!k->refresh) {
        snprintf(k->last_why, sizeof k->last_why,
                 "they come from a source that cannot be refreshed");
        ok = 0;
    } else if (mono_ms() < k->next_try) {
        ok = 0;
    } else {
        ok = refresh_locked(k);
    }
    if (!ok)
        snprintf(why, why_n, "%s", k->last_why[0] ? k->last_why : "no new credentials");
    pthread_mutex_unlock(&k->mu);
    return ok;
}

void keeper_counts(keeper *k, unsigned *refreshed, unsigned *failed)
{
    pthread_mutex_lock(&k->mu);
    *refreshed = k->refreshed;
    *failed = k->failed;
    pthread_mutex_unlock(&k->mu);
}
