/* The AWS IoT operations: request builders (ops.h), response parsers, and
 * the typed calls of client.h.
 *
 * Design: a call is build -> iot_http_call -> parse. Builders follow the
 * botocore model (member order, query names) and the AWS CLI captures;
 * parsers copy what they need out of the Jansson tree into owned strings and
 * treat a 2xx whose body is not the expected JSON as a server fault
 * (IOT_RETRY_SERVER, maybe applied): retrying a read is harmless, and a
 * retried write meets AWS's idempotency (409 with resourceId, or the same
 * result). */
#include "iot/ops.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* ---- builders -------------------------------------------------------- */

/* Sets key to the string s in o; -1 when s is not UTF-8. */
static int set_str(json_t *o, const char *key, const char *s)
{
    json_t *v = json_string(s);
    if (!v)
        return -1;
    json_object_set_new(o, key, v);
    return 0;
}

/* Writes o as r's body (Jansson's default ", " / ": " separators, as the
 * AWS CLI's json.dumps) and releases o. */
static int set_body(iot_http_req *r, json_t *o, int rc)
{
    if (rc == 0) {
        char *s = json_dumps(o, 0);
        if (!s)
            base_fatal("json_dumps");
        buf_puts(&r->body, s);
        free(s);
    }
    json_decref(o);
    return rc;
}

static void page_params(iot_http_req *r, const iot_page_req *page, const char *size_name,
                        const char *marker_name, int marker_first)
{
    char n[24];
    if (!page)
        return;
    snprintf(n, sizeof n, "%d", page->page_size);
    if (!marker_first && page->page_size > 0)
        iot_http_param(r, size_name, n);
    if (page->marker && *page->marker)
        iot_http_param(r, marker_name, page->marker);
    if (marker_first && page->page_size > 0)
        iot_http_param(r, size_name, n);
}

int iot_req_register_certificate(iot_http_req *r, const char *pem, const char *status)
{
    json_t *o = json_object();
    int rc = 0;
    iot_http_req_init(r, IOT_OP_REGISTER_CERTIFICATE_WITHOUT_CA, NULL);
    rc |= set_str(o, "certificatePem", pem);
    if (status && *status)
        rc |= set_str(o, "status", status);
    return set_body(r, o, rc);
}

int iot_req_update_certificate(iot_http_req *r, const char *certificate_id,
                               const char *new_status)
{
    iot_http_req_init(r, IOT_OP_UPDATE_CERTIFICATE, certificate_id);
    iot_http_param(r, "newStatus", new_status);
    return 0;
}

int iot_req_describe_certificate(iot_http_req *r, const char *certificate_id)
{
    iot_http_req_init(r, IOT_OP_DESCRIBE_CERTIFICATE, certificate_id);
    return 0;
}

int iot_req_list_certificates(iot_http_req *r, const iot_page_req *page, int ascending)
{
    iot_http_req_init(r, IOT_OP_LIST_CERTIFICATES, NULL);
    page_params(r, page, "pageSize", "marker", 0);
    if (ascending)
        iot_http_param(r, "isAscendingOrder", "true");
    return 0;
}

int iot_req_create_thing(iot_http_req *r, const iot_create_thing_req *req)
{
    json_t *o = json_object();
    int rc = 0;
    iot_http_req_init(r, IOT_OP_CREATE_THING, req->thing_name);
    if (req->thing_type && *req->thing_type)
        rc |= set_str(o, "thingTypeName", req->thing_type);
    if (req->n_attrs) {
        json_t *payload = json_object(), *attrs = json_object();
        for (size_t i = 0; i < req->n_attrs; i++)
            rc |= set_str(attrs, req->attrs[i].name ? req->attrs[i].name : "",
                          req->attrs[i].value ? req->attrs[i].value : "");
        json_object_set_new(payload, "attributes", attrs);
        /* As the AWS CLI captures send it; CreateThing ignores it. */
        json_object_set_new(payload, "merge", json_false());
        json_object_set_new(o, "attributePayload", payload);
    }
    return set_body(r, o, rc);
}

int iot_req_describe_thing(iot_http_req *r, const char *thing_name)
{
    iot_http_req_init(r, IOT_OP_DESCRIBE_THING, thing_name);
    return 0;
}

int iot_req_attach_thing_principal(iot_http_req *r, const char *thing_name,
                                   const char *principal_arn)
{
    iot_http_req_init(r, IOT_OP_ATTACH_THING_PRINCIPAL, thing_name);
    r->principal = principal_arn;
    return 0;
}

int iot_req_list_thing_principals(iot_http_req *r, const char *thing_name,
                                  const iot_page_req *page)
{
    iot_http_req_init(r, IOT_OP_LIST_THING_PRINCIPALS, thing_name);
    page_params(r, page, "maxResults", "nextToken", 1);
    return 0;
}

int iot_req_attach_policy(iot_http_req *r, const char *policy_name,
                          const char *target_arn)
{
    json_t *o = json_object();
    iot_http_req_init(r, IOT_OP_ATTACH_POLICY, policy_name);
    return set_body(r, o, set_str(o, "target", target_arn));
}

int iot_req_list_attached_policies(iot_http_req *r, const char *target_arn,
                                   const iot_page_req *page)
{
    iot_http_req_init(r, IOT_OP_LIST_ATTACHED_POLICIES, target_arn);
    page_params(r, page, "pageSize", "marker", 1);
    return 0;
}

int iot_req_add_thing_to_thing_group(iot_http_req *r, const char *group_name,
                                     const char *thing_name)
{
    json_t *o = json_object();
    int rc = 0;
    iot_http_req_init(r, IOT_OP_ADD_THING_TO_THING_GROUP, NULL);
    rc |= set_str(o, "thingGroupName", group_name);
    rc |= set_str(o, "thingName", thing_name);
    return set_body(r, o, rc);
}

int iot_req_list_thing_groups_for_thing(iot_http_req *r, const char *thing_name,
                                        const iot_page_req *page)
{
    iot_http_req_init(r, IOT_OP_LIST_THING_GROUPS_FOR_THING, thing_name);
    page_params(r, page, "maxResults", "nextToken", 1);
    return 0;
}

int iot_req_get_policy(iot_http_req *r, const char *policy_name)
{
    iot_http_req_init(r, IOT_OP_GET_POLICY, policy_name);
    return 0;
}

int iot_req_describe_thing_group(iot_http_req *r, const char *group_name)
{
    iot_http_req_init(r, IOT_OP_DESCRIBE_THING_GROUP, group_name);
    return 0;
}

int iot_req_describe_thing_type(iot_http_req *r, const char *type_name)
{
    iot_http_req_init(r, IOT_OP_DESCRIBE_THING_TYPE, type_name);
    return 0;
}

/* ---- calls ----------------------------------------------------------- */

/* res->op is always a static string: the table's name of the operation. */
static void local_error(iot_result *res, const char *op, const char *fmt,
                        const char *what)
{
    memset(res, 0, sizeof *res);
    res->op = op;
    res->cls = IOT_TERMINAL;
    snprintf(res->message, sizeof res->message, fmt, what);
}

/* A required argument: present, non-empty, no control characters (it may go
 * into a header). */
static int need(iot_result *res, iot_op op, const char *what, const char *s)
{
    if (!s || !*s) {
        local_error(res, iot_op_name(op), "no %s given", what);
        return -1;
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            local_error(res, iot_op_name(op), "the %s contains a control character",
                        what);
            return -1;
        }
    }
    return 0;
}

static void bad_response(iot_result *res, const iot_client *c, const char *why)
{
    res->cls = IOT_RETRY_SERVER;
    res->maybe_applied = 1;
    snprintf(res->message, sizeof res->message, "unreadable response from %s (%s)",
             iot_client_endpoint(c), why);
    /* why may quote the server's bytes (Jansson's "near '...'"): keep the
     * message one printable line. */
    for (char *p = res->message; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* Sends r (built with build_rc) and frees it; on IOT_OK with want_json,
 * *json is the response object (caller decrefs). */
static iot_class run(iot_client *c, iot_http_req *r, int build_rc, json_t **json,
                     iot_result *res)
{
    buf body = BUF_INIT;
    iot_class cls;

    if (json)
        *json = NULL;
    if (build_rc < 0) {
        local_error(res, r->op, "%s", "a request string is not valid UTF-8");
        iot_http_req_free(r);
        return res->cls;
    }
    cls = iot_http_call(c, r, &body, res);
    if (cls == IOT_OK && json) {
        json_error_t je;
        *json = json_loadb(body.data ? body.data : "", body.len, 0, &je);
        if (!json_is_object(*json)) {
            bad_response(res, c, *json ? "not a JSON object" : je.text);
            json_decref(*json);
            *json = NULL;
            cls = res->cls;
        }
    }
    buf_free(&body);
    iot_http_req_free(r);
    return cls;
}

static char *sdup(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static long long integer(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v)
                              : (long long)(json_is_real(v) ? json_real_value(v) : 0);
}

iot_class iot_register_certificate(iot_client *c, const char *pem, const char *status,
                                   iot_cert_ref *out, iot_result *res)
{
    iot_http_req r;
    json_t *j;
    iot_cert_ref ref = {0};

    if (out)
        memset(out, 0, sizeof *out);
    if (!pem || !*pem) {
        local_error(res, iot_op_name(IOT_OP_REGISTER_CERTIFICATE_WITHOUT_CA),
                    "no %s given", "certificate PEM");
        return res->cls;
    }
    int rc = iot_req_register_certificate(&r, pem, status);
    if (run(c, &r, rc, &j, res) != IOT_OK)
        return res->cls;
    ref.certificate_id = sdup(j, "certificateId");
    ref.certificate_arn = sdup(j, "certificateArn");
    json_decref(j);
    if (!ref.certificate_id || !ref.certificate_arn) {
        iot_cert_ref_free(&ref);
        bad_response(res, c, "no certificateId or certificateArn");
        return res->cls;
    }
    if (out)
        *out = ref;
    else
        iot_cert_ref_free(&ref);
    return res->cls;
}

iot_class iot_update_certificate(iot_client *c, const char *certificate_id,
                                 const char *new_status, iot_result *res)
{
    iot_http_req r;
    const iot_op op = IOT_OP_UPDATE_CERTIFICATE;
    if (need(res, op, "certificate id", certificate_id) < 0 ||
        need(res, op, "new status", new_status) < 0)
        return res->cls;
    return run(c, &r, iot_req_update_certificate(&r, certificate_id, new_status), NULL,
               res);
}

iot_class iot_describe_certificate(iot_client *c, const char *certificate_id,
                                   int want_pem, iot_cert_desc *out, iot_result *res)
{
    iot_http_req r;
    json_t *j, *d;
    const iot_op op = IOT_OP_DESCRIBE_CERTIFICATE;

    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, op, "certificate id", certificate_id) < 0)
        return res->cls;
    if (run(c, &r, iot_req_describe_certificate(&r, certificate_id), &j, res) != IOT_OK)
        return res->cls;
    d = json_object_get(j, "certificateDescription");
    if (!json_is_object(d) || !json_is_string(json_object_get(d, "status"))) {
        json_decref(j);
        bad_response(res, c, "no certificateDescription.status");
        return res->cls;
    }
    if (out) {
        out->certificate_id = sdup(d, "certificateId");
        out->certificate_arn = sdup(d, "certificateArn");
        out->status = sdup(d, "status");
        out->certificate_pem = want_pem ? sdup(d, "certificatePem") : NULL;
        out->owned_by = sdup(d, "ownedBy");
        out->creation_date = num(d, "creationDate");
        out->last_modified_date = num(d, "lastModifiedDate");
    }
    json_decref(j);
    return res->cls;
}

iot_class iot_list_certificates(iot_client *c, const iot_page_req *page, int ascending,
                                iot_cert_page *out, iot_result *res)
{
    iot_http_req r;
    json_t *j, *arr, *it;
    size_t i;

    if (out)
        memset(out, 0, sizeof *out);
    if (run(c, &r, iot_req_list_certificates(&r, page, ascending), &j, res) != IOT_OK)
        return res->cls;
    arr = json_object_get(j, "certificates");
    if (arr && !json_is_array(arr)) {
        json_decref(j);
        bad_response(res, c, "certificates is not a list");
        return res->cls;
    }
    if (out) {
        out->items = xcalloc(json_array_size(arr) + 1, sizeof *out->items);
        json_array_foreach(arr, i, it)
        {
            if (!json_is_object(it))
                continue;
            iot_cert_summary *s = &out->items[out->n++];
            s->certificate_id = sdup(it, "certificateId");
            s->certificate_arn = sdup(it, "certificateArn");
            s->status = sdup(it, "status");
            s->creation_date = num(it, "creationDate");
        }
        out->next_marker = sdup(j, "nextMarker");
    }
    json_decref(j);
    return res->cls;
}

iot_class iot_create_thing(iot_client *c, const iot_create_thing_req *req,
                           iot_thing_ref *out, iot_result *res)
{
    iot_http_req r;
    json_t *j;
    iot_thing_ref ref = {0};
    const iot_op op = IOT_OP_CREATE_THING;

    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, op, "thing name", req->thing_name) < 0)
        return res->cls;
    for (size_t i = 0; i < req->n_attrs; i++)
        if (need(res, op, "attribute name", req->attrs[i].name) < 0)
            return res->cls;
    if (run(c, &r, iot_req_create_thing(&r, req), &j, res) != IOT_OK)
        return res->cls;
    ref.thing_name = sdup(j, "thingName");
    ref.thing_arn = sdup(j, "thingArn");
    ref.thing_id = sdup(j, "thingId");
    json_decref(j);
    if (!ref.thing_arn) {
        iot_thing_ref_free(&ref);
        bad_response(res, c, "no thingArn");
        return res->cls;
    }
    if (out)
        *out = ref;
    else
        iot_thing_ref_free(&ref);
    return res->cls;
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const iot_kv *)a)->name, ((const iot_kv *)b)->name);
}

iot_class iot_describe_thing(iot_client *c, const char *thing_name, iot_thing_desc *out,
                             iot_result *res)
{
    iot_http_req r;
    json_t *j, *attrs, *v;
    const char *key;
    const iot_op op = IOT_OP_DESCRIBE_THING;

    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, op, "thing name", thing_name) < 0)
        return res->cls;
    if (run(c, &r, iot_req_describe_thing(&r, thing_name), &j, res) != IOT_OK)
        return res->cls;
    if (out) {
        out->thing_name = sdup(j, "thingName");
        out->thing_id = sdup(j, "thingId");
        out->thing_arn = sdup(j, "thingArn");
        out->thing_type = sdup(j, "thingTypeName");
        out->version = integer(j, "version");
        attrs = json_object_get(j, "attributes");
        if (json_is_object(attrs)) {
            out->attrs = xcalloc(json_object_size(attrs) + 1, sizeof *out->attrs);
            json_object_foreach(attrs, key, v)
            {
                if (!json_is_string(v))
                    continue;
                out->attrs[out->n_attrs].name = xstrdup(key);
                out->attrs[out->n_attrs].value = xstrdup(json_string_value(v));
                out->n_attrs++;
            }
            qsort(out->attrs, out->n_attrs, sizeof *out->attrs, kv_cmp);
        }
    }
    json_decref(j);
    return res->cls;
}

iot_class iot_attach_thing_principal(iot_client *c, const char *thing_name,
                                     const char *principal_arn, iot_result *res)
{
    iot_http_req r;
    const iot_op op = IOT_OP_ATTACH_THING_PRINCIPAL;
    if (need(res, op, "thing name", thing_name) < 0 ||
        need(res, op, "principal ARN", principal_arn) < 0)
        return res->cls;
    return run(c, &r, iot_req_attach_thing_principal(&r, thing_name, principal_arn), NULL,
               res);
}

/* Fills out from j's array `list_key`: objects with name_key/arn_key, or
 * plain strings (name_key NULL: the string is the ARN). */
static int name_page(iot_name_page *out, json_t *j, const char *list_key,
                     const char *name_key, const char *arn_key, const char *next_key)
{
    json_t *arr = json_object_get(j, list_key), *it;
    size_t i;

    if (arr && !json_is_array(arr))
        return -1;
    if (!out)
        return 0;
    out->items = xcalloc(json_array_size(arr) + 1, sizeof *out->items);
    json_array_foreach(arr, i, it)
    {
        iot_name_arn *x = &out->items[out->n];
        if (!name_key && json_is_string(it)) {
            x->arn = xstrdup(json_string_value(it));
        } else if (name_key && json_is_object(it)) {
            x->name = sdup(it, name_key);
            x->arn = sdup(it, arn_key);
        } else {
            continue;
        }
        out->n++;
    }
    out->next = sdup(j, next_key);
    return 0;
}

static iot_class finish_page(iot_client *c, json_t *j, iot_name_page *out,
                             const char *list_key, const char *name_key,
                             const char *arn_key, const char *next_key, iot_result *res)
{
    if (name_page(out, j, list_key, name_key, arn_key, next_key) < 0) {
        char why[64];
        snprintf(why, sizeof why, "%s is not a list", list_key);
        bad_response(res, c, why);
    }
    json_decref(j);
    return res->cls;
}

iot_class iot_list_thing_principals(iot_client *c, const char *thing_name,
                                    const iot_page_req *page, iot_name_page *out,
                                    iot_result *res)
{
    iot_http_req r;
    json_t *j;
    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, IOT_OP_LIST_THING_PRINCIPALS, "thing name", thing_name) < 0)
        return res->cls;
    if (run(c, &r, iot_req_list_thing_principals(&r, thing_name, page), &j, res) !=
        IOT_OK)
        return res->cls;
    return finish_page(c, j, out, "principals", NULL, NULL, "nextToken", res);
}

iot_class iot_attach_policy(iot_client *c, const char *policy_name,
                            const char *target_arn, iot_result *res)
{
    iot_http_req r;
    const iot_op op = IOT_OP_ATTACH_POLICY;
    if (need(res, op, "policy name", policy_name) < 0 ||
        need(res, op, "target ARN", target_arn) < 0)
        return res->cls;
    return run(c, &r, iot_req_attach_policy(&r, policy_name, target_arn), NULL, res);
}

iot_class iot_list_attached_policies(iot_client *c, const char *target_arn,
                                     const iot_page_req *page, iot_name_page *out,
                                     iot_result *res)
{
    iot_http_req r;
    json_t *j;
    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, IOT_OP_LIST_ATTACHED_POLICIES, "target ARN", target_arn) < 0)
        return res->cls;
    if (run(c, &r, iot_req_list_attached_policies(&r, target_arn, page), &j, res) !=
        IOT_OK)
        return res->cls;
    return finish_page(c, j, out, "policies", "policyName", "policyArn", "nextMarker",
                       res);
}

iot_class iot_add_thing_to_thing_group(iot_client *c, const char *group_name,
                                       const char *thing_name, iot_result *res)
{
    iot_http_req r;
    const iot_op op = IOT_OP_ADD_THING_TO_THING_GROUP;
    if (need(res, op, "thing group name", group_name) < 0 ||
        need(res, op, "thing name", thing_name) < 0)
        return res->cls;
    return run(c, &r, iot_req_add_thing_to_thing_group(&r, group_name, thing_name), NULL,
               res);
}

iot_class iot_list_thing_groups_for_thing(iot_client *c, const char *thing_name,
                                          const iot_page_req *page, iot_name_page *out,
                                          iot_result *res)
{
    iot_http_req r;
    json_t *j;
    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, IOT_OP_LIST_THING_GROUPS_FOR_THING, "thing name", thing_name) < 0)
        return res->cls;
    if (run(c, &r, iot_req_list_thing_groups_for_thing(&r, thing_name, page), &j, res) !=
        IOT_OK)
        return res->cls;
    return finish_page(c, j, out, "thingGroups", "groupName", "groupArn", "nextToken",
                       res);
}

iot_class iot_get_policy(iot_client *c, const char *policy_name, iot_policy_desc *out,
                         iot_result *res)
{
    iot_http_req r;
    json_t *j;
    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, IOT_OP_GET_POLICY, "policy name", policy_name) < 0)
        return res->cls;
    if (run(c, &r, iot_req_get_policy(&r, policy_name), &j, res) != IOT_OK)
        return res->cls;
    if (out) {
        out->policy_name = sdup(j, "policyName");
        out->policy_arn = sdup(j, "policyArn");
        out->policy_document = sdup(j, "policyDocument");
        out->default_version_id = sdup(j, "defaultVersionId");
    }
    json_decref(j);
    return res->cls;
}

iot_class iot_describe_thing_group(iot_client *c, const char *group_name,
                                   iot_named_desc *out, iot_result *res)
{
    iot_http_req r;
    json_t *j;
    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, IOT_OP_DESCRIBE_THING_GROUP, "thing group name", group_name) < 0)
        return res->cls;
    if (run(c, &r, iot_req_describe_thing_group(&r, group_name), &j, res) != IOT_OK)
        return res->cls;
    if (out) {
        out->name = sdup(j, "thingGroupName");
        out->id = sdup(j, "thingGroupId");
        out->arn = sdup(j, "thingGroupArn");
        out->version = integer(j, "version");
    }
    json_decref(j);
    return res->cls;
}

iot_class iot_describe_thing_type(iot_client *c, const char *type_name,
                                  iot_named_desc *out, iot_result *res)
{
    iot_http_req r;
    json_t *j;
    if (out)
        memset(out, 0, sizeof *out);
    if (need(res, IOT_OP_DESCRIBE_THING_TYPE, "thing type name", type_name) < 0)
        return res->cls;
    if (run(c, &r, iot_req_describe_thing_type(&r, type_name), &j, res) != IOT_OK)
        return res->cls;
    if (out) {
        json_t *meta = json_object_get(j, "thingTypeMetadata");
        out->name = sdup(j, "thingTypeName");
        out->id = sdup(j, "thingTypeId");
        out->arn = sdup(j, "thingTypeArn");
        out->deprecated = json_is_true(json_object_get(meta, "deprecated"));
    }
    json_decref(j);
    return res->cls;
}

/* ---- result structs -------------------------------------------------- */

void iot_cert_ref_free(iot_cert_ref *r)
{
    if (!r)
        return;
    free(r->certificate_id);
    free(r->certificate_arn);
    memset(r, 0, sizeof *r);
}

void iot_cert_desc_free(iot_cert_desc *d)
{
    if (!d)
        return;
    free(d->certificate_id);
    free(d->certificate_arn);
    free(d->status);
    free(d->certificate_pem);
    free(d->owned_by);
    memset(d, 0, sizeof *d);
}

void iot_cert_page_free(iot_cert_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].certificate_id);
        free(p->items[i].certificate_arn);
        free(p->items[i].status);
    }
    free(p->items);
    free(p->next_marker);
    memset(p, 0, sizeof *p);
}

void iot_thing_ref_free(iot_thing_ref *r)
{
    if (!r)
        return;
    free(r->thing_name);
    free(r->thing_arn);
    free(r->thing_id);
    memset(r, 0, sizeof *r);
}

void iot_thing_desc_free(iot_thing_desc *d)
{
    if (!d)
        return;
    free(d->thing_name);
    free(d->thing_id);
    free(d->thing_arn);
    free(d->thing_type);
    for (size_t i = 0; i < d->n_attrs; i++) {
        free(d->attrs[i].name);
        free(d->attrs[i].value);
    }
    free(d->attrs);
    memset(d, 0, sizeof *d);
}

void iot_name_page_free(iot_name_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].name);
        free(p->items[i].arn);
    }
    free(p->items);
    free(p->next);
    memset(p, 0, sizeof *p);
}

void iot_policy_desc_free(iot_policy_desc *d)
{
    if (!d)
        return;
    free(d->policy_name);
    free(d->policy_arn);
    free(d->policy_document);
    free(d->default_version_id);
    memset(d, 0, sizeof *d);
}

void iot_named_desc_free(iot_named_desc *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->id);
    free(d->arn);
    memset(d, 0, sizeof *d);
}
