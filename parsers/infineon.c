/* infineon - the Infineon OPTIGA Trust M reel bundle reader (--vendor infineon).
 *
 * Format (testdata SOURCES.md): an "archive of archives". The outer 7z holds
 * one inner 7z per certificate data object, `<reel>_<guid>_E0E0_Certs.7z`,
 * `_E0E1_Certs.7z`, `_E0E2_Certs.7z`, a password-protected `_keys.7z` and a
 * README.txt. Each inner archive holds one `<chipID>_<E0Ex>.pem` per device;
 * thing name = subject CN (item_decode fills it).
 *
 * Design: open() walks the outer archive's headers and reads only the data of
 * the chosen `_<bundle>_Certs.7z` member, into memory (the inner archive is at
 * most max_member_bytes); every other member, the keys archive included, is
 * skipped unread. It then opens that inner archive from memory and reads its
 * first header, so an inner archive that is corrupt or encrypted is rejected
 * at open. next() keeps the inner libarchive handle open and yields one
 * `.pem` member per call, in archive order; other members are skipped.
 * Besides 7z, zip and tar are accepted at both levels (no compression
 * filters), so a re-packed bundle still reads.
 *
 * Limits (opts->limits): max_entries per archive; max_member_bytes per
 * decompressed member; max_total_bytes over every byte libarchive
 * decompresses for us. Data is read in chunks and counted as it arrives, so a
 * header that lies about a size cannot make us allocate more than a limit.
 * Skipping a member of a solid 7z still decompresses it inside libarchive, so
 * a skipped member's declared size counts against max_total_bytes too.
 *
 * Errors: whole-file problems (not an archive, no such bundle, encrypted or
 * corrupt certificate archive, a limit) are -1 with err naming the file. A
 * `.pem` member larger than max_member_bytes is an ITEM_ERROR item and
 * reading goes on; item_decode() flags a PEM that does not parse.
 *
 * Threading: one thread (libarchive handles are not shared). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "parsers/src_impl.h"

enum { CHUNK = 64 * 1024 };

static const char *const bundles[] = {"E0E0", "E0E1", "E0E2"};

typedef struct infineon {
    char *path;
    src_limits lim;
    size_t total; /* decompressed bytes so far, both levels; <= lim.max_total_bytes */

    char *member;     /* name of the chosen certificate archive (outer member) */
    char *inner_data; /* its bytes: archive_read_open_memory() reads them in place */
    size_t inner_len;
    struct archive *in;            /* the inner archive, open across next() calls */
    struct archive_entry *pending; /* header read ahead by open(), or NULL */
    size_t entries;                /* inner entries seen */

    size_t n_pem;     /* .pem items yielded */
    size_t n_skipped; /* non-PEM inner members skipped */
    char *first_skipped;
    buf notes;

    int done;   /* end of archive reached, or a whole-file error */
    int failed; /* with err_saved: the error to repeat on later calls */
    err err_saved;
} infineon;

static const char *entry_name(struct archive_entry *en)
{
    const char *n = archive_entry_pathname(en);
    if (!n)
        n = archive_entry_pathname_utf8(en);
    return n ? n : "(unnamed)";
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* If name is a certificate archive `<anything>_XXXX_Certs.7z` (or just
 * `XXXX_Certs.7z`), copies its bundle token (at most 15 chars) into tok and
 * returns 1. */
static int bundle_of(const char *name, char *tok, size_t n)
{
    static const char suffix[] = "_Certs.7z";
    const char *b = base_name(name);
    size_t len = strlen(b), slen = sizeof suffix - 1;
    if (len <= slen || !ends_with_ci(b, suffix))
        return 0;
    const char *end = b + len - slen;
    const char *start = end;
    while (start > b && start[-1] != '_')
        start--;
    size_t tl = (size_t)(end - start);
    if (tl == 0 || tl >= n)
        return 0;
    memcpy(tok, start, tl);
    tok[tl] = '\0';
    return 1;
}

static struct archive *reader_new(void)
{
    struct archive *a = archive_read_new();
    if (!a)
        base_fatal("archive_read_new");
    archive_read_support_format_7zip(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_tar(a);
    return a;
}

static const char *la_msg(struct archive *a)
{
    const char *m = archive_error_string(a);
    return m && *m ? m : "damaged or truncated archive";
}

static void bomb(infineon *s, const char *member, err *e)
{
    err_set(e, ERR_LIMIT, s->path, 0, -1,
            "decompressed size exceeds %zu bytes: possible decompression bomb "
            "(at member '%s')",
            s->lim.max_total_bytes, member);
}

/* Counts n decompressed bytes against max_total_bytes. */
static int count_total(infineon *s, uint64_t n, const char *member, err *e)
{
    if (n > s->lim.max_total_bytes - s->total) {
        bomb(s, member, e);
        return -1;
    }
    s->total += (size_t)n;
    return 0;
}

/* Declared size of an entry, or 0 when the header gives none. */
static uint64_t declared_size(struct archive_entry *en)
{
    if (!archive_entry_size_is_set(en) || archive_entry_size(en) <= 0)
        return 0;
    return (uint64_t)archive_entry_size(en);
}

/* A member we do not read: libarchive may still decompress it to get past
 * it (solid 7z), so its declared size counts against the total. */
static int skip_member(infineon *s, struct archive_entry *en, const char *member, err *e)
{
    return count_total(s, declared_size(en), member, e);
}

/* Reads the current entry's data into out, in chunks, counting every byte.
 * Returns 0; 1 when the data is longer than max (reading stopped, out holds
 * a prefix); -1 with e set on a read error (ERR_FORMAT) or when the total
 * limit is reached. */
static int read_data(infineon *s, struct archive *a, size_t max, const char *member,
                     buf *out, err *e)
{
    char chunk[CHUNK];
    for (;;) {
        la_ssize_t n = archive_read_data(a, chunk, sizeof chunk);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (a == s->in)
                err_set(e, ERR_FORMAT, s->path, 0, -1,
                        "certificate archive '%s' is corrupt at member '%s': %s",
                        s->member, member, la_msg(a));
            else
                err_set(e, ERR_FORMAT, s->path, 0, -1, "cannot read member '%s': %s",
                        member, la_msg(a));
            return -1;
        }
        if (count_total(s, (uint64_t)n, member, e))
            return -1;
        if ((size_t)n > max - out->len)
            return 1;
        buf_append(out, chunk, (size_t)n);
    }
}

/* Appends tok to list (", "-separated) unless already there. */
static void add_bundle_name(buf *list, const char *tok)
{
    if (list->data) {
        const char *p = list->data;
        size_t n = strlen(tok);
        while ((p = strstr(p, tok)) != NULL) {
            if ((p == list->data || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
                return;
            p += n;
        }
    }
    if (list->len)
        buf_puts(list, ", ");
    buf_puts(list, tok);
}

/* Walks the outer archive to the `_<bundle>_Certs.7z` member and reads it into
 * s->inner_data. */
static int load_certs_member(infineon *s, const char *bundle, err *e)
{
    int rc = -1;
    buf present = BUF_INIT; /* bundles seen, for the "not found" message */
    buf data = BUF_INIT;
    struct archive *a = reader_new();

    if (archive_read_open_filename(a, s->path, CHUNK) != ARCHIVE_OK) {
        int en = archive_errno(a);
        if (en == ENOENT || en == EACCES || en == EPERM || en == EISDIR ||
            en == ENOTDIR || en == EIO || en == ELOOP || en == ENAMETOOLONG ||
            en == EMFILE || en == ENFILE)
            err_set(e, ERR_IO, s->path, 0, -1, "cannot open: %s", strerror(en));
        else
            err_set(e, ERR_FORMAT, s->path, 0, -1,
                    "not a readable Infineon bundle (7z archive): %s", la_msg(a));
        goto out;
    }

    size_t entries = 0;
    for (;;) {
        struct archive_entry *en;
        int r = archive_read_next_header(a, &en);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            err_set(e, ERR_FORMAT, s->path, 0, -1,
                    "not a readable Infineon bundle (7z archive): %s", la_msg(a));
            goto out;
        }
        if (++entries > s->lim.max_entries) {
            err_set(e, ERR_LIMIT, s->path, 0, -1,
                    "archive has more than %zu entries: possible archive bomb",
                    s->lim.max_entries);
            goto out;
        }
        const char *name = entry_name(en);
        char tok[16];
        if (archive_entry_filetype(en) != AE_IFREG || !bundle_of(name, tok, sizeof tok)) {
            if (skip_member(s, en, name, e))
                goto out;
            continue;
        }
        if (strcasecmp(tok, bundle) != 0) {
            add_bundle_name(&present, tok);
            if (skip_member(s, en, name, e))
                goto out;
            continue;
        }

        /* The chosen certificate archive. */
        s->member = xstrdup(name);
        if (archive_entry_is_encrypted(en)) {
            err_set(e, ERR_FORMAT, s->path, 0, -1,
                    "certificate archive '%s' is encrypted; Infineon certificate "
                    "archives are not password-protected",
                    name);
            goto out;
        }
        uint64_t declared = declared_size(en);
        if (declared > s->lim.max_member_bytes) {
            err_set(e, ERR_LIMIT, s->path, 0, -1,
                    "member '%s' decompresses to %llu bytes, more than the limit of "
                    "%zu: possible decompression bomb",
                    name, (unsigned long long)declared, s->lim.max_member_bytes);
            goto out;
        }
        if (declared)
            buf_reserve(&data, (size_t)declared);
        int dr = read_data(s, a, s->lim.max_member_bytes, name, &data, e);
        if (dr < 0)
            goto out;
        if (dr > 0) {
            err_set(e, ERR_LIMIT, s->path, 0, -1,
                    "member '%s' decompresses to more than %zu bytes: possible "
                    "decompression bomb",
                    name, s->lim.max_member_bytes);
            goto out;
        }
        s->inner_data = buf_take(&data, &s->inner_len);
        rc = 0;
        goto out;
    }

    err_set(e, ERR_FORMAT, s->path, 0, -1,
            "no %s certificate archive (*_%s_Certs.7z) in this bundle; bundles present: "
            "%s",
            bundle, bundle, present.len ? present.data : "none");
out:
    archive_read_free(a);
    buf_free(&present);
    buf_free(&data);
    return rc;
}

/* Reads the next inner header into *out. Returns 1, 0 at the end, -1 on a
 * corrupt or encrypted archive or too many entries. */
static int inner_header(infineon *s, struct archive_entry **out, err *e)
{
    if (s->pending) {
        *out = s->pending;
        s->pending = NULL;
        return 1;
    }
    int r = archive_read_next_header(s->in, out);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r < ARCHIVE_WARN) {
        err_set(e, ERR_FORMAT, s->path, 0, -1, "certificate archive '%s' is corrupt: %s",
                s->member, la_msg(s->in));
        return -1;
    }
    if (++s->entries > s->lim.max_entries) {
        err_set(e, ERR_LIMIT, s->path, 0, -1,
                "certificate archive '%s' has more than %zu entries: possible archive "
                "bomb",
                s->member, s->lim.max_entries);
        return -1;
    }
    if (archive_entry_is_encrypted(*out)) {
        err_set(e, ERR_FORMAT, s->path, 0, -1,
                "certificate archive '%s' is encrypted (member '%s'); Infineon "
                "certificate archives are not password-protected",
                s->member, entry_name(*out));
        return -1;
    }
    return 1;
}

static int fail(infineon *s, err *e)
{
    s->done = 1;
    s->failed = 1;
    s->err_saved = *e;
    return -1;
}

static int infineon_next(void *state, item *out, err *e)
{
    infineon *s = state;
    if (s->failed) {
        if (e && !err_is_set(e))
            *e = s->err_saved;
        return -1;
    }
    if (s->done)
        return 0;
    err local;
    err_clear(&local);
    for (;;) {
        struct archive_entry *en;
        int r = inner_header(s, &en, &local);
        if (r == 0) {
            s->done = 1;
            return 0;
        }
        if (r < 0)
            goto failed;
        const char *name = entry_name(en);
        int regular = archive_entry_filetype(en) == AE_IFREG;
        if (!regular || !ends_with_ci(name, ".pem")) {
            if (regular && s->n_skipped++ == 0)
                s->first_skipped = xstrdup(name);
            if (skip_member(s, en, name, &local))
                goto failed;
            continue;
        }

        out->where = xstrdup(name);
        out->line = 0;
        out->name_from_cn = 1;
        uint64_t declared = declared_size(en);
        if (declared > s->lim.max_member_bytes) {
            if (skip_member(s, en, name, &local))
                goto failed;
            item_flag(out, ITEM_ERROR,
                      "certificate file is %llu bytes, more than the limit of %zu bytes",
                      (unsigned long long)declared, s->lim.max_member_bytes);
            s->n_pem++;
            return 1;
        }
        buf data = BUF_INIT;
        int dr = read_data(s, s->in, s->lim.max_member_bytes, name, &data, &local);
        if (dr < 0) {
            buf_free(&data);
            item_clear(out);
            goto failed;
        }
        if (dr > 0) {
            /* The header understated the size. libarchive skips the rest, which
             * is bounded by the declared size it decodes to. */
            buf_free(&data);
            if (skip_member(s, en, name, &local)) {
                item_clear(out);
                goto failed;
            }
            item_flag(out, ITEM_ERROR,
                      "certificate file is more than the limit of %zu bytes",
                      s->lim.max_member_bytes);
            s->n_pem++;
            return 1;
        }
        out->raw = buf_take(&data, &out->raw_len);
        out->raw_kind = RAW_PEM;
        s->n_pem++;
        return 1;
    }
failed:
    err_set(e, local.code, local.where, local.line, local.item, "%s", local.msg);
    return fail(s, &local);
}

static const char *infineon_notes(void *state)
{
    infineon *s = state;
    buf_reset(&s->notes);
    if (s->n_skipped) {
        buf_printf(&s->notes, "%zu non-PEM member%s of '%s' skipped", s->n_skipped,
                   s->n_skipped == 1 ? "" : "s", s->member);
        if (s->first_skipped)
            buf_printf(&s->notes, " (e.g. '%s')", s->first_skipped);
        buf_putc(&s->notes, '\n');
    }
    if (s->done && !s->failed && s->n_pem == 0)
        buf_printf(&s->notes, "certificate archive '%s' holds no .pem files\n",
                   s->member);
    return s->notes.data ? s->notes.data : "";
}

static void infineon_free(void *state)
{
    infineon *s = state;
    if (!s)
        return;
    if (s->in)
        archive_read_free(s->in);
    free(s->inner_data);
    free(s->member);
    free(s->first_skipped);
    free(s->path);
    buf_free(&s->notes);
    free(s);
}

int infineon_open(src_impl *out, const char *path, const src_opts *opts, err *e)
{
    const char *bundle = opts->infineon_bundle ? opts->infineon_bundle : "E0E0";
    size_t i;
    for (i = 0; i < sizeof bundles / sizeof bundles[0]; i++)
        if (strcmp(bundle, bundles[i]) == 0)
            break;
    if (i == sizeof bundles / sizeof bundles[0]) {
        err_set(e, ERR_USAGE, path, 0, -1,
                "unknown Infineon bundle '%s' (expected E0E0, E0E1 or E0E2)", bundle);
        return -1;
    }

    infineon *s = xcalloc(1, sizeof *s);
    s->path = xstrdup(path);
    s->lim = opts->limits;
    if (load_certs_member(s, bundle, e))
        goto fail;

    s->in = reader_new();
    if (archive_read_open_memory(s->in, s->inner_data, s->inner_len) != ARCHIVE_OK) {
        err_set(e, ERR_FORMAT, s->path, 0, -1,
                "certificate archive '%s' is not a readable 7z archive: %s", s->member,
                la_msg(s->in));
        goto fail;
    }
    /* Read the first header now: a corrupt or encrypted certificate archive
     * is a whole-file error at open, before any item. */
    struct archive_entry *first;
    int r = inner_header(s, &first, e);
    if (r < 0)
        goto fail;
    if (r == 0)
        s->done = 1;
    else
        s->pending = first;

    out->state = s;
    out->next = infineon_next;
    out->free = infineon_free;
    out->batch_id = NULL;
    out->notes = infineon_notes;
    return 0;
fail:
    infineon_free(s);
    return -1;
}
