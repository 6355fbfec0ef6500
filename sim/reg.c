/* The local endpoint's registry (see reg.h).
 *
 * Rules enforced, as AWS IoT does (DESIGN.md §5, §6):
 * - RegisterCertificateWithoutCA: certificatePem <= 65,536 chars and exactly
 *   one well-framed X.509 certificate (else 400 CertificateValidationException);
 *   certificateId = lowercase hex SHA-256 of the DER; a second registration
 *   of the same DER is 409 ResourceAlreadyExistsException carrying
 *   resourceId/resourceArn; status ACTIVE, INACTIVE or REVOKED (default
 *   INACTIVE, as RegisterCertificate's).
 * - UpdateCertificate: newStatus ACTIVE, INACTIVE or REVOKED; REVOKED is
 *   terminal (406 CertificateStateException), the same status is a no-op.
 * - CreateThing: name ^[a-zA-Z0-9:_-]{1,128}$; attribute names and values
 *   per §5; at most 3 attributes, 50 with a thing type (400
 *   InvalidRequestException); the thing type must exist (404). An existing
 *   thing with the same type and attributes is returned unchanged; with
 *   anything else it is 409 ResourceAlreadyExistsException.
 * - AttachPolicy: the policy and the target (certificate or thing group ARN
 *   of this account and region) must exist (404); an 11th policy on one
 *   target is 410 LimitExceededException; attaching twice is a no-op.
 * - AttachThingPrincipal / AddThingToThingGroup: both ends must exist (404);
 *   idempotent; a thing belongs to at most 10 thing groups (400).
 * - CreatePolicy: the document must be a JSON object (400
 *   MalformedPolicyException); a second CreatePolicy of the name is 409.
 * - CreateThingGroup / CreateThingType: same configuration -> the existing
 *   resource, another one -> 409.
 * - Unknown certificate, thing, policy, group or type: 404
 *   ResourceNotFoundException. Paging tokens are opaque (the row number) and
 *   a foreign one is 400 InvalidRequestException.
 */
#include "sim/reg.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/b64.h"
#include "base/xalloc.h"
#include "parsers/cert.h"
#include "parsers/item.h"
#include "parsers/validate.h"

#define MAX_GROUPS_PER_THING 10
#define MAX_SEARCHABLE_ATTRS 3
#define MAX_DESCRIPTION 2028
#define MAX_POLICY_DOC 2048 /* characters, white space excluded */

/* clang-format off */
#define STMTS(X)                                                                          \
    X(S_BEGIN, "BEGIN IMMEDIATE")                                                         \
    X(S_COMMIT, "COMMIT")                                                                 \
    X(S_ROLLBACK, "ROLLBACK")                                                             \
    X(S_CERT_INSERT, "INSERT INTO certs(id,status,pem,not_before,not_after,created_ms,"   \
      "modified_ms,generation,version) VALUES(?1,?2,?3,?4,?5,?6,?6,?7,1)")                \
    X(S_CERT_GET, "SELECT id,status,pem,not_before,not_after,created_ms,modified_ms,"     \
      "generation,version FROM certs WHERE id=?1")                                        \
    X(S_CERT_SET_STATUS, "UPDATE certs SET status=?2,modified_ms=?3,generation=?4,"       \
      "version=version+1 WHERE id=?1")                                                    \
    X(S_CERT_LIST_ASC, "SELECT seq,id,status,created_ms FROM certs WHERE seq>?1 "         \
      "ORDER BY seq LIMIT ?2")                                                            \
    X(S_CERT_LIST_DESC, "SELECT seq,id,status,created_ms FROM certs WHERE seq<?1 "        \
      "ORDER BY seq DESC LIMIT ?2")                                                       \
    X(S_THING_GET, "SELECT name,id,type,attrs,version FROM things WHERE name=?1")         \
    X(S_THING_INSERT, "INSERT INTO things(name,id,type,attrs,version,created_ms) "        \
      "VALUES(?1,?2,?3,?4,1,?5)")                                                         \
    X(S_THING_LIST, "SELECT seq,name,type,attrs,version FROM things WHERE seq>?1 "        \
      "AND (?2 IS NULL OR type=?2) AND (?3 IS NULL OR CASE WHEN ?5 THEN "                 \
      "substr(json_extract(attrs,?3),1,length(?4))=?4 ELSE json_extract(attrs,?3)=?4 "    \
      "END) ORDER BY seq LIMIT ?6")                                                       \
    X(S_TP_INSERT, "INSERT OR IGNORE INTO thing_principals(thing,cert) VALUES(?1,?2)")    \
    X(S_TP_LIST, "SELECT seq,cert FROM thing_principals WHERE thing=?1 AND seq>?2 "       \
      "ORDER BY seq LIMIT ?3")                                                            \
    X(S_POLICY_GET, "SELECT name,document,created_ms,modified_ms,generation FROM "        \
      "policies WHERE name=?1")                                                           \
    X(S_POLICY_INSERT, "INSERT INTO policies(name,document,created_ms,modified_ms,"       \
      "generation) VALUES(?1,?2,?3,?3,?4)")                                               \
    X(S_PT_EXISTS, "SELECT 1 FROM policy_targets WHERE kind=?1 AND target=?2 AND "        \
      "policy=?3")                                                                        \
    X(S_PT_COUNT, "SELECT count(*) FROM policy_targets WHERE kind=?1 AND target=?2")      \
    X(S_PT_INSERT, "INSERT INTO policy_targets(kind,target,policy) VALUES(?1,?2,?3)")     \
    X(S_PT_LIST, "SELECT seq,policy FROM policy_targets WHERE kind=?1 AND target=?2 "     \
      "AND seq>?3 ORDER BY seq LIMIT ?4")                                                 \
    X(S_GROUP_GET, "SELECT name,id,parent,description,attrs,version,created_ms FROM "     \
      "thing_groups WHERE name=?1")                                                       \
    X(S_GROUP_INSERT, "INSERT INTO thing_groups(name,id,parent,description,attrs,"        \
      "version,created_ms) VALUES(?1,?2,?3,?4,?5,1,?6)")                                  \
    X(S_GM_EXISTS, "SELECT 1 FROM group_members WHERE thing=?1 AND grp=?2")               \
    X(S_GM_COUNT, "SELECT count(*) FROM group_members WHERE thing=?1")                    \
    X(S_GM_INSERT, "INSERT INTO group_members(thing,grp) VALUES(?1,?2)")                  \
    X(S_GM_LIST, "SELECT seq,grp FROM group_members WHERE thing=?1 AND seq>?2 "           \
      "ORDER BY seq LIMIT ?3")                                                            \
    X(S_TYPE_GET, "SELECT name,id,description,searchable,created_ms FROM thing_types "    \
      "WHERE name=?1")                                                                    \
    X(S_TYPE_INSERT, "INSERT INTO thing_types(name,id,description,searchable,"            \
      "created_ms) VALUES(?1,?2,?3,?4,?5)")
/* clang-format on */

enum {
#define STMT_ENUM(id, sql) id,
    STMTS(STMT_ENUM)
#undef STMT_ENUM
        S_COUNT
};

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
    "INSERT OR IGNORE INTO meta(k, v) VALUES('schema', '1');";

struct reg {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[S_COUNT];
    char account[32];
    char region[64];
};

/* One request being served. */
typedef struct {
    reg *r;
    const reg_req *q;
    reg_reply *rp;
    const char *label;
    json_t *body; /* the parsed body object; an empty object when none was sent */
    buf tmp;
} ctx;

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

__attribute__((format(printf, 2, 3))) static void bad_request(ctx *c, const char *fmt,
                                                              ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(c->rp, 400, "InvalidRequestException", NULL, NULL, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void not_found(ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(c->rp, 404, "ResourceNotFoundException", NULL, NULL, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void
already_exists(ctx *c, const char *id, const char *arn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(c->rp, 409, "ResourceAlreadyExistsException", id, arn, fmt, ap);
    va_end(ap);
}

/* Sends doc (stolen) with status 200. */
static void reply_doc(ctx *c, json_t *doc)
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

static void reply_empty(ctx *c)
{
    reply_doc(c, json_object());
}

/* ---- database helpers (called with r->mu held) ---- */

static void db_fail(ctx *c)
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

static sqlite3_stmt *use(ctx *c, int id)
{
    sqlite3_stmt *s = c->r->st[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* Runs a statement that returns no rows. Returns 0 or -1 (reply set). */
static int exec_done(ctx *c, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        db_fail(c);
        return -1;
    }
    return 0;
}

/* Steps a query. Returns 1 for a row, 0 for none, -1 on error (reply set). */
static int step_row(ctx *c, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    db_fail(c);
    return -1;
}

static int begin(ctx *c)
{
    return exec_done(c, use(c, S_BEGIN));
}

static int commit(ctx *c)
{
    return exec_done(c, use(c, S_COMMIT));
}

static void rollback(ctx *c)
{
    if (!sqlite3_get_autocommit(c->r->db))
        exec_done(c, use(c, S_ROLLBACK));
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* ---- small values ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *json_time_ms(long long ms)
{
    return json_real((double)ms / 1000.0);
}

static void random_hex(char *out, size_t nbytes)
{
    unsigned char b[32];
    if (nbytes > sizeof b || RAND_bytes(b, (int)nbytes) != 1)
        base_fatal("RAND_bytes");
    hex_encode(out, b, nbytes);
}

/* A version 4 UUID, as AWS uses for thing, group and type ids. */
static void new_uuid(char out[37])
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

static void arn(buf *out, const reg *r, const char *kind, const char *name)
{
    buf_reset(out);
    buf_printf(out, "arn:aws:iot:%s:%s:%s/%s", r->region, r->account, kind, name);
}

static json_t *json_arn(const reg *r, const char *kind, const char *name)
{
    buf b = BUF_INIT;
    arn(&b, r, kind, name);
    json_t *j = json_stringn(b.data, b.len);
    buf_free(&b);
    return j;
}

/* Parses an ARN of this account and region of the given kind ("cert",
 * "thinggroup") into its resource name. Returns 1 when it is one, 0 when it
 * is a well-formed ARN of something else (another kind, account or region),
 * -1 when it is not an IoT ARN at all. */
static int parse_arn(const reg *r, const char *a, const char *kind, buf *name)
{
    static const char prefix[] = "arn:aws:iot:";
    if (!a || strncmp(a, prefix, sizeof prefix - 1))
        return -1;
    const char *p = a + sizeof prefix - 1;
    const char *c1 = strchr(p, ':');
    if (!c1)
        return -1;
    const char *c2 = strchr(c1 + 1, ':');
    if (!c2)
        return -1;
    const char *slash = strchr(c2 + 1, '/');
    if (!slash || !slash[1])
        return -1;
    size_t rlen = (size_t)(c1 - p), alen = (size_t)(c2 - c1 - 1);
    size_t klen = (size_t)(slash - c2 - 1);
    if (rlen != strlen(r->region) || memcmp(p, r->region, rlen) ||
        alen != strlen(r->account) || memcmp(c1 + 1, r->account, alen) ||
        klen != strlen(kind) || memcmp(c2 + 1, kind, klen))
        return 0;
    buf_reset(name);
    buf_puts(name, slash + 1);
    return 1;
}

static int is_cert_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
              (ch >= 'A' && ch <= 'F')))
            return 0;
    }
    return n == 64;
}

static int name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == ':' || ch == '_' || ch == '-';
}

/* Thing group names: ^[a-zA-Z0-9:_-]+$, 1..128. */
static int check_group_name(ctx *c, const char *name)
{
    size_t n = strlen(name);
    int ok = n >= 1 && n <= 128;
    for (size_t i = 0; ok && i < n; i++)
        ok = name_char((unsigned char)name[i]);
    if (!ok)
        bad_request(
            c,
            "Invalid thing group name '%.128s': use 1 to 128 letters, digits, ':', "
            "'_' or '-'",
            name);
    return ok ? 0 : -1;
}

static int check_thing_name(ctx *c, const char *name)
{
    char why[ITEM_MSG_MAX];
    if (val_check_thing_name(name, why, sizeof why) == ITEM_ERROR) {
        bad_request(c, "%s", why);
        return -1;
    }
    return 0;
}

static int check_type_name(ctx *c, const char *name)
{
    char why[ITEM_MSG_MAX];
    if (val_check_thing_type_name(name, why, sizeof why) == ITEM_ERROR) {
        bad_request(c, "%s", why);
        return -1;
    }
    return 0;
}

static int check_policy_name(ctx *c, const char *name)
{
    char why[ITEM_MSG_MAX];
    const char *names[1] = {name};
    if (val_check_policies(names, 1, why, sizeof why) == ITEM_ERROR) {
        bad_request(c, "%s", why);
        return -1;
    }
    return 0;
}

/* A string member of the body: NULL when absent; -1 (reply set) when present
 * but not a string. */
static int body_str(ctx *c, const char *key, const char **out)
{
    json_t *v = json_object_get(c->body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        bad_request(c, "'%s' must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* An object member of o: NULL when absent; -1 when not an object. */
static int member_obj(ctx *c, json_t *o, const char *key, json_t **out)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        bad_request(c, "'%s' must be an object", key);
        return -1;
    }
    *out = v;
    return 0;
}

/* Validates an attribute map (names and values per §5, at most max) and
 * writes its canonical JSON (keys sorted) into out. attrs may be NULL. */
static int canon_attrs(ctx *c, json_t *attrs, size_t max, const char *whose, buf *out)
{
    char why[ITEM_MSG_MAX];
    buf_reset(out);
    if (attrs && json_object_size(attrs) > max) {
        bad_request(c,
                    "%s has %zu attributes, more than the %zu allowed%s: remove some "
                    "attributes%s",
                    whose, json_object_size(attrs), max,
                    max == VAL_MAX_ATTRS ? " without a thing type" : "",
                    max == VAL_MAX_ATTRS ? " or give the thing a thing type" : "");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v)
    {
        if (val_check_attr_name(k, why, sizeof why) == ITEM_ERROR) {
            bad_request(c, "%s", why);
            return -1;
        }
        if (val_check_attr_value(json_string_value(v), why, sizeof why) == ITEM_ERROR) {
            bad_request(c, "attribute '%.128s': %s", k, why);
            return -1;
        }
    }
    json_t *empty = attrs ? NULL : json_object();
    char *s = json_dumps(attrs ? attrs : empty, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(empty);
    if (!s)
        base_fatal("json_dumps");
    buf_puts(out, s);
    free(s);
    return 0;
}

static json_t *parse_obj_text(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (!j)
        j = json_object();
    return j;
}

/* ---- paging ---- */

/* Reads a page size query parameter (1..max, default def). */
static int page_size(ctx *c, const char *key, long long def, long long max,
                     long long *out)
{
    int got = route_query_get(c->q->query, key, &c->tmp);
    *out = def;
    if (got == 0)
        return 0;
    char *end = NULL;
    long long v = got > 0 && c->tmp.len ? strtoll(c->tmp.data, &end, 10) : 0;
    if (got < 0 || !end || *end || v < 1 || v > max) {
        bad_request(c, "%s must be an integer from 1 to %lld", key, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Reads a paging token (our own row numbers); *out = def when absent. */
static int page_token(ctx *c, const char *key, long long def, long long *out)
{
    int got = route_query_get(c->q->query, key, &c->tmp);
    *out = def;
    if (got == 0)
        return 0;
    char *end = NULL;
    long long v = got > 0 && c->tmp.len ? strtoll(c->tmp.data, &end, 10) : -1;
    if (got < 0 || !end || *end || v < 0) {
        bad_request(c, "Invalid %s: pass the value a previous page returned", key);
        return -1;
    }
    *out = v;
    return 0;
}

static void set_token(json_t *doc, const char *key, long long seq)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", seq);
    json_object_set_new(doc, key, json_string(t));
}

/* ---- lookups (mutex held) ---- */

/* 1 found, 0 not (404 reply set when what != NULL), -1 error. */
static int exists(ctx *c, int stmt, const char *key, const char *what)
{
    sqlite3_stmt *s = use(c, stmt);
    bind_text(s, 1, key);
    int rc = step_row(c, s);
    sqlite3_reset(s);
    if (rc == 0 && what)
        not_found(c, "%s %s does not exist", what, key);
    return rc;
}

/* ---- certificates ---- */

static int parse_status(const char *s)
{
    return s && (!strcmp(s, "ACTIVE") || !strcmp(s, "INACTIVE") || !strcmp(s, "REVOKED"));
}

static void op_register(ctx *c)
{
    const char *pem, *status;
    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[ITEM_MSG_MAX], id[65], gen[33];
    buf a = BUF_INIT;
    if (body_str(c, "certificatePem", &pem) < 0 || body_str(c, "status", &status) < 0)
        goto out;
    if (!pem) {
        bad_request(c, "certificatePem is required");
        goto out;
    }
    size_t pem_len = json_string_length(json_object_get(c->body, "certificatePem"));
    if (pem_len > VAL_MAX_PEM_CHARS) {
        bad_request(c, "certificatePem has %zu characters, more than the %d allowed",
                    pem_len, VAL_MAX_PEM_CHARS);
        goto out;
    }
    if (status && !parse_status(status)) {
        bad_request(c, "Invalid status '%.32s': use ACTIVE, INACTIVE or REVOKED", status);
        goto out;
    }
    cert_info ci;
    if (cert_pem_to_der(&der, &der_len, pem, pem_len, why, sizeof why) < 0 ||
        cert_inspect(&ci, der, der_len, 0, why, sizeof why) < 0) {
        reg_reply_error(c->rp, 400, "CertificateValidationException",
                        "The certificate is not valid: %s", why);
        goto out;
    }
    cert_fingerprint(id, der, der_len);
    arn(&a, c->r, "cert", id);
    random_hex(gen, 16);

    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_CERT_INSERT);
    bind_text(s, 1, id);
    bind_text(s, 2, status ? status : "INACTIVE");
    sqlite3_bind_text(s, 3, pem, (int)pem_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, ci.not_before);
    sqlite3_bind_int64(s, 5, ci.not_after);
    sqlite3_bind_int64(s, 6, now_ms());
    bind_text(s, 7, gen);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        already_exists(c, id, a.data,
                       "The certificate is already provisioned or registered");
    else if (rc != SQLITE_DONE)
        db_fail(c);
    pthread_mutex_unlock(&c->r->mu);
    if (rc == SQLITE_DONE) {
        json_t *doc = json_object();
        json_object_set_new(doc, "certificateArn", json_stringn(a.data, a.len));
        json_object_set_new(doc, "certificateId", json_string(id));
        reply_doc(c, doc);
    }
out:
    free(der);
    buf_free(&a);
}

static int check_cert_label(ctx *c)
{
    if (!is_cert_id(c->label)) {
        bad_request(c,
                    "Invalid certificateId '%.80s': use the 64 hex characters of the id",
                    c->label);
        return -1;
    }
    return 0;
}

static void op_update_cert(ctx *c)
{
    if (check_cert_label(c) < 0)
        return;
    int got = route_query_get(c->q->query, "newStatus", &c->tmp);
    if (got <= 0) {
        bad_request(c, "newStatus is required (ACTIVE, INACTIVE or REVOKED)");
        return;
    }
    char status[16];
    snprintf(status, sizeof status, "%s", c->tmp.data);
    if (!parse_status(c->tmp.data)) {
        bad_request(c, "Invalid newStatus '%.32s': use ACTIVE, INACTIVE or REVOKED",
                    c->tmp.data);
        return;
    }
    char gen[33];
    random_hex(gen, 16);
    pthread_mutex_lock(&c->r->mu);
    if (begin(c) < 0)
        goto out;
    sqlite3_stmt *s = use(c, S_CERT_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        sqlite3_reset(s);
        not_found(c, "The certificate %s does not exist", c->label);
        rollback(c);
        goto out;
    }
    char cur[16];
    snprintf(cur, sizeof cur, "%s", col_text(s, 1));
    sqlite3_reset(s);
    if (!strcmp(cur, status)) {
        if (commit(c) == 0)
            reply_empty(c);
        goto out;
    }
    if (!strcmp(cur, "REVOKED")) {
        rollback(c);
        reg_reply_error(
            c->rp, 406, "CertificateStateException",
            "Certificate %s is REVOKED and cannot be changed to %s: a revoked "
            "certificate is never reactivated, register a new one",
            c->label, status);
        goto out;
    }
    s = use(c, S_CERT_SET_STATUS);
    bind_text(s, 1, c->label);
    bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, now_ms());
    bind_text(s, 4, gen);
    if (exec_done(c, s) < 0 || commit(c) < 0)
        goto out;
    reply_empty(c);
out:
    pthread_mutex_unlock(&c->r->mu);
}

static void op_describe_cert(ctx *c)
{
    if (check_cert_label(c) < 0)
        return;
    json_t *d = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_CERT_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc == 0)
        not_found(c, "The certificate %s does not exist", c->label);
    if (rc == 1) {
        d = json_object();
        json_object_set_new(d, "certificateArn", json_arn(c->r, "cert", col_text(s, 0)));
        json_object_set_new(d, "certificateId", json_string(col_text(s, 0)));
        json_object_set_new(d, "status", json_string(col_text(s, 1)));
        json_object_set_new(d, "certificatePem", json_string(col_text(s, 2)));
        json_object_set_new(d, "ownedBy", json_string(c->r->account));
        json_object_set_new(d, "creationDate", json_time_ms(sqlite3_column_int64(s, 5)));
        json_object_set_new(d, "lastModifiedDate",
                            json_time_ms(sqlite3_column_int64(s, 6)));
        json_object_set_new(d, "customerVersion",
                            json_integer(sqlite3_column_int64(s, 8)));
        json_object_set_new(d, "transferData", json_object());
        json_object_set_new(d, "generationId", json_string(col_text(s, 7)));
        json_t *v = json_object();
        json_object_set_new(v, "notBefore", json_integer(sqlite3_column_int64(s, 3)));
        json_object_set_new(v, "notAfter", json_integer(sqlite3_column_int64(s, 4)));
        json_object_set_new(d, "validity", v);
        json_object_set_new(d, "certificateMode", json_string("SNI_ONLY"));
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (d) {
        json_t *doc = json_object();
        json_object_set_new(doc, "certificateDescription", d);
        reply_doc(c, doc);
    }
}

static void op_list_certs(ctx *c)
{
    long long size, marker;
    int asc = 0;
    if (page_size(c, "pageSize", 25, 250, &size) < 0 ||
        page_token(c, "marker", -1, &marker) < 0)
        return;
    int got = route_query_get(c->q->query, "isAscendingOrder", &c->tmp);
    if (got > 0)
        asc = !strcmp(c->tmp.data, "true");
    json_t *doc = json_object(), *list = json_array();
    json_object_set_new(doc, "certificates", list);
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, asc ? S_CERT_LIST_ASC : S_CERT_LIST_DESC);
    sqlite3_bind_int64(s, 1, marker >= 0 ? marker : asc ? 0 : INT64_MAX);
    sqlite3_bind_int64(s, 2, size + 1);
    int rc, n = 0;
    long long last = 0;
    while ((rc = step_row(c, s)) == 1) {
        if (n == size) {
            set_token(doc, "nextMarker", last);
            break;
        }
        json_t *e = json_object();
        json_object_set_new(e, "certificateArn", json_arn(c->r, "cert", col_text(s, 1)));
        json_object_set_new(e, "certificateId", json_string(col_text(s, 1)));
        json_object_set_new(e, "status", json_string(col_text(s, 2)));
        json_object_set_new(e, "certificateMode", json_string("SNI_ONLY"));
        json_object_set_new(e, "creationDate", json_time_ms(sqlite3_column_int64(s, 3)));
        json_array_append_new(list, e);
        last = sqlite3_column_int64(s, 0);
        n++;
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (rc < 0)
        json_decref(doc);
    else
        reply_doc(c, doc);
}

/* ---- things ---- */

static void thing_result(ctx *c, const char *name, const char *id)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "thingName", json_string(name));
    json_object_set_new(doc, "thingArn", json_arn(c->r, "thing", name));
    json_object_set_new(doc, "thingId", json_string(id));
    reply_doc(c, doc);
}

static void op_create_thing(ctx *c)
{
    const char *type, *billing;
    json_t *payload, *attrs;
    buf canon = BUF_INIT, a = BUF_INIT;
    char id[37];
    if (check_thing_name(c, c->label) < 0 || body_str(c, "thingTypeName", &type) < 0 ||
        body_str(c, "billingGroupName", &billing) < 0 ||
        member_obj(c, c->body, "attributePayload", &payload) < 0 ||
        member_obj(c, payload, "attributes", &attrs) < 0)
        goto done;
    if (type && check_type_name(c, type) < 0)
        goto done;
    if (billing) {
        not_found(c,
                  "Billing group %s does not exist (the local endpoint has no billing "
                  "groups: leave billingGroupName out)",
                  billing);
        goto done;
    }
    if (canon_attrs(c, attrs, type ? VAL_MAX_ATTRS_TYPED : VAL_MAX_ATTRS, "The thing",
                    &canon) < 0)
        goto done;
    new_uuid(id);

    pthread_mutex_lock(&c->r->mu);
    if (begin(c) < 0)
        goto out;
    if (type) {
        int rc = exists(c, S_TYPE_GET, type, "Thing type");
        if (rc <= 0) {
            rollback(c);
            goto out;
        }
    }
    sqlite3_stmt *s = use(c, S_THING_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        const char *otype = col_text(s, 2);
        int same = ((!otype && !type) || (otype && type && !strcmp(otype, type))) &&
                   !strcmp(col_text(s, 3), canon.data);
        snprintf(id, sizeof id, "%s", col_text(s, 1));
        sqlite3_reset(s);
        rollback(c);
        if (same) {
            thing_result(c, c->label, id);
        } else {
            arn(&a, c->r, "thing", c->label);
            already_exists(c, id, a.data,
                           "Thing %s already exists in account with different attributes "
                           "or thing type",
                           c->label);
        }
        goto out;
    }
    sqlite3_reset(s);
    s = use(c, S_THING_INSERT);
    bind_text(s, 1, c->label);
    bind_text(s, 2, id);
    bind_text(s, 3, type);
    bind_text(s, 4, canon.data);
    sqlite3_bind_int64(s, 5, now_ms());
    if (exec_done(c, s) < 0 || commit(c) < 0)
        goto out;
    thing_result(c, c->label, id);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&canon);
    buf_free(&a);
}

static void op_describe_thing(ctx *c)
{
    if (check_thing_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_THING_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc == 0)
        not_found(c, "Thing %s does not exist", c->label);
    if (rc == 1) {
        doc = json_object();
        json_object_set_new(doc, "defaultClientId", json_string(col_text(s, 0)));
        json_object_set_new(doc, "thingName", json_string(col_text(s, 0)));
        json_object_set_new(doc, "thingId", json_string(col_text(s, 1)));
        json_object_set_new(doc, "thingArn", json_arn(c->r, "thing", col_text(s, 0)));
        if (col_text(s, 2))
            json_object_set_new(doc, "thingTypeName", json_string(col_text(s, 2)));
        json_object_set_new(doc, "attributes", parse_obj_text(col_text(s, 3)));
        json_object_set_new(doc, "version", json_integer(sqlite3_column_int64(s, 4)));
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (doc)
        reply_doc(c, doc);
}

static void op_list_things(ctx *c)
{
    long long size, token;
    buf type = BUF_INIT, aname = BUF_INIT, aval = BUF_INIT, path = BUF_INIT;
    int prefix = 0;
    if (page_size(c, "maxResults", 50, 250, &size) < 0 ||
        page_token(c, "nextToken", 0, &token) < 0)
        goto done;
    int has_type = route_query_get(c->q->query, "thingTypeName", &type);
    int has_name = route_query_get(c->q->query, "attributeName", &aname);
    int has_val = route_query_get(c->q->query, "attributeValue", &aval);
    if (route_query_get(c->q->query, "usePrefixAttributeValue", &c->tmp) > 0)
        prefix = !strcmp(c->tmp.data, "true");
    if (has_type < 0 || has_name < 0 || has_val < 0) {
        bad_request(c, "Invalid query string: bad %%-escape");
        goto done;
    }
    if ((has_name > 0) != (has_val > 0)) {
        bad_request(c, "attributeName and attributeValue must be given together");
        goto done;
    }
    char why[ITEM_MSG_MAX];
    if (has_name > 0 && val_check_attr_name(aname.data, why, sizeof why) == ITEM_ERROR) {
        bad_request(c, "%s", why);
        goto done;
    }
    if (has_name > 0)
        buf_printf(&path, "$.\"%s\"", aname.data);
    json_t *doc = json_object(), *list = json_array();
    json_object_set_new(doc, "things", list);
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_THING_LIST);
    sqlite3_bind_int64(s, 1, token);
    bind_text(s, 2, has_type > 0 ? type.data : NULL);
    bind_text(s, 3, has_name > 0 ? path.data : NULL);
    bind_text(s, 4, has_val > 0 ? aval.data : NULL);
    sqlite3_bind_int(s, 5, prefix);
    sqlite3_bind_int64(s, 6, size + 1);
    int rc, n = 0;
    long long last = 0;
    while ((rc = step_row(c, s)) == 1) {
        if (n == size) {
            set_token(doc, "nextToken", last);
            break;
        }
        json_t *e = json_object();
        json_object_set_new(e, "thingName", json_string(col_text(s, 1)));
        if (col_text(s, 2))
            json_object_set_new(e, "thingTypeName", json_string(col_text(s, 2)));
        json_object_set_new(e, "thingArn", json_arn(c->r, "thing", col_text(s, 1)));
        json_object_set_new(e, "attributes", parse_obj_text(col_text(s, 3)));
        json_object_set_new(e, "version", json_integer(sqlite3_column_int64(s, 4)));
        json_array_append_new(list, e);
        last = sqlite3_column_int64(s, 0);
        n++;
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (rc < 0)
        json_decref(doc);
    else
        reply_doc(c, doc);
done:
    buf_free(&type);
    buf_free(&aname);
    buf_free(&aval);
    buf_free(&path);
}

/* The certificate id named by a principal or target ARN; 404/400 reply set
 * when it is not one of this account's certificates. */
static int cert_of_arn(ctx *c, const char *a, const char *what, buf *id)
{
    int k = parse_arn(c->r, a, "cert", id);
    if (k < 0 || (k == 1 && !is_cert_id(id->data))) {
        bad_request(
            c, "Invalid %s '%.200s': use a certificate ARN (arn:aws:iot:%s:%s:cert/ID)",
            what, a ? a : "", c->r->region, c->r->account);
        return -1;
    }
    if (k == 0) {
        not_found(c, "%s %.200s is not a certificate of account %s in %s", what, a,
                  c->r->account, c->r->region);
        return -1;
    }
    return 0;
}

static void op_attach_principal(ctx *c)
{
    buf id = BUF_INIT;
    if (check_thing_name(c, c->label) < 0)
        goto done;
    if (!c->q->principal || !*c->q->principal) {
        bad_request(c, "The x-amzn-principal header (the certificate ARN) is required");
        goto done;
    }
    int got = route_query_get(c->q->query, "thingPrincipalType", &c->tmp);
    if (got < 0 || (got > 0 && strcmp(c->tmp.data, "EXCLUSIVE_THING") &&
                    strcmp(c->tmp.data, "NON_EXCLUSIVE_THING"))) {
        bad_request(c, "Invalid thingPrincipalType: use EXCLUSIVE_THING or "
                       "NON_EXCLUSIVE_THING");
        goto done;
    }
    if (cert_of_arn(c, c->q->principal, "principal", &id) < 0)
        goto done;
    pthread_mutex_lock(&c->r->mu);
    if (begin(c) < 0)
        goto out;
    if (exists(c, S_THING_GET, c->label, "Thing") <= 0 ||
        exists(c, S_CERT_GET, id.data, "Certificate") <= 0) {
        rollback(c);
        goto out;
    }
    sqlite3_stmt *s = use(c, S_TP_INSERT);
    bind_text(s, 1, c->label);
    bind_text(s, 2, id.data);
    if (exec_done(c, s) < 0 || commit(c) < 0)
        goto out;
    reply_empty(c);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&id);
}

/* Lists a child table of one parent (thing principals, groups of a thing,
 * policies of a target) with nextToken/maxResults or marker/pageSize paging.
 * kind is bound first when not NULL. */
typedef json_t *(*row_fn)(ctx *c, sqlite3_stmt *s);

static void list_children(ctx *c, int parent_stmt, const char *parent, const char *what,
                          int list_stmt, const char *kind, const char *size_key,
                          const char *token_key, const char *out_key,
                          const char *out_token, row_fn row)
{
    long long size, token;
    if (page_size(c, size_key, 25, 250, &size) < 0 ||
        page_token(c, token_key, 0, &token) < 0)
        return;
    json_t *doc = json_object(), *list = json_array();
    json_object_set_new(doc, out_key, list);
    int rc = 0, n = 0;
    pthread_mutex_lock(&c->r->mu);
    if (exists(c, parent_stmt, parent, what) <= 0) {
        rc = -1;
        goto out;
    }
    sqlite3_stmt *s = use(c, list_stmt);
    int i = 1;
    if (kind)
        bind_text(s, i++, kind);
    bind_text(s, i++, parent);
    sqlite3_bind_int64(s, i++, token);
    sqlite3_bind_int64(s, i++, size + 1);
    long long last = 0;
    while ((rc = step_row(c, s)) == 1) {
        if (n == size) {
            set_token(doc, out_token, last);
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
        reply_doc(c, doc);
}

static json_t *principal_row(ctx *c, sqlite3_stmt *s)
{
    return json_arn(c->r, "cert", col_text(s, 1));
}

static void op_list_principals(ctx *c)
{
    if (check_thing_name(c, c->label) < 0)
        return;
    list_children(c, S_THING_GET, c->label, "Thing", S_TP_LIST, NULL, "maxResults",
                  "nextToken", "principals", "nextToken", principal_row);
}

static json_t *group_row(ctx *c, sqlite3_stmt *s)
{
    json_t *e = json_object();
    json_object_set_new(e, "groupName", json_string(col_text(s, 1)));
    json_object_set_new(e, "groupArn", json_arn(c->r, "thinggroup", col_text(s, 1)));
    return e;
}

static void op_list_groups_for_thing(ctx *c)
{
    if (check_thing_name(c, c->label) < 0)
        return;
    list_children(c, S_THING_GET, c->label, "Thing", S_GM_LIST, NULL, "maxResults",
                  "nextToken", "thingGroups", "nextToken", group_row);
}

/* ---- policies ---- */

/* A policy target: a certificate or a thing group of this account. kind and
 * name are set; the reply is set on failure. */
static int parse_target(ctx *c, const char *target, const char **kind, buf *name)
{
    if (parse_arn(c->r, target, "thinggroup", name) == 1) {
        *kind = "thinggroup";
        return check_group_name(c, name->data);
    }
    *kind = "cert";
    return cert_of_arn(c, target, "target", name);
}

static int target_stmt(const char *kind)
{
    return !strcmp(kind, "cert") ? S_CERT_GET : S_GROUP_GET;
}

static const char *target_what(const char *kind)
{
    return !strcmp(kind, "cert") ? "Certificate" : "Thing group";
}

static void op_attach_policy(ctx *c)
{
    const char *target, *kind;
    buf name = BUF_INIT;
    if (check_policy_name(c, c->label) < 0 || body_str(c, "target", &target) < 0)
        goto done;
    if (!target) {
        bad_request(c, "target is required (the certificate ARN)");
        goto done;
    }
    if (parse_target(c, target, &kind, &name) < 0)
        goto done;
    pthread_mutex_lock(&c->r->mu);
    if (begin(c) < 0)
        goto out;
    if (exists(c, S_POLICY_GET, c->label, "Policy") <= 0 ||
        exists(c, target_stmt(kind), name.data, target_what(kind)) <= 0) {
        rollback(c);
        goto out;
    }
    sqlite3_stmt *s = use(c, S_PT_EXISTS);
    bind_text(s, 1, kind);
    bind_text(s, 2, name.data);
    bind_text(s, 3, c->label);
    int rc = step_row(c, s);
    sqlite3_reset(s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        rollback(c);
        reply_empty(c);
        goto out;
    }
    s = use(c, S_PT_COUNT);
    bind_text(s, 1, kind);
    bind_text(s, 2, name.data);
    if (step_row(c, s) != 1)
        goto out;
    long long count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (count >= VAL_MAX_POLICIES) {
        rollback(c);
        reg_reply_error(
            c->rp, 410, "LimitExceededException",
            "Target %s already has the maximum of %d policies attached: detach "
            "one before attaching %s",
            target, VAL_MAX_POLICIES, c->label);
        goto out;
    }
    s = use(c, S_PT_INSERT);
    bind_text(s, 1, kind);
    bind_text(s, 2, name.data);
    bind_text(s, 3, c->label);
    if (exec_done(c, s) < 0 || commit(c) < 0)
        goto out;
    reply_empty(c);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&name);
}

static json_t *policy_row(ctx *c, sqlite3_stmt *s)
{
    json_t *e = json_object();
    json_object_set_new(e, "policyName", json_string(col_text(s, 1)));
    json_object_set_new(e, "policyArn", json_arn(c->r, "policy", col_text(s, 1)));
    return e;
}

static void op_list_attached(ctx *c)
{
    const char *kind;
    buf name = BUF_INIT;
    if (parse_target(c, c->label, &kind, &name) == 0)
        list_children(c, target_stmt(kind), name.data, target_what(kind), S_PT_LIST, kind,
                      "pageSize", "marker", "policies", "nextMarker", policy_row);
    buf_free(&name);
}

static void op_create_policy(ctx *c)
{
    const char *doc_text;
    char gen[65];
    if (check_policy_name(c, c->label) < 0 ||
        body_str(c, "policyDocument", &doc_text) < 0)
        return;
    if (!doc_text) {
        bad_request(c, "policyDocument is required");
        return;
    }
    json_error_t je;
    json_t *pd = json_loads(doc_text, 0, &je);
    int parsed = pd != NULL, ok = pd && json_is_object(pd);
    json_decref(pd);
    if (!ok) {
        reg_reply_error(c->rp, 400, "MalformedPolicyException",
                        "The policy document is not a JSON object%s%s",
                        parsed ? "" : ": ", parsed ? "" : je.text);
        return;
    }
    size_t chars = 0;
    for (const char *p = doc_text; *p; p++)
        chars += !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r');
    if (chars > MAX_POLICY_DOC) {
        reg_reply_error(
            c->rp, 400, "MalformedPolicyException",
            "The policy document has %zu characters besides white space, more "
            "than the %d allowed",
            chars, MAX_POLICY_DOC);
        return;
    }
    random_hex(gen, 32);
    buf a = BUF_INIT;
    arn(&a, c->r, "policy", c->label);
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_POLICY_INSERT);
    bind_text(s, 1, c->label);
    bind_text(s, 2, doc_text);
    sqlite3_bind_int64(s, 3, now_ms());
    bind_text(s, 4, gen);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        already_exists(c, c->label, a.data,
                       "Policy cannot be created - name already exists (name=%s)",
                       c->label);
    else if (rc != SQLITE_DONE)
        db_fail(c);
    pthread_mutex_unlock(&c->r->mu);
    if (rc == SQLITE_DONE) {
        json_t *doc = json_object();
        json_object_set_new(doc, "policyName", json_string(c->label));
        json_object_set_new(doc, "policyArn", json_stringn(a.data, a.len));
        json_object_set_new(doc, "policyDocument", json_string(doc_text));
        json_object_set_new(doc, "policyVersionId", json_string("1"));
        reply_doc(c, doc);
    }
    buf_free(&a);
}

static void op_get_policy(ctx *c)
{
    if (check_policy_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_POLICY_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc == 0)
        not_found(c, "Policy %s does not exist", c->label);
    if (rc == 1) {
        doc = json_object();
        json_object_set_new(doc, "policyName", json_string(col_text(s, 0)));
        json_object_set_new(doc, "policyArn", json_arn(c->r, "policy", col_text(s, 0)));
        json_object_set_new(doc, "policyDocument", json_string(col_text(s, 1)));
        json_object_set_new(doc, "defaultVersionId", json_string("1"));
        json_object_set_new(doc, "creationDate",
                            json_time_ms(sqlite3_column_int64(s, 2)));
        json_object_set_new(doc, "lastModifiedDate",
                            json_time_ms(sqlite3_column_int64(s, 3)));
        json_object_set_new(doc, "generationId", json_string(col_text(s, 4)));
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (doc)
        reply_doc(c, doc);
}

/* ---- thing groups ---- */

/* A name from "xName" or, failing that, "xArn" of kind. */
static int name_or_arn(ctx *c, const char *name_key, const char *arn_key,
                       const char *kind, buf *out)
{
    const char *n, *a;
    if (body_str(c, name_key, &n) < 0 || body_str(c, arn_key, &a) < 0)
        return -1;
    buf_reset(out);
    if (n) {
        buf_puts(out, n);
        return 0;
    }
    if (!a) {
        bad_request(c, "%s or %s is required", name_key, arn_key);
        return -1;
    }
    int k = parse_arn(c->r, a, kind, out);
    if (k < 0) {
        bad_request(c, "Invalid %s '%.200s'", arn_key, a);
        return -1;
    }
    if (k == 0) {
        not_found(c, "%s %.200s is not in account %s, %s", arn_key, a, c->r->account,
                  c->r->region);
        return -1;
    }
    return 0;
}

static void op_add_to_group(ctx *c)
{
    buf group = BUF_INIT, thing = BUF_INIT;
    if (name_or_arn(c, "thingGroupName", "thingGroupArn", "thinggroup", &group) < 0 ||
        name_or_arn(c, "thingName", "thingArn", "thing", &thing) < 0 ||
        check_group_name(c, group.data) < 0 || check_thing_name(c, thing.data) < 0)
        goto done;
    pthread_mutex_lock(&c->r->mu);
    if (begin(c) < 0)
        goto out;
    if (exists(c, S_GROUP_GET, group.data, "Thing group") <= 0 ||
        exists(c, S_THING_GET, thing.data, "Thing") <= 0) {
        rollback(c);
        goto out;
    }
    sqlite3_stmt *s = use(c, S_GM_EXISTS);
    bind_text(s, 1, thing.data);
    bind_text(s, 2, group.data);
    int rc = step_row(c, s);
    sqlite3_reset(s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        rollback(c);
        reply_empty(c);
        goto out;
    }
    s = use(c, S_GM_COUNT);
    bind_text(s, 1, thing.data);
    if (step_row(c, s) != 1)
        goto out;
    long long count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (count >= MAX_GROUPS_PER_THING) {
        rollback(c);
        bad_request(c, "Thing %s already belongs to %d thing groups, the maximum",
                    thing.data, MAX_GROUPS_PER_THING);
        goto out;
    }
    s = use(c, S_GM_INSERT);
    bind_text(s, 1, thing.data);
    bind_text(s, 2, group.data);
    if (exec_done(c, s) < 0 || commit(c) < 0)
        goto out;
    reply_empty(c);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&group);
    buf_free(&thing);
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static void created_result(ctx *c, const char *prefix, const char *kind, const char *name,
                           const char *id)
{
    char k[64];
    json_t *doc = json_object();
    snprintf(k, sizeof k, "%sName", prefix);
    json_object_set_new(doc, k, json_string(name));
    snprintf(k, sizeof k, "%sArn", prefix);
    json_object_set_new(doc, k, json_arn(c->r, kind, name));
    snprintf(k, sizeof k, "%sId", prefix);
    json_object_set_new(doc, k, json_string(id));
    reply_doc(c, doc);
}

static void op_create_group(ctx *c)
{
    const char *parent, *descr = NULL;
    json_t *props, *payload = NULL, *attrs = NULL;
    buf canon = BUF_INIT, a = BUF_INIT;
    char id[37];
    if (check_group_name(c, c->label) < 0 ||
        body_str(c, "parentGroupName", &parent) < 0 ||
        member_obj(c, c->body, "thingGroupProperties", &props) < 0 ||
        member_obj(c, props, "attributePayload", &payload) < 0 ||
        member_obj(c, payload, "attributes", &attrs) < 0)
        goto done;
    if (parent && check_group_name(c, parent) < 0)
        goto done;
    json_t *d = props ? json_object_get(props, "thingGroupDescription") : NULL;
    if (d && !json_is_null(d)) {
        descr = json_string_value(d);
        if (!descr || strlen(descr) > MAX_DESCRIPTION) {
            bad_request(c,
                        "thingGroupDescription must be a string of at most %d characters",
                        MAX_DESCRIPTION);
            goto done;
        }
    }
    if (canon_attrs(c, attrs, VAL_MAX_ATTRS_TYPED, "The thing group", &canon) < 0)
        goto done;
    new_uuid(id);
    pthread_mutex_lock(&c->r->mu);
    if (begin(c) < 0)
        goto out;
    if (parent) {
        int rc = exists(c, S_GROUP_GET, parent, NULL);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            rollback(c);
            bad_request(c, "Parent thing group %s does not exist: create it first",
                        parent);
            goto out;
        }
    }
    sqlite3_stmt *s = use(c, S_GROUP_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        int same = same_text(col_text(s, 2), parent) &&
                   same_text(col_text(s, 3), descr) &&
                   !strcmp(col_text(s, 4), canon.data);
        snprintf(id, sizeof id, "%s", col_text(s, 1));
        sqlite3_reset(s);
        rollback(c);
        if (same) {
            created_result(c, "thingGroup", "thinggroup", c->label, id);
        } else {
            arn(&a, c->r, "thinggroup", c->label);
            already_exists(
                c, id, a.data,
                "Thing Group %s already exists in current account with different "
                "properties",
                c->label);
        }
        goto out;
    }
    sqlite3_reset(s);
    s = use(c, S_GROUP_INSERT);
    bind_text(s, 1, c->label);
    bind_text(s, 2, id);
    bind_text(s, 3, parent);
    bind_text(s, 4, descr);
    bind_text(s, 5, canon.data);
    sqlite3_bind_int64(s, 6, now_ms());
    if (exec_done(c, s) < 0 || commit(c) < 0)
        goto out;
    created_result(c, "thingGroup", "thinggroup", c->label, id);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&canon);
    buf_free(&a);
}

static void op_describe_group(ctx *c)
{
    if (check_group_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    buf name = BUF_INIT;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_GROUP_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc == 0)
        not_found(c, "Thing group %s does not exist", c->label);
    if (rc != 1) {
        sqlite3_reset(s);
        goto out;
    }
    doc = json_object();
    json_object_set_new(doc, "thingGroupName", json_string(col_text(s, 0)));
    json_object_set_new(doc, "thingGroupId", json_string(col_text(s, 1)));
    json_object_set_new(doc, "thingGroupArn",
                        json_arn(c->r, "thinggroup", col_text(s, 0)));
    json_object_set_new(doc, "version", json_integer(sqlite3_column_int64(s, 5)));
    json_t *props = json_object(), *payload = json_object();
    if (col_text(s, 3))
        json_object_set_new(props, "thingGroupDescription", json_string(col_text(s, 3)));
    json_object_set_new(payload, "attributes", parse_obj_text(col_text(s, 4)));
    json_object_set_new(props, "attributePayload", payload);
    json_object_set_new(doc, "thingGroupProperties", props);
    json_t *meta = json_object(), *chain = json_array();
    json_object_set_new(meta, "creationDate", json_time_ms(sqlite3_column_int64(s, 6)));
    if (col_text(s, 2)) {
        json_object_set_new(meta, "parentGroupName", json_string(col_text(s, 2)));
        buf_puts(&name, col_text(s, 2));
    }
    sqlite3_reset(s);
    /* rootToParentThingGroups: walk up the parents (bounded: AWS allows 7 levels) */
    for (int depth = 0; name.len && depth < 16; depth++) {
        json_t *e = json_object();
        json_object_set_new(e, "groupName", json_string(name.data));
        json_object_set_new(e, "groupArn", json_arn(c->r, "thinggroup", name.data));
        json_array_insert_new(chain, 0, e);
        s = use(c, S_GROUP_GET);
        bind_text(s, 1, name.data);
        rc = step_row(c, s);
        buf_reset(&name);
        if (rc == 1 && col_text(s, 2))
            buf_puts(&name, col_text(s, 2));
        sqlite3_reset(s);
        if (rc < 0) {
            json_decref(meta);
            json_decref(chain);
            json_decref(doc);
            doc = NULL;
            goto out;
        }
    }
    json_object_set_new(meta, "rootToParentThingGroups", chain);
    json_object_set_new(doc, "thingGroupMetadata", meta);
out:
    pthread_mutex_unlock(&c->r->mu);
    buf_free(&name);
    if (doc)
        reply_doc(c, doc);
}

/* ---- thing types ---- */

static void op_create_type(ctx *c)
{
    json_t *props;
    const char *descr = NULL;
    buf canon = BUF_INIT, a = BUF_INIT;
    char id[37];
    if (check_type_name(c, c->label) < 0 ||
        member_obj(c, c->body, "thingTypeProperties", &props) < 0)
        goto done;
    json_t *d = props ? json_object_get(props, "thingTypeDescription") : NULL;
    if (d && !json_is_null(d)) {
        descr = json_string_value(d);
        if (!descr || strlen(descr) > MAX_DESCRIPTION) {
            bad_request(c,
                        "thingTypeDescription must be a string of at most %d characters",
                        MAX_DESCRIPTION);
            goto done;
        }
    }
    json_t *sa = props ? json_object_get(props, "searchableAttributes") : NULL;
    json_t *list = json_array();
    if (sa && !json_is_null(sa)) {
        size_t i;
        json_t *v;
        char why[ITEM_MSG_MAX];
        if (!json_is_array(sa) || json_array_size(sa) > MAX_SEARCHABLE_ATTRS) {
            json_decref(list);
            bad_request(c, "searchableAttributes must be a list of at most %d names",
                        MAX_SEARCHABLE_ATTRS);
            goto done;
        }
        json_array_foreach(sa, i, v)
        {
            if (!json_is_string(v) || val_check_attr_name(json_string_value(v), why,
                                                          sizeof why) == ITEM_ERROR) {
                json_decref(list);
                bad_request(c, "searchableAttributes: %s",
                            json_is_string(v) ? why : "names must be strings");
                goto done;
            }
            json_array_append(list, v);
        }
    }
    char *s_text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (!s_text)
        base_fatal("json_dumps");
    buf_puts(&canon, s_text);
    free(s_text);
    new_uuid(id);
    pthread_mutex_lock(&c->r->mu);
    if (begin(c) < 0)
        goto out;
    sqlite3_stmt *s = use(c, S_TYPE_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        int same =
            same_text(col_text(s, 2), descr) && !strcmp(col_text(s, 3), canon.data);
        snprintf(id, sizeof id, "%s", col_text(s, 1));
        sqlite3_reset(s);
        rollback(c);
        if (same) {
            created_result(c, "thingType", "thingtype", c->label, id);
        } else {
            arn(&a, c->r, "thingtype", c->label);
            already_exists(
                c, id, a.data,
                "Thing Type %s already exists in current account with different "
                "properties",
                c->label);
        }
        goto out;
    }
    sqlite3_reset(s);
    s = use(c, S_TYPE_INSERT);
    bind_text(s, 1, c->label);
    bind_text(s, 2, id);
    bind_text(s, 3, descr);
    bind_text(s, 4, canon.data);
    sqlite3_bind_int64(s, 5, now_ms());
    if (exec_done(c, s) < 0 || commit(c) < 0)
        goto out;
    created_result(c, "thingType", "thingtype", c->label, id);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&canon);
    buf_free(&a);
}

static void op_describe_type(ctx *c)
{
    if (check_type_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = use(c, S_TYPE_GET);
    bind_text(s, 1, c->label);
    int rc = step_row(c, s);
    if (rc == 0)
        not_found(c, "Thing type %s does not exist", c->label);
    if (rc == 1) {
        doc = json_object();
        json_object_set_new(doc, "thingTypeName", json_string(col_text(s, 0)));
        json_object_set_new(doc, "thingTypeId", json_string(col_text(s, 1)));
        json_object_set_new(doc, "thingTypeArn",
                            json_arn(c->r, "thingtype", col_text(s, 0)));
        json_t *props = json_object();
        if (col_text(s, 2))
            json_object_set_new(props, "thingTypeDescription",
                                json_string(col_text(s, 2)));
        json_t *sa = json_loads(col_text(s, 3), 0, NULL);
        if (sa && json_array_size(sa))
            json_object_set_new(props, "searchableAttributes", sa);
        else
            json_decref(sa);
        json_object_set_new(doc, "thingTypeProperties", props);
        json_t *meta = json_object();
        json_object_set_new(meta, "deprecated", json_false());
        json_object_set_new(meta, "creationDate",
                            json_time_ms(sqlite3_column_int64(s, 4)));
        json_object_set_new(doc, "thingTypeMetadata", meta);
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (doc)
        reply_doc(c, doc);
}

/* ---- dispatch ---- */

typedef void (*op_fn)(ctx *c);

static const op_fn ops[ROUTE_COUNT] = {
    [ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA] = op_register,
    [ROUTE_UPDATE_CERTIFICATE] = op_update_cert,
    [ROUTE_DESCRIBE_CERTIFICATE] = op_describe_cert,
    [ROUTE_LIST_CERTIFICATES] = op_list_certs,
    [ROUTE_CREATE_THING] = op_create_thing,
    [ROUTE_DESCRIBE_THING] = op_describe_thing,
    [ROUTE_LIST_THINGS] = op_list_things,
    [ROUTE_ATTACH_THING_PRINCIPAL] = op_attach_principal,
    [ROUTE_LIST_THING_PRINCIPALS] = op_list_principals,
    [ROUTE_LIST_THING_GROUPS_FOR_THING] = op_list_groups_for_thing,
    [ROUTE_ATTACH_POLICY] = op_attach_policy,
    [ROUTE_LIST_ATTACHED_POLICIES] = op_list_attached,
    [ROUTE_CREATE_POLICY] = op_create_policy,
    [ROUTE_GET_POLICY] = op_get_policy,
    [ROUTE_ADD_THING_TO_THING_GROUP] = op_add_to_group,
    [ROUTE_CREATE_THING_GROUP] = op_create_group,
    [ROUTE_DESCRIBE_THING_GROUP] = op_describe_group,
    [ROUTE_CREATE_THING_TYPE] = op_create_type,
    [ROUTE_DESCRIBE_THING_TYPE] = op_describe_type,
};

void reg_do(reg *r, const reg_req *q, reg_reply *rp)
{
    ctx c = {r, q, rp, q->label ? q->label : "", NULL, BUF_INIT};
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
