/* Display-width text (see text.h). */
#include "console/text.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* One character of s: its code point (-1 for a byte that does not start a
 * valid UTF-8 sequence) and the bytes it takes. */
static int next_cp(const char *s, long *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    int n;
    long c;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        n = 2;
        c = u[0] & 0x1f;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        n = 3;
        c = u[0] & 0x0f;
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        n = 4;
        c = u[0] & 0x07;
    } else {
        *cp = -1;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = -1;
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond Unicode */
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff)) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return n;
}

/* The character as shown: its bytes (or "?") and its width. */
typedef struct {
    const char *bytes;
    int len;
    int width;
} shown;

static shown show(const char *s, int *adv, int utf8)
{
    long cp;
    int n = next_cp(s, &cp);
    *adv = n;
    shown r = {"?", 1, 1};
    if (cp < 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
        return r;
    if (cp < 0x80) {
        r.bytes = s;
        return r;
    }
    if (!utf8)
        return r;
    int w = wcwidth((wchar_t)cp);
    if (w < 0)
        return r;
    r.bytes = s;
    r.len = n;
    r.width = w;
    return r;
}

int tx_width(const char *s)
{
    int w = 0, adv;
    for (; s && *s; s += adv)
        w += show(s, &adv, 1).width;
    return w;
}

static void pad(buf *out, int n)
{
    for (int i = 0; i < n; i++)
        buf_putc(out, ' ');
}

static int width_of(const char *s, int utf8)
{
    int w = 0, adv;
    for (; s && *s; s += adv)
        w += show(s, &adv, utf8).width;
    return w;
}

void tx_fit(buf *out, const char *s, int width, int align, int utf8)
{
    if (width <= 0)
        return;
    if (!s)
        s = "";
    int total = width_of(s, utf8), adv;
    if (total <= width) {
        if (align == TX_RIGHT)
            pad(out, width - total);
        for (const char *p = s; *p; p += adv) {
            shown c = show(p, &adv, utf8);
            buf_append(out, c.bytes, (size_t)c.len);
        }
        if (align != TX_RIGHT)
            pad(out, width - total);
        return;
    }
    const char *ell = utf8 ? "\xe2\x80\xa6" : "~";
    int room = width - 1, w = 0;
    for (const char *p = s; *p; p += adv) {
        shown c = show(p, &adv, utf8);
        if (w + c.width > room)
            break;
        buf_append(out, c.bytes, (size_t)c.len);
        w += c.width;
    }
    buf_puts(out, ell);
    pad(out, room - w);
}

void tx_fit_tail(buf *out, const char *s, int width, int utf8)
{
    if (width <= 0)
        return;
    if (!s)
        s = "";
    int total = width_of(s, utf8), adv;
    if (total <= width) {
        tx_fit(out, s, width, TX_LEFT, utf8);
        return;
    }
    /* drop characters from the start until the rest fits after the ellipsis */
    int room = width - 1, w = total;
    const char *p = s;
    while (*p && w > room) {
        w -= show(p, &adv, utf8).width;
        p += adv;
    }
    buf_puts(out, utf8 ? "\xe2\x80\xa6" : "~");
    for (; *p; p += adv) {
        shown c = show(p, &adv, utf8);
        buf_append(out, c.bytes, (size_t)c.len);
    }
    pad(out, room - w);
}

void tx_duration(char *out, size_t n, double s)
{
    if (s < 0)
        snprintf(out, n, "--:--");
    else if (s < 3600)
        snprintf(out, n, "%02d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%dh%02d", (int)(s / 3600), (int)(s / 60) % 60);
}

void tx_short_num(char *out, size_t n, double v)
{
    const char *unit = "";
    if (v >= 999.5e6) {
        v /= 1e9;
        unit = "G";
    } else if (v >= 999.5e3) {
        v /= 1e6;
        unit = "M";
    } else if (v >= 9999.5) {
        v /= 1e3;
        unit = "k";
    }
    if (*unit)
        snprintf(out, n, v < 9.95 ? "%.1f%s" : "%.0f%s", v, unit);
    else if (v < 99.95 && v != (double)(long long)v)
        snprintf(out, n, "%.1f", v);
    else
        snprintf(out, n, "%.0f", v);
}

void tx_fingerprint(char *out, size_t n, const char *fp, int utf8)
{
    size_t len = fp ? strlen(fp) : 0;
    if (len <= 14)
        snprintf(out, n, "%s", fp ? fp : "");
    else
        snprintf(out, n, "%.8s%s%s", fp, utf8 ? "\xe2\x80\xa6" : "...", fp + len - 4);
}
