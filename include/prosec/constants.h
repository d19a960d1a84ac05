/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every protocol number of prosec in one place: lengths, algorithm ids and
 * the FC values of the TS 33.220 Annex B key derivation function.  _LEN is
 * in octets, _BITS in bits.
 */
#ifndef PROSEC_CONSTANTS_H
#define PROSEC_CONSTANTS_H

/* Key and field sizes (TS 33.303, DESIGN.md "Identities and keys"). */
enum prosec_lengths {
    PROSEC_KDF_OUT_LEN = 32,          /* HMAC-SHA-256 output */
    PROSEC_PGK_LEN = 32,              /* ProSe Group Key */
    PROSEC_PTK_LEN = 32,              /* ProSe Traffic Key */
    PROSEC_ALG_KEY_LEN = 16,          /* 128-EEAx / 128-EIAx key, PEK, PIK */
    PROSEC_MAC_LEN = 4,               /* MAC-I */
    PROSEC_L2_ID_LEN = 3,             /* Group ID, Group Member ID */
    PROSEC_PTK_ID_LEN = 2,            /* PTK ID */
    PROSEC_KDF_MAX_PARAMS = 16,       /* P0..P15 */
    PROSEC_KDF_MAX_PARAM_LEN = 0xFFFF /* Li is two octets */
};

/* Relay keys and their inputs (TS 33.303 6.7, DESIGN.md "Relays"). */
enum prosec_relay_lengths {
    PROSEC_PRUK_LEN = 32,         /* ProSe Relay User Key */
    PROSEC_PRUK_ID_LEN = 8,       /* PRUK ID, as prosec's KMF assigns it */
    PROSEC_KD_LEN = 32,           /* KD */
    PROSEC_KD_SESS_LEN = 32,      /* KD-sess */
    PROSEC_NONCE_LEN = 16,        /* Nonce_1, Nonce_2 */
    PROSEC_KD_FRESHNESS_LEN = 16 /* KD freshness parameter */
};

/* The one-to-many PDU and the sidelink frame (DESIGN.md). */
enum prosec_pdu_limits {
    PROSEC_PDU_HDR_LEN = 5,     /* SDU type|index, PTK ID, SN */
    PROSEC_PDU_DATA_MAX = 9000, /* PDCP SDU, TS 36.323 */
    PROSEC_PDU_MAX = PROSEC_PDU_HDR_LEN + PROSEC_PDU_DATA_MAX + 4,
    PROSEC_FRAME_HDR_LEN = 7, /* version, source, destination */
    PROSEC_FRAME_MAX = PROSEC_FRAME_HDR_LEN + PROSEC_PDU_MAX,
    PROSEC_FRAME_VERSION = 1,
    PROSEC_PGK_INDEX_MASK = 0x1F, /* 5 low bits of the PGK ID */
    PROSEC_PTK_ID_MAX = 0xFFFE,   /* 0xFFFF means exhausted */
    PROSEC_SN_MAX = 0xFFFF
};

/* SDU type, the 3 high bits of octet 0 (TS 36.323 6.2.10). */
enum prosec_sdu_type {
    PROSEC_SDU_IP = 0,
    PROSEC_SDU_ARP = 1,
    PROSEC_SDU_PC5_SIGNALLING = 2,
    PROSEC_SDU_NON_IP = 3,
    PROSEC_SDU_TYPE_MAX = 3 /* 4..7 are reserved */
};

/* Field limits of the 3GPP algorithm inputs (TS 33.401 Annex B). */
enum prosec_alg_limits {
    PROSEC_BEARER_MAX = 31,     /* 5 bits */
    PROSEC_DIRECTION_MAX = 1,   /* 1 bit */
    PROSEC_L2_ID_MAX = 0xFFFFFF /* 24 bits */
};

/* Algorithm ids, 4 bits (TS 33.303, TS 33.401 5.1.3). */
enum prosec_eea_id {
    PROSEC_EEA0 = 0, /* null ciphering */
    PROSEC_EEA1 = 1, /* SNOW 3G */
    PROSEC_EEA2 = 2, /* AES-128-CTR */
    PROSEC_EEA3 = 3  /* ZUC */
};
enum prosec_eia_id {
    PROSEC_EIA1 = 1, /* SNOW 3G */
    PROSEC_EIA2 = 2, /* AES-128-CMAC */
    PROSEC_EIA3 = 3  /* ZUC */
};
enum { PROSEC_EEA_MAX = 3, PROSEC_EIA_MIN = 1, PROSEC_EIA_MAX = 3 };

/*
 * FC values of the KDF (TS 33.220 Annex B; the values are allocated in
 * TS 33.220 Annex A.2).
 *
 * PTK: verified against TS 33.303 A.3: S = 0x4A || Group Member ID || L0 ||
 * PTK ID || L1 || Group ID || L2.
 * PEK/PIK: TS 33.303 A.4 (algorithm key derivation), laid out as its
 * sister specifications TS 33.533 and TS 33.536 show it: S = 0x4B || P0 ||
 * L0 || algorithm id || L1, with P0 one of the algorithm type
 * distinguishers below.
 *
 * KD (TS 33.303 A.7, "Calculation of KD for UE-to-network relays"): not
 * verified against TS 33.303: the clause exists (its table of contents,
 * tech-invite.com tinv-3gpp-33-303_c.html) but its text could not be
 * read.  Chosen as 0x4C, the value after 0x4A and 0x4B, with
 * S = 0x4C || KD freshness || 0x00 0x10, the one-freshness form of the 5G
 * sister derivation (TS 33.503 A.8: KNRP from UP-PRUK, FC 0x8A, Relay
 * Service Code and two 16-octet freshness parameters, itecspec.com
 * 3gpp-33-503-a-8).
 * KD-sess: not verified against TS 33.303: its Annex A (A.1 to A.8) has
 * no KD-sess clause, though A.4 takes KD-sess as the input key of the
 * PEK/PIK derivation.  Chosen as 0x4D, with the layout of TS 33.536's
 * KNRP-sess (FC 0x7F there, tech-invite.com tinv-3gpp-33-536_f.html):
 * S = 0x4D || Nonce_1 || 0x00 0x10 || Nonce_2 || 0x00 0x10.
 * PEK/PIK from KD-sess: the derivation from the PTK above (FC 0x4B) with
 * KD-sess as its key, since TS 33.303 A.4 is one clause for both inputs
 * ("Calculation of keys from PTK and KD-sess", same table of contents).
 */
enum prosec_fc {
    PROSEC_FC_PTK = 0x4A,
    PROSEC_FC_ALG_KEY = 0x4B,
    PROSEC_FC_KD = 0x4C,     /* not verified against TS 33.303: chosen */
    PROSEC_FC_KD_SESS = 0x4D /* not verified against TS 33.303: chosen */
};

/* P0 of the PEK/PIK derivation: the algorithm type distinguisher. */
enum prosec_alg_type {
    PROSEC_ALG_TYPE_PEK = 0x00, /* confidentiality */
    PROSEC_ALG_TYPE_PIK = 0x01  /* integrity */
};

#endif
