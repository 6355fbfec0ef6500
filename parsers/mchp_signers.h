/* mchp_signers - the Microchip manifest-signer certificates built into the
 * binary. Internal to parsers/ (used by microchip.c).
 *
 * Design: the table is generated at build time (parsers/BUILD genrule
 * mchp_signers_gen, script parsers/mchp_signers_gen.py) from the public PEM
 * files in parsers/mchp_signers/, the same five certificates Thingpress
 * deploys into its verification-certs bucket. To trust a new Microchip signer
 * without rebuilding, pass its certificate with --microchip-signers DIR.
 *
 * Threading: read-only data, any thread. */
#ifndef TP_PARSERS_MCHP_SIGNERS_H
#define TP_PARSERS_MCHP_SIGNERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mchp_signer_pem {
    const char *name; /* the source file's base name */
    const char *pem;  /* one PEM CERTIFICATE block, LF line ends */
} mchp_signer_pem;

extern const mchp_signer_pem mchp_signers[];
extern const size_t mchp_signers_count;

#ifdef __cplusplus
}
#endif
#endif
