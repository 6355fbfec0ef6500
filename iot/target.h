/* target - where calls go and as whom: one owned value.
 *
 * Design: the endpoint, region, account and credentials travel together from
 * the resolver (creds.h) to the client (client.h), the engine (eng_opts),
 * the registry check (rc_opts) and the console (con_target). They are one
 * value, iot_target, copied deep with iot_target_copy and destroyed with
 * iot_target_free, which wipes the secret key and the session token with
 * OPENSSL_cleanse (a memset before free may be optimised away). Nobody else
 * frees or wipes these strings.
 *
 * Threading: a target is plain data; copy it to hand it to another thread.
 * Ownership: every non-NULL string is owned by the target. */
#ifndef TP_IOT_TARGET_H
#define TP_IOT_TARGET_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iot_target {
    char *endpoint_url;   /* "https://iot.eu-west-1.amazonaws.com" or
                             "http://127.0.0.1:8080"; an optional base path */
    char *region;         /* "eu-west-1" */
    char *account;        /* known account id, or NULL (learned in the pre-flight) */
    char *access_key;     /* NULL when none resolved */
    char *secret_key;     /* secret: wiped on free */
    char *session_token;  /* secret: wiped on free; NULL when none */
    char *ca_bundle;      /* PEM file of trusted CAs; NULL = the system store */
    char *signing_name;   /* SigV4 service; NULL = "iot" */
    long long expiration; /* unix seconds the credentials expire; 0 = they don't */
} iot_target;

/* Fills *out with copies of the given strings (NULL or "" stays NULL);
 * *out is overwritten, not freed. Any argument may be NULL. */
void iot_target_set(iot_target *out, const char *endpoint_url, const char *region,
                    const char *account, const char *access_key, const char *secret_key,
                    const char *session_token, const char *ca_bundle);

/* Deep copy of src into *out (overwritten, not freed). src may be NULL
 * (then *out is empty). */
void iot_target_copy(iot_target *out, const iot_target *src);

/* Replaces the credentials (and expiration), wiping the old secrets. */
void iot_target_set_credentials(iot_target *t, const char *access_key,
                                const char *secret_key, const char *session_token,
                                long long expiration);

/* Wipes the secrets, frees every string, leaves *t zeroed. NULL-safe. */
void iot_target_free(iot_target *t);

/* Wipes s (OPENSSL_cleanse over its length) and frees it. NULL-safe. For
 * secrets held outside a target. */
void iot_secret_free(char *s);

#ifdef __cplusplus
}
#endif
#endif
