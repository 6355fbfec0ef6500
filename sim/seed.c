/* Resources of one's own on the local endpoint, straight in its database (see
 * seed.h). */
#include "sim/seed.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xalloc.h"

const char seed_sample_policy[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
    "\"iot:Connect\"],\"Resource\":[\"arn:aws:iot:us-east-1:*:client/"
    "${iot:Connection.Thing.ThingName}\"]},{\"Effect\":\"Allow\",\"Action\":["
    "\"iot:Publish\",\"iot:Receive\"],\"Resource\":[\"arn:aws:iot:us-east-1:*:topic/"
    "topic_prefix*\"]}]}";

const char *seed_kind_name(seed_kind k)
{
    switch (k) {
    case SEED_POLICY:
        return "policy";
    case SEED_THING_GROUP:
        return "thing group";
    case SEED_THING_TYPE:
        return "thing type";
    }
    return "resource";
}

/* The tables every local endpoint's database has had since its first schema
 * (reg.c); a file without them was never one. */
static const char probe_sql[] =
    "SELECT (SELECT v FROM meta WHERE k='schema'), (SELECT count(*) FROM sqlite_master "
    "WHERE type='table' AND name IN ('certs','things','thing_principals','policies',"
    "'policy_targets','thing_groups','group_members','thing_types'))";

/* Whether the existing file at path is a local endpoint's database: 0 yes,
 * -1 no or unreadable (e set). Opened read-only: nothing is written to a file
 * that turns out to be something else. */
static int probe(const char *path, err *e)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int ok = 0, busy = 0;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, probe_sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        ok = sqlite3_column_text(st, 0) && sqlite3_column_int(st, 1) == 8;
    busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
    if (busy)
        err_set(e, ERR_USAGE, path, 0, -1,
                "the local endpoint's database is in use (a console, provision, watch "
                "or sim on it): stop that one first, then seed");
    else if (rc == SQLITE_CANTOPEN)
        err_set(e, ERR_IO, path, 0, -1, "cannot read the database: %s",
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    else if (!ok)
        err_set(e, ERR_USAGE, path, 0, -1,
                "not a local endpoint's database (it has no local endpoint registry): "
                "only the database of the local endpoint (STATE/local-endpoint.db, or a "
                "`thingpress sim --db` file) can be seeded");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok ? 0 : -1;
}

int seed_open(reg **out, const char *path, err *e)
{
    *out = NULL;
    struct stat sb;
    if (!path || !*path) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "no local endpoint database given");
        return -1;
    }
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            err_set(e, ERR_USAGE, path, 0, -1,
                    "not a local endpoint's database (not a regular file)");
            return -1;
        }
        if (probe(path, e) < 0)
            return -1;
    } else if (errno != ENOENT) {
        err_set(e, ERR_IO, path, 0, -1, "cannot read the database: %s", strerror(errno));
        return -1;
    }
    reg_opts o = {.db_path = path, .account = NULL, .region = NULL};
    if (reg_open(out, &o, e) < 0) {
        if (e && e->code == ERR_USAGE && strstr(e->msg, "in use by another")) {
            err_clear(e);
            err_set(e, ERR_USAGE, path, 0, -1,
                    "the local endpoint's database is in use (a console, provision, "
                    "watch or sim on it): stop that one first, then seed");
        }
        return -1;
    }
    return 0;
}

/* Runs one operation; returns the HTTP status, with the document (the
 * caller's) or the error message. */
static int run(reg *r, route_op op, const char *name, const char *body, json_t **doc,
               char *msg, size_t n)
{
    reg_req q = {.op = op,
                 .label = name,
                 .query = NULL,
                 .principal = NULL,
                 .body = body,
                 .body_len = body ? strlen(body) : 0};
    reg_reply rp;
    reg_reply_init(&rp);
    reg_do(r, &q, &rp);
    json_t *d = rp.body.data ? json_loadb(rp.body.data, rp.body.len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(d, "message"));
    snprintf(msg, n, "%s", m ? m : rp.error ? rp.error : "");
    int status = rp.status;
    reg_reply_free(&rp);
    if (doc)
        *doc = d;
    else
        json_decref(d);
    return status;
}

int seed_create(reg *r, seed_kind k, const char *name, const char *policy_doc,
                int *created, err *e)
{
    static const route_op describe[] = {ROUTE_GET_POLICY, ROUTE_DESCRIBE_THING_GROUP,
                                        ROUTE_DESCRIBE_THING_TYPE};
    static const route_op create[] = {ROUTE_CREATE_POLICY, ROUTE_CREATE_THING_GROUP,
                                      ROUTE_CREATE_THING_TYPE};
    char msg[400];
    json_t *doc = NULL;
    int rc = -1;
    *created = 0;
    int st = run(r, describe[k], name, NULL, &doc, msg, sizeof msg);
    if (st == 200) {
        const char *have = json_string_value(json_object_get(doc, "policyDocument"));
        if (k == SEED_POLICY && policy_doc && (!have || strcmp(have, policy_doc)))
            err_set(e, ERR_USAGE, name, 0, -1,
                    "policy %s is on the local endpoint already, with another document "
                    "(it keeps one version of a policy): give this one another name",
                    name);
        else
            rc = 0;
        goto out;
    }
    if (st != 404) {
        err_set(e, st >= 500 ? ERR_IO : ERR_USAGE, name, 0, -1, "%s %s: %s",
                seed_kind_name(k), name, msg);
        goto out;
    }
    char *body = NULL;
    if (k == SEED_POLICY) {
        const char *text = policy_doc ? policy_doc : seed_sample_policy;
        json_t *b = json_object();
        json_t *s = json_stringn(text, strlen(text));
        if (!s) {
            json_decref(b);
            err_set(e, ERR_USAGE, name, 0, -1,
                    "policy %s: the document is not UTF-8 text", name);
            goto out;
        }
        json_object_set_new(b, "policyDocument", s);
        body = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        if (!body)
            base_fatal("json_dumps");
    }
    st = run(r, create[k], name, body ? body : "{}", NULL, msg, sizeof msg);
    free(body);
    if (st == 200) {
        *created = 1;
        rc = 0;
    } else {
        err_set(e, st >= 500 ? ERR_IO : ERR_USAGE, name, 0, -1, "%s %s: %s",
                seed_kind_name(k), name, msg);
    }
out:
    json_decref(doc);
    return rc;
}
