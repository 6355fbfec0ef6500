/* target - the owned endpoint + credentials value (see target.h). */
#include "iot/target.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

void iot_secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void iot_target_set(iot_target *out, const char *endpoint_url, const char *region,
                    const char *account, const char *access_key, const char *secret_key,
                    const char *session_token, const char *ca_bundle)
{
    memset(out, 0, sizeof *out);
    out->endpoint_url = dup_or_null(endpoint_url);
    out->region = dup_or_null(region);
    out->account = dup_or_null(account);
    out->access_key = dup_or_null(access_key);
    out->secret_key = dup_or_null(secret_key);
    out->session_token = dup_or_null(session_token);
    out->ca_bundle = dup_or_null(ca_bundle);
}

void iot_target_copy(iot_target *out, const iot_target *src)
{
    if (!src) {
        memset(out, 0, sizeof *out);
        return;
    }
    iot_target_set(out, src->endpoint_url, src->region, src->account, src->access_key,
                   src->secret_key, src->session_token, src->ca_bundle);
    out->signing_name = dup_or_null(src->signing_name);
    out->expiration = src->expiration;
}

void iot_target_set_credentials(iot_target *t, const char *access_key,
                                const char *secret_key, const char *session_token,
                                long long expiration)
{
    free(t->access_key);
    iot_secret_free(t->secret_key);
    iot_secret_free(t->session_token);
    t->access_key = dup_or_null(access_key);
    t->secret_key = dup_or_null(secret_key);
    t->session_token = dup_or_null(session_token);
    t->expiration = expiration;
}

void iot_target_free(iot_target *t)
{
    if (!t)
        return;
    free(t->endpoint_url);
    free(t->region);
    free(t->account);
    free(t->access_key);
    iot_secret_free(t->secret_key);
    iot_secret_free(t->session_token);
    free(t->ca_bundle);
    free(t->signing_name);
    memset(t, 0, sizeof *t);
}
