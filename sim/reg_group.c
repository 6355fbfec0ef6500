/* reg_group - the local endpoint's thing groups and thing types:
 * AddThingToThingGroup, CreateThingGroup, DescribeThingGroup,
 * ListThingsInThingGroup, CreateThingType, DescribeThingType (see
 * reg_impl.h).
 *
 * Rules, as AWS IoT's (DESIGN.md §5, §6):
 * - AddThingToThingGroup: the group and the thing (by name or ARN) must
 *   exist (404); idempotent; a thing belongs to at most 10 thing groups
 *   (400).
 * - CreateThingGroup / CreateThingType: same configuration -> the existing
 *   resource, another one -> 409 ResourceAlreadyExistsException; a parent
 *   group must exist; descriptions of at most 2,028 characters; at most 3
 *   searchable attributes of a thing type.
 * - DescribeThingGroup walks up the parents for rootToParentThingGroups.
 * - ListThingsInThingGroup: the group must exist (404); the names of its
 *   things in the order they were added; recursive=true adds the things of
 *   its child groups, each thing once.
 *
 * Threading: any server thread; r->mu around the statements only.
 * Ownership: attribute maps and searchable attributes are stored as
 * canonical JSON, so equal configurations compare equal as text. */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "parsers/item.h"
#include "parsers/validate.h"
#include "sim/reg_impl.h"

#define MAX_GROUPS_PER_THING 10
#define MAX_SEARCHABLE_ATTRS 3
#define MAX_DESCRIPTION 2028

/* A name from "xName" or, failing that, "xArn" of kind. */
static int name_or_arn(reg_ctx *c, const char *name_key, const char *arn_key,
                       const char *kind, buf *out)
{
    const char *n, *a;
    if (reg_body_str(c, name_key, &n) < 0 || reg_body_str(c, arn_key, &a) < 0)
        return -1;
    buf_reset(out);
    if (n) {
        buf_puts(out, n);
        return 0;
    }
    if (!a) {
        reg_bad_request(c, "%s or %s is required", name_key, arn_key);
        return -1;
    }
    int k = reg_parse_arn(c->r, a, kind, out);
    if (k < 0) {
        reg_bad_request(c, "Invalid %s '%.200s'", arn_key, a);
        return -1;
    }
    if (k == 0) {
        reg_not_found(c, "%s %.200s is not in account %s, %s", arn_key, a, c->r->account,
                      c->r->region);
        return -1;
    }
    return 0;
}

void reg_op_add_to_group(reg_ctx *c)
{
    buf group = BUF_INIT, thing = BUF_INIT;
    if (name_or_arn(c, "thingGroupName", "thingGroupArn", "thinggroup", &group) < 0 ||
        name_or_arn(c, "thingName", "thingArn", "thing", &thing) < 0 ||
        reg_check_group_name(c, group.data) < 0 ||
        reg_check_thing_name(c, thing.data) < 0)
        goto done;
    pthread_mutex_lock(&c->r->mu);
    if (reg_begin(c) < 0)
        goto out;
    if (reg_exists(c, S_GROUP_GET, group.data, "Thing group") <= 0 ||
        reg_exists(c, S_THING_GET, thing.data, "Thing") <= 0) {
        reg_rollback(c);
        goto out;
    }
    sqlite3_stmt *s = reg_stmt(c, S_GM_EXISTS);
    reg_bind_text(s, 1, thing.data);
    reg_bind_text(s, 2, group.data);
    int rc = reg_step_row(c, s);
    sqlite3_reset(s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        reg_rollback(c);
        reg_reply_empty(c);
        goto out;
    }
    s = reg_stmt(c, S_GM_COUNT);
    reg_bind_text(s, 1, thing.data);
    if (reg_step_row(c, s) != 1)
        goto out;
    long long count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (count >= MAX_GROUPS_PER_THING) {
        reg_rollback(c);
        reg_bad_request(c, "Thing %s already belongs to %d thing groups, the maximum",
                        thing.data, MAX_GROUPS_PER_THING);
        goto out;
    }
    s = reg_stmt(c, S_GM_INSERT);
    reg_bind_text(s, 1, thing.data);
    reg_bind_text(s, 2, group.data);
    if (reg_exec_done(c, s) < 0 || reg_commit(c) < 0)
        goto out;
    reg_reply_empty(c);
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

static void created_result(reg_ctx *c, const char *prefix, const char *kind,
                           const char *name, const char *id)
{
    char k[64];
    json_t *doc = json_object();
    snprintf(k, sizeof k, "%sName", prefix);
    json_object_set_new(doc, k, json_string(name));
    snprintf(k, sizeof k, "%sArn", prefix);
    json_object_set_new(doc, k, reg_arn_json(c->r, kind, name));
    snprintf(k, sizeof k, "%sId", prefix);
    json_object_set_new(doc, k, json_string(id));
    reg_reply_doc(c, doc);
}

void reg_op_create_group(reg_ctx *c)
{
    const char *parent, *descr = NULL;
    json_t *props, *payload = NULL, *attrs = NULL;
    buf canon = BUF_INIT, a = BUF_INIT;
    char id[37];
    if (reg_check_group_name(c, c->label) < 0 ||
        reg_body_str(c, "parentGroupName", &parent) < 0 ||
        reg_member_obj(c, c->body, "thingGroupProperties", &props) < 0 ||
        reg_member_obj(c, props, "attributePayload", &payload) < 0 ||
        reg_member_obj(c, payload, "attributes", &attrs) < 0)
        goto done;
    if (parent && reg_check_group_name(c, parent) < 0)
        goto done;
    json_t *d = props ? json_object_get(props, "thingGroupDescription") : NULL;
    if (d && !json_is_null(d)) {
        descr = json_string_value(d);
        if (!descr || strlen(descr) > MAX_DESCRIPTION) {
            reg_bad_request(
                c, "thingGroupDescription must be a string of at most %d characters",
                MAX_DESCRIPTION);
            goto done;
        }
    }
    if (reg_canon_attrs(c, attrs, VAL_MAX_ATTRS_TYPED, "The thing group", &canon) < 0)
        goto done;
    reg_new_uuid(id);
    pthread_mutex_lock(&c->r->mu);
    if (reg_begin(c) < 0)
        goto out;
    if (parent) {
        int rc = reg_exists(c, S_GROUP_GET, parent, NULL);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            reg_rollback(c);
            reg_bad_request(c, "Parent thing group %s does not exist: create it first",
                            parent);
            goto out;
        }
    }
    sqlite3_stmt *s = reg_stmt(c, S_GROUP_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        int same = same_text(reg_col_text(s, 2), parent) &&
                   same_text(reg_col_text(s, 3), descr) &&
                   !strcmp(reg_col_text(s, 4), canon.data);
        snprintf(id, sizeof id, "%s", reg_col_text(s, 1));
        sqlite3_reset(s);
        reg_rollback(c);
        if (same) {
            created_result(c, "thingGroup", "thinggroup", c->label, id);
        } else {
            reg_arn(&a, c->r, "thinggroup", c->label);
            reg_already_exists(
                c, id, a.data,
                "Thing Group %s already exists in current account with different "
                "properties",
                c->label);
        }
        goto out;
    }
    sqlite3_reset(s);
    s = reg_stmt(c, S_GROUP_INSERT);
    reg_bind_text(s, 1, c->label);
    reg_bind_text(s, 2, id);
    reg_bind_text(s, 3, parent);
    reg_bind_text(s, 4, descr);
    reg_bind_text(s, 5, canon.data);
    sqlite3_bind_int64(s, 6, reg_now_ms());
    if (reg_exec_done(c, s) < 0 || reg_commit(c) < 0)
        goto out;
    created_result(c, "thingGroup", "thinggroup", c->label, id);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&canon);
    buf_free(&a);
}

void reg_op_describe_group(reg_ctx *c)
{
    if (reg_check_group_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    buf name = BUF_INIT;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_GROUP_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc == 0)
        reg_not_found(c, "Thing group %s does not exist", c->label);
    if (rc != 1) {
        sqlite3_reset(s);
        goto out;
    }
    doc = json_object();
    json_object_set_new(doc, "thingGroupName", json_string(reg_col_text(s, 0)));
    json_object_set_new(doc, "thingGroupId", json_string(reg_col_text(s, 1)));
    json_object_set_new(doc, "thingGroupArn",
                        reg_arn_json(c->r, "thinggroup", reg_col_text(s, 0)));
    json_object_set_new(doc, "version", json_integer(sqlite3_column_int64(s, 5)));
    json_t *props = json_object(), *payload = json_object();
    if (reg_col_text(s, 3))
        json_object_set_new(props, "thingGroupDescription",
                            json_string(reg_col_text(s, 3)));
    json_object_set_new(payload, "attributes", reg_obj_of_text(reg_col_text(s, 4)));
    json_object_set_new(props, "attributePayload", payload);
    json_object_set_new(doc, "thingGroupProperties", props);
    json_t *meta = json_object(), *chain = json_array();
    json_object_set_new(meta, "creationDate", reg_time_json(sqlite3_column_int64(s, 6)));
    if (reg_col_text(s, 2)) {
        json_object_set_new(meta, "parentGroupName", json_string(reg_col_text(s, 2)));
        buf_puts(&name, reg_col_text(s, 2));
    }
    sqlite3_reset(s);
    /* rootToParentThingGroups: walk up the parents (bounded: AWS allows 7 levels) */
    for (int depth = 0; name.len && depth < 16; depth++) {
        json_t *e = json_object();
        json_object_set_new(e, "groupName", json_string(name.data));
        json_object_set_new(e, "groupArn", reg_arn_json(c->r, "thinggroup", name.data));
        json_array_insert_new(chain, 0, e);
        s = reg_stmt(c, S_GROUP_GET);
        reg_bind_text(s, 1, name.data);
        rc = reg_step_row(c, s);
        buf_reset(&name);
        if (rc == 1 && reg_col_text(s, 2))
            buf_puts(&name, reg_col_text(s, 2));
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
        reg_reply_doc(c, doc);
}

void reg_op_list_things_in_group(reg_ctx *c)
{
    int recursive;
    if (reg_check_group_name(c, c->label) < 0 ||
        reg_query_bool(c, "recursive", &recursive) < 0)
        return;
    reg_list_children(c, S_GROUP_GET, c->label, "Thing group",
                      recursive ? S_GM_BY_TREE : S_GM_BY_GROUP, NULL, "maxResults",
                      "nextToken", "things", "nextToken", reg_row_name);
}

/* ---- thing types ---- */

void reg_op_create_type(reg_ctx *c)
{
    json_t *props;
    const char *descr = NULL;
    buf canon = BUF_INIT, a = BUF_INIT;
    char id[37];
    if (reg_check_type_name(c, c->label) < 0 ||
        reg_member_obj(c, c->body, "thingTypeProperties", &props) < 0)
        goto done;
    json_t *d = props ? json_object_get(props, "thingTypeDescription") : NULL;
    if (d && !json_is_null(d)) {
        descr = json_string_value(d);
        if (!descr || strlen(descr) > MAX_DESCRIPTION) {
            reg_bad_request(
                c, "thingTypeDescription must be a string of at most %d characters",
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
            reg_bad_request(c, "searchableAttributes must be a list of at most %d names",
                            MAX_SEARCHABLE_ATTRS);
            goto done;
        }
        json_array_foreach(sa, i, v)
        {
            if (!json_is_string(v) || val_check_attr_name(json_string_value(v), why,
                                                          sizeof why) == ITEM_ERROR) {
                json_decref(list);
                reg_bad_request(c, "searchableAttributes: %s",
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
    reg_new_uuid(id);
    pthread_mutex_lock(&c->r->mu);
    if (reg_begin(c) < 0)
        goto out;
    sqlite3_stmt *s = reg_stmt(c, S_TYPE_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 1) {
        int same = same_text(reg_col_text(s, 2), descr) &&
                   !strcmp(reg_col_text(s, 3), canon.data);
        snprintf(id, sizeof id, "%s", reg_col_text(s, 1));
        sqlite3_reset(s);
        reg_rollback(c);
        if (same) {
            created_result(c, "thingType", "thingtype", c->label, id);
        } else {
            reg_arn(&a, c->r, "thingtype", c->label);
            reg_already_exists(
                c, id, a.data,
                "Thing Type %s already exists in current account with different "
                "properties",
                c->label);
        }
        goto out;
    }
    sqlite3_reset(s);
    s = reg_stmt(c, S_TYPE_INSERT);
    reg_bind_text(s, 1, c->label);
    reg_bind_text(s, 2, id);
    reg_bind_text(s, 3, descr);
    reg_bind_text(s, 4, canon.data);
    sqlite3_bind_int64(s, 5, reg_now_ms());
    if (reg_exec_done(c, s) < 0 || reg_commit(c) < 0)
        goto out;
    created_result(c, "thingType", "thingtype", c->label, id);
out:
    pthread_mutex_unlock(&c->r->mu);
done:
    buf_free(&canon);
    buf_free(&a);
}

void reg_op_describe_type(reg_ctx *c)
{
    if (reg_check_type_name(c, c->label) < 0)
        return;
    json_t *doc = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_TYPE_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc == 0)
        reg_not_found(c, "Thing type %s does not exist", c->label);
    if (rc == 1) {
        doc = json_object();
        json_object_set_new(doc, "thingTypeName", json_string(reg_col_text(s, 0)));
        json_object_set_new(doc, "thingTypeId", json_string(reg_col_text(s, 1)));
        json_object_set_new(doc, "thingTypeArn",
                            reg_arn_json(c->r, "thingtype", reg_col_text(s, 0)));
        json_t *props = json_object();
        if (reg_col_text(s, 2))
            json_object_set_new(props, "thingTypeDescription",
                                json_string(reg_col_text(s, 2)));
        json_t *sa = json_loads(reg_col_text(s, 3), 0, NULL);
        if (sa && json_array_size(sa))
            json_object_set_new(props, "searchableAttributes", sa);
        else
            json_decref(sa);
        json_object_set_new(doc, "thingTypeProperties", props);
        json_t *meta = json_object();
        json_object_set_new(meta, "deprecated", json_false());
        json_object_set_new(meta, "creationDate",
                            reg_time_json(sqlite3_column_int64(s, 4)));
        json_object_set_new(doc, "thingTypeMetadata", meta);
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (doc)
        reg_reply_doc(c, doc);
}
