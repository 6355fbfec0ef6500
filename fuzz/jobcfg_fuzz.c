/* Job configuration files (--config): our own TOML subset and a SAM
 * samconfig.toml's parameter_overrides, then the combination check and the
 * job identity, as `provision --config FILE` does. */
#include "engine/jobcfg.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The file name matters to nothing but messages; use both spellings. */
    const char *path =
        fz_write(size && (data[0] & 1) ? "samconfig.toml" : "job.toml", data, size);
    jobcfg c;
    err e;
    jobcfg_init(&c);
    err_clear(&e);
    if (jobcfg_load(&c, path, &e) == 0) {
        err_clear(&e);
        (void)jobcfg_check(&c, &e);
        buf id = BUF_INIT;
        jobcfg_identity(&c, &id);
        buf_free(&id);
    }
    jobcfg_free(&c);
    return 0;
}
