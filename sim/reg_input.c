/* reg_input - reading and checking what a request to the local endpoint's
 * registry carries: resource names (DESIGN.md §5, the rules of
 * parsers/validate.h), ARNs of this account and region, body members,
 * attribute maps and paging parameters (see reg_impl.h).
 *
 * Design: each check either accepts, or answers the request itself with
 * AWS's 400 InvalidRequestException and a message that says what to change,
 * and returns -1 so that the operation just stops. Nothing here touches the
 * database.
 *
 * Threading: any server thread; no state, no lock needed.
 * Ownership: values returned through out-params are borrowed from the
 * request (body members) or written into the caller's buf. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "parsers/item.h"
#include "parsers/validate.h"
#include "sim/reg_impl.h"
#include "sim/route.h"

/* Parses an ARN of this account and region of the given kind ("cert",
 * "thinggroup") into its resource name. Returns 1 when it is one, 0 when it
 * is a well-formed ARN of something else (another kind, account or region),
 * -1 when it is not an IoT ARN at all. */
int reg_parse_arn(const reg *r, const char *a, const char *kind, buf *name)
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

int reg_is_cert_id(const char *s)
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
int reg_check_group_name(reg_ctx *c, const char *name)
{
    size_t n = strlen(name);
    int ok = n >= 1 && n <= 128;
    for (size_t i = 0; ok && i < n; i++)
        ok = name_char((unsigned char)name[i]);
    if (!ok)
        reg_bad_request(
            c,
            "Invalid thing group name '%.128s': use 1 to 128 letters, digits, ':', "
            "'_' or '-'",
            name);
    return ok ? 0 : -1;
}

int reg_check_thing_name(reg_ctx *c, const char *name)
{
    char why[ITEM_MSG_MAX];
    if (val_check_thing_name(name, why, sizeof why) == ITEM_ERROR) {
        reg_bad_request(c, "%s", why);
        return -1;
    }
    return 0;
}

int reg_check_type_name(reg_ctx *c, const char *name)
{
    char why[ITEM_MSG_MAX];
    if (val_check_thing_type_name(name, why, sizeof why) == ITEM_ERROR) {
        reg_bad_request(c, "%s", why);
        return -1;
    }
    return 0;
}

int reg_check_policy_name(reg_ctx *c, const char *name)
{
    char why[ITEM_MSG_MAX];
    const char *names[1] = {name};
    if (val_check_policies(names, 1, why, sizeof why) == ITEM_ERROR) {
        reg_bad_request(c, "%s", why);
        return -1;
    }
    return 0;
}

/* A string member of the body: NULL when absent; -1 (reply set) when present
 * but not a string. */
int reg_body_str(reg_ctx *c, const char *key, const char **out)
{
    json_t *v = json_object_get(c->body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        reg_bad_request(c, "'%s' must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* An object member of o: NULL when absent; -1 when not an object. */
int reg_member_obj(reg_ctx *c, json_t *o, const char *key, json_t **out)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        reg_bad_request(c, "'%s' must be an object", key);
        return -1;
    }
    *out = v;
    return 0;
}

/* Validates an attribute map (names and values per §5, at most max) and
 * writes its canonical JSON (keys sorted) into out. attrs may be NULL. */
int reg_canon_attrs(reg_ctx *c, json_t *attrs, size_t max, const char *whose, buf *out)
{
    char why[ITEM_MSG_MAX];
    buf_reset(out);
    if (attrs && json_object_size(attrs) > max) {
        reg_bad_request(c,
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
            reg_bad_request(c, "%s", why);
            return -1;
        }
        if (val_check_attr_value(json_string_value(v), why, sizeof why) == ITEM_ERROR) {
            reg_bad_request(c, "attribute '%.128s': %s", k, why);
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

json_t *reg_obj_of_text(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (!j)
        j = json_object();
    return j;
}

/* ---- paging ---- */

/* Reads a page size query parameter (1..max, default def). */
int reg_page_size(reg_ctx *c, const char *key, long long def, long long max,
                  long long *out)
{
    int got = route_query_get(c->q->query, key, &c->tmp);
    *out = def;
    if (got == 0)
        return 0;
    char *end = NULL;
    long long v = got > 0 && c->tmp.len ? strtoll(c->tmp.data, &end, 10) : 0;
    if (got < 0 || !end || *end || v < 1 || v > max) {
        reg_bad_request(c, "%s must be an integer from 1 to %lld", key, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Reads a paging token (our own row numbers); *out = def when absent. */
int reg_page_token(reg_ctx *c, const char *key, long long def, long long *out)
{
    int got = route_query_get(c->q->query, key, &c->tmp);
    *out = def;
    if (got == 0)
        return 0;
    char *end = NULL;
    long long v = got > 0 && c->tmp.len ? strtoll(c->tmp.data, &end, 10) : -1;
    if (got < 0 || !end || *end || v < 0) {
        reg_bad_request(c, "Invalid %s: pass the value a previous page returned", key);
        return -1;
    }
    *out = v;
    return 0;
}

void reg_set_token(json_t *doc, const char *key, long long seq)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", seq);
    json_object_set_new(doc, key, json_string(t));
}

int reg_query_bool(reg_ctx *c, const char *key, int *out)
{
    int got = route_query_get(c->q->query, key, &c->tmp);
    *out = 0;
    if (got == 0)
        return 0;
    if (got > 0 && !strcmp(c->tmp.data ? c->tmp.data : "", "true")) {
        *out = 1;
        return 0;
    }
    if (got > 0 && !strcmp(c->tmp.data ? c->tmp.data : "", "false"))
        return 0;
    reg_bad_request(c, "%s must be true or false", key);
    return -1;
}
