/* Infineon reel bundles (--vendor infineon): an archive of archives read with
 * libarchive (7z, zip or tar at both levels), with the entry, member and
 * decompression-bomb limits set low so the fuzzer can reach them.
 *
 * Each input is read twice: as the outer archive itself, and as the inner
 * certificate archive of a bundle that the target builds around it (an outer
 * ustar holding README.txt and `<reel>_<guid>_E0E0_Certs.7z` = the input), so
 * mutations reach the member iteration and PEM handling without first having
 * to produce a valid outer 7z. */
#include <archive.h>
#include <archive_entry.h>

#include "fuzz/fuzz_common.h"

static const src_limits limits = {
    .max_line = 1 << 16,
    .max_entries = 64,
    .max_member_bytes = 1 << 20,
    .max_total_bytes = 4 << 20,
    .max_json_bytes = 1 << 20,
};

static void add_member(struct archive *a, const char *name, const void *p, size_t n)
{
    struct archive_entry *en = archive_entry_new();
    archive_entry_set_pathname(en, name);
    archive_entry_set_size(en, (la_int64_t)n);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    if (archive_write_header(a, en) != ARCHIVE_OK ||
        (n && archive_write_data(a, p, n) != (la_ssize_t)n))
        abort();
    archive_entry_free(en);
}

/* An outer ustar around inner[0..n); returns malloc'd bytes in *out. */
static size_t wrap(unsigned char **out, const uint8_t *inner, size_t n)
{
    static const char readme[] = "Infineon OPTIGA Trust M reel bundle\n";
    size_t cap = n + 8192, used = 0;
    *out = malloc(cap);
    struct archive *a = archive_write_new();
    if (!*out || !a || archive_write_set_format_ustar(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_memory(a, *out, cap, &used) != ARCHIVE_OK)
        abort();
    add_member(a, "README.txt", readme, sizeof readme - 1);
    add_member(a, "reel1_0f1e2d3c_E0E0_Certs.7z", inner, n);
    if (archive_write_close(a) != ARCHIVE_OK)
        abort();
    archive_write_free(a);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const bundles[] = {"E0E0", "E0E1", "E0E2"};
    src_opts o = {.vendor = VENDOR_INFINEON, .limits = limits};
    o.infineon_bundle = bundles[size % 3];
    fz_drain(fz_write("in.7z", data, size), &o);

    unsigned char *outer = NULL;
    size_t n = wrap(&outer, data, size);
    o.infineon_bundle = "E0E0";
    fz_drain(fz_write("bundle.7z", outer, n), &o);
    free(outer);
    return 0;
}
