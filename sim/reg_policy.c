/* reg_policy - the local endpoint's policies: CreatePolicy, GetPolicy,
 * AttachPolicy, ListAttachedPolicies (see reg_impl.h).
 *
 * Rules, as AWS IoT's (DESIGN.md §5, §6):
 * - CreatePolicy: the document must be a JSON object of at most 2,048
 *   characters besides white space (400 MalformedPolicyException); a second
 *   CreatePolicy of the name is 409.
 * - AttachPolicy: the policy and the target (certificate or thing group ARN
 *   of this account and region) must exist (404); an 11th policy on one
 *   target is 410 LimitExceededException; attaching twice is a no-op.
 * - ListAttachedPolicies: the target must exist (404); recursive=true adds
 *   the policies of a thing group's parent groups, each policy once.
 *
 * Threading: any server thread; r->mu around the statements only.
 * Ownership: a target is stored as its kind ("cert", "thinggroup") and
 * resource name, never as the ARN it was given by. */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/validate.h"
#include "sim/reg_impl.h"

#define MAX_POLICY_DOC 2048 /* characters, white space excluded */

/* A policy target: a certificate or a thing group of this account. kind and
 * name are set; the reply is set on failure. */
static int parse_target(reg_ctx *c, const char *target, const char **kind, buf *name)
{
    if (reg_parse_arn(c->r, target, "thinggroup", name) == 1) {
        *kind = "thinggroup";
        return reg_check_group_name(c, name->data);
    }
    *kind = "cert";
    return reg_cert_of_arn(c, target, "target", name);
}

static int target_stmt(const char *kind)
{
    return !strcmp(kind, "cert") ? S_CERT_GET : S_GROUP_GET;
}

static const char *target_what(const char *kind)
{
    return !strcmp(kind, "cert") ? "Certificate" : "Thing group";
}

void reg_op_attach_policy(reg_ctx *c)
{
    const char *target, *kind;
    buf name = BUF_INIT;
    if (reg_check_policy_name(c, c->label) < 0 || reg_body_str(c, "target", &target) < 0)
        goto done;
    if (!target) {
        reg_bad_request(c, "target is required (the certificate ARN)");
        goto done;
    }
    if (parse_target(c, target, &kind, &name) < 0)
        goto done;
    pthread_mutex_lock(&c->r->mu);
    if (reg_begin(c) < 0)
        goto out;
    if (reg_exists(c, S_POLICY_GET, c->label, "Policy") <= 0 ||
        reg_exists(c, target_stmt(kind), name.data, target_what(kind)) <= 0) {
        reg_rollback(c);
        goto out;
    }
    sqlite3_stmt *s = reg_stmt(c, S_PT_EXISTS);
    reg_bind_text(s, 1, kind);
    reg_bind_text(s, 2, name.data);
    reg_bind_text(s, 3, c->label);
    int rc = reg_step_row(c, s);
    sqlite3_reset(s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        reg_rollback(c);
        reg_reply_empty(c);
        goto out;
    }
    s = reg_stmt(c, S_PT_COUNT);
    reg_bind_text(s, 1, kind);
    reg_bind_text(s, 2, name.data);
    if (reg_step_row(c, s) != 1)
        goto out;
    long long count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (count >= VAL_MAX_POLICIES) {
        reg_rollback(c);
        reg_reply_error(
            c->rp, 410, "LimitExceededException",
            "Target %s already has the maximum of %d policies attached: detach "
            "one before attaching %s",
            target, VAL_MAX_POLICIES, c->label);
        goto out;
    }
    s = reg_stmt(c, S_PT_INSERT);
    reg_bind_text(s, 1, kind);
    reg_bind_text(s, 2, name.data);
    reg_bind_text(s, 3, c->label);
    if (reg_exec_done(c, s) < 0 || reg_commit(c) < 0)
        goto out;
    reg_reply_empty(c);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&name);
}

static json_t *policy_row(reg_ctx *c, sqlite3_stmt *s)
{
    json_t *e = json_object();
    json_object_set_new(e, "policyName", json_string(reg_col_text(s, 1)));
    json_object_set_new(e, "policyArn", reg_arn_json(c->r, "policy", reg_col_text(s, 1)));
    return e;
}

void reg_op_list_attached(reg_ctx *c)
{
    const char *kind;
    int recursive;
    buf name = BUF_INIT;
    if (reg_query_bool(c, "recursive", &recursive) == 0 &&
        parse_target(c, c->label, &kind, &name) == 0)
        reg_list_children(c, target_stmt(kind), name.data, target_what(kind),
                          recursive ? S_PT_LIST_UP : S_PT_LIST, kind, "pageSize",
                          "marker", "policies", "nextMarker", policy_row);
    buf_free(&name);
}

void reg_op_create_policy(reg_ctx *c)
{
    const char *doc_text;
    char gen[65];
    if (reg_check_policy_name(c, c->label) < 0 ||
        reg_body_str(c, "policyDocument", &doc_text) < 0)
        return;
    if (!doc_text) {
        reg_bad_request(c, "policyDocument is required");
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
    reg_random_hex(gen, 32);
    buf a = BUF_INIT;
    reg_arn(&a, c->r, "policy", c->label);
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_POLICY_INSERT);
    reg_bind_text(s, 1, c->label);
    reg_bind_text(s, 2, doc_text);
    sqlite3_bind_int64(s, 3, reg_now_ms());
    reg_bind_text(s, 4, gen);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        reg_already_exists(c, c->label, a.data,
                           "Policy cannot be created - name already exists (name=%s)",
                           c->label);
    else if (rc != SQLITE_DONE)
        reg_db_fail(c);
    pthread_mutex_unlock(&c->r->mu);
    if (rc == SQLITE_DONE) {
        json_t *doc = json_object();
        json_object_set_new(doc, "policyName", json_string(c->label));
        json_object_set_new(doc, "policyArn", json_stringn(a.data, a.len));
        json_object_set_new(doc, "policyDocument", json_string(doc_text));
        json_object_set_new(doc, "policyVersionId", json_string("1"));
        reg_reply_doc(c, doc);
    }
    buf_free(&a);
}

void reg_op_get_policy(reg_ctx *c)
{
    if (reg_check_policy_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_POLICY_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc == 0)
        reg_not_found(c, "Policy %s does not exist", c->label);
    if (rc == 1) {
        doc = json_object();
        json_object_set_new(doc, "policyName", json_string(reg_col_text(s, 0)));
        json_object_set_new(doc, "policyArn",
                            reg_arn_json(c->r, "policy", reg_col_text(s, 0)));
        json_object_set_new(doc, "policyDocument", json_string(reg_col_text(s, 1)));
        json_object_set_new(doc, "defaultVersionId", json_string("1"));
        json_object_set_new(doc, "creationDate",
                            reg_time_json(sqlite3_column_int64(s, 2)));
        json_object_set_new(doc, "lastModifiedDate",
                            reg_time_json(sqlite3_column_int64(s, 3)));
        json_object_set_new(doc, "generationId", json_string(reg_col_text(s, 4)));
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (doc)
        reg_reply_doc(c, doc);
}
