/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key chain of a UE-to-network relay link (TS 33.303 6.7): KD from the
 * remote device's PRUK and the relay's KD freshness, KD-sess from KD and
 * the two nonces.  Both are the KDF of TS 33.220 Annex B; constants.h says
 * which FC values are verified and which are chosen.
 */
#include "prosec/kdf.h"
#include "prosec/relay.h"

prosec_err prosec_kd_derive(uint8_t kd[PROSEC_KD_LEN],
                            const uint8_t pruk[PROSEC_PRUK_LEN],
                            const uint8_t freshness[PROSEC_KD_FRESHNESS_LEN])
{
    struct prosec_kdf_param p0 = {freshness, PROSEC_KD_FRESHNESS_LEN};

    if (kd == NULL || pruk == NULL || freshness == NULL) {
        return PROSEC_ERR_NULL;
    }
    /* S = FC || KD freshness || 0x00 0x10 */
    return prosec_kdf(kd, pruk, PROSEC_PRUK_LEN, PROSEC_FC_KD, &p0, 1);
}

prosec_err prosec_kd_sess_derive(uint8_t kd_sess[PROSEC_KD_SESS_LEN],
                                 const uint8_t kd[PROSEC_KD_LEN],
                                 const uint8_t nonce1[PROSEC_NONCE_LEN],
                                 const uint8_t nonce2[PROSEC_NONCE_LEN])
{
    struct prosec_kdf_param p[2] = {{nonce1, PROSEC_NONCE_LEN},
                                    {nonce2, PROSEC_NONCE_LEN}};

    if (kd_sess == NULL || kd == NULL || nonce1 == NULL || nonce2 == NULL) {
        return PROSEC_ERR_NULL;
    }
    /* S = FC || Nonce_1 || 0x00 0x10 || Nonce_2 || 0x00 0x10: the remote's
     * nonce first, as TS 33.536 orders KNRP-sess */
    return prosec_kdf(kd_sess, kd, PROSEC_KD_LEN, PROSEC_FC_KD_SESS, p, 2);
}
