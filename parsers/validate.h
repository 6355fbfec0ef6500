/* validate - the rules of DESIGN.md §5, applied to items in file order.
 *
 * Design: per-item rules (names, fingerprints, attributes, certificate size
 * and dates) need only the item; the duplicate rules need the whole file so
 * far, kept as 64-bit hashes (not strings) so a 1,000,000-item file stays in
 * a few tens of MB. The rule functions are exported one by one so the sim and
 * the console can apply the same rule to one value.
 *
 * Threading: a val belongs to one thread; the val_check_* functions are pure
 * and may run on any thread. */
#ifndef TP_PARSERS_VALIDATE_H
#define TP_PARSERS_VALIDATE_H

#include <stddef.h>

#include "parsers/item.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VAL_MAX_ATTRS 3         /* attributes per thing without a thing type */
#define VAL_MAX_ATTRS_TYPED 50  /* with a thing type */
#define VAL_MAX_PEM_CHARS 65536 /* RegisterCertificateWithoutCA certificatePem */
#define VAL_MAX_POLICIES 10     /* policies attached to one certificate */

typedef struct val_opts {
    int has_thing_type; /* the job sets --thing-type: attribute limit 50, not 3 */
    long long now;      /* unix seconds for the expiry check; 0 = time(NULL) */
} val_opts;

typedef struct val val;

val *val_new(const val_opts *opts);
/* Applies every rule to it (after item_decode), raising its verdict. Items
 * must come in file order: duplicates are reported on the later item, naming
 * the index of the earlier one when known. val_item = val_item_rules then
 * val_item_file. */
void val_item(val *v, item *it);
/* The rules that need only the item (names, fingerprint, attributes, size,
 * dates), and the item's duplicate keys. Does not change v: any thread, items
 * in any order. */
void val_item_rules(const val *v, item *it);
/* The rules that need the file so far (duplicates): one thread, file order. */
void val_item_file(val *v, item *it);
void val_free(val *v);

/* Single rules. Each returns ITEM_OK, ITEM_WARN or ITEM_ERROR and, when not
 * ok, writes a one-line reason into why (may be NULL). */
item_verdict val_check_thing_name(const char *name, char *why, size_t n);
item_verdict val_check_fingerprint(const char *fp, char *why, size_t n);
item_verdict val_check_attr_name(const char *name, char *why, size_t n);
item_verdict val_check_attr_value(const char *value, char *why, size_t n);
item_verdict val_check_thing_type_name(const char *name, char *why, size_t n);
/* Checks a policy list as configured (count <= 10, each a valid policy name). */
item_verdict val_check_policies(const char *const *names, size_t count, char *why,
                                size_t n);

#ifdef __cplusplus
}
#endif
#endif
