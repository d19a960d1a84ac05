/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UE-to-network relays (TS 33.303 6.7): the key derivations that
 * authenticate a remote device to a relay through the KMF, the signalling
 * between them (prosec's own byte format, docs/wire.md "Relay signalling")
 * and the protected one-to-one link that follows.
 *
 *   remote                         relay                          KMF
 *   DIRECT_COMM_REQUEST  ------->  (PRUK ID, Nonce_1, caps)
 *                                  KD for PRUK ID, freshness ---> KD
 *                                  KD-sess = KDF(KD, Nonce_1, Nonce_2)
 *                        <-------  DIRECT_SECURITY_MODE_COMMAND (MAC-I)
 *   KD from its PRUK, KD-sess,
 *   check MAC-I and the echo
 *   DIRECT_SECURITY_MODE_COMPLETE -> check MAC-I
 *   LINK_DATA            <------>  LINK_DATA (PEK/PIK from KD-sess)
 *
 * Every message on the link's TCP stream is one of the messages here:
 * version (1) | type (1) | body length (2) | body.  prosec_pc5sig_frame
 * cuts a stream into messages.  Decoders check every length and range,
 * never read past the input, refuse trailing octets, and leave their
 * out-parameters alone on error.  Nothing here reads a clock, draws random
 * numbers (nonces and the KD freshness come from the caller, who draws
 * them fresh from a CSPRNG for every request) or logs.
 */
#ifndef PROSEC_RELAY_H
#define PROSEC_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "constants.h"
#include "crypto.h"
#include "error.h"

/* ---- key derivations ---------------------------------------------------- */

/*
 * KD = KDF(PRUK, FC PROSEC_FC_KD, KD freshness (16 octets)), TS 33.303
 * A.7; the KMF computes it for the relay, the remote device from its own
 * PRUK.  See constants.h for what of the layout is verified.
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_CRYPTO_LIB.  On error kd is not
 * written.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_kd_derive(uint8_t kd[PROSEC_KD_LEN], const uint8_t pruk[PROSEC_PRUK_LEN],
                 const uint8_t freshness[PROSEC_KD_FRESHNESS_LEN]);

/*
 * KD-sess = KDF(KD, FC PROSEC_FC_KD_SESS, Nonce_1, Nonce_2), 16 octets
 * each: Nonce_1 from the remote device's request, Nonce_2 from the relay's
 * security mode command.  PEK and PIK then come from KD-sess with
 * prosec_pek_derive and prosec_pik_derive (TS 33.303 A.4), as
 * prosec_link_new does.
 *
 * Errors: PROSEC_ERR_NULL, PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_kd_sess_derive(
    uint8_t kd_sess[PROSEC_KD_SESS_LEN], const uint8_t kd[PROSEC_KD_LEN],
    const uint8_t nonce1[PROSEC_NONCE_LEN],
    const uint8_t nonce2[PROSEC_NONCE_LEN]);

/* ---- signalling: numbers ------------------------------------------------- */

/* The message types (octet 1 of every message). */
enum prosec_pc5sig_type {
    PROSEC_PC5SIG_ANNOUNCE = 1,     /* relay, multicast PC5: unprotected */
    PROSEC_PC5SIG_DCR = 2,          /* remote: DIRECT_COMM_REQUEST */
    PROSEC_PC5SIG_DSMC = 3,         /* relay: DIRECT_SECURITY_MODE_COMMAND */
    PROSEC_PC5SIG_DSM_COMPLETE = 4, /* remote: ..._COMPLETE */
    PROSEC_PC5SIG_DSM_REJECT = 5,   /* remote: ..._REJECT, unprotected */
    PROSEC_PC5SIG_LINK_REJECT = 6,  /* relay: request refused, unprotected */
    PROSEC_PC5SIG_LINK_DATA = 7     /* either: protected payload */
};

/* Whole-message lengths, header included, and limits. */
enum prosec_pc5sig_limits {
    PROSEC_PC5SIG_VERSION = 1,
    PROSEC_PC5SIG_HDR_LEN = 4,
    PROSEC_PC5SIG_ANNOUNCE_LEN = PROSEC_PC5SIG_HDR_LEN + 12,
    PROSEC_PC5SIG_DCR_LEN = PROSEC_PC5SIG_HDR_LEN + 29,
    PROSEC_PC5SIG_DSMC_LEN = PROSEC_PC5SIG_HDR_LEN + 46,
    PROSEC_PC5SIG_COMPLETE_LEN = PROSEC_PC5SIG_HDR_LEN + PROSEC_MAC_LEN,
    PROSEC_PC5SIG_REJECT_LEN = PROSEC_PC5SIG_HDR_LEN + 1,
    PROSEC_LINK_PAYLOAD_MAX = 16384, /* plaintext octets per LINK_DATA */
    /* header, COUNT and MAC-I around the payload */
    PROSEC_LINK_OVERHEAD = PROSEC_PC5SIG_HDR_LEN + 4 + PROSEC_MAC_LEN,
    PROSEC_PC5SIG_MSG_MAX = PROSEC_LINK_OVERHEAD + PROSEC_LINK_PAYLOAD_MAX
};

/* Why a request or a security mode command was refused (1 octet). */
enum prosec_pc5sig_cause {
    PROSEC_PC5SIG_CAUSE_UNKNOWN_PRUK = 1,   /* the KMF knows no such PRUK */
    PROSEC_PC5SIG_CAUSE_AUTH_FAILED = 2,    /* a MAC-I did not verify */
    PROSEC_PC5SIG_CAUSE_NO_COMMON_ALG = 3,  /* or an echo mismatch */
    PROSEC_PC5SIG_CAUSE_NOT_AUTHORISED = 4, /* the KMF refused the device */
    PROSEC_PC5SIG_CAUSE_REPLAYED = 5,       /* a request seen before */
    PROSEC_PC5SIG_CAUSE_MAX = 5
};

/*
 * UE security capabilities: bit i (value 1 << i) set = 128-EEAi, or
 * 128-EIAi, offered.  EEA bits 0..3 and EIA bits 1..3 exist; the others
 * (EIA0 included: there is no null integrity) must be 0.
 */
struct prosec_ue_sec_caps {
    uint8_t eea;
    uint8_t eia;
};
enum { PROSEC_CAPS_EEA_MASK = 0x0F, PROSEC_CAPS_EIA_MASK = 0x0E };

/* An IPv4 socket address: the octets in network order, the port as is. */
struct prosec_pc5sig_addr {
    uint8_t ipv4[4];
    uint16_t port; /* 1..65535 */
};

/* ---- signalling: framing ------------------------------------------------ */

/*
 * The message at the start of buf (avail octets, buf may be NULL when
 * avail is 0) of a TCP stream: checks its header and sets *need to the
 * octets the whole message takes.  Returns PROSEC_OK when buf holds all
 * of it; PROSEC_ERR_PC5SIG_INCOMPLETE when more octets are needed (then
 * *need says how many in all: PROSEC_PC5SIG_HDR_LEN while the header is
 * incomplete, the whole message once it is known); otherwise the stream
 * cannot be trusted any further and the connection should be dropped:
 * PROSEC_ERR_PC5SIG_VERSION, PROSEC_ERR_PC5SIG_TYPE, or
 * PROSEC_ERR_PC5SIG_MALFORMED (a body length that type cannot have, so a
 * peer can never make a reader wait for more than PROSEC_PC5SIG_MSG_MAX
 * octets).  PROSEC_ERR_NULL when need is NULL.  Unlike other functions
 * here, *need is also set with PROSEC_ERR_PC5SIG_INCOMPLETE.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pc5sig_frame(const uint8_t *buf, size_t avail, size_t *need);

/*
 * The type of the message in msg (exactly len octets: one whole message,
 * as prosec_pc5sig_frame cut it), after the checks of prosec_pc5sig_frame
 * and that len is its length.  Errors: PROSEC_ERR_NULL, those of
 * prosec_pc5sig_frame (PROSEC_ERR_PC5SIG_MALFORMED for a short or long
 * message rather than INCOMPLETE).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pc5sig_type(
    const uint8_t *msg, size_t len, enum prosec_pc5sig_type *type);

/* ---- signalling: messages ------------------------------------------------ */

/*
 * Encoders write one whole message into out (capacity cap) and set
 * *out_len; they refuse fields out of range (PROSEC_ERR_ARG,
 * PROSEC_ERR_L2_ID) and a short buffer (PROSEC_ERR_BUFFER), and write
 * nothing then.  Decoders take exactly one message (len octets) and fail
 * with PROSEC_ERR_NULL, PROSEC_ERR_PC5SIG_VERSION, PROSEC_ERR_PC5SIG_TYPE
 * (another type than theirs, too) or PROSEC_ERR_PC5SIG_MALFORMED (a
 * length, a reserved bit or a field out of range).
 */

/*
 * RELAY_ANNOUNCE: who the relay is and where it takes remote devices.
 * Unprotected, unlike TS 33.303 discovery: anyone on the PC5 channel can
 * announce a relay, and only the security mode command proves one.
 */
struct prosec_pc5sig_announce {
    uint32_t relay_l2_id;          /* 24 bits */
    struct prosec_pc5sig_addr tcp; /* where the relay accepts links */
    uint32_t service_code;         /* relay service code, 24 bits, opaque */
};

PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pc5sig_announce_encode(uint8_t *out, size_t cap, size_t *out_len,
                              const struct prosec_pc5sig_announce *a);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pc5sig_announce_decode(
    const uint8_t *msg, size_t len, struct prosec_pc5sig_announce *a);

/* DIRECT_COMM_REQUEST: the remote device asks the relay for service. */
struct prosec_pc5sig_dcr {
    uint32_t remote_l2_id; /* 24 bits */
    uint8_t pruk_id[PROSEC_PRUK_ID_LEN];
    uint8_t nonce1[PROSEC_NONCE_LEN];
    struct prosec_ue_sec_caps caps;
};

PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pc5sig_dcr_encode(uint8_t *out, size_t cap, size_t *out_len,
                         const struct prosec_pc5sig_dcr *r);
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pc5sig_dcr_decode(
    const uint8_t *msg, size_t len, struct prosec_pc5sig_dcr *r);

/*
 * The relay's choice for a request's capabilities among the algorithms
 * it allows (masks as in struct prosec_ue_sec_caps): the first offered by
 * both in the order EEA2, EEA3, EEA1, EEA0 and EIA2, EIA3, EIA1.  EEA0 is
 * chosen only when both list it.  Errors: PROSEC_ERR_NULL,
 * PROSEC_ERR_PC5SIG_ALG (nothing in common: answer LINK_REJECT with
 * PROSEC_PC5SIG_CAUSE_NO_COMMON_ALG).  *eea and *eia are set only on
 * success.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pc5sig_choose_alg(const struct prosec_ue_sec_caps *offered,
                         const struct prosec_ue_sec_caps *allowed,
                         uint8_t *eea, uint8_t *eia);

/*
 * DIRECT_SECURITY_MODE_COMMAND, relay to remote, not ciphered: the fields
 * the remote needs to derive KD, KD-sess, PEK and PIK, the capabilities of
 * the request echoed as received, and MAC-I = EIA<eia>(PIK, COUNT 0,
 * BEARER 0, DIRECTION 1, every octet of the message before the MAC-I).
 */
struct prosec_pc5sig_dsmc {
    uint8_t nonce2[PROSEC_NONCE_LEN];
    uint8_t kd_freshness[PROSEC_KD_FRESHNESS_LEN];
    struct prosec_ue_sec_caps caps; /* the request's, echoed */
    uint8_t eea;                    /* 0..3, offered in caps */
    uint8_t eia;                    /* 1..3, offered in caps */
    /* the relay's upstream address where the KMF pushes MIKEY for this
     * remote device; the relay forwards those datagrams over the link */
    struct prosec_pc5sig_addr mikey;
    uint8_t mac[PROSEC_MAC_LEN]; /* set by decode; encode ignores it */
};

/*
 * Writes the command for m, its MAC-I computed with pik, which must be
 * the PIK for 128-EIA<m->eia> from this KD-sess (prosec_link_pik of the
 * relay's link).  Errors: as for every encoder, PROSEC_ERR_NULL,
 * PROSEC_ERR_PC5SIG_ALG (eea or eia out of range or not offered in
 * m->caps), PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pc5sig_dsmc_encode(
    uint8_t *out, size_t cap, size_t *out_len,
    const struct prosec_pc5sig_dsmc *m, struct prosec_alg_key *pik);

/*
 * Reads the command without a key: its fields are what the remote device
 * needs to derive the keys, and none of them is authenticated until
 * prosec_pc5sig_dsmc_verify has passed.  Errors: as for every decoder
 * (eea above 3, eia outside 1..3, port 0 and reserved capability bits are
 * malformed).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pc5sig_dsmc_decode(
    const uint8_t *msg, size_t len, struct prosec_pc5sig_dsmc *m);

/*
 * The remote device's check of a command: the structure as decode, then
 * the MAC-I under pik (the PIK for the command's EIA, derived from the
 * remote's own PRUK through the command's KD freshness and Nonce_2) in
 * constant time, and only then that the echoed capabilities equal sent
 * (what the request carried) and that the chosen algorithms are among
 * them.  Errors: those of decode, PROSEC_ERR_PC5SIG_MAC (wrong key: a
 * wrong PRUK, a relay without the KMF's KD, an altered field),
 * PROSEC_ERR_PC5SIG_ECHO (a bidding-down attempt), PROSEC_ERR_PC5SIG_ALG,
 * PROSEC_ERR_CRYPTO_LIB.  Answer any of them with DSM_REJECT.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pc5sig_dsmc_verify(const uint8_t *msg, size_t len,
                          struct prosec_alg_key *pik,
                          const struct prosec_ue_sec_caps *sent);

/*
 * DIRECT_SECURITY_MODE_COMPLETE, remote to relay: header || MAC-I, where
 * MAC-I = EIA(PIK, COUNT 0, BEARER 0, DIRECTION 0, header || dsmc), dsmc
 * being the whole command the remote accepted (dsmc_len octets, exactly
 * as received; its EIA is used).  The MAC-I proves the PIK, hence the
 * PRUK, and binds the answer to that very command.  Errors of encode: as
 * every encoder, those of prosec_pc5sig_dsmc_decode for dsmc,
 * PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pc5sig_complete_encode(
    uint8_t *out, size_t cap, size_t *out_len, const uint8_t *dsmc,
    size_t dsmc_len, struct prosec_alg_key *pik);

/*
 * The relay's check of a complete message against the command it sent
 * (dsmc, dsmc_len octets), MAC-I compared in constant time.  Errors: as
 * every decoder, those of prosec_pc5sig_dsmc_decode for dsmc,
 * PROSEC_ERR_PC5SIG_MAC (answer LINK_REJECT with
 * PROSEC_PC5SIG_CAUSE_AUTH_FAILED), PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_pc5sig_complete_check(
    const uint8_t *msg, size_t len, const uint8_t *dsmc, size_t dsmc_len,
    struct prosec_alg_key *pik);

/*
 * DIRECT_SECURITY_MODE_REJECT (type PROSEC_PC5SIG_DSM_REJECT) or
 * LINK_REJECT (PROSEC_PC5SIG_LINK_REJECT): one cause octet, 1 to
 * PROSEC_PC5SIG_CAUSE_MAX.  Unprotected and so only informational: a
 * receiver closes the connection but believes nothing else of it.
 * Decode also fails with PROSEC_ERR_PC5SIG_TYPE for the other types.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pc5sig_reject_encode(uint8_t *out, size_t cap, size_t *out_len,
                            enum prosec_pc5sig_type type, uint8_t cause);
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_pc5sig_reject_decode(const uint8_t *msg, size_t len,
                            enum prosec_pc5sig_type *type, uint8_t *cause);

/* ---- the protected link ------------------------------------------------- */

/*
 * One side of an established link: PEK (EEA eea) and PIK (EIA eia)
 * derived from KD-sess, and a 32-bit COUNT per direction.  LINK_DATA is
 * header || COUNT (4) || EEA(PEK, COUNT, BEARER 0, DIRECTION,
 * payload || MAC-I), MAC-I = EIA(PIK, COUNT, BEARER 0, DIRECTION,
 * header || COUNT || payload); DIRECTION is 1 from relay to remote, 0 the
 * other way.  COUNT 0 belongs to the security mode messages; LINK_DATA
 * starts at 1 and goes up by one per message.  The TCP stream keeps
 * order, so a receiver accepts only a COUNT above the last one it
 * accepted.  Opaque; not for two threads at once.
 */
struct prosec_link;

enum prosec_link_role {
    PROSEC_LINK_RELAY = 1, /* sends DIRECTION 1, receives 0 */
    PROSEC_LINK_REMOTE = 2 /* sends DIRECTION 0, receives 1 */
};

/*
 * A link for role from kd_sess (copied keys only: kd_sess may be wiped
 * right after) with EEA eea (0..3) and EIA eia (1..3), the algorithms
 * running on backend b.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_ARG (role),
 * PROSEC_ERR_ALG_ID, PROSEC_ERR_NOMEM, the errors of prosec_alg_key_new.
 * *out is set only on success.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_link_new(
    struct prosec_link **out, const uint8_t kd_sess[PROSEC_KD_SESS_LEN],
    unsigned eea, unsigned eia, enum prosec_link_role role,
    enum prosec_backend b);

/* Wipes the keys and frees l; NULL does nothing. */
PROSEC_API void prosec_link_free(struct prosec_link *l);

/*
 * The link's PIK, for prosec_pc5sig_dsmc_encode, _verify,
 * prosec_pc5sig_complete_encode and _check; owned by l.  NULL when l is.
 */
PROSEC_API struct prosec_alg_key *prosec_link_pik(struct prosec_link *l);

/*
 * Protects len octets of plaintext (at most PROSEC_LINK_PAYLOAD_MAX; may
 * be NULL when len is 0) into one LINK_DATA message in out (capacity cap,
 * at least len + PROSEC_LINK_OVERHEAD); *out_len gets its length.  out
 * must not overlap plaintext.  Uses the next COUNT of l's sending
 * direction.  Errors: PROSEC_ERR_NULL, PROSEC_ERR_PC5SIG_TOO_LARGE,
 * PROSEC_ERR_BUFFER, PROSEC_ERR_OVERLAP, PROSEC_ERR_PC5SIG_COUNT (COUNT
 * 0xFFFFFFFF was used: set a new link up), PROSEC_ERR_CRYPTO_LIB.  A
 * failed call uses no COUNT and leaves out unwritten.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_link_seal(struct prosec_link *l, const uint8_t *plaintext, size_t len,
                 uint8_t *out, size_t cap, size_t *out_len);

/*
 * Checks one LINK_DATA message (len octets) from the peer and writes its
 * payload to out (capacity cap; *out_len gets its length).  Order: the
 * structure, then decipher into l's own buffer, then the MAC-I in
 * constant time, and only then that COUNT is above the last accepted in
 * this direction; nothing is written and no state changes unless all
 * pass.  Errors: PROSEC_ERR_NULL, those of a decoder,
 * PROSEC_ERR_PC5SIG_MAC (altered, forged, wrong key or wrong direction),
 * PROSEC_ERR_PC5SIG_REPLAY (replayed or reordered), PROSEC_ERR_BUFFER,
 * PROSEC_ERR_CRYPTO_LIB.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_link_open(struct prosec_link *l, const uint8_t *msg, size_t len,
                 uint8_t *out, size_t cap, size_t *out_len);

/* The last COUNT sent and the last accepted (0: none yet); either may be
 * NULL.  For the daemons' status and for re-keying before exhaustion. */
PROSEC_API void prosec_link_counts(const struct prosec_link *l,
                                   uint32_t *sent, uint32_t *accepted);

#endif
