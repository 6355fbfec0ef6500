/* Espressif CSV manifests: the RFC 4180 tokenizer (csv.h) with tight caps,
 * then the Espressif reader (MAC + certificate columns) as `validate` runs it. */
#include "fuzz/fuzz_common.h"
#include "parsers/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("in.csv", data, size);

    /* The tokenizer alone, with caps small enough that the fuzzer reaches
     * the too-long field / row / too-many-fields paths. */
    csv_limits lim = {.max_field = 24, .max_fields = 5, .max_row = 64};
    err e;
    err_clear(&e);
    csv *c = csv_open(path, &lim, &e);
    if (c) {
        for (int rows = 0; rows < 256 && csv_next_row(c, &e) == 1; rows++) {
            size_t n = csv_nfields(c);
            for (size_t i = 0; i < n; i++) {
                size_t len = 0;
                const char *f = csv_field(c, i, &len);
                if (f && strlen(f) > len) /* NUL-terminated at len */
                    abort();
            }
            (void)csv_row_line(c);
            (void)csv_row_problem(c);
        }
        csv_free(c);
    }

    src_opts o = {.vendor = VENDOR_ESPRESSIF};
    fz_drain(path, &o);
    return 0;
}
