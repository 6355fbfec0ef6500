/* route - the AWS IoT REST operations the local endpoint serves, and the
 * mapping of an HTTP method + wire path onto one of them.
 *
 * Design: one static table (operation name, method, path template) taken
 * from the botocore service model, so the routes are exactly what the AWS CLI
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

#ifdef __cplusplus
extern "C" {
#endif

#define ROUTE_OPS(X)                                                                     \
    X(ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "RegisterCertificateWithoutCA", "POST",     \
      "/certificate/register-no-ca")                                                     \
    X(ROUTE_UPDATE_CERTIFICATE, "UpdateCertificate", "PUT", "/certificates/{}")          \
    X(ROUTE_DESCRIBE_CERTIFICATE, "DescribeCertificate", "GET", "/certificates/{}")      \
    X(ROUTE_LIST_CERTIFICATES, "ListCertificates", "GET", "/certificates")               \
    X(ROUTE_CREATE_THING, "CreateThing", "POST", "/things/{}")                           \
    X(ROUTE_DESCRIBE_THING, "DescribeThing", "GET", "/things/{}")                        \
    X(ROUTE_LIST_THINGS, "ListThings", "GET", "/things")                                 \
    X(ROUTE_ATTACH_THING_PRINCIPAL, "AttachThingPrincipal", "PUT",                       \
      "/things/{}/principals")                                                           \
    X(ROUTE_LIST_THING_PRINCIPALS, "ListThingPrincipals", "GET",                         \
      "/things/{}/principals")                                                           \
    X(ROUTE_LIST_THING_GROUPS_FOR_THING, "ListThingGroupsForThing", "GET",               \
      "/things/{}/thing-groups")                                                         \
    X(ROUTE_ATTACH_POLICY, "AttachPolicy", "PUT", "/target-policies/{}")                 \
    X(ROUTE_LIST_ATTACHED_POLICIES, "ListAttachedPolicies", "POST",                      \
      "/attached-policies/{}")                                                           \
    X(ROUTE_CREATE_POLICY, "CreatePolicy", "POST", "/policies/{}")                       \
    X(ROUTE_GET_POLICY, "GetPolicy", "GET", "/policies/{}")                              \
    X(ROUTE_ADD_THING_TO_THING_GROUP, "AddThingToThingGroup", "PUT",                     \
      "/thing-groups/addThingToThingGroup")                                              \
    X(ROUTE_CREATE_THING_GROUP, "CreateThingGroup", "POST", "/thing-groups/{}")          \
    X(ROUTE_DESCRIBE_THING_GROUP, "DescribeThingGroup", "GET", "/thing-groups/{}")       \
    X(ROUTE_CREATE_THING_TYPE, "CreateThingType", "POST", "/thing-types/{}")             \
    X(ROUTE_DESCRIBE_THING_TYPE, "DescribeThingType", "GET", "/thing-types/{}")

typedef enum {
    ROUTE_NONE = -1, /* no operation matches */
#define ROUTE_ENUM(id, name, method, path) id,
    ROUTE_OPS(ROUTE_ENUM)
#undef ROUTE_ENUM
        ROUTE_COUNT
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
