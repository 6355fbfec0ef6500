/* Vendor names (DESIGN.md §4) and the default input limits. */
#include <stddef.h>
#include <strings.h>

#include "parsers/src.h"

static const char *const names[] = {
    [VENDOR_AUTO] = "auto",
    [VENDOR_ESPRESSIF] = "espressif",
    [VENDOR_INFINEON] = "infineon",
    [VENDOR_MICROCHIP] = "microchip",
    [VENDOR_GENERATED] = "generated",
    [VENDOR_PEM] = "pem",
    [VENDOR_DER] = "der",
    [VENDOR_DEVICE_INFOS] = "device-infos",
};

const char *vendor_name(vendor v)
{
    if ((unsigned)v >= sizeof names / sizeof names[0])
        return "?";
    return names[v];
}

int vendor_parse(vendor *out, const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strcasecmp(name, names[i])) {
            *out = (vendor)i;
            return 0;
        }
    }
    return -1;
}

int vendor_is_phase2(vendor v)
{
    return v == VENDOR_DEVICE_INFOS;
}

src_limits src_default_limits(void)
{
    src_limits l = {
        .max_line = 256 * 1024,
        .max_entries = 100000,
        .max_member_bytes = 64u << 20,
        .max_total_bytes = 512u << 20,
        .max_json_bytes = 256u << 20,
    };
    return l;
}
