/* The local endpoint's registry: the store, the dispatch and the replies
 * (see reg.h for the contract, reg_impl.h for how the pieces fit).
 *
 * Design: one SQLite connection (WAL, synchronous=NORMAL, exclusive locking)
 * with every statement prepared once at open time (the catalog is STMTS in
 * reg_impl.h, the schema below); reg_do() parses the body, picks the
 * operation of the route and hands it a reg_ctx. The operations are in
 * reg_cert.c, reg_thing.c, reg_policy.c and reg_group.c, each file stating
 * the AWS IoT rules it enforces (DESIGN.md §5, §6). Across all of them:
 * unknown certificates, things, policies, groups or types are 404
 * ResourceNotFoundException; paging tokens are opaque (the row number) and a
 * foreign one is 400 InvalidRequestException; ARNs are never stored but
 * built from the account and region given at open time.
 *
 * Threading: reg_do() on any number of threads; the database helpers below
 * run with r->mu held, which each operation takes around its statements.
 *
 * Ownership: reg_open's reg is the caller's until reg_close; a reply's body
 * is the caller's reg_reply (reg_reply_free). */
#include "sim/reg.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/b64.h"
#include "base/xalloc.h"
#include "sim/reg_impl.h"

static const char *const stmt_sql[S_COUNT] = {
#define STMT_SQL(id, sql) sql,
    STMTS(STMT_SQL)
#undef STMT_SQL
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS certs(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL, pem TEXT NOT NULL, not_before INTEGER, not_after INTEGER,"
    " created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL,"
    " generation TEXT NOT NULL, version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS things(seq INTEGER PRIMARY KEY, name TEXT NOT NULL "
    "UNIQUE,"
    " id TEXT NOT NULL, type TEXT, attrs TEXT NOT NULL, version INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS thing_principals(seq INTEGER PRIMARY KEY,"
    " thing TEXT NOT NULL, cert TEXT NOT NULL, UNIQUE(thing, cert));"
    "CREATE TABLE IF NOT EXISTS policies(seq INTEGER PRIMARY KEY, name TEXT NOT NULL "
    "UNIQUE,"
    " document TEXT NOT NULL, created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL,"
    " generation TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS policy_targets(seq INTEGER PRIMARY KEY, kind TEXT NOT "
    "NULL,"
    " target TEXT NOT NULL, policy TEXT NOT NULL, UNIQUE(kind, target, policy));"
    "CREATE TABLE IF NOT EXISTS thing_groups(seq INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE, id TEXT NOT NULL, parent TEXT, description TEXT,"
    " attrs TEXT NOT NULL, version INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS group_members(seq INTEGER PRIMARY KEY, thing TEXT NOT "
    "NULL,"
    " grp TEXT NOT NULL, UNIQUE(thing, grp));"
    "CREATE TABLE IF NOT EXISTS thing_types(seq INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE, id TEXT NOT NULL, description TEXT,"
    " searchable TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    /* the reverse lookups: things of a certificate, things of a group */
    "CREATE INDEX IF NOT EXISTS thing_principals_cert ON thing_principals(cert, seq);"
    "CREATE INDEX IF NOT EXISTS group_members_grp ON group_members(grp, seq);"
    "INSERT OR IGNORE INTO meta(k, v) VALUES('schema', '1');";

/* ---- replies ---- */

void reg_reply_init(reg_reply *rp)
{
    rp->status = 0;
    rp->error = NULL;
    rp->body = (buf)BUF_INIT;
}

void reg_reply_free(reg_reply *rp)
{
    if (!rp)
        return;
    buf_free(&rp->body);
}

static void reply_verror(reg_reply *rp, int status, const char *code, const char *id,
                         const char *arn, const char *fmt, va_list ap)
{
    char msg[600];
    vsnprintf(msg, sizeof msg, fmt, ap);
    rp->status = status;
    rp->error = code;
    buf_reset(&rp->body);
    buf_puts(&rp->body, "{\"message\":");
    buf_json_str(&rp->body, msg);
    if (id) {
        buf_puts(&rp->body, ",\"resourceId\":");
        buf_json_str(&rp->body, id);
    }
    if (arn) {
        buf_puts(&rp->body, ",\"resourceArn\":");
        buf_json_str(&rp->body, arn);
    }
    buf_putc(&rp->body, '}');
}

void reg_reply_error(reg_reply *rp, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(rp, status, code, NULL, NULL, fmt, ap);
    va_end(ap);
}

void reg_bad_request(reg_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(c->rp, 400, "InvalidRequestException", NULL, NULL, fmt, ap);
    va_end(ap);
}

void reg_not_found(reg_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(c->rp, 404, "ResourceNotFoundException", NULL, NULL, fmt, ap);
    va_end(ap);
}

void reg_already_exists(reg_ctx *c, const char *id, const char *arn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(c->rp, 409, "ResourceAlreadyExistsException", id, arn, fmt, ap);
    va_end(ap);
}

/* Sends doc (stolen) with status 200. */
void reg_reply_doc(reg_ctx *c, json_t *doc)
{
    c->rp->status = 200;
    c->rp->error = NULL;
    buf_reset(&c->rp->body);
    char *s = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(13));
    json_decref(doc);
    if (!s)
        base_fatal("json_dumps");
    buf_puts(&c->rp->body, s);
    free(s);
}

void reg_reply_empty(reg_ctx *c)
{
    reg_reply_doc(c, json_object());
}

/* ---- database helpers (called with r->mu held) ---- */

void reg_db_fail(reg_ctx *c)
{
    reg_reply_error(c->rp, 500, "InternalFailureException",
                    "local endpoint state error: %s (check the --db file and disk space)",
                    sqlite3_errmsg(c->r->db));
    if (!sqlite3_get_autocommit(c->r->db)) {
        sqlite3_stmt *s = c->r->st[S_ROLLBACK];
        sqlite3_reset(s);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
}

sqlite3_stmt *reg_stmt(reg_ctx *c, int id)
{
    sqlite3_stmt *s = c->r->st[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

void reg_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* Runs a statement that returns no rows. Returns 0 or -1 (reply set). */
int reg_exec_done(reg_ctx *c, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        reg_db_fail(c);
        return -1;
    }
    return 0;
}

/* Steps a query. Returns 1 for a row, 0 for none, -1 on error (reply set). */
int reg_step_row(reg_ctx *c, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    reg_db_fail(c);
    return -1;
}

int reg_begin(reg_ctx *c)
{
    return reg_exec_done(c, reg_stmt(c, S_BEGIN));
}

int reg_commit(reg_ctx *c)
{
    return reg_exec_done(c, reg_stmt(c, S_COMMIT));
}

void reg_rollback(reg_ctx *c)
{
    if (!sqlite3_get_autocommit(c->r->db))
        reg_exec_done(c, reg_stmt(c, S_ROLLBACK));
}

const char *reg_col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

int reg_exists(reg_ctx *c, int stmt, const char *key, const char *what)
{
    sqlite3_stmt *s = reg_stmt(c, stmt);
    reg_bind_text(s, 1, key);
    int rc = reg_step_row(c, s);
    sqlite3_reset(s);
    if (rc == 0 && what)
        reg_not_found(c, "%s %s does not exist", what, key);
    return rc;
}

void reg_list_children(reg_ctx *c, int parent_stmt, const char *parent, const char *what,
                       int list_stmt, const char *kind, const char *size_key,
                       const char *token_key, const char *out_key, const char *out_token,
                       reg_row_fn row)
{
    long long size, token;
    if (reg_page_size(c, size_key, 25, 250, &size) < 0 ||
        reg_page_token(c, token_key, 0, &token) < 0)
        return;
    json_t *doc = json_object(), *list = json_array();
    json_object_set_new(doc, out_key, list);
    int rc = 0, n = 0;
    pthread_mutex_lock(&c->r->mu);
    if (reg_exists(c, parent_stmt, parent, what) <= 0) {
        rc = -1;
        goto out;
    }
    sqlite3_stmt *s = reg_stmt(c, list_stmt);
    int i = 1;
    if (kind)
        reg_bind_text(s, i++, kind);
    reg_bind_text(s, i++, parent);
    sqlite3_bind_int64(s, i++, token);
    sqlite3_bind_int64(s, i++, size + 1);
    long long last = 0;
    while ((rc = reg_step_row(c, s)) == 1) {
        if (n == size) {
            reg_set_token(doc, out_token, last);
            break;
        }
        json_array_append_new(list, row(c, s));
        last = sqlite3_column_int64(s, 0);
        n++;
    }
    sqlite3_reset(s);
out:
    pthread_mutex_unlock(&c->r->mu);
    if (rc < 0)
        json_decref(doc);
    else
        reg_reply_doc(c, doc);
}

json_t *reg_row_name(reg_ctx *c, sqlite3_stmt *s)
{
    (void)c;
    return json_string(reg_col_text(s, 1));
}

/* ---- values ---- */

long long reg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *reg_time_json(long long ms)
{
    return json_real((double)ms / 1000.0);
}

void reg_random_hex(char *out, size_t nbytes)
{
    unsigned char b[32];
    if (nbytes > sizeof b || RAND_bytes(b, (int)nbytes) != 1)
        base_fatal("RAND_bytes");
    hex_encode(out, b, nbytes);
}

/* A version 4 UUID, as AWS uses for thing, group and type ids. */
void reg_new_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        base_fatal("RAND_bytes");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char hex[33];
    hex_encode(hex, b, sizeof b);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

void reg_arn(buf *out, const reg *r, const char *kind, const char *name)
{
    buf_reset(out);
    buf_printf(out, "arn:aws:iot:%s:%s:%s/%s", r->region, r->account, kind, name);
}

json_t *reg_arn_json(const reg *r, const char *kind, const char *name)
{
    buf b = BUF_INIT;
    reg_arn(&b, r, kind, name);
    json_t *j = json_stringn(b.data, b.len);
    buf_free(&b);
    return j;
}

/* ---- dispatch ---- */

typedef void (*op_fn)(reg_ctx *c);

static const op_fn ops[ROUTE_COUNT] = {
    [ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA] = reg_op_register,
    [ROUTE_UPDATE_CERTIFICATE] = reg_op_update_cert,
    [ROUTE_DESCRIBE_CERTIFICATE] = reg_op_describe_cert,
    [ROUTE_LIST_CERTIFICATES] = reg_op_list_certs,
    [ROUTE_CREATE_THING] = reg_op_create_thing,
    [ROUTE_DESCRIBE_THING] = reg_op_describe_thing,
    [ROUTE_LIST_THINGS] = reg_op_list_things,
    [ROUTE_ATTACH_THING_PRINCIPAL] = reg_op_attach_principal,
    [ROUTE_LIST_THING_PRINCIPALS] = reg_op_list_principals,
    [ROUTE_LIST_THING_GROUPS_FOR_THING] = reg_op_list_groups_for_thing,
    [ROUTE_ATTACH_POLICY] = reg_op_attach_policy,
    [ROUTE_LIST_ATTACHED_POLICIES] = reg_op_list_attached,
    [ROUTE_CREATE_POLICY] = reg_op_create_policy,
    [ROUTE_GET_POLICY] = reg_op_get_policy,
    [ROUTE_ADD_THING_TO_THING_GROUP] = reg_op_add_to_group,
    [ROUTE_CREATE_THING_GROUP] = reg_op_create_group,
    [ROUTE_DESCRIBE_THING_GROUP] = reg_op_describe_group,
    [ROUTE_CREATE_THING_TYPE] = reg_op_create_type,
    [ROUTE_DESCRIBE_THING_TYPE] = reg_op_describe_type,
    [ROUTE_LIST_THINGS_IN_THING_GROUP] = reg_op_list_things_in_group,
    [ROUTE_LIST_PRINCIPAL_THINGS] = reg_op_list_principal_things,
};

void reg_do(reg *r, const reg_req *q, reg_reply *rp)
{
    reg_ctx c = {r, q, rp, q->label ? q->label : "", NULL, BUF_INIT};
    if (q->op < 0 || q->op >= ROUTE_COUNT || !ops[q->op]) {
        reg_reply_error(rp, 404, "UnknownOperationException",
                        "The local endpoint does not serve this operation");
        return;
    }
    if (q->body_len) {
        json_error_t je;
        c.body = json_loadb(q->body, q->body_len, 0, &je);
        if (!c.body || !json_is_object(c.body)) {
            reg_reply_error(rp, 400, "SerializationException",
                            "The request body is not a JSON object%s%s",
                            c.body ? "" : ": ", c.body ? "" : je.text);
            json_decref(c.body);
            return;
        }
    } else {
        c.body = json_object();
    }
    ops[q->op](&c);
    json_decref(c.body);
    buf_free(&c.tmp);
}

/* ---- open / close ---- */

int reg_open(reg **out, const reg_opts *o, err *e)
{
    *out = NULL;
    reg *r = xcalloc(1, sizeof *r);
    const char *path = o->db_path && *o->db_path ? o->db_path : ":memory:";
    char *msg = NULL;
    pthread_mutex_init(&r->mu, NULL);
    snprintf(r->account, sizeof r->account, "%s",
             o->account ? o->account : "123456789012");
    snprintf(r->region, sizeof r->region, "%s", o->region ? o->region : "us-east-1");
    /* One connection shared by the server threads under r->mu. */
    int rc = sqlite3_open_v2(
        path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        NULL);
    if (rc != SQLITE_OK) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open the state database: %s",
                r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(r->db, 2000);
    /* Exclusive locking: a second `thingpress sim --db` on the same file fails
     * here at once instead of interleaving with this one. */
    rc = sqlite3_exec(r->db,
                      "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;",
                      NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(r->db, schema, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        err_set(e, rc == SQLITE_BUSY ? ERR_USAGE : ERR_IO, path, 0, -1, "%s",
                rc == SQLITE_BUSY ? "the state database is in use by another "
                                    "process (stop the other thingpress sim or use "
                                    "another --db file)"
                : msg             ? msg
                                  : sqlite3_errstr(rc));
        goto fail;
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(r->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &r->st[i], NULL) != SQLITE_OK) {
            err_set(e, ERR_INTERNAL, path, 0, -1, "cannot prepare statement %d: %s", i,
                    sqlite3_errmsg(r->db));
            goto fail;
        }
    }
    *out = r;
    return 0;
fail:
    sqlite3_free(msg);
    reg_close(r);
    return -1;
}

void reg_close(reg *r)
{
    if (!r)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    sqlite3_close(r->db);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
