/* creds_impl - what the pieces of the credentials resolver share (private to
 * iot/: in the creds library's srcs, not its hdrs).
 *
 * Design: creds.c is the resolver (creds.h's order of sources); it reads the
 * AWS CLI's INI files through creds_ini.c and runs a profile's
 * credential_process through creds_process.c. Neither of those two knows
 * about the other or about the order of sources.
 *
 * Threading: the resolver's thread (see creds.h); nothing here has state.
 * Ownership: a creds_ini owns its strings (values wiped on free); lookups
 * return pointers into it. Functions returning char * give the caller a
 * string to free. */
#ifndef TP_IOT_CREDS_IMPL_H
#define TP_IOT_CREDS_IMPL_H

#include <stddef.h>

#include "base/err.h"
#include "iot/creds.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the INI files (creds_ini.c) ---- */

typedef struct creds_ini_kv {
    char *section; /* "default", "profile dev", "services s" (spaces squeezed) */
    char *key;     /* lowercased */
    char *value;   /* trimmed; continuation lines appended after '\n' */
    unsigned long line;
} creds_ini_kv;

typedef struct creds_ini {
    creds_ini_kv *kv;
    size_t n, cap;
    char **sections; /* names seen, for existence and duplicate checks */
    size_t n_sections;
    char *path;    /* expanded */
    char *display; /* with "~" */
    int exists;
} creds_ini;

/* Reads path ("~/" expanded) into *f (overwritten). A missing file is an
 * empty one (f->exists 0). Returns 0, or -1 with e naming the file and line;
 * *f is then to be freed all the same. */
int creds_ini_load(creds_ini *f, const char *path, err *e);
void creds_ini_free(creds_ini *f); /* wipes the values; leaves *f zeroed */
int creds_ini_has_section(const creds_ini *f, const char *section);
const creds_ini_kv *creds_ini_find(const creds_ini *f, const char *section,
                                   const char *key);
/* Value of key inside a nested value ("\nendpoint_url = http://..."), or
 * NULL. */
char *creds_ini_nested_get(const char *value, const char *key);
/* Whether the file at path names at least one [section]; an existing file
 * that cannot be read counts as one. Never fails. */
int creds_ini_names_section(const char *path);

/* "~/x" -> "$HOME/x" (anything else copied); the path with $HOME shown as
 * "~" (for messages). */
char *creds_expand_user(const char *path);
char *creds_display_path(const char *path);

/* ---- a profile across both files (creds_ini.c) ---- */

typedef struct creds_profile {
    creds_ini cred; /* credentials file: [NAME] */
    creds_ini conf; /* config file: [profile NAME], [default] */
    const char *name;
} creds_profile;

/* key in the profile's section of the config file ("default" also as
 * [profile default]) or of the credentials file. */
const creds_ini_kv *creds_conf_get(const creds_profile *pr, const char *key);
const creds_ini_kv *creds_cred_get(const creds_profile *pr, const char *key);
/* The credentials file first (it overrides the config file, as in
 * botocore); *where = the file's display path. NULL when in neither. */
const char *creds_prof_get(const creds_profile *pr, const char *key, const char **where);
int creds_prof_exists(const creds_profile *pr);

/* ---- credential_process (creds_process.c) ---- */

/* Runs cmd and fills c->target's access key, secret key, session token and
 * expiration from what it prints. who names the source in messages
 * ("credential_process of profile dev (~/.aws/config)"). Returns 0 or -1
 * with e set (never quoting the output). */
int creds_from_process(creds *c, const char *cmd, int timeout_ms, const char *who,
                       err *e);

/* RFC 3339 / ISO 8601 UTC time ("2026-11-28T16:17:42Z", fractions and
 * +HH:MM offsets allowed) to unix seconds; -1 when malformed. */
long long creds_parse_time(const char *s);
/* Unix seconds as "2026-11-28T16:17:42Z". */
void creds_format_time(char *out, size_t n, long long t);

/* ---- small helpers ---- */

static inline int creds_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Copy of an untrusted short value for a message: printable ASCII only,
 * truncated. Only for values that are not secrets (region, URL, a time). */
static inline void creds_printable(char *out, size_t n, const char *s)
{
    size_t w = 0;
    for (; *s && w + 1 < n; s++)
        out[w++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
    out[w] = '\0';
}

#ifdef __cplusplus
}
#endif
#endif
