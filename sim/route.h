/* route - the AWS IoT REST operations the local endpoint serves, and the
 * mapping of an HTTP method + wire path onto one of them.
 *
 * Design: the routes are the operation table of iot/ops.def (operation name,
 * method, path template from the botocore service model), the same table the
 * client builds its requests from, so the routes are exactly what the AWS CLI
 * sends (see ../shared/iot-wire/). A template has at most one "{label}"
 * segment; route_match() splits the wire path on '/' first and then
 * percent-decodes the label, so a label may hold an encoded '/' (the
 * certificate ARN of ListAttachedPolicies) or ':' (thing names). Literal
 * segments win over labels ("PUT /thing-groups/addThingToThingGroup").
 *
 * Threading: any thread; no state. */
#ifndef TP_SIM_ROUTE_H
#define TP_SIM_ROUTE_H

#include <stddef.h>

#include "base/buf.h"
#include "iot/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The operations, as the sim names them: route_op has the values of iot_op
 * (iot/op.h), generated from the same table, so one converts to the other with
 * a cast. ROUTE_NONE is IOT_OP_NONE, ROUTE_COUNT is IOT_OP_COUNT. */
typedef enum route_op {
    ROUTE_NONE = IOT_OP_NONE, /* no operation matches */
#define IOT_OP(id, name, method, path, tps, mutates, label) ROUTE_##id = IOT_OP_##id,
#include "iot/ops.def"
#undef IOT_OP
    ROUTE_COUNT = IOT_OP_COUNT
} route_op;

/* "CreateThing" (the AWS operation name, also the quota key), or "Unknown". */
const char *route_name(route_op op);
/* The operation named name, or ROUTE_NONE. */
route_op route_by_name(const char *name);

/* Matches method and the wire path (without '?query'; segments URI-encoded
 * once). On a match, *label gets the decoded {label} segment (empty when the
 * template has none). Returns ROUTE_NONE when nothing matches, when a segment
 * holds a bad %-escape, or when the label decodes to a NUL byte. */
route_op route_match(const char *method, const char *path, size_t path_len, buf *label);

/* Percent-decodes s[0..len) into out (appended). '+' stays '+' (this is a
 * path or a SigV4-style query, not a form). Returns -1 on a bad escape. */
int route_pct_decode(buf *out, const char *s, size_t len);

/* Looks up key in a raw query string ("a=1&b=x%3Ay"); decodes the value into
 * out (reset first). Returns 1 when present (a key without '=' has the empty
 * value), 0 when absent, -1 when its value has a bad escape. */
int route_query_get(const char *query, const char *key, buf *out);

#ifdef __cplusplus
}
#endif
#endif
