/* Device-infos JSON (Phase 2, from the MES): batch id, devices, attributes,
 * through the reader and every validation rule. */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("in.json", data, size);
    src_opts o = {.vendor = VENDOR_DEVICE_INFOS};
    fz_drain(path, &o);
    return 0;
}
