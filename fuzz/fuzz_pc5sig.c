/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the relay signalling codec and the link
 * (prosec/relay.h): the input goes through prosec_pc5sig_frame, as one
 * message and cut into messages as a reader of the TCP stream would, and
 * each piece through prosec_pc5sig_type, every decoder, dsmc_verify,
 * complete_check and link_open.  The keys are fixed to those of
 * tests/gen_relay_vectors.py (KD-sess of RELAY-KD-SESS-1, the relay's end
 * of an EEA2/EIA2 and an EEA0/EIA2 link), so that the seeds in
 * fuzz/corpus/pc5sig get past their MAC-Is; test_relay_sig checks that
 * they do.
 *
 * Besides crashes and sanitizer findings it aborts when: frame's need is
 * out of bounds or written on error; a decoder writes an out-parameter on
 * error, or accepts a message prosec_pc5sig_type does not give its type;
 * an accepted announce, request, reject or complete does not encode back
 * to the same octets; a command's MAC-I verifies and its re-encoding
 * differs (or the other way round); a LINK_DATA opens and the peer's
 * seal at its COUNT does not give the same octets, or opens twice, or a
 * failed open changes the link; choose_alg picks what one side lacks or
 * not the first common algorithm.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/wire/pc5sig_internal.h"
#include "prosec/prosec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX = PROSEC_PC5SIG_MSG_MAX, SENTINEL = 0xA5, UNSET = 0x5A5A };

/* RELAY-KD-SESS-1 */
static const uint8_t KD_SESS[PROSEC_KD_SESS_LEN] = {
    0xf9, 0x74, 0x02, 0xb3, 0x80, 0x20, 0xbd, 0x49, 0xe7, 0x33, 0xed,
    0x2a, 0x48, 0xc8, 0xcf, 0x84, 0xc7, 0x0d, 0xaf, 0x19, 0xe9, 0xd2,
    0x67, 0xe4, 0x17, 0x91, 0xb8, 0x7d, 0xba, 0x2e, 0x41, 0xe0};

/* RELAY-DSMC-1, the command the seed complete message answers */
static const uint8_t DSMC[PROSEC_PC5SIG_DSMC_LEN] = {
    0x01, 0x03, 0x00, 0x2e, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
    0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0x0f, 0x0e, 0x02, 0x02,
    0x0a, 0x00, 0x00, 0x01, 0x14, 0xb8, 0xea, 0x8b, 0x57, 0x3f};

/* A relay end and a remote end per EEA, and a PIK per EIA. */
struct keys {
    struct prosec_link *relay[2], *remote[2];
    struct prosec_alg_key *pik[PROSEC_EIA_MAX + 1];
};

static const unsigned LINK_EEA[2] = {PROSEC_EEA2, PROSEC_EEA0};

static void must(bool ok)
{
    if (!ok) {
        abort();
    }
}

static const struct keys *keys(void)
{
    static struct keys k;
    static bool ready;
    uint8_t key[PROSEC_ALG_KEY_LEN];

    if (ready) {
        return &k;
    }
    for (int i = 0; i < 2; i++) {
        must(prosec_link_new(&k.relay[i], KD_SESS, LINK_EEA[i], PROSEC_EIA2,
                             PROSEC_LINK_RELAY,
                             PROSEC_BACKEND_AUTO) == PROSEC_OK);
        must(prosec_link_new(&k.remote[i], KD_SESS, LINK_EEA[i], PROSEC_EIA2,
                             PROSEC_LINK_REMOTE,
                             PROSEC_BACKEND_AUTO) == PROSEC_OK);
    }
    for (unsigned a = PROSEC_EIA_MIN; a <= PROSEC_EIA_MAX; a++) {
        must(prosec_pik_derive(key, KD_SESS, a) == PROSEC_OK);
        must(prosec_alg_key_new(&k.pik[a], PROSEC_BACKEND_AUTO, key,
                                sizeof(key)) == PROSEC_OK);
    }
    prosec_wipe(key, sizeof(key));
    ready = true;
    return &k;
}

static bool all(const void *p, size_t n, uint8_t v)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != v) {
            return false;
        }
    }
    return true;
}

/* An encoder's output must be exactly msg. */
static void same_octets(prosec_err err, const uint8_t *out, size_t n,
                        const uint8_t *msg, size_t len)
{
    must(err == PROSEC_OK && n == len && memcmp(out, msg, len) == 0);
}

/* ---- framing ------------------------------------------------------------- */

static void check_frame(const uint8_t *data, size_t size)
{
    enum prosec_pc5sig_type t;
    size_t need = UNSET;
    prosec_err err = prosec_pc5sig_frame(data, size, &need);
    prosec_err terr = prosec_pc5sig_type(data, size, &t);

    switch (err) {
    case PROSEC_OK:
        must(need >= PROSEC_PC5SIG_HDR_LEN && need <= size && need <= MAX);
        must((terr == PROSEC_OK) == (need == size));
        break;
    case PROSEC_ERR_PC5SIG_INCOMPLETE:
        must(need > size && need <= MAX);
        must(size >= PROSEC_PC5SIG_HDR_LEN || need == PROSEC_PC5SIG_HDR_LEN);
        must(terr == PROSEC_ERR_PC5SIG_MALFORMED);
        break;
    case PROSEC_ERR_PC5SIG_VERSION:
    case PROSEC_ERR_PC5SIG_TYPE:
    case PROSEC_ERR_PC5SIG_MALFORMED:
        must(need == UNSET && terr == err);
        break;
    default:
        abort();
    }
}

/* ---- one message, every decoder ------------------------------------------ */

static void check_announce(const uint8_t *msg, size_t len, bool typed_as)
{
    struct prosec_pc5sig_announce a, blank;
    uint8_t out[MAX];
    size_t n = 0;

    /* both set octet by octet: a struct copy need not copy padding */
    memset(&a, SENTINEL, sizeof(a));
    memset(&blank, SENTINEL, sizeof(blank));
    if (prosec_pc5sig_announce_decode(msg, len, &a) != PROSEC_OK) {
        must(memcmp(&a, &blank, sizeof(a)) == 0);
        return;
    }
    must(typed_as);
    same_octets(prosec_pc5sig_announce_encode(out, sizeof(out), &n, &a), out, n,
                msg, len);
}

static void check_dcr(const uint8_t *msg, size_t len, bool typed_as)
{
    struct prosec_pc5sig_dcr r, blank;
    uint8_t out[MAX];
    size_t n = 0;

    /* both set octet by octet: a struct copy need not copy padding */
    memset(&r, SENTINEL, sizeof(r));
    memset(&blank, SENTINEL, sizeof(blank));
    if (prosec_pc5sig_dcr_decode(msg, len, &r) != PROSEC_OK) {
        must(memcmp(&r, &blank, sizeof(r)) == 0);
        return;
    }
    must(typed_as);
    same_octets(prosec_pc5sig_dcr_encode(out, sizeof(out), &n, &r), out, n, msg,
                len);
}

/*
 * A command that decodes is verified against its own capabilities (so the
 * echo holds) under the PIK for its EIA; the encoder must agree with the
 * verdict: the same octets exactly when the MAC-I verifies.
 */
static void check_dsmc(const uint8_t *msg, size_t len, bool typed_as)
{
    const struct keys *k = keys();
    struct prosec_pc5sig_dsmc m, blank;
    uint8_t out[MAX], c[MAX];
    size_t n = 0, cn = 0;
    prosec_err verdict, enc;

    /* both set octet by octet: a struct copy need not copy padding */
    memset(&m, SENTINEL, sizeof(m));
    memset(&blank, SENTINEL, sizeof(blank));
    if (prosec_pc5sig_dsmc_decode(msg, len, &m) != PROSEC_OK) {
        must(memcmp(&m, &blank, sizeof(m)) == 0);
        /* verify checks the structure first: never a MAC-I verdict */
        verdict = prosec_pc5sig_dsmc_verify(msg, len, k->pik[PROSEC_EIA2],
                                            &(struct prosec_ue_sec_caps){0, 0});
        must(verdict != PROSEC_OK && verdict != PROSEC_ERR_PC5SIG_MAC &&
             verdict != PROSEC_ERR_PC5SIG_ECHO);
        return;
    }
    must(typed_as);
    must(m.eea <= PROSEC_EEA_MAX && m.eia >= PROSEC_EIA_MIN &&
         m.eia <= PROSEC_EIA_MAX && m.mikey.port != 0);
    verdict = prosec_pc5sig_dsmc_verify(msg, len, k->pik[m.eia], &m.caps);
    enc = prosec_pc5sig_dsmc_encode(out, sizeof(out), &n, &m, k->pik[m.eia]);
    if (enc != PROSEC_OK) {
        /* only a choice its own capabilities do not offer */
        must(enc == PROSEC_ERR_PC5SIG_ALG &&
             (verdict == PROSEC_ERR_PC5SIG_MAC ||
              verdict == PROSEC_ERR_PC5SIG_ALG));
        return;
    }
    must(n == len && memcmp(out, msg, len - PROSEC_MAC_LEN) == 0);
    must((verdict == PROSEC_OK) == (memcmp(out, msg, len) == 0));
    must(verdict == PROSEC_OK || verdict == PROSEC_ERR_PC5SIG_MAC);

    /* an authentic command can be answered, and the answer checks */
    if (verdict == PROSEC_OK) {
        must(prosec_pc5sig_complete_encode(c, sizeof(c), &cn, msg, len,
                                           k->pik[m.eia]) == PROSEC_OK);
        must(prosec_pc5sig_complete_check(c, cn, msg, len, k->pik[m.eia]) ==
             PROSEC_OK);
    }
}

static void check_complete(const uint8_t *msg, size_t len, bool typed_as)
{
    const struct keys *k = keys();
    uint8_t out[MAX];
    size_t n = 0;

    if (prosec_pc5sig_complete_check(msg, len, DSMC, sizeof(DSMC),
                                     k->pik[PROSEC_EIA2]) != PROSEC_OK) {
        return;
    }
    must(typed_as);
    same_octets(prosec_pc5sig_complete_encode(out, sizeof(out), &n, DSMC,
                                              sizeof(DSMC),
                                              k->pik[PROSEC_EIA2]),
                out, n, msg, len);
}

static void check_reject(const uint8_t *msg, size_t len, bool typed_as)
{
    enum prosec_pc5sig_type t = (enum prosec_pc5sig_type)UNSET;
    uint8_t cause = SENTINEL, out[MAX];
    size_t n = 0;

    if (prosec_pc5sig_reject_decode(msg, len, &t, &cause) != PROSEC_OK) {
        must(t == (enum prosec_pc5sig_type)UNSET && cause == SENTINEL);
        return;
    }
    must(typed_as);
    must(cause >= 1 && cause <= PROSEC_PC5SIG_CAUSE_MAX);
    same_octets(prosec_pc5sig_reject_encode(out, sizeof(out), &n, t, cause),
                out, n, msg, len);
}

/*
 * The relay end i opens msg as the link's first message.  If it opens,
 * the remote end sealing the payload at that COUNT must give msg again,
 * a second open must be a replay and a buffer one short refused; if not,
 * nothing may have changed.
 */
static void check_link(int i, const uint8_t *msg, size_t len, bool typed_as)
{
    static uint8_t out[MAX], again[MAX];
    const struct keys *k = keys();
    size_t n = UNSET, n2 = 0;
    uint32_t sent = 1, acc = 1, count = UINT32_MAX;
    prosec_err err;

    if (len >= 8) {
        count = (uint32_t)msg[4] << 24 | (uint32_t)msg[5] << 16 |
                (uint32_t)msg[6] << 8 | msg[7];
    }
    prosec__link_set_counts(k->relay[i], 0, 0);
    memset(out, SENTINEL, sizeof(out));
    err = prosec_link_open(k->relay[i], msg, len, out, sizeof(out), &n);
    prosec_link_counts(k->relay[i], &sent, &acc);
    if (err != PROSEC_OK) {
        must(n == UNSET && sent == 0 && acc == 0 && all(out, MAX, SENTINEL));
        /* only COUNT 0 can be "replayed" on a fresh link */
        must(err != PROSEC_ERR_PC5SIG_REPLAY || count == 0);
        return;
    }
    must(typed_as && n == len - PROSEC_LINK_OVERHEAD);
    must(count != 0 && acc == count);

    prosec__link_set_counts(k->remote[i], count - 1, 0);
    same_octets(
        prosec_link_seal(k->remote[i], out, n, again, sizeof(again), &n2),
        again, n2, msg, len);
    must(prosec_link_open(k->relay[i], msg, len, again, sizeof(again), &n2) ==
         PROSEC_ERR_PC5SIG_REPLAY);
    if (n > 0) {
        prosec__link_set_counts(k->relay[i], 0, 0);
        must(prosec_link_open(k->relay[i], msg, len, again, n - 1, &n2) ==
             PROSEC_ERR_BUFFER);
    }
}

static void check_message(const uint8_t *msg, size_t len)
{
    enum prosec_pc5sig_type t = (enum prosec_pc5sig_type)0;
    bool typed = prosec_pc5sig_type(msg, len, &t) == PROSEC_OK;

    check_announce(msg, len, typed && t == PROSEC_PC5SIG_ANNOUNCE);
    check_dcr(msg, len, typed && t == PROSEC_PC5SIG_DCR);
    check_dsmc(msg, len, typed && t == PROSEC_PC5SIG_DSMC);
    check_complete(msg, len, typed && t == PROSEC_PC5SIG_DSM_COMPLETE);
    check_reject(msg, len,
                 typed && (t == PROSEC_PC5SIG_DSM_REJECT ||
                           t == PROSEC_PC5SIG_LINK_REJECT));
    for (int i = 0; i < 2; i++) {
        check_link(i, msg, len, typed && t == PROSEC_PC5SIG_LINK_DATA);
    }
}

/* ---- the relay's choice -------------------------------------------------- */

/* The first of pref (n ids) in mask, or -1: the rule, written again. */
static int first(uint8_t mask, const uint8_t *pref, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((mask >> pref[i] & 1) != 0) {
            return pref[i];
        }
    }
    return -1;
}

static void check_choose(const uint8_t *data, size_t size)
{
    static const uint8_t eea_pref[] = {2, 3, 1, 0}, eia_pref[] = {2, 3, 1};
    struct prosec_ue_sec_caps off, allow;
    uint8_t eea = SENTINEL, eia = SENTINEL;
    int want_eea, want_eia;

    if (size < 4) {
        return;
    }
    off = (struct prosec_ue_sec_caps){data[0], data[1]};
    allow = (struct prosec_ue_sec_caps){data[2], data[3]};
    want_eea = first(off.eea & allow.eea, eea_pref, sizeof(eea_pref));
    want_eia = first(off.eia & allow.eia, eia_pref, sizeof(eia_pref));
    if (prosec_pc5sig_choose_alg(&off, &allow, &eea, &eia) != PROSEC_OK) {
        must((want_eea < 0 || want_eia < 0) && eea == SENTINEL &&
             eia == SENTINEL);
        return;
    }
    must(eea == want_eea && eia == want_eia);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0, need = 0;

    check_frame(data, size);
    check_message(data, size);
    /* the input as a stream: each whole message in turn */
    while (off < size &&
           prosec_pc5sig_frame(data + off, size - off, &need) == PROSEC_OK) {
        check_frame(data + off, need);
        if (off > 0 || need < size) {
            check_message(data + off, need);
        }
        off += need;
    }
    if (off < size) {
        check_frame(data + off, size - off);
    }
    check_choose(data, size);
    return 0;
}
