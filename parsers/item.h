/* item - one record of an input file: a vendor certificate (Phase 1) or a
 * device of a device-infos file (Phase 2), with its validation verdict.
 *
 * Design: readers (src.h) produce items in file order, as cheaply as they can:
 * a vendor reader usually only frames the certificate bytes (raw + raw_kind)
 * and item_decode() does the expensive part (base64, SHA-256, DER walk). That
 * split lets the caller run item_decode() on several threads while reading
 * stays sequential. Validation rules that need the whole file (duplicates)
 * run afterwards, in order (validate.h).
 *
 * Ownership: an item owns every pointer in it; item_clear() frees them and
 * re-initialises. Threading: an item belongs to one thread at a time;
 * item_decode() touches nothing else and may run on any thread. */
#ifndef TP_PARSERS_ITEM_H
#define TP_PARSERS_ITEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { ITEM_OK = 0, ITEM_WARN = 1, ITEM_ERROR = 2 } item_verdict;

/* How item_decode() must read `raw`. */
typedef enum {
    RAW_NONE = 0, /* nothing to decode (device-infos, or already decoded) */
    RAW_PEM,      /* PEM text holding exactly one CERTIFICATE block */
    RAW_DER,      /* DER bytes of one certificate */
    RAW_B64,      /* a Generated line: base64 of PEM text, or base64 of DER */
} raw_kind;

typedef struct item_attr {
    char *name;
    char *value;
} item_attr;

#define ITEM_MSG_MAX 256

typedef struct item {
    size_t index;       /* 0-based, file order (set by src_next) */
    unsigned long line; /* 1-based line where the item starts; 0 if not a text line */
    char *where;        /* owned or NULL: archive member, manifest entry, ... */

    char *thing_name; /* owned or NULL: the name the vendor rule gives */
    int name_from_cn; /* vendor rule "thing name = subject CN": item_decode sets it */

    /* Certificate (vendor files). */
    raw_kind raw_kind;
    char *raw; /* owned; freed by item_decode once decoded */
    size_t raw_len;
    unsigned char *der; /* owned: the device certificate */
    size_t der_len;
    unsigned char *chain; /* owned or NULL: issuer certificates' DER, concatenated */
    size_t chain_len;
    size_t pem_chars;     /* size of the certificate as PEM text (AWS limit 65,536) */
    char *subject_cn;     /* owned or NULL */
    long long not_before; /* unix seconds; 0 = unknown */
    long long not_after;
    char fingerprint[65]; /* lowercase hex SHA-256 of der; "" = unknown */

    /* Device (device-infos). */
    int is_device;
    char *given_fingerprint; /* owned: certFingerprint exactly as in the file */
    char *device_type;       /* owned or NULL: per-device thing type override */
    item_attr *attrs;        /* owned array */
    size_t n_attrs;

    item_verdict verdict;
    char message[ITEM_MSG_MAX]; /* one line; empty when ok */

    /* Set by val_item_rules: hashed keys for the duplicate rules. */
    unsigned long long dup_keys[2];
    int dup_keys_set;
} item;

void item_init(item *it);
/* Frees everything the item owns and re-initialises it. */
void item_clear(item *it);

/* Raises the verdict to at least v and records the reason. A more severe
 * verdict replaces the message; an equally severe one is appended ("; "). */
void item_flag(item *it, item_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decodes raw (if any) into der, then fills fingerprint, subject_cn,
 * not_before/after and pem_chars, and thing_name when name_from_cn. A
 * certificate that does not decode flags the item ITEM_ERROR with the reason.
 * Idempotent; any thread. */
void item_decode(item *it);

const char *item_verdict_name(item_verdict v);

/* The key of a certificate fingerprint (the AWS certificateId; DESIGN.md §4,
 * the "fingerprint" column): fp with ASCII letters lowercased, at most n - 1
 * bytes of it, NUL-terminated in out; fp NULL is "". With n = 65 and a 64-hex
 * fingerprint in either case, the lowercase 64-hex key. Returns out. */
char *item_fp_key(char *out, size_t n, const char *fp);

#ifdef __cplusplus
}
#endif
#endif
