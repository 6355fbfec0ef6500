/* reg_impl - what the pieces of the local endpoint's registry share (private
 * to sim/: in the sim library's srcs, not its hdrs).
 *
 * Design: the registry (reg.h) is one SQLite store behind one mutex, served
 * by one function per AWS IoT operation. The operations live by resource:
 * reg_cert.c (certificates), reg_thing.c (things and their principals and
 * groups), reg_policy.c (policies and their targets), reg_group.c (thing
 * groups and thing types). reg.c owns the store (schema, prepared statements,
 * open/close), the dispatch from route_op to an operation, and the replies;
 * reg_input.c reads and checks what a request carries (names, ARNs, body
 * members, attribute maps, paging parameters). An operation gets a reg_ctx:
 * the registry, the decoded request, the reply to fill, the parsed body.
 *
 * Threading: an operation runs on the server thread that received the
 * request; it takes r->mu around its statements (the reg_stmt .. reg_exists
 * helpers below need it held) and never while parsing or validating input.
 * Every mutating operation is one transaction (reg_begin .. reg_commit).
 *
 * Ownership: the reg_ctx and everything in it belong to reg_do(); an
 * operation fills c->rp (status, error, body) exactly once, either through
 * the reply helpers or, on a database error, through reg_db_fail. Strings
 * returned by reg_col_text live until the statement is stepped or reset. */
#ifndef TP_SIM_REG_IMPL_H
#define TP_SIM_REG_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>

#include "base/buf.h"
#include "sim/reg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The prepared statements, by id (S_*); reg.c prepares them at open time. */
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
    X(S_TP_BY_CERT, "SELECT seq,thing FROM thing_principals WHERE cert=?1 AND seq>?2 "    \
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
    /* recursive: the target's policies and those of its parent groups, each     \
     * once, ordered by its first attachment */                                          \
    X(S_PT_LIST_UP, "WITH RECURSIVE up(name) AS (SELECT ?2 UNION SELECT g.parent FROM "   \
      "thing_groups g JOIN up ON g.name=up.name WHERE ?1='thinggroup' AND g.parent IS "   \
      "NOT NULL) SELECT min(seq) AS s,policy FROM policy_targets WHERE kind=?1 AND "      \
      "target IN (SELECT name FROM up) GROUP BY policy HAVING s>?3 ORDER BY s LIMIT ?4")  \
    X(S_GROUP_GET, "SELECT name,id,parent,description,attrs,version,created_ms FROM "     \
      "thing_groups WHERE name=?1")                                                       \
    X(S_GROUP_INSERT, "INSERT INTO thing_groups(name,id,parent,description,attrs,"        \
      "version,created_ms) VALUES(?1,?2,?3,?4,?5,1,?6)")                                  \
    X(S_GM_EXISTS, "SELECT 1 FROM group_members WHERE thing=?1 AND grp=?2")               \
    X(S_GM_COUNT, "SELECT count(*) FROM group_members WHERE thing=?1")                    \
    X(S_GM_INSERT, "INSERT INTO group_members(thing,grp) VALUES(?1,?2)")                  \
    X(S_GM_LIST, "SELECT seq,grp FROM group_members WHERE thing=?1 AND seq>?2 "           \
      "ORDER BY seq LIMIT ?3")                                                            \
    X(S_GM_BY_GROUP, "SELECT seq,thing FROM group_members WHERE grp=?1 AND seq>?2 "       \
      "ORDER BY seq LIMIT ?3")                                                            \
    /* recursive: the group's things and those of its child groups, each once */         \
    X(S_GM_BY_TREE, "WITH RECURSIVE tree(name) AS (SELECT ?1 UNION SELECT g.name FROM "   \
      "thing_groups g JOIN tree ON g.parent=tree.name) SELECT min(seq) AS s,thing FROM "  \
      "group_members WHERE grp IN (SELECT name FROM tree) GROUP BY thing HAVING s>?2 "    \
      "ORDER BY s LIMIT ?3")                                                              \
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

struct reg {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[S_COUNT];
    char account[32];
    char region[64];
};

/* One request being served. */
typedef struct reg_ctx {
    reg *r;
    const reg_req *q;
    reg_reply *rp;
    const char *label;
    json_t *body; /* the parsed body object; an empty object when none was sent */
    buf tmp;
} reg_ctx;

/* ---- replies (reg.c) ---- */

/* 400 InvalidRequestException, 404 ResourceNotFoundException, 409
 * ResourceAlreadyExistsException (with resourceId/resourceArn). */
void reg_bad_request(reg_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reg_not_found(reg_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reg_already_exists(reg_ctx *c, const char *id, const char *arn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 200 with doc (stolen) as the body; 200 with {}. */
void reg_reply_doc(reg_ctx *c, json_t *doc);
void reg_reply_empty(reg_ctx *c);

/* ---- the store (reg.c; r->mu held) ---- */

/* 500 InternalFailureException naming SQLite's error; rolls back an open
 * transaction. */
void reg_db_fail(reg_ctx *c);
/* Statement id, reset and with its bindings cleared. */
sqlite3_stmt *reg_stmt(reg_ctx *c, int id);
/* Binds v (borrowed until the statement is reset), NULL as SQL NULL. */
void reg_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Runs a statement that returns no rows. Returns 0 or -1 (reply set). */
int reg_exec_done(reg_ctx *c, sqlite3_stmt *s);
/* Steps a query. Returns 1 for a row, 0 for none, -1 on error (reply set). */
int reg_step_row(reg_ctx *c, sqlite3_stmt *s);
int reg_begin(reg_ctx *c);
int reg_commit(reg_ctx *c);
void reg_rollback(reg_ctx *c); /* when a transaction is open */
const char *reg_col_text(sqlite3_stmt *s, int i);
/* Whether key exists by statement stmt: 1 found, 0 not (404 reply set when
 * what != NULL), -1 error. */
int reg_exists(reg_ctx *c, int stmt, const char *key, const char *what);

/* Lists a child table of one parent (thing principals, groups of a thing,
 * policies of a target, things of a group or a certificate) with
 * nextToken/maxResults or marker/pageSize paging;
 * row turns one result row into a list element. kind is bound first when not
 * NULL. Takes r->mu itself. */
typedef json_t *(*reg_row_fn)(reg_ctx *c, sqlite3_stmt *s);
/* A reg_row_fn: the name in column 1 as a JSON string (things of a group or
 * of a certificate). */
json_t *reg_row_name(reg_ctx *c, sqlite3_stmt *s);
void reg_list_children(reg_ctx *c, int parent_stmt, const char *parent, const char *what,
                       int list_stmt, const char *kind, const char *size_key,
                       const char *token_key, const char *out_key, const char *out_token,
                       reg_row_fn row);

/* ---- values (reg.c) ---- */

long long reg_now_ms(void);                    /* wall clock */
json_t *reg_time_json(long long ms);           /* AWS's seconds with a fraction */
void reg_random_hex(char *out, size_t nbytes); /* 2 * nbytes + 1 chars */
void reg_new_uuid(char out[37]);               /* version 4, as AWS's ids */
/* "arn:aws:iot:REGION:ACCOUNT:KIND/NAME" into out (reset first). */
void reg_arn(buf *out, const reg *r, const char *kind, const char *name);
json_t *reg_arn_json(const reg *r, const char *kind, const char *name);

/* ---- request inputs (reg_input.c) ---- */

/* An ARN of this account and region of kind ("cert", "thinggroup") -> its
 * resource name in *name: 1; a well-formed ARN of something else: 0; not an
 * IoT ARN: -1. */
int reg_parse_arn(const reg *r, const char *a, const char *kind, buf *name);
int reg_is_cert_id(const char *s); /* 64 hex characters */
/* Name checks (DESIGN.md §5): 0, or -1 with a 400 reply set. */
int reg_check_group_name(reg_ctx *c, const char *name);
int reg_check_thing_name(reg_ctx *c, const char *name);
int reg_check_type_name(reg_ctx *c, const char *name);
int reg_check_policy_name(reg_ctx *c, const char *name);
/* A string member of the body (*out borrowed from it; NULL when absent), an
 * object member of o: 0, or -1 (reply set) when of another type. */
int reg_body_str(reg_ctx *c, const char *key, const char **out);
int reg_member_obj(reg_ctx *c, json_t *o, const char *key, json_t **out);
/* Validates an attribute map (names and values per §5, at most max) and
 * writes its canonical JSON (keys sorted) into out. attrs may be NULL. */
int reg_canon_attrs(reg_ctx *c, json_t *attrs, size_t max, const char *whose, buf *out);
/* The JSON object in text, or a new empty object (text NULL or not JSON). */
json_t *reg_obj_of_text(const char *text);
/* Page size query parameter (1..max, default def); paging token (our row
 * numbers; def when absent): 0, or -1 with a 400 reply set. */
int reg_page_size(reg_ctx *c, const char *key, long long def, long long max,
                  long long *out);
int reg_page_token(reg_ctx *c, const char *key, long long def, long long *out);
void reg_set_token(json_t *doc, const char *key, long long seq);
/* A boolean query parameter ("true" or "false", as botocore sends them;
 * *out = 0 when absent): 0, or -1 with a 400 reply set. */
int reg_query_bool(reg_ctx *c, const char *key, int *out);

/* ---- certificates (reg_cert.c) ---- */

/* The certificate id named by a principal or target ARN; -1 with a 404/400
 * reply set when it is not one of this account's certificates. */
int reg_cert_of_arn(reg_ctx *c, const char *a, const char *what, buf *id);

/* ---- the operations: one per route_op, each fills c->rp ---- */

void reg_op_register(reg_ctx *c); /* reg_cert.c */
void reg_op_update_cert(reg_ctx *c);
void reg_op_describe_cert(reg_ctx *c);
void reg_op_list_certs(reg_ctx *c);
void reg_op_create_thing(reg_ctx *c); /* reg_thing.c */
void reg_op_describe_thing(reg_ctx *c);
void reg_op_list_things(reg_ctx *c);
void reg_op_attach_principal(reg_ctx *c);
void reg_op_list_principals(reg_ctx *c);
void reg_op_list_groups_for_thing(reg_ctx *c);
void reg_op_list_principal_things(reg_ctx *c);
void reg_op_attach_policy(reg_ctx *c); /* reg_policy.c */
void reg_op_list_attached(reg_ctx *c);
void reg_op_create_policy(reg_ctx *c);
void reg_op_get_policy(reg_ctx *c);
void reg_op_add_to_group(reg_ctx *c); /* reg_group.c */
void reg_op_create_group(reg_ctx *c);
void reg_op_describe_group(reg_ctx *c);
void reg_op_create_type(reg_ctx *c);
void reg_op_describe_type(reg_ctx *c);
void reg_op_list_things_in_group(reg_ctx *c);

#ifdef __cplusplus
}
#endif
#endif
