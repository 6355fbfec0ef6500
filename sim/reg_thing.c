/* reg_thing - the local endpoint's things: CreateThing, DescribeThing,
 * ListThings, AttachThingPrincipal, ListThingPrincipals,
 * ListThingGroupsForThing, ListPrincipalThings (see reg_impl.h).
 *
 * Rules, as AWS IoT's (DESIGN.md §5, §6):
 * - CreateThing: name ^[a-zA-Z0-9:_-]{1,128}$; attribute names and values
 *   per §5; at most 3 attributes, 50 with a thing type (400
 *   InvalidRequestException); the thing type must exist (404). An existing
 *   thing with the same type and attributes is returned unchanged; with
 *   anything else it is 409 ResourceAlreadyExistsException.
 * - AttachThingPrincipal: the thing and the certificate (x-amzn-principal, a
 *   certificate ARN of this account and region) must exist (404);
 *   attaching twice is a no-op.
 * - ListThings filters by thing type and by one attribute (exact or prefix),
 *   as AWS's query parameters do.
 * - ListPrincipalThings: the certificate (x-amzn-principal) must exist
 *   (404); the names of its things, in attach order.
 *
 * Threading: any server thread; r->mu around the statements only.
 * Ownership: attributes are stored as canonical JSON (keys sorted), so the
 * same map always compares equal for CreateThing's idempotency. */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/item.h"
#include "parsers/validate.h"
#include "sim/reg_impl.h"
#include "sim/route.h"

static void thing_result(reg_ctx *c, const char *name, const char *id)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "thingName", json_string(name));
    json_object_set_new(doc, "thingArn", reg_arn_json(c->r, "thing", name));
    json_object_set_new(doc, "thingId", json_string(id));
    reg_reply_doc(c, doc);
}

void reg_op_create_thing(reg_ctx *c)
{
    const char *type, *billing;
    json_t *payload, *attrs;
    buf canon = BUF_INIT, a = BUF_INIT;
    char id[37];
    if (reg_check_thing_name(c, c->label) < 0 ||
        reg_body_str(c, "thingTypeName", &type) < 0 ||
        reg_body_str(c, "billingGroupName", &billing) < 0 ||
        reg_member_obj(c, c->body, "attributePayload", &payload) < 0 ||
        reg_member_obj(c, payload, "attributes", &attrs) < 0)
        goto done;
    if (type && reg_check_type_name(c, type) < 0)
        goto done;
    if (billing) {
        reg_not_found(
            c,
            "Billing group %s does not exist (the local endpoint has no billing "
            "groups: leave billingGroupName out)",
            billing);
        goto done;
    }
    if (reg_canon_attrs(c, attrs, type ? VAL_MAX_ATTRS_TYPED : VAL_MAX_ATTRS, "The thing",
                        &canon) < 0)
        goto done;
    reg_new_uuid(id);

    pthread_mutex_lock(&c->r->mu);
    if (reg_begin(c) < 0)
        goto out;
    if (type) {
        int rc = reg_exists(c, S_TYPE_GET, type, "Thing type");
        if (rc <= 0) {
            reg_rollback(c);
            goto out;
        }
    }
    sqlite3_stmt *s = reg_stmt(c, S_THING_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        const char *otype = reg_col_text(s, 2);
        int same = ((!otype && !type) || (otype && type && !strcmp(otype, type))) &&
                   !strcmp(reg_col_text(s, 3), canon.data);
        snprintf(id, sizeof id, "%s", reg_col_text(s, 1));
        sqlite3_reset(s);
        reg_rollback(c);
        if (same) {
            thing_result(c, c->label, id);
        } else {
            reg_arn(&a, c->r, "thing", c->label);
            reg_already_exists(
                c, id, a.data,
                "Thing %s already exists in account with different attributes "
                "or thing type",
                c->label);
        }
        goto out;
    }
    sqlite3_reset(s);
    s = reg_stmt(c, S_THING_INSERT);
    reg_bind_text(s, 1, c->label);
    reg_bind_text(s, 2, id);
    reg_bind_text(s, 3, type);
    reg_bind_text(s, 4, canon.data);
    sqlite3_bind_int64(s, 5, reg_now_ms());
    if (reg_exec_done(c, s) < 0 || reg_commit(c) < 0)
        goto out;
    thing_result(c, c->label, id);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&canon);
    buf_free(&a);
}

void reg_op_describe_thing(reg_ctx *c)
{
    if (reg_check_thing_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_THING_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc == 0)
        reg_not_found(c, "Thing %s does not exist", c->label);
    if (rc == 1) {
        doc = json_object();
        json_object_set_new(doc, "defaultClientId", json_string(reg_col_text(s, 0)));
        json_object_set_new(doc, "thingName", json_string(reg_col_text(s, 0)));
        json_object_set_new(doc, "thingId", json_string(reg_col_text(s, 1)));
        json_object_set_new(doc, "thingArn",
                            reg_arn_json(c->r, "thing", reg_col_text(s, 0)));
        if (reg_col_text(s, 2))
            json_object_set_new(doc, "thingTypeName", json_string(reg_col_text(s, 2)));
        json_object_set_new(doc, "attributes", reg_obj_of_text(reg_col_text(s, 3)));
        json_object_set_new(doc, "version", json_integer(sqlite3_column_int64(s, 4)));
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (doc)
        reg_reply_doc(c, doc);
}

void reg_op_list_things(reg_ctx *c)
{
    long long size, token;
    buf type = BUF_INIT, aname = BUF_INIT, aval = BUF_INIT, path = BUF_INIT;
    int prefix = 0;
    if (reg_page_size(c, "maxResults", 50, 250, &size) < 0 ||
        reg_page_token(c, "nextToken", 0, &token) < 0)
        goto done;
    int has_type = route_query_get(c->q->query, "thingTypeName", &type);
    int has_name = route_query_get(c->q->query, "attributeName", &aname);
    int has_val = route_query_get(c->q->query, "attributeValue", &aval);
    if (route_query_get(c->q->query, "usePrefixAttributeValue", &c->tmp) > 0)
        prefix = !strcmp(c->tmp.data, "true");
    if (has_type < 0 || has_name < 0 || has_val < 0) {
        reg_bad_request(c, "Invalid query string: bad %%-escape");
        goto done;
    }
    if ((has_name > 0) != (has_val > 0)) {
        reg_bad_request(c, "attributeName and attributeValue must be given together");
        goto done;
    }
    char why[ITEM_MSG_MAX];
    if (has_name > 0 && val_check_attr_name(aname.data, why, sizeof why) == ITEM_ERROR) {
        reg_bad_request(c, "%s", why);
        goto done;
    }
    if (has_name > 0)
        buf_printf(&path, "$.\"%s\"", aname.data);
    json_t *doc = json_object(), *list = json_array();
    json_object_set_new(doc, "things", list);
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_THING_LIST);
    sqlite3_bind_int64(s, 1, token);
    reg_bind_text(s, 2, has_type > 0 ? type.data : NULL);
    reg_bind_text(s, 3, has_name > 0 ? path.data : NULL);
    reg_bind_text(s, 4, has_val > 0 ? aval.data : NULL);
    sqlite3_bind_int(s, 5, prefix);
    sqlite3_bind_int64(s, 6, size + 1);
    int rc, n = 0;
    long long last = 0;
    while ((rc = reg_step_row(c, s)) == 1) {
        if (n == size) {
            reg_set_token(doc, "nextToken", last);
            break;
        }
        json_t *e = json_object();
        json_object_set_new(e, "thingName", json_string(reg_col_text(s, 1)));
        if (reg_col_text(s, 2))
            json_object_set_new(e, "thingTypeName", json_string(reg_col_text(s, 2)));
        json_object_set_new(e, "thingArn",
                            reg_arn_json(c->r, "thing", reg_col_text(s, 1)));
        json_object_set_new(e, "attributes", reg_obj_of_text(reg_col_text(s, 3)));
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
        reg_reply_doc(c, doc);
done:
    buf_free(&type);
    buf_free(&aname);
    buf_free(&aval);
    buf_free(&path);
}

void reg_op_attach_principal(reg_ctx *c)
{
    buf id = BUF_INIT;
    if (reg_check_thing_name(c, c->label) < 0)
        goto done;
    if (!c->q->principal || !*c->q->principal) {
        reg_bad_request(c,
                        "The x-amzn-principal header (the certificate ARN) is required");
        goto done;
    }
    int got = route_query_get(c->q->query, "thingPrincipalType", &c->tmp);
    if (got < 0 || (got > 0 && strcmp(c->tmp.data, "EXCLUSIVE_THING") &&
                    strcmp(c->tmp.data, "NON_EXCLUSIVE_THING"))) {
        reg_bad_request(c, "Invalid thingPrincipalType: use EXCLUSIVE_THING or "
                           "NON_EXCLUSIVE_THING");
        goto done;
    }
    if (reg_cert_of_arn(c, c->q->principal, "principal", &id) < 0)
        goto done;
    pthread_mutex_lock(&c->r->mu);
    if (reg_begin(c) < 0)
        goto out;
    if (reg_exists(c, S_THING_GET, c->label, "Thing") <= 0 ||
        reg_exists(c, S_CERT_GET, id.data, "Certificate") <= 0) {
        reg_rollback(c);
        goto out;
    }
    sqlite3_stmt *s = reg_stmt(c, S_TP_INSERT);
    reg_bind_text(s, 1, c->label);
    reg_bind_text(s, 2, id.data);
    if (reg_exec_done(c, s) < 0 || reg_commit(c) < 0)
        goto out;
    reg_reply_empty(c);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&id);
}

static json_t *principal_row(reg_ctx *c, sqlite3_stmt *s)
{
    return reg_arn_json(c->r, "cert", reg_col_text(s, 1));
}

void reg_op_list_principals(reg_ctx *c)
{
    if (reg_check_thing_name(c, c->label) < 0)
        return;
    reg_list_children(c, S_THING_GET, c->label, "Thing", S_TP_LIST, NULL, "maxResults",
                      "nextToken", "principals", "nextToken", principal_row);
}

static json_t *group_row(reg_ctx *c, sqlite3_stmt *s)
{
    json_t *e = json_object();
    json_object_set_new(e, "groupName", json_string(reg_col_text(s, 1)));
    json_object_set_new(e, "groupArn",
                        reg_arn_json(c->r, "thinggroup", reg_col_text(s, 1)));
    return e;
}

void reg_op_list_groups_for_thing(reg_ctx *c)
{
    if (reg_check_thing_name(c, c->label) < 0)
        return;
    reg_list_children(c, S_THING_GET, c->label, "Thing", S_GM_LIST, NULL, "maxResults",
                      "nextToken", "thingGroups", "nextToken", group_row);
}

void reg_op_list_principal_things(reg_ctx *c)
{
    buf id = BUF_INIT;
    if (!c->q->principal || !*c->q->principal)
        reg_bad_request(c,
                        "The x-amzn-principal header (the certificate ARN) is required");
    else if (reg_cert_of_arn(c, c->q->principal, "principal", &id) == 0)
        reg_list_children(c, S_CERT_GET, id.data, "Certificate", S_TP_BY_CERT, NULL,
                          "maxResults", "nextToken", "things", "nextToken", reg_row_name);
    buf_free(&id);
}
