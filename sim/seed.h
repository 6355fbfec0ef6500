/* seed - resources of one's own on the local endpoint (policies, thing
 * groups, thing types), created straight in its database for training
 * (`thingpress sim seed`), and the bundled samples' resources.
 *
 * Design: the local endpoint's database is opened without serving it, and
 * each resource is created through the registry's own operations (reg.h:
 * DescribeThingGroup, then CreateThingGroup when absent, ...), so AWS IoT's
 * naming and policy document rules apply exactly as over HTTP. Nothing here
 * has a network path: it can only ever change a local endpoint, never AWS.
 * seed_open() refuses a file that exists but is not a local endpoint's
 * database (the journal, a report, anything else) before writing a byte, and
 * one that a running endpoint holds (its exclusive lock).
 *
 * Threading: one thread per reg (reg_do itself is thread-safe).
 * Ownership: seed_open's reg is the caller's (reg_close). */
#ifndef TP_SIM_SEED_H
#define TP_SIM_SEED_H

#include "base/err.h"
#include "sim/reg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum seed_kind { SEED_POLICY, SEED_THING_GROUP, SEED_THING_TYPE } seed_kind;

/* "policy", "thing group", "thing type". */
const char *seed_kind_name(seed_kind k);

/* The policy document of the samples' BasicTestPolicy: connect as the thing,
 * publish and receive under topic_prefix (testdata/misc/test-policy-basic.json
 * without its Condition and its Subscribe statement). */
extern const char seed_sample_policy[];

/* Opens the local endpoint's database at path, creating it when the file
 * does not exist. Fails (ERR_USAGE) when the file exists but is not a local
 * endpoint's database, or when a running endpoint (a console, provision,
 * watch or sim) holds it; ERR_IO when it cannot be read. */
int seed_open(reg **out, const char *path, err *e);

/* Creates the resource name of kind k unless it exists; *created is 1 when
 * it was created, 0 when it was there and is kept as it is. policy_doc is a
 * new policy's JSON document; NULL = seed_sample_policy, and an existing
 * policy is kept whatever its document. When given, an existing policy with
 * another document is an error (the local endpoint keeps one version of a
 * policy). Errors (ERR_USAGE) carry the endpoint's message: a name or a
 * document AWS IoT would refuse. */
int seed_create(reg *r, seed_kind k, const char *name, const char *policy_doc,
                int *created, err *e);

#ifdef __cplusplus
}
#endif
#endif
