/* station - the line PC's station profile (DESIGN.md §4, "Added in turn 2"):
 * its name, where jobs go, default job options, the hot folder, and the
 * fields an operator may not change.
 *
 * Design: the first of $XDG_CONFIG_HOME/thingpress/station.toml (else
 * ~/.config/thingpress/station.toml) and /etc/thingpress/station.toml that
 * exists is read (a small TOML subset: `key = "text"`, `key = ["a", "b"]`,
 * `key = true`, numbers, `#` comments; tables are ignored). Its keys:
 *   station = "line3-pc1"           the station's name (THINGPRESS_STATION
 *                                   for the audit log and reports, unless set)
 *   hot_folder = "/srv/mes/outbox"  watch's folder when none is given
 *   locked = ["endpoint", "policies"]  fields the operator cannot change
 *   any job option of --config (policies, thing_groups, thing_type,
 *   cert_active, thing_deferred, endpoint_url, profile, region, ...)
 * The profile is the first layer of a job's configuration: --config and the
 * command line come after it, except for locked fields, which nothing may
 * change (a command line that tries is refused, the console shows them but
 * will not edit them). The console's endpoint, profile and region choices are
 * saved into the user's file (never /etc), keeping its other lines.
 *
 * Threading: main() and the UI thread. Ownership: a station owns its strings;
 * station_free releases them. */
#ifndef TP_CLI_STATION_H
#define TP_CLI_STATION_H

#include <limits.h>
#include <stddef.h>

#include "base/err.h"
#include "engine/jobcfg.h"

typedef struct station {
    char path[PATH_MAX]; /* the file read; "" = none */
    char *name;          /* NULL = none */
    char *hot_folder;    /* NULL = none */
    char **locked;       /* normalised keys (lowercase, no '_' or '-') */
    size_t n_locked;
    char **keys, **vals; /* the job options, in file order */
    int *lines;
    size_t n;
} station;

/* Reads the profile (none is fine: s->path ""); -1 with a one-line error
 * naming the file and line. */
int station_load(station *s, err *e);
void station_free(station *s);

/* Applies its job options to c (the first layer). */
int station_apply(const station *s, jobcfg *c, err *e);

/* Whether its endpoint is "local" (the embedded endpoint). */
int station_local(const station *s);

/* Whether a field is locked: key as in the file or a jobcfg key
 * ("endpoint", "endpoint_url", "policies", "thing-groups", ...). */
int station_locked(const station *s, const char *key);

/* The profile's value of a job option key ("" when it sets none). */
const char *station_value(const station *s, const char *key);

/* Saves the console's choice of where jobs go into the user's file
 * ($XDG_CONFIG_HOME/thingpress/station.toml), replacing those keys and
 * keeping every other line. NULL or "" removes the key. */
int station_save_where(const char *endpoint, const char *profile, const char *region,
                       err *e);

#endif
