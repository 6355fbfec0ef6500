/* reg - the local endpoint's IoT registry: certificates, things, policies,
 * thing groups and thing types in SQLite, with AWS IoT's rules, callable
 * without HTTP.
 *
 * Design: reg_do() takes one decoded request (operation, path label, raw
 * query, x-amzn-principal, JSON body) and produces exactly what AWS IoT would
 * answer: an HTTP status, the AWS error code (sent as x-amzn-ErrorType) and a
 * JSON body ({"message": ...} plus resourceId/resourceArn for
 * ResourceAlreadyExistsException). The rules enforced are those of DESIGN.md
 * §5 and §6 (each operation file lists its own: reg_cert.c, reg_thing.c,
 * reg_policy.c, reg_group.c): certificateId = SHA-256 of the DER,
 * duplicates 409, REVOKED is terminal (406), CreateThing idempotent for the
 * same configuration and 409 for another, naming rules and attribute limits
 * (400), 10 policies per certificate (410), unknown resources 404.
 *
 * State: one SQLite connection (WAL, synchronous=NORMAL, exclusive locking so
 * that a second process cannot use the same file) behind a mutex, with cached
 * prepared statements; every mutating request is one transaction, so a
 * request either happened or did not, also across a crash. ARNs are never
 * stored: they are built from the account and region given at open time.
 *
 * Threading: reg_do() may be called from any number of threads at once.
 * reg_open()/reg_close() from one thread, with no reg_do() running. */
#ifndef TP_SIM_REG_H
#define TP_SIM_REG_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "sim/route.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct reg reg;

typedef struct reg_opts {
    const char *db_path; /* SQLite file, created when missing; NULL or "" = memory */
    const char *account; /* 12 digits, for ARNs */
    const char *region;  /* "us-east-1", for ARNs */
} reg_opts;

/* Opens (creating the schema when needed). Fails when the file cannot be
 * opened or another process holds it. */
int reg_open(reg **out, const reg_opts *o, err *e);
void reg_close(reg *r); /* NULL-safe */

typedef struct reg_req {
    route_op op;
    const char *label;     /* the decoded {label} path segment; "" or NULL = none */
    const char *query;     /* raw query string (values URI-encoded); NULL = none */
    const char *principal; /* the x-amzn-principal header; NULL = absent */
    const char *body;      /* request body (JSON), need not be NUL-terminated */
    size_t body_len;
} reg_req;

typedef struct reg_reply {
    int status;        /* HTTP status */
    const char *error; /* AWS error code (static string); NULL on success */
    buf body;          /* JSON document (always set) */
} reg_reply;

void reg_reply_init(reg_reply *rp);
void reg_reply_free(reg_reply *rp);
/* Replaces rp's content by an error: status, code and {"message": msg}. */
void reg_reply_error(reg_reply *rp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Runs one operation. rp must be initialised; its previous content is
 * replaced. */
void reg_do(reg *r, const reg_req *q, reg_reply *rp);

#ifdef __cplusplus
}
#endif
#endif
