/* PEM and DER certificates: the DER walker (cert_inspect, also over
 * concatenated certificates), PEM block decoding (cert_pem_to_der), and the
 * PEM-bundle and DER readers as `validate --vendor pem|der` runs them. */
#include "fuzz/fuzz_common.h"
#include "parsers/cert.h"

/* What cert_inspect promises about a certificate it accepts. */
static void check_info(const cert_info *ci, const unsigned char *der, size_t len,
                       int exact)
{
    if (ci->total_len == 0 || ci->total_len > len || (exact && ci->total_len != len))
        abort();
    if (ci->cn && (ci->cn < der || ci->cn + ci->cn_len > der + ci->total_len))
        abort();
}

static void walk_der(const unsigned char *der, size_t len)
{
    char why[ITEM_MSG_MAX];
    cert_info ci;
    if (cert_inspect(&ci, der, len, 0, why, sizeof why) == 0)
        check_info(&ci, der, len, 1);
    /* concatenated certificates, as a DER chain file holds them */
    size_t off = 0;
    for (int n = 0; n < 16 && off < len; n++) {
        if (cert_inspect(&ci, der + off, len - off, 1, why, sizeof why))
            break;
        check_info(&ci, der + off, len - off, 0);
        off += ci.total_len;
    }
    char fp[65];
    cert_fingerprint(fp, der, len);
    (void)cert_pem_size(len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk_der(data, size);

    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[ITEM_MSG_MAX];
    if (cert_pem_to_der(&der, &der_len, (const char *)data, size, why, sizeof why) == 0) {
        walk_der(der, der_len);
        free(der);
    }

    src_opts pem = {.vendor = VENDOR_PEM};
    fz_drain(fz_write("in.pem", data, size), &pem);
    src_opts d = {.vendor = VENDOR_DER};
    fz_drain(fz_write("in.der", data, size), &d);
    return 0;
}
