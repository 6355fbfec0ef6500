/* jobcfg - a job's configuration: what to attach and how, where to send it.
 *
 * Design: one struct filled from three layers, later ones winning: built-in
 * defaults, a configuration file (--config: our own TOML file, or a SAM
 * samconfig.toml whose parameter_overrides carry the upstream parameters
 * IoTPolicies=... IoTThingGroups=... IoTThingType=... IoTCertActive=...
 * IoTThingDeferred=...), then command-line options. Every layer goes through
 * jobcfg_set(), which knows each key under all its names (ours, the
 * upstream CloudFormation parameter, and the legacy single-value names
 * IoTPolicy / IoTThingGroup), so the three cannot drift apart.
 *
 * jobcfg_identity() is the part that decides what a job does to the registry
 * (phase options, policies, groups, type): the journal resumes a job only
 * when the file and this identity are the same; jobcfg_from_identity() reads
 * it back (the writer and its reader in one module).
 *
 * Threading: build on one thread; read-only afterwards, any thread.
 * Ownership: the jobcfg owns every string in it. */
#ifndef TP_ENGINE_JOBCFG_H
#define TP_ENGINE_JOBCFG_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "parsers/src.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jobcfg_rate {
    char *op;   /* an operation name of iot/ops.def */
    double tps; /* requests per second the engine starts from */
} jobcfg_rate;

typedef struct jobcfg {
    vendor vendor;
    char **policies; /* empty and "None" items dropped */
    size_t n_policies;
    char **thing_groups;
    size_t n_thing_groups;
    char *thing_type;   /* NULL: none */
    int cert_active;    /* Phase 1: register ACTIVE instead of INACTIVE */
    int thing_deferred; /* Phase 1: leave Thing creation to Phase 2 (default 1) */
    int skip_invalid;   /* provision the valid items of a file with errors */
    char *infineon_bundle;
    char *microchip_signers;
    char *endpoint_url;
    char *region;
    char *profile;
    char *state_dir;
    jobcfg_rate *rates; /* the engine's starting rate table overrides */
    size_t n_rates;
    int workers; /* 0 = default */
} jobcfg;

void jobcfg_init(jobcfg *c);
void jobcfg_free(jobcfg *c);

/* Sets one key. Keys are matched without case, '-' and '_' alike:
 * policies (IoTPolicies, IoTPolicy), thing_groups (IoTThingGroups,
 * IoTThingGroup), thing_type (IoTThingType), cert_active (IoTCertActive),
 * thing_deferred (IoTThingDeferred), skip_invalid, vendor, infineon_bundle
 * (InfineonCertBundleType), microchip_signers, endpoint_url, region,
 * profile, state_dir (state), workers, and rate.OPERATION.
 * Returns 1 when set, 0 for an unknown key (nothing changed), -1 for a bad
 * value (e says which key and why). `where` names the source in errors. */
int jobcfg_set(jobcfg *c, const char *key, const char *value, const char *where,
               unsigned long line, err *e);

/* Loads a configuration file (see the header comment). Unknown keys in our
 * own format are errors (a typo must not silently change a job); in a
 * samconfig.toml only the parameter_overrides are read. */
int jobcfg_load(jobcfg *c, const char *path, err *e);

/* AWS IoT limits, checked before anything is sent: policies attached to a
 * certificate (parsers/validate.c) and thing groups a thing belongs to. */
enum { JOBCFG_MAX_POLICIES = 10, JOBCFG_MAX_THING_GROUPS = 10 };

/* Checks the combination: policy and group counts (the limits above), policy,
 * group and type names. */
int jobcfg_check(const jobcfg *c, err *e);

/* Canonical JSON of what the job does to the registry, for job identity. */
void jobcfg_identity(const jobcfg *c, buf *out);

/* The reverse of jobcfg_identity(): sets c's keys from an identity (the
 * journal's copy, to resume a job). Every key goes through jobcfg_set(), so
 * keys it does not know are left alone (a newer journal) and a bad value
 * fails as it would in a configuration file. Returns 0, or -1 with e set:
 * ERR_FORMAT when identity is not an object of strings, null, booleans and
 * arrays of strings. c keeps what was set before a failure. */
int jobcfg_from_identity(jobcfg *c, const char *identity, err *e);

/* Splits "a,b, ,None" into items appended to *v, dropping empty and "None". */
void jobcfg_split_list(char ***v, size_t *n, const char *list);

/* A key as jobcfg_set compares it: lowercase, without '-' and '_'
 * ("Thing-Groups" -> "thinggroups"). */
void jobcfg_key_norm(char *out, size_t n, const char *key);

#ifdef __cplusplus
}
#endif
#endif
