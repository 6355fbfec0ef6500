/* pace - the rates learned per endpoint, account, region and operation, kept
 * in the state directory between jobs, so a job starts from the pace the
 * last one found instead of the quota table (issue 12, "the pace is
 * forgotten between jobs").
 *
 * Design: one small JSON file, DIR/pace.json (mode 0600), beside the
 * journal but not in it: it is a cache of measurements, not a record, and
 * keeping it out of journal.db leaves the journal's schema (and the
 * versions that read it) alone. Each entry is keyed by the registry the
 * calls went to (the endpoint URL, or the embedded endpoint's name, so the
 * local endpoint and AWS never mix), the account, the region and the
 * operation, and holds the rate (calls/s), whether it was the quota found
 * (the pacer was throttled: rate_learned's `found`) or a lower bound, and
 * when it was learned:
 *   {"thingpress_pace": 1, "rates": [{"endpoint": "https://iot.eu-west-1
 *    .amazonaws.com", "account": "123456789012", "region": "eu-west-1",
 *    "op": "RegisterCertificateWithoutCA", "tps": 49.2, "found": true,
 *    "updated": 1764770000}]}
 * Entries older than PACE_MAX_AGE are ignored when read and dropped when the
 * file is written (quotas change; another workload may have joined the
 * account since); the file keeps at most PACE_MAX_ENTRIES, newest first.
 *
 * Writers: pace_store reads the file, replaces its key's entries and writes
 * a temporary file in the same directory, fsyncs it and renames it over
 * pace.json, so a reader sees the old file or the new one, never a part.
 * Several processes (stations sharing a state directory) serialise on an
 * flock of DIR/locks/pace.lock so none loses another's entries; a writer
 * that cannot get the lock within two seconds writes anyway (the last
 * writer wins: a lost entry is only a slower start next time). A missing,
 * unreadable, oversized or corrupt file, or a bad entry, is nothing
 * learned: read as empty, never an error, and replaced by the next store.
 * A file written by a newer thingpress (a higher "thingpress_pace") is
 * read as empty and not replaced.
 *
 * Threading: any thread; the functions share no state (the lock is per
 * open file description, so threads of one process exclude each other
 * too). Ownership: the caller's buffers only. */
#ifndef TP_ENGINE_PACE_H
#define TP_ENGINE_PACE_H

#include <stddef.h>

#include "base/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PACE_FILE "pace.json"
#define PACE_VERSION 1
#define PACE_MAX_AGE (7LL * 24 * 3600) /* seconds */
#define PACE_MAX_ENTRIES 512

/* Where the calls go. NULL strings are "". */
typedef struct pace_key {
    const char *endpoint; /* the endpoint URL, or the embedded endpoint's name */
    const char *account;
    const char *region;
} pace_key;

typedef struct pace_rate {
    char op[64];       /* the operation's name (iot/ops.def) */
    double tps;        /* calls per second, > 0 */
    int found;         /* 1: the quota found; 0: a lower bound of it */
    long long updated; /* unix seconds */
} pace_rate;

/* The rates learned for key that are younger than PACE_MAX_AGE at `now`
 * (unix seconds), at most max of them, into out; returns how many. dir is
 * the state directory (resolved: jnl_dir). Never fails: no file, or a bad
 * one, is 0 rates. */
size_t pace_load(const char *dir, const pace_key *key, long long now, pace_rate *out,
                 size_t max);

/* Records the n rates of key (their `updated` is set to now): replaces the
 * entries of the same key and operation, keeps every other fresh entry, and
 * writes the file atomically as described above. Returns 0, or -1 with e
 * set (the file is then unchanged). */
int pace_store(const char *dir, const pace_key *key, const pace_rate *rates, size_t n,
               long long now, err *e);

#ifdef __cplusplus
}
#endif
#endif
