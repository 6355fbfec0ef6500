#include "base/b64.h"

#include <pthread.h>
#include <stdint.h>

/* 0..63 value, 64 = padding '=', 65 = whitespace, 255 = invalid */
static uint8_t dec_std[256], dec_url[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build(uint8_t *t, const char *alpha)
{
    for (int i = 0; i < 256; i++)
        t[i] = 255;
    for (int i = 0; i < 64; i++)
        t[(unsigned char)alpha[i]] = (uint8_t)i;
    t['='] = 64;
    t[' '] = t['\t'] = t['\r'] = t['\n'] = 65;
}

static void build_tables(void)
{
    build(dec_std, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    build(dec_url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

/* Once per process: two threads building the tables at the same time would
 * write the same bytes, but that is still a data race (the sim's server
 * threads decode certificates concurrently; ThreadSanitizer stops it). */
static void init_tables(void)
{
    pthread_once(&tables_once, build_tables);
}

size_t b64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

static int fail(size_t *bad_pos, size_t i)
{
    if (bad_pos)
        *bad_pos = i;
    return -1;
}

/* Emits the 1 or 2 bytes of a final group of n (2 or 3) sextets; the unused
 * low bits must be zero (canonical encoding). */
static int tail(unsigned char *out, size_t *o, uint32_t acc, int n)
{
    if (n == 2) {
        if (acc & 0xf)
            return -1;
        out[(*o)++] = (unsigned char)(acc >> 4);
    } else {
        if (acc & 0x3)
            return -1;
        out[(*o)++] = (unsigned char)(acc >> 10);
        out[(*o)++] = (unsigned char)(acc >> 2);
    }
    return 0;
}

int b64_decode(unsigned char *out, size_t *out_len, const char *in, size_t len, int flags,
               size_t *bad_pos)
{
    init_tables();
    const uint8_t *t = (flags & B64_URL) ? dec_url : dec_std;
    int skip = (flags & B64_SKIP_SPACE) != 0;
    uint32_t acc = 0;
    int n = 0;
    size_t o = 0, i = 0;
    /* Fast path: whole groups of four alphabet characters at once; one
     * character at a time only around whitespace, padding and errors. */
    for (;;) {
        while (n == 0 && i + 4 <= len) {
            uint8_t a = t[(unsigned char)in[i]], b = t[(unsigned char)in[i + 1]],
                    c = t[(unsigned char)in[i + 2]], d = t[(unsigned char)in[i + 3]];
            if ((a | b | c | d) & 0xc0)
                break;
            uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
            out[o] = (unsigned char)(v >> 16);
            out[o + 1] = (unsigned char)(v >> 8);
            out[o + 2] = (unsigned char)v;
            o += 3;
            i += 4;
        }
        if (i >= len)
            break;
        uint8_t v = t[(unsigned char)in[i]];
        if (v < 64) {
            acc = acc << 6 | v;
            if (++n == 4) {
                out[o++] = (unsigned char)(acc >> 16);
                out[o++] = (unsigned char)(acc >> 8);
                out[o++] = (unsigned char)acc;
                acc = 0;
                n = 0;
            }
        } else if (v == 64) {
            break;
        } else if (!(v == 65 && skip)) {
            return fail(bad_pos, i);
        }
        i++;
    }
    if (i < len) { /* at the first '=': it must complete a group of 2 or 3 */
        if (n < 2)
            return fail(bad_pos, i);
        int need = 4 - n;
        for (; i < len; i++) {
            uint8_t v = t[(unsigned char)in[i]];
            if (v == 64 && need > 0)
                need--;
            else if (!(v == 65 && skip))
                return fail(bad_pos, i);
        }
        if (need)
            return fail(bad_pos, len);
        if (tail(out, &o, acc, n))
            return fail(bad_pos, len);
    } else if (n) {
        /* no padding: allowed only for base64url */
        if (!(flags & B64_URL) || n == 1 || tail(out, &o, acc, n))
            return fail(bad_pos, len);
    }
    *out_len = o;
    return 0;
}

size_t b64_encode(char *out, const unsigned char *in, size_t n, int flags)
{
    const char *a =
        (flags & B64_URL)
            ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[v >> 12 & 63];
        if (!(flags & B64_URL)) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        if (!(flags & B64_URL))
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

void hex_encode(char *out, const unsigned char *in, size_t n)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[in[i] >> 4];
        out[2 * i + 1] = h[in[i] & 15];
    }
    out[2 * n] = '\0';
}
