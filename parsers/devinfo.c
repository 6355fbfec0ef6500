/* Device-infos files (Phase 2): the MES's JSON document
 *   {"batch_id": "...", "devices": [{"certFingerprint", "deviceId",
 *    "deviceType"?, "attributes"?: {name: string}}]}
 * (upstream's current key is "batchId"; both are accepted, DESIGN.md §9).
 *
 * Design: the file is loaded whole (bounded by limits.max_json_bytes) and
 * parsed by Jansson, which also rejects invalid UTF-8 and duplicate keys; the
 * devices are then handed out one item each, in file order. Whole-file
 * problems (not JSON, no batch id, no devices) reject the file with Jansson's
 * or our own line; problems of one device flag that item and reading goes on.
 * Jansson keeps no positions per value, so a small scan of the (already
 * validated) bytes finds the line where each device object starts.
 *
 * The reader checks the shape (types, presence); the formats of the values
 * (fingerprint, deviceId, attribute names and values) are validation rules
 * (validate.h), so the preview shows them all the same way. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "parsers/src_impl.h"

/* src.c defaults every limit; this is the fallback when a caller did not. */
#define DEVINFO_DEFAULT_MAX_JSON ((size_t)256 << 20)
/* Longest batch id kept (it goes into reports and the journal). */
#define DEVINFO_MAX_BATCH_ID 255

typedef struct {
    json_t *root;    /* owned */
    json_t *devices; /* borrowed from root */
    size_t n, next;
    unsigned long *lines; /* owned or NULL: line of each device's first byte */
    char *batch_id;       /* owned */
    char *notes;          /* owned, "" when none */
} devinfo;

/* Where the scan found things; 0 = not found. */
typedef struct {
    unsigned long top;       /* first byte of the document */
    unsigned long batch_key; /* the "batch_id" / "batchId" key */
    unsigned long devices_key;
    unsigned long *elems; /* owned: line of each element of "devices" */
    size_t n_elems, cap_elems;
} positions;

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int key_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(p, lit, n);
}

/* Finds lines in a document Jansson has already accepted, so the grammar needs
 * no checking here: only strings (which may hold any bracket), depth, and the
 * keys of the top-level object matter. Keys written with escapes are not
 * recognised; their lines then stay 0. */
static void scan_positions(positions *pos, const char *p, size_t n)
{
    unsigned long line = 1;
    int depth = 0, in_str = 0, esc = 0;
    int key_next = 0;         /* the next string at depth 1 is a key */
    int key_start_depth1 = 0; /* the current string is a depth-1 key */
    size_t key_from = 0;
    int last_key_devices = 0; /* the depth-1 value being read is "devices" */
    int in_devices = 0;       /* inside the devices array (depth 2) */
    int want_elem = 0;        /* the next token at depth 2 starts an element */
    int seen_top = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"') {
                in_str = 0;
                if (key_start_depth1) {
                    key_start_depth1 = 0;
                    const char *k = p + key_from;
                    size_t kn = i - key_from;
                    last_key_devices = key_is(k, kn, "devices");
                    if (last_key_devices && !pos->devices_key)
                        pos->devices_key = line;
                    if ((key_is(k, kn, "batch_id") || key_is(k, kn, "batchId")) &&
                        !pos->batch_key)
                        pos->batch_key = line;
                }
            }
            continue;
        }
        if (c == '\n') {
            line++;
            continue;
        }
        if (is_ws((unsigned char)c))
            continue;
        if (!seen_top) {
            seen_top = 1;
            pos->top = line;
        }
        if (want_elem && in_devices && depth == 2) {
            want_elem = 0;
            if (c != ']') {
                if (pos->n_elems == pos->cap_elems) {
                    pos->cap_elems = pos->cap_elems ? pos->cap_elems * 2 : 64;
                    pos->elems =
                        xrealloc(pos->elems, pos->cap_elems * sizeof *pos->elems);
                }
                pos->elems[pos->n_elems++] = line;
            }
        }
        switch (c) {
        case '"':
            in_str = 1;
            if (depth == 1 && key_next) {
                key_next = 0;
                key_start_depth1 = 1;
                key_from = i + 1;
            }
            break;
        case '{':
        case '[':
            depth++;
            if (depth == 1 && c == '{')
                key_next = 1;
            if (depth == 2 && c == '[' && last_key_devices) {
                in_devices = 1;
                want_elem = 1;
            }
            break;
        case '}':
        case ']':
            if (depth == 2 && in_devices)
                in_devices = 0;
            depth--;
            break;
        case ',':
            if (depth == 1)
                key_next = 1;
            else if (depth == 2 && in_devices)
                want_elem = 1;
            break;
        default:
            break;
        }
    }
}

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Reads the whole file, refusing more than max bytes. Returns 0 or -1 (e set). */
static int slurp(char **out, size_t *out_len, const char *path, size_t max, err *e)
{
    int rc = -1;
    char *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err_set(e, ERR_IO, path, 0, -1, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (st.st_size > 0 && (unsigned long long)st.st_size > max) {
        err_set(e, ERR_LIMIT, path, 0, -1,
                "file is %lld bytes; a JSON document may be at most %zu bytes "
                "(split the batch into smaller files)",
                (long long)st.st_size, max);
        goto out;
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536, len = 0;
    data = xmalloc(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                err_set(e, ERR_LIMIT, path, 0, -1,
                        "file is more than %zu bytes, the limit for a JSON document "
                        "(split the batch into smaller files)",
                        max);
                goto out;
            }
            cap *= 2;
            data = xrealloc(data, cap + 1);
        }
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err_set(e, ERR_IO, path, 0, -1, "read error: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > max) {
        err_set(e, ERR_LIMIT, path, 0, -1,
                "file is more than %zu bytes, the limit for a JSON document "
                "(split the batch into smaller files)",
                max);
        goto out;
    }
    data[len] = '\0';
    *out = data;
    *out_len = len;
    data = NULL;
    rc = 0;
out:
    free(data);
    close(fd);
    return rc;
}

/* Reads batch_id / batchId into d->batch_id. Returns 0 or -1 (e set). */
static int take_batch_id(devinfo *d, const char *path, const positions *pos, err *e)
{
    json_t *a = json_object_get(d->root, "batch_id");
    json_t *b = json_object_get(d->root, "batchId");
    unsigned long line = pos->batch_key ? pos->batch_key : pos->top;
    if (!a && !b) {
        err_set(e, ERR_FORMAT, path, pos->top, -1,
                "missing required field: batch_id (or batchId)");
        return -1;
    }
    const char *key = a ? "batch_id" : "batchId";
    json_t *v = a ? a : b;
    if (a && b) {
        if (!json_is_string(a) || !json_is_string(b) ||
            strcmp(json_string_value(a), json_string_value(b))) {
            err_set(e, ERR_FORMAT, path, line, -1,
                    "both batch_id and batchId are set and they differ; keep one");
            return -1;
        }
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        err_set(e, ERR_FORMAT, path, line, -1, "%s must be a non-empty string, not %s",
                key, json_is_string(v) ? "\"\"" : type_name(v));
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > DEVINFO_MAX_BATCH_ID) {
        err_set(e, ERR_FORMAT, path, line, -1, "%s is %zu bytes, more than %d", key, len,
                DEVINFO_MAX_BATCH_ID);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            err_set(e, ERR_FORMAT, path, line, -1,
                    "%s contains a control character (0x%02x) at position %zu", key, c,
                    i + 1);
            return -1;
        }
    }
    d->batch_id = xstrndup(s, len);
    return 0;
}

/* A key that looks like `want` but is spelt differently ("deviceID",
 * "device_id"), to point at the typo; NULL when there is none. */
static const char *near_key(json_t *obj, const char *want)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (!strcmp(k, want))
            continue; /* present but null: not a typo */
        const char *a = k, *b = want;
        for (;;) {
            while (*a == '_' || *a == '-')
                a++;
            if (!*a || !*b)
                break;
            char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
            char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
            if (ca != cb)
                break;
            a++;
            b++;
        }
        if (!*a && !*b)
            return k;
    }
    return NULL;
}

static void flag_missing(item *it, json_t *dev, const char *key)
{
    const char *near = near_key(dev, key);
    if (near)
        item_flag(it, ITEM_ERROR,
                  "Missing %s (found \"%.40s\"; the key is case-sensitive)", key, near);
    else
        item_flag(it, ITEM_ERROR, "Missing %s", key);
}

static void read_attributes(item *it, json_t *attrs)
{
    if (!json_is_object(attrs)) {
        item_flag(it, ITEM_ERROR,
                  "attributes must be an object of name -> string, not %s",
                  type_name(attrs));
        return;
    }
    size_t n = json_object_size(attrs), bad = 0;
    if (n == 0)
        return;
    it->attrs = xcalloc(n, sizeof *it->attrs);
    const char *k;
    json_t *v;
    const char *first_bad = NULL, *first_type = NULL;
    json_object_foreach(attrs, k, v)
    {
        if (!json_is_string(v)) {
            if (!bad++) {
                first_bad = k;
                first_type = type_name(v);
            }
            continue;
        }
        item_attr *a = &it->attrs[it->n_attrs++];
        a->name = xstrdup(k);
        a->value = xstrndup(json_string_value(v), json_string_length(v));
    }
    if (bad == 1)
        item_flag(it, ITEM_ERROR,
                  "attribute '%.60s' is %s: attribute values must be strings", first_bad,
                  first_type);
    else if (bad > 1)
        item_flag(
            it, ITEM_ERROR,
            "attribute '%.60s' is %s (and %zu more): attribute values must be strings",
            first_bad, first_type, bad - 1);
}

static void read_device(item *it, json_t *dev)
{
    if (!json_is_object(dev)) {
        item_flag(it, ITEM_ERROR, "device must be an object, not %s", type_name(dev));
        return;
    }

    json_t *fp = json_object_get(dev, "certFingerprint");
    if (!fp || json_is_null(fp)) {
        flag_missing(it, dev, "certFingerprint");
    } else if (!json_is_string(fp)) {
        item_flag(
            it, ITEM_ERROR,
            "Invalid certFingerprint format (must be 64 hex chars): it is %s, not a "
            "string",
            type_name(fp));
    } else {
        const char *s = json_string_value(fp);
        size_t len = json_string_length(fp);
        it->given_fingerprint = xstrndup(s, len);
        int hex = len == 64;
        for (size_t i = 0; hex && i < len; i++)
            hex = is_hex((unsigned char)s[i]);
        if (hex)
            item_fp_key(it->fingerprint, sizeof it->fingerprint, s);
    }

    json_t *id = json_object_get(dev, "deviceId");
    if (!id || json_is_null(id))
        flag_missing(it, dev, "deviceId");
    else if (!json_is_string(id))
        item_flag(it, ITEM_ERROR, "deviceId must be a string, not %s", type_name(id));
    else
        it->thing_name = xstrndup(json_string_value(id), json_string_length(id));

    /* optional: absent, null and "" all mean "the job's thing type" */
    json_t *type = json_object_get(dev, "deviceType");
    if (type && !json_is_null(type)) {
        if (!json_is_string(type))
            item_flag(it, ITEM_ERROR, "deviceType must be a string, not %s",
                      type_name(type));
        else if (json_string_length(type) > 0)
            it->device_type = xstrndup(json_string_value(type), json_string_length(type));
    }

    json_t *attrs = json_object_get(dev, "attributes");
    if (attrs && !json_is_null(attrs))
        read_attributes(it, attrs);
}

static int devinfo_next(void *state, item *out, err *e)
{
    (void)e;
    devinfo *d = state;
    if (d->next >= d->n)
        return 0;
    size_t i = d->next++;
    out->is_device = 1;
    out->line = d->lines ? d->lines[i] : 0;
    char where[48];
    snprintf(where, sizeof where, "devices[%zu]", i);
    out->where = xstrdup(where);
    read_device(out, json_array_get(d->devices, i));
    return 1;
}

static const char *devinfo_notes(void *state)
{
    return ((devinfo *)state)->notes;
}

static void devinfo_free(void *state)
{
    devinfo *d = state;
    if (!d)
        return;
    json_decref(d->root);
    free(d->lines);
    free(d->batch_id);
    free(d->notes);
    free(d);
}

/* A clearer message than Jansson's "unable to decode byte 0xff" for the
 * encoding Windows tools call "Unicode". */
static int looks_utf16(const unsigned char *p, size_t n)
{
    if (n >= 2 && ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe && p[1] == 0xff)))
        return 1;
    /* no BOM: ASCII text has every other byte 0 */
    return n >= 2 && ((p[0] == 0) != (p[1] == 0));
}

int devinfo_open(src_impl *out, const char *path, const src_opts *opts, err *e)
{
    size_t max = opts && opts->limits.max_json_bytes ? opts->limits.max_json_bytes
                                                     : DEVINFO_DEFAULT_MAX_JSON;
    char *data = NULL;
    size_t len = 0;
    devinfo *d = NULL;
    positions pos = {0};
    int rc = -1;

    if (slurp(&data, &len, path, max, e))
        goto out;
    if (looks_utf16((const unsigned char *)data, len)) {
        err_set(e, ERR_FORMAT, path, 1, -1,
                "the file is UTF-16 encoded; device-infos files must be UTF-8");
        goto out;
    }
    /* RFC 8259 lets a parser ignore a UTF-8 byte order mark, and Windows tools
     * write one; Jansson does not skip it, so we do (and say so). */
    size_t skip = 0;
    if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
        skip = 3;

    json_error_t jerr;
    json_t *root = json_loadb(data + skip, len - skip, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        int col = jerr.column;
        if (skip && jerr.line == 1 && col > 0)
            col++; /* count the BOM as the first column */
        err_set(e, ERR_FORMAT, path, jerr.line > 0 ? (unsigned long)jerr.line : 0, -1,
                "invalid JSON at line %d column %d: %s", jerr.line, col, jerr.text);
        goto out;
    }
    d = xcalloc(1, sizeof *d);
    d->root = root;
    scan_positions(&pos, data + skip, len - skip);
    free(data);
    data = NULL;

    if (!json_is_object(root)) {
        err_set(e, ERR_FORMAT, path, pos.top, -1,
                "the top level is %s; a device-infos file is an object with batch_id and "
                "devices",
                type_name(root));
        goto out;
    }
    if (take_batch_id(d, path, &pos, e))
        goto out;

    json_t *devs = json_object_get(root, "devices");
    unsigned long dline = pos.devices_key ? pos.devices_key : pos.top;
    if (!devs) {
        err_set(e, ERR_FORMAT, path, pos.top, -1,
                "missing or empty devices array (there is no \"devices\" field)");
        goto out;
    }
    if (!json_is_array(devs)) {
        err_set(e, ERR_FORMAT, path, dline, -1,
                "missing or empty devices array (\"devices\" is %s)", type_name(devs));
        goto out;
    }
    if (json_array_size(devs) == 0) {
        err_set(e, ERR_FORMAT, path, dline, -1,
                "missing or empty devices array (\"devices\" is [])");
        goto out;
    }
    d->devices = devs;
    d->n = json_array_size(devs);
    if (pos.n_elems == d->n) {
        d->lines = pos.elems;
        pos.elems = NULL;
    }
    d->notes =
        xstrdup(skip ? "the file starts with a UTF-8 byte order mark (ignored)\n" : "");

    out->state = d;
    out->next = devinfo_next;
    out->free = devinfo_free;
    out->batch_id = d->batch_id;
    out->notes = devinfo_notes;
    d = NULL;
    rc = 0;
out:
    free(data);
    free(pos.elems);
    devinfo_free(d);
    return rc;
}
