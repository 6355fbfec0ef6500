/* who - who runs thingpress, and where: the OS user, the host, and the
 * station (DESIGN.md §7). The audit log and the reports record them, so a
 * factory can tell which line's PC and which account ran a job.
 *
 * Design: one function, so every record names them the same way. The user
 * is the effective uid's name from the password database (the uid as a
 * number when it has none); the host is gethostname(); the station is
 * $THINGPRESS_STATION when set and not empty (the operator's name for the
 * station, e.g. "line-3/bench-2"), else the host. Control characters are
 * replaced with '?', so a value fits on one line of any record; values
 * longer than the fields are cut.
 *
 * Threading: any thread (getpwuid_r; the environment is only read).
 * Ownership: the caller's struct. */
#ifndef TP_BASE_WHO_H
#define TP_BASE_WHO_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct who {
    char user[64];
    char host[256];
    char station[256];
} who;

/* Fills out; never fails (an unknown host is "unknown"). */
void who_get(who *out);

#ifdef __cplusplus
}
#endif
#endif
