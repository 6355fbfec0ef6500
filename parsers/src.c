/* Format detection and dispatch to the readers (src_impl.h). Detection looks
 * at the extension first and lets the first bytes confirm or correct it, so a
 * DER file named .pem or a PEM file named .cer still reads; --vendor wins. */
#include "parsers/src.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "parsers/src_impl.h"

struct src {
    src_impl impl;
    vendor v;
    size_t next_index;
    int failed;
};

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return dot ? dot + 1 : "";
}

static int is_b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

/* What the first bytes say, or VENDOR_AUTO when they say nothing clear. */
static vendor sniff(const unsigned char *p, size_t n)
{
    static const unsigned char sevenz[] = {'7', 'z', 0xbc, 0xaf, 0x27, 0x1c};
    if (n >= sizeof sevenz && !memcmp(p, sevenz, sizeof sevenz))
        return VENDOR_INFINEON;
    if (n >= 2 && p[0] == 0x30 && (p[1] == 0x82 || p[1] == 0x81 || p[1] < 0x80))
        return VENDOR_DER;
    size_t i = 0;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == n)
        return VENDOR_AUTO;
    if (p[i] == '[')
        return VENDOR_MICROCHIP;
    if (p[i] == '{')
        return VENDOR_DEVICE_INFOS;
    if (n - i >= 10 && !memcmp(p + i, "-----BEGIN", 10))
        return VENDOR_PEM;
    /* first line: a CSV header naming MAC and cert, or one long base64 run */
    size_t end = i;
    while (end < n && p[end] != '\n' && p[end] != '\r')
        end++;
    int b64 = end - i >= 64;
    for (size_t k = i; k < end && b64; k++)
        b64 = is_b64_char(p[k]);
    if (b64)
        return VENDOR_GENERATED;
    if (memchr(p + i, ',', end - i)) {
        char head[512];
        size_t hl = end - i < sizeof head - 1 ? end - i : sizeof head - 1;
        memcpy(head, p + i, hl);
        head[hl] = '\0';
        if (strcasestr(head, "mac") && strcasestr(head, "cert"))
            return VENDOR_ESPRESSIF;
    }
    if (memmem(p, n, "-----BEGIN CERTIFICATE-----", 27))
        return VENDOR_PEM; /* a bundle with text before its first block */
    return VENDOR_AUTO;
}

static vendor by_extension(const char *ext)
{
    if (!strcasecmp(ext, "csv"))
        return VENDOR_ESPRESSIF;
    if (!strcasecmp(ext, "7z"))
        return VENDOR_INFINEON;
    if (!strcasecmp(ext, "txt"))
        return VENDOR_GENERATED;
    if (!strcasecmp(ext, "pem") || !strcasecmp(ext, "crt"))
        return VENDOR_PEM;
    if (!strcasecmp(ext, "der") || !strcasecmp(ext, "cer"))
        return VENDOR_DER;
    return VENDOR_AUTO;
}

int src_input_name(const char *name)
{
    const char *ext = ext_of(name);
    if (!*ext || ext == name + 1)
        return 0; /* no extension, or a hidden name such as ".csv" */
    return by_extension(ext) != VENDOR_AUTO || !strcasecmp(ext, "json");
}

/* Opens path as a regular, non-empty file; fills the first bytes. */
static int peek(const char *path, unsigned char *head, size_t cap, size_t *n, err *e)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        err_set(e, ERR_IO, path, 0, -1, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        err_set(e, ERR_IO, path, 0, -1, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(e, ERR_IO, path, 0, -1, "not a regular file");
        goto out;
    }
    if (st.st_size == 0) {
        err_set(e, ERR_FORMAT, path, 0, -1, "empty file");
        goto out;
    }
    ssize_t r = read(fd, head, cap);
    if (r < 0) {
        err_set(e, ERR_IO, path, 0, -1, "read error: %s", strerror(errno));
        goto out;
    }
    *n = (size_t)r;
    rc = 0;
out:
    close(fd);
    return rc;
}

int src_detect(vendor *out, const char *path, err *e)
{
    unsigned char head[4096];
    size_t n = 0;
    if (peek(path, head, sizeof head, &n, e))
        return -1;
    vendor ext = by_extension(ext_of(path));
    vendor content = sniff(head, n);
    const char *x = ext_of(path);
    if (!strcasecmp(x, "json")) {
        /* JSON: an array is a Microchip manifest, anything else is read as
         * device-infos so that invalid JSON gets the JSON parser's message */
        *out = content == VENDOR_MICROCHIP ? VENDOR_MICROCHIP : VENDOR_DEVICE_INFOS;
        return 0;
    }
    if (content == VENDOR_DEVICE_INFOS && *x) {
        /* a JSON object in a file not named .json: JSON lines (an audit
         * log), a log, notes; device-infos files are .json */
        err_set(e, ERR_FORMAT, path, 0, -1,
                "not a device-infos file: device-infos are JSON documents named .json "
                "(this is .%s)",
                x);
        return -1;
    }
    if (content != VENDOR_AUTO) {
        /* content wins where it is unambiguous, but a PEM bundle named .cer
         * or a DER named .pem is still what its bytes say */
        *out = content;
        return 0;
    }
    if (ext == VENDOR_GENERATED) {
        /* a .txt is a Generated file only if it starts like one: shift
         * notes are not 24 invalid certificates */
        err_set(e, ERR_FORMAT, path, 1, -1,
                "not a Generated certificate file: its first line is not a base64 "
                "certificate (use --vendor to read it as another format)");
        return -1;
    }
    if (ext != VENDOR_AUTO) {
        *out = ext;
        return 0;
    }
    err_set(e, ERR_FORMAT, path, 0, -1,
            "unknown format: not a vendor file (Espressif CSV, Infineon 7z, Microchip "
            "manifest, Generated, PEM, DER) nor device-infos; use --vendor");
    return -1;
}

int src_open(src **out, const char *path, const src_opts *opts, err *e)
{
    *out = NULL;
    src_opts o = opts ? *opts : (src_opts){0};
    src_limits d = src_default_limits();
    if (!o.limits.max_line)
        o.limits.max_line = d.max_line;
    if (!o.limits.max_entries)
        o.limits.max_entries = d.max_entries;
    if (!o.limits.max_member_bytes)
        o.limits.max_member_bytes = d.max_member_bytes;
    if (!o.limits.max_total_bytes)
        o.limits.max_total_bytes = d.max_total_bytes;
    if (!o.limits.max_json_bytes)
        o.limits.max_json_bytes = d.max_json_bytes;

    vendor v = o.vendor;
    if (v == VENDOR_AUTO) {
        if (src_detect(&v, path, e))
            return -1;
    } else {
        unsigned char head[16];
        size_t n;
        if (peek(path, head, sizeof head, &n, e))
            return -1;
    }
    o.vendor = v;

    src_impl impl = {0};
    int rc;
    switch (v) {
    case VENDOR_ESPRESSIF:
        rc = espressif_open(&impl, path, &o, e);
        break;
    case VENDOR_INFINEON:
        rc = infineon_open(&impl, path, &o, e);
        break;
    case VENDOR_MICROCHIP:
        rc = microchip_open(&impl, path, &o, e);
        break;
    case VENDOR_GENERATED:
        rc = generated_open(&impl, path, &o, e);
        break;
    case VENDOR_PEM:
        rc = pembundle_open(&impl, path, &o, e);
        break;
    case VENDOR_DER:
        rc = der_open(&impl, path, &o, e);
        break;
    case VENDOR_DEVICE_INFOS:
        rc = devinfo_open(&impl, path, &o, e);
        break;
    default:
        err_set(e, ERR_USAGE, path, 0, -1, "no reader for vendor %d", (int)v);
        rc = -1;
    }
    if (rc) {
        err_locate(e, path, 0);
        return -1;
    }
    src *s = xcalloc(1, sizeof *s);
    s->impl = impl;
    s->v = v;
    *out = s;
    return 0;
}

int src_next(src *s, item *out, err *e)
{
    if (s->failed)
        return -1;
    int rc = s->impl.next(s->impl.state, out, e);
    if (rc == 1) {
        out->index = s->next_index++;
        if (out->is_device == 0 && vendor_is_phase2(s->v))
            out->is_device = 1;
    } else if (rc < 0) {
        s->failed = 1;
    }
    return rc;
}

vendor src_vendor(const src *s)
{
    return s->v;
}

const char *src_batch_id(const src *s)
{
    return s->impl.batch_id;
}

const char *src_notes(const src *s)
{
    return s->impl.notes ? s->impl.notes(s->impl.state) : "";
}

void src_free(src *s)
{
    if (!s)
        return;
    if (s->impl.free)
        s->impl.free(s->impl.state);
    free(s);
}
