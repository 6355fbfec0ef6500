/* "Generated" certificate files: one base64 line per certificate (base64 of
 * PEM text or of DER), through the streaming line reader. A small line cap
 * is used on every other input so the too-long-line path is reached too. */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("in.txt", data, size);
    src_opts o = {.vendor = VENDOR_GENERATED};
    if (size && (data[0] & 1))
        o.limits.max_line = 96;
    fz_drain(path, &o);
    return 0;
}
