/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group protection: the PROSE-* test data through the library, the key
 * ring's rules, the replay window as a numbered table, two senders with
 * the same counters, every bit flip of an integrity-protected PDU, a crash
 * at every step of the PTK ID reservation, and the receiver's bounded
 * state under a flood of forged senders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prosec/prosec.h"
#include "vecfile.h"

enum { GROUP = 0xd4e5f6, ALICE = 0xa1b2c3, BOB = 0x0b0b0b, T0 = 1000000 };

static const uint8_t pgk_bytes[32] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static struct prosec_pgk make_pgk(uint8_t id, int64_t act, int64_t exp,
                                  uint8_t alg, enum prosec_profile prof,
                                  uint32_t member)
{
    struct prosec_pgk p;

    memset(&p, 0, sizeof(p));
    memcpy(p.key, pgk_bytes, sizeof(p.key));
    p.key[0] = id; /* a different key per PGK ID */
    p.pgk_id = id;
    p.activation = act;
    p.expiry = exp;
    p.alg = alg;
    p.profile = prof;
    p.member_id = member;
    return p;
}

/* Protects data as `member` with (ptk_id, sn) under pgk, statelessly. */
static size_t protect_as(const struct prosec_pgk *pgk, uint32_t member,
                         uint16_t ptk_id, uint16_t sn, const uint8_t *data,
                         size_t len, uint8_t *out)
{
    struct prosec_ptk_keys *k = NULL;
    struct prosec_pdu_hdr h = {PROSEC_SDU_NON_IP,
                               pgk->pgk_id & PROSEC_PGK_INDEX_MASK, ptk_id, sn};
    size_t n = 0;

    assert_int_equal(prosec_ptk_keys_new(&k, pgk, GROUP, member, ptk_id,
                                         PROSEC_BACKEND_AUTO),
                     PROSEC_OK);
    assert_int_equal(
        prosec_pdu_protect(k, &h, data, len, out, PROSEC_PDU_MAX, &n),
        PROSEC_OK);
    prosec_ptk_keys_free(k);
    return n;
}

/* ---- the test data ------------------------------------------------------ */

static void test_prose_vectors(void **state)
{
    struct vec_file vf;
    const struct vec_record *ptk_rec = NULL;
    uint8_t pgk[32];
    long long member, ptk_id, group;
    size_t checked = 0;

    (void)state;
    assert_true(vec_load(&vf, PROSEC_VECTOR_DIR "/prose_one_to_many.txt"));
    for (size_t i = 0; i < vf.n_recs; i++) {
        if (strcmp(vf.recs[i].id, "PROSE-PTK-1") == 0) {
            ptk_rec = &vf.recs[i];
        }
    }
    assert_non_null(ptk_rec);
    assert_int_equal(vec_hex(ptk_rec, "PGK", pgk, 32), 32);
    member = vec_num(ptk_rec, "GROUP_MEMBER_IDENTITY", 16);
    ptk_id = vec_num(ptk_rec, "PTK_IDENTITY", 16);
    group = vec_num(ptk_rec, "GROUP_IDENTITY", 16);

    for (size_t i = 0; i < vf.n_recs; i++) {
        const struct vec_record *r = &vf.recs[i];
        uint8_t pt[64], ct[64], s[8], out[PROSEC_PDU_MAX], back[64];
        struct prosec_pgk p;
        struct prosec_ptk_keys *k = NULL;
        struct prosec_pdu_hdr h;
        long n;
        size_t len = 0, blen = 0;
        uint32_t count;

        if (strncmp(r->id, "PROSE-PEK-", 10) != 0) {
            continue;
        }
        n = vec_hex(r, "PLAINTEXT", pt, sizeof(pt));
        assert_int_equal(vec_hex(r, "CIPHERTEXT", ct, sizeof(ct)), n);
        memset(&p, 0, sizeof(p));
        memcpy(p.key, pgk, 32);
        p.profile = PROSEC_PROFILE_TS33303;
        /* the algorithm is P1 of S; the LCID record reuses PEK-2's */
        p.alg =
            vec_get(r, "S") != NULL && vec_hex(r, "S", s, 8) == 7 ? s[4] : 2;
        p.bearer = (uint8_t)vec_num(r, "BEARER", 16);
        count = (uint32_t)vec_num(r, "COUNT", 16);
        assert_int_equal(count >> 16, ptk_id);
        h = (struct prosec_pdu_hdr){PROSEC_SDU_IP, 1, (uint16_t)ptk_id,
                                    (uint16_t)count};
        assert_int_equal(prosec_ptk_keys_new(&k, &p, (uint32_t)group,
                                             (uint32_t)member, (uint16_t)ptk_id,
                                             PROSEC_BACKEND_AUTO),
                         PROSEC_OK);
        assert_int_equal(
            prosec_pdu_protect(k, &h, pt, (size_t)n, out, sizeof(out), &len),
            PROSEC_OK);
        assert_int_equal(len, 5 + (size_t)n);
        if (memcmp(out + 5, ct, (size_t)n) != 0) {
            vec_report(r, "PDU data", ct, out + 5, (size_t)n);
            fail();
        }
        assert_int_equal(
            prosec_pdu_unprotect(k, out, len, &h, back, sizeof(back), &blen),
            PROSEC_OK);
        assert_int_equal(blen, (size_t)n);
        assert_memory_equal(back, pt, (size_t)n);
        prosec_ptk_keys_free(k);
        checked++;
    }
    assert_int_equal(checked, 4);
    vec_free(&vf);
}

/* ---- key ring ---------------------------------------------------------------
 */

static void test_keyring_rules(void **state)
{
    struct prosec_keyring *kr = NULL;
    const struct prosec_pgk *p;
    struct prosec_pgk a =
        make_pgk(1, T0, T0 + 100, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    struct prosec_pgk b =
        make_pgk(2, T0 + 100, T0 + 200, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    struct prosec_pgk clash =
        make_pgk(33, T0 + 50, T0 + 150, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    struct prosec_pgk later =
        make_pgk(33, T0 + 100, T0 + 250, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    struct prosec_pgk bad;

    (void)state;
    assert_int_equal(prosec_keyring_new(&kr, 0x1000000, 0), PROSEC_ERR_L2_ID);
    assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &a), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &b), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &a), PROSEC_ERR_PGK_DUPLICATE);
    /* index 1 (33 & 31) while PGK 1 is valid: refused; after it: fine */
    assert_int_equal(prosec_keyring_add(kr, &clash),
                     PROSEC_ERR_PGK_INDEX_CLASH);
    assert_int_equal(prosec_keyring_add(kr, &later), PROSEC_OK);
    /* EEA0 only in a testing group; integrity needs an EIA */
    bad = make_pgk(5, T0, T0 + 10, 0, PROSEC_PROFILE_TS33303, ALICE);
    assert_int_equal(prosec_keyring_add(kr, &bad), PROSEC_ERR_EEA0_FORBIDDEN);
    bad = make_pgk(5, T0, T0 + 10, 0, PROSEC_PROFILE_INTEGRITY, ALICE);
    assert_int_equal(prosec_keyring_add(kr, &bad), PROSEC_ERR_ALG_ID);
    bad = make_pgk(5, T0, T0, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    assert_int_equal(prosec_keyring_add(kr, &bad), PROSEC_ERR_ARG);
    bad = make_pgk(5, T0, T0 + 1, 4, PROSEC_PROFILE_TS33303, ALICE);
    assert_int_equal(prosec_keyring_add(kr, &bad), PROSEC_ERR_ALG_ID);

    /* activation, with the 30 s skew for receiving, none for sending */
    assert_int_equal(prosec_keyring_select(kr, T0 - 1, &p), PROSEC_ERR_NO_PGK);
    assert_int_equal(prosec_keyring_lookup(kr, 1, T0 - 31, &p),
                     PROSEC_ERR_PGK_NOT_ACTIVE);
    assert_int_equal(prosec_keyring_lookup(kr, 1, T0 - 30, &p), PROSEC_OK);
    assert_int_equal(p->pgk_id, 1);
    assert_int_equal(prosec_keyring_lookup(kr, 7, T0, &p),
                     PROSEC_ERR_PGK_UNKNOWN);

    /* rollover: while both are valid the one expiring first sends, both
     * receive */
    assert_int_equal(prosec_keyring_select(kr, T0 + 99, &p), PROSEC_OK);
    assert_int_equal(p->pgk_id, 1);
    assert_int_equal(prosec_keyring_lookup(kr, 2, T0 + 99, &p), PROSEC_OK);
    assert_int_equal(prosec_keyring_select(kr, T0 + 100, &p), PROSEC_OK);
    assert_int_equal(p->pgk_id, 2);
    /* PGK 1 past expiry: still accepted for 30 s of skew; index 1 now
     * maps to PGK 33 */
    assert_int_equal(prosec_keyring_lookup(kr, 1, T0 + 129, &p), PROSEC_OK);
    assert_int_equal(prosec_keyring_lookup(kr, 1, T0 + 130, &p), PROSEC_OK);
    assert_int_equal(p->pgk_id, 33);
    prosec_keyring_set_skew(kr, 0);
    assert_int_equal(prosec_keyring_lookup(kr, 2, T0 + 200, &p),
                     PROSEC_ERR_PGK_EXPIRED);
    prosec_keyring_set_skew(kr, 30);

    /* expiry wipes; revoke wipes and reports */
    assert_int_equal(prosec_keyring_expire(kr, T0 + 131), 1);
    assert_false(prosec_keyring_holds(kr, 1));
    assert_int_equal(prosec_keyring_revoke(kr, 2), PROSEC_OK);
    assert_int_equal(prosec_keyring_lookup(kr, 2, T0 + 150, &p),
                     PROSEC_ERR_PGK_REVOKED);
    assert_int_equal(prosec_keyring_revoke(kr, 99), PROSEC_ERR_PGK_UNKNOWN);
    assert_int_equal(prosec_keyring_count(kr), 3);
    {
        struct prosec_pgk_info info;

        assert_int_equal(prosec_keyring_info(kr, 1, T0 + 150, &info),
                         PROSEC_OK);
        assert_int_equal(info.pgk_id, 2);
        assert_int_equal(info.state, PROSEC_PGK_REVOKED);
        assert_int_equal(prosec_keyring_info(kr, 3, T0, &info), PROSEC_ERR_ARG);
    }
    /* a revoked PGK's index may be used again */
    bad = make_pgk(34, T0 + 150, T0 + 400, 2, PROSEC_PROFILE_INTEGRITY, 1);
    assert_int_equal(prosec_keyring_add(kr, &bad), PROSEC_OK);
    prosec_keyring_free(kr);

    /* a testing group takes EEA0 */
    assert_int_equal(prosec_keyring_new(&kr, GROUP, PROSEC_KEYRING_TESTING),
                     PROSEC_OK);
    bad = make_pgk(5, T0, T0 + 10, 0, PROSEC_PROFILE_TS33303, ALICE);
    assert_int_equal(prosec_keyring_add(kr, &bad), PROSEC_OK);
    prosec_keyring_free(kr);
}

/* ---- replay table
 * ------------------------------------------------------------- */

struct replay_row {
    int no;
    uint16_t ptk_id, sn;
    prosec_err want;
};

/*
 * Through the receiver, so PTK ID changes (SN wraps) are in the picture.
 * The window keeps PROSEC_REPLAY_WINDOW (2048) SNs below the highest.
 */
static const struct replay_row replay_table[] = {
    {1, 10, 0, PROSEC_OK},
    {2, 10, 0, PROSEC_ERR_REPLAY}, /* duplicate */
    {3, 10, 2, PROSEC_OK},         /* gap */
    {4, 10, 1, PROSEC_OK},         /* reordered, inside */
    {5, 10, 1, PROSEC_ERR_REPLAY},
    {6, 10, 2049, PROSEC_OK},           /* top 2049: window 2..2049 */
    {7, 10, 1, PROSEC_ERR_TOO_OLD},     /* 2048 below: out */
    {8, 10, 2, PROSEC_ERR_REPLAY},      /* oldest inside, seen */
    {9, 10, 3, PROSEC_OK},              /* oldest inside, unseen */
    {10, 10, 60000, PROSEC_OK},         /* far jump */
    {11, 10, 2050, PROSEC_ERR_TOO_OLD}, /* left behind by the jump */
    {12, 10, 57953, PROSEC_OK},         /* 60000 - 2047: last inside */
    {13, 10, 57952, PROSEC_ERR_TOO_OLD},
    {14, 10, 65535, PROSEC_OK}, /* last SN of PTK ID 10 */
    {15, 11, 0, PROSEC_OK},     /* SN wrapped: new PTK ID */
    {16, 11, 1, PROSEC_OK},
    {17, 10, 65534, PROSEC_OK},         /* reordered across the wrap */
    {18, 10, 65535, PROSEC_ERR_REPLAY}, /* duplicate after the wrap */
    {19, 11, 0, PROSEC_ERR_REPLAY},
    {20, 12, 0, PROSEC_OK},              /* another wrap */
    {21, 11, 2, PROSEC_OK},              /* previous PTK ID still open */
    {22, 10, 65533, PROSEC_ERR_TOO_OLD}, /* two PTK IDs back */
    {23, 9, 5, PROSEC_ERR_TOO_OLD},      /* older PTK ID */
    {24, 40000, 7, PROSEC_OK},           /* far PTK ID jump (restart) */
    {25, 12, 1, PROSEC_OK},              /* its predecessor stays open */
    {26, 11, 3, PROSEC_ERR_TOO_OLD},
    {27, 40000, 7, PROSEC_ERR_REPLAY},
};

static void test_replay_table(void **state)
{
    struct prosec_keyring *kr = NULL;
    struct prosec_receiver *rx = NULL;
    struct prosec_receiver_config rc = {0, 0, PROSEC_BACKEND_AUTO};
    struct prosec_pgk p =
        make_pgk(3, T0, T0 + 1000, 3, PROSEC_PROFILE_INTEGRITY, BOB);
    uint8_t pdu[PROSEC_PDU_MAX], out[64], msg[16] = "replay row";

    (void)state;
    assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &p), PROSEC_OK);
    assert_int_equal(prosec_receiver_new(&rx, kr, &rc), PROSEC_OK);
    for (size_t i = 0; i < sizeof(replay_table) / sizeof(replay_table[0]);
         i++) {
        const struct replay_row *row = &replay_table[i];
        size_t n =
            protect_as(&p, ALICE, row->ptk_id, row->sn, msg, sizeof(msg), pdu);
        size_t olen = 0;
        prosec_err got = prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                                   sizeof(out), &olen, NULL);

        if (got != row->want) {
            fprintf(stderr,
                    "replay row %d (PTK ID %u, SN %u): want %s, "
                    "got %s\n",
                    row->no, row->ptk_id, row->sn, prosec_err_name(row->want),
                    prosec_err_name(got));
            fail();
        }
    }
    prosec_receiver_free(rx);
    prosec_keyring_free(kr);
}

/* The window alone at its exact edges. */
static void test_replay_window_edges(void **state)
{
    struct prosec_replay w;

    (void)state;
    prosec_replay_init(&w);
    assert_int_equal(prosec_replay_check(&w, 0), PROSEC_OK);
    prosec_replay_update(&w, 0);
    for (uint32_t sn = 1; sn <= 65535; sn++) {
        /* in order: every SN once */
        assert_int_equal(prosec_replay_check(&w, (uint16_t)sn), PROSEC_OK);
        prosec_replay_update(&w, (uint16_t)sn);
        assert_int_equal(prosec_replay_check(&w, (uint16_t)sn),
                         PROSEC_ERR_REPLAY);
    }
    assert_int_equal(prosec_replay_check(&w, 65535 - 2047), PROSEC_ERR_REPLAY);
    assert_int_equal(prosec_replay_check(&w, 65535 - 2048), PROSEC_ERR_TOO_OLD);
    /* a fresh window: out-of-order arrivals all land once */
    prosec_replay_init(&w);
    for (uint32_t i = 0; i < 2048; i++) {
        uint16_t sn = (uint16_t)(2047 - i);

        assert_int_equal(prosec_replay_check(&w, sn), PROSEC_OK);
        prosec_replay_update(&w, sn);
    }
    for (uint32_t sn = 0; sn < 2048; sn++) {
        assert_int_equal(prosec_replay_check(&w, (uint16_t)sn),
                         PROSEC_ERR_REPLAY);
    }
}

/* ---- senders --------------------------------------------------------------
 */

static void test_two_senders(void **state)
{
    struct prosec_keyring *kr = NULL;
    struct prosec_receiver *rx = NULL;
    struct prosec_receiver_config rc = {0, 0, PROSEC_BACKEND_AUTO};
    struct prosec_pgk p =
        make_pgk(4, T0, T0 + 1000, 2, PROSEC_PROFILE_INTEGRITY, 1);
    uint8_t a[64], b[64], out[64], msg[20] = "same counters, twice";
    size_t na, nb, olen;

    (void)state;
    na = protect_as(&p, ALICE, 9, 5, msg, sizeof(msg), a);
    nb = protect_as(&p, BOB, 9, 5, msg, sizeof(msg), b);
    assert_int_equal(na, nb);
    /* same header, different PTK: different ciphertext and MAC-I */
    assert_memory_equal(a, b, 5);
    assert_memory_not_equal(a + 5, b + 5, na - 5);

    assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &p), PROSEC_OK);
    assert_int_equal(prosec_receiver_new(&rx, kr, &rc), PROSEC_OK);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, a, na, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_OK);
    assert_memory_equal(out, msg, sizeof(msg));
    /* Bob's (9, 5) is his own: not a replay of Alice's */
    assert_int_equal(prosec_receiver_unprotect(rx, T0, BOB, b, nb, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_OK);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, a, na, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_REPLAY);
    /* Alice's next PDU claimed by Bob: wrong PTK, the MAC fails */
    na = protect_as(&p, ALICE, 9, 6, msg, sizeof(msg), a);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, BOB, a, na, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_MAC);
    prosec_receiver_free(rx);
    prosec_keyring_free(kr);
}

/*
 * Every bit of an integrity-protected PDU, flipped, is refused.  In the
 * ts33303 profile the same flips in the data go through undetected, each
 * flipping the same bit of the plaintext: the standard has no integrity.
 */
static void test_bit_flips(void **state)
{
    struct prosec_keyring *kr = NULL;
    struct prosec_receiver_config rc = {0, 0, PROSEC_BACKEND_AUTO};
    uint8_t msg[24] = "flip every bit of me!!!", pdu[64], out[64];

    (void)state;
    for (unsigned alg = 1; alg <= 3; alg++) {
        for (int prof = 0; prof < 2; prof++) {
            struct prosec_pgk p = make_pgk(6, T0, T0 + 1000, (uint8_t)alg,
                                           (enum prosec_profile)prof, 1);
            size_t n = protect_as(&p, ALICE, 100, 7, msg, sizeof(msg), pdu);
            size_t undetected = 0;

            assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
            assert_int_equal(prosec_keyring_add(kr, &p), PROSEC_OK);
            for (size_t bit = 0; bit < 8 * n; bit++) {
                struct prosec_receiver *rx = NULL;
                size_t olen = 0;
                prosec_err e;

                /* a fresh receiver each time, so no replay state helps */
                assert_int_equal(prosec_receiver_new(&rx, kr, &rc), PROSEC_OK);
                pdu[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
                e = prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                              sizeof(out), &olen, NULL);
                pdu[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
                prosec_receiver_free(rx);
                if (prof == PROSEC_PROFILE_INTEGRITY) {
                    if (e == PROSEC_OK) {
                        fprintf(stderr, "alg %u: flip of bit %zu accepted\n",
                                alg, bit);
                        fail();
                    }
                    continue;
                }
                /* ts33303: a data bit flips the same plaintext bit */
                if (e == PROSEC_OK && bit >= 40) {
                    size_t d = bit - 40;

                    assert_int_equal(olen, sizeof(msg));
                    assert_int_equal(out[d / 8] ^ msg[d / 8], 0x80 >> (d % 8));
                    undetected++;
                }
            }
            if (prof == PROSEC_PROFILE_TS33303) {
                /* all 192 data bits, none caught */
                assert_int_equal(undetected, 8 * sizeof(msg));
            }
            prosec_keyring_free(kr);
        }
    }
}

/* ---- crash at every step of the reservation
 * ------------------------------------ */

/* A persistence store with fault injection: it can fail a save, or "crash"
 * the sender right after a save (the test then drops the sender). */
struct store {
    uint16_t value;
    int saves, loads;
    int fail_at;  /* this save fails (1-based), 0: never */
    int crash_at; /* after this save, the sender is lost */
    bool crashed;
};

static prosec_err st_save(void *ctx, uint32_t group, uint8_t pgk_id,
                          uint16_t reserved)
{
    struct store *s = ctx;

    (void)group;
    (void)pgk_id;
    s->saves++;
    if (s->saves == s->fail_at) {
        return PROSEC_ERR_INTERNAL;
    }
    assert_true(reserved >= s->value);
    s->value = reserved;
    if (s->saves == s->crash_at) {
        s->crashed = true;
    }
    return PROSEC_OK;
}

static prosec_err st_load(void *ctx, uint32_t group, uint8_t pgk_id,
                          uint16_t *reserved)
{
    struct store *s = ctx;

    (void)group;
    (void)pgk_id;
    s->loads++;
    *reserved = s->value;
    return PROSEC_OK;
}

/* (PTK ID, SN) pairs seen: a bitmap over 65536 * 65536 would be 512 MB,
 * so PTK IDs are capped by the test at 64. */
struct seen {
    uint8_t bits[64][65536 / 8];
};

static void record(struct seen *seen, const uint8_t *pdu)
{
    uint16_t ptk = (uint16_t)(pdu[1] << 8 | pdu[2]);
    uint16_t sn = (uint16_t)(pdu[3] << 8 | pdu[4]);

    assert_true(ptk > 0 && ptk < 64);
    if (seen->bits[ptk][sn / 8] & (1 << (sn % 8))) {
        fprintf(stderr, "(PTK ID %u, SN %u) used twice\n", ptk, sn);
        fail();
    }
    seen->bits[ptk][sn / 8] |= (uint8_t)(1 << (sn % 8));
}

static void test_crash_every_step(void **state)
{
    static struct seen seen;
    struct prosec_pgk p =
        make_pgk(8, T0, T0 + 1000, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    uint8_t msg[8] = "crash", pdu[64];

    (void)state;
    for (uint16_t ahead = 1; ahead <= 3; ahead += 2) {
        /* for each fault point: fail save k, or crash after save k */
        for (int k = 1; k <= 8; k++) {
            for (int mode = 0; mode < 2; mode++) {
                struct store st = {
                    0, 0, 0, mode == 0 ? k : 0, mode == 1 ? k : 0, false};
                struct prosec_keyring *kr = NULL;
                int runs = 0;

                memset(&seen, 0, sizeof(seen));
                assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
                assert_int_equal(prosec_keyring_add(kr, &p), PROSEC_OK);
                /* restart after each fault; 20 PDUs per run */
                while (runs++ < 6) {
                    struct prosec_sender_config sc = {
                        st_save, st_load, &st, ahead, PROSEC_BACKEND_AUTO};
                    struct prosec_sender *s = NULL;

                    assert_int_equal(prosec_sender_new(&s, kr, &sc), PROSEC_OK);
                    for (int i = 0; i < 20; i++) {
                        size_t n = 0;
                        prosec_err e = prosec_sender_protect(
                            s, T0, 0, msg, sizeof(msg), pdu, sizeof(pdu), &n);

                        if (e == PROSEC_ERR_PERSIST) {
                            break; /* the device gives up and restarts */
                        }
                        assert_int_equal(e, PROSEC_OK);
                        record(&seen, pdu); /* sent, or maybe sent */
                        if (st.crashed) {
                            st.crashed = false;
                            break;
                        }
                    }
                    prosec_sender_free(s); /* all state lost */
                }
                assert_true(st.loads >= 6);
                prosec_keyring_free(kr);
            }
        }
    }
}

/* The SN wraps after 65536 PDUs: a new PTK ID, no pair twice. */
static void test_sn_wrap_and_exhaustion(void **state)
{
    static struct seen seen;
    struct store st = {0, 0, 0, 0, 0, false};
    struct prosec_sender_config sc = {st_save, st_load, &st, 3,
                                      PROSEC_BACKEND_AUTO};
    struct prosec_keyring *kr = NULL;
    struct prosec_sender *s = NULL;
    struct prosec_pgk p1 =
        make_pgk(9, T0, T0 + 1000, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    struct prosec_pgk p2 =
        make_pgk(10, T0, T0 + 2000, 2, PROSEC_PROFILE_INTEGRITY, ALICE);
    uint8_t pdu[32];
    size_t n;

    (void)state;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &p1), PROSEC_OK);
    assert_int_equal(prosec_sender_new(&s, kr, &sc), PROSEC_OK);
    for (uint32_t i = 0; i < 65536 + 10; i++) {
        assert_int_equal(
            prosec_sender_protect(s, T0, 0, NULL, 0, pdu, sizeof(pdu), &n),
            PROSEC_OK);
        record(&seen, pdu);
        if (i == 65535) {
            assert_int_equal(pdu[1] << 8 | pdu[2], 1);
            assert_int_equal(pdu[3] << 8 | pdu[4], 65535);
        }
    }
    assert_int_equal(pdu[1] << 8 | pdu[2], 2);
    prosec_sender_free(s);

    /* A PGK whose reservations reached 0xFFFE is exhausted: the sender
     * moves to the next one, and fails once none is left. */
    st.value = PROSEC_PTK_ID_MAX;
    assert_int_equal(prosec_sender_new(&s, kr, &sc), PROSEC_OK);
    assert_int_equal(
        prosec_sender_protect(s, T0, 0, NULL, 0, pdu, sizeof(pdu), &n),
        PROSEC_ERR_PGK_EXHAUSTED);
    assert_int_equal(prosec_keyring_add(kr, &p2), PROSEC_OK);
    st.value = 0; /* the store is per (group, PGK) in real life */
    assert_int_equal(
        prosec_sender_protect(s, T0, 0, NULL, 0, pdu, sizeof(pdu), &n),
        PROSEC_OK);
    assert_int_equal(pdu[0] & 31, 10);
    prosec_sender_free(s);
    prosec_keyring_free(kr);
}

/* ---- receiver: errors, caching, bounded state
 * ------------------------------------ */

static void test_receiver_errors(void **state)
{
    struct prosec_keyring *kr = NULL;
    struct prosec_receiver *rx = NULL;
    struct prosec_receiver_config rc = {0, 0, PROSEC_BACKEND_AUTO};
    struct prosec_pgk p =
        make_pgk(11, T0, T0 + 100, 1, PROSEC_PROFILE_INTEGRITY, 1);
    struct prosec_pgk future =
        make_pgk(12, T0 + 500, T0 + 900, 1, PROSEC_PROFILE_INTEGRITY, 1);
    struct prosec_receiver_stats stats;
    uint8_t pdu[64], out[64], msg[4] = "abc", octet0;
    size_t n, olen;

    (void)state;
    assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &p), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &future), PROSEC_OK);
    assert_int_equal(prosec_receiver_new(&rx, kr, &rc), PROSEC_OK);

    n = protect_as(&p, ALICE, 1, 0, msg, sizeof(msg), pdu);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, 4, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_MALFORMED);
    /* integrity PDU too short for its MAC-I */
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, 8, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_MALFORMED);
    octet0 = pdu[0];
    pdu[0] |= 0xE0; /* reserved SDU type */
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_MALFORMED);
    pdu[0] = octet0;
    assert_int_equal(prosec_receiver_unprotect(rx, T0 + 200, ALICE, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_PGK_EXPIRED);
    assert_int_equal(
        prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out, 2, &olen, NULL),
        PROSEC_ERR_BUFFER);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, 0x1000000, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_L2_ID);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_OK);
    assert_int_equal(olen, sizeof(msg));

    n = protect_as(&future, ALICE, 1, 0, msg, sizeof(msg), pdu);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_PGK_NOT_ACTIVE);
    pdu[1] = pdu[2] = 0; /* PTK ID 0: unprotected */
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_UNPROTECTED);
    pdu[0] = (pdu[0] & 0xE0) | 20; /* no PGK with index 20 */
    pdu[2] = 1;
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_PGK_UNKNOWN);

    /* revocation: its PDUs are now refused as such, its state dropped */
    n = protect_as(&p, ALICE, 1, 1, msg, sizeof(msg), pdu);
    assert_int_equal(prosec_keyring_revoke(kr, 11), PROSEC_OK);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, pdu, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_PGK_REVOKED);
    prosec_receiver_stats(rx, &stats);
    assert_int_equal(stats.accepted, 1);
    assert_int_equal(stats.rejected[PROSEC_ERR_MALFORMED], 3);
    assert_int_equal(stats.rejected[PROSEC_ERR_PGK_REVOKED], 1);
    assert_int_equal(stats.rejected[PROSEC_ERR_UNPROTECTED], 1);
    prosec_receiver_free(rx);
    prosec_keyring_free(kr);
}

static void test_receiver_bounded(void **state)
{
    struct prosec_keyring *kr = NULL;
    struct prosec_receiver *rx = NULL;
    struct prosec_receiver_config rc = {16, 8, PROSEC_BACKEND_AUTO};
    struct prosec_pgk p =
        make_pgk(13, T0, T0 + 1000, 2, PROSEC_PROFILE_INTEGRITY, 1);
    struct prosec_receiver_stats stats;
    uint8_t legit[64], forged[64], out[64], msg[10] = "real data";
    size_t n, olen;

    (void)state;
    assert_int_equal(prosec_keyring_new(&kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(kr, &p), PROSEC_OK);
    assert_int_equal(prosec_receiver_new(&rx, kr, &rc), PROSEC_OK);

    /* 1000 PDUs from one sender: one key derivation, not 1000 */
    for (uint16_t sn = 0; sn < 1000; sn++) {
        n = protect_as(&p, ALICE, 5, sn, msg, sizeof(msg), legit);
        assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, legit, n, out,
                                                   sizeof(out), &olen, NULL),
                         PROSEC_OK);
    }
    prosec_receiver_stats(rx, &stats);
    assert_int_equal(stats.key_derivations, 1);

    /* 5000 forged senders (random garbage under PGK 13's index) */
    memcpy(forged, legit, n);
    for (uint32_t i = 0; i < 5000; i++) {
        forged[7] = (uint8_t)i;
        assert_int_equal(prosec_receiver_unprotect(rx, T0, 0x100000 + i, forged,
                                                   n, out, sizeof(out), &olen,
                                                   NULL),
                         PROSEC_ERR_MAC);
    }
    prosec_receiver_stats(rx, &stats);
    assert_int_equal(stats.rejected[PROSEC_ERR_MAC], 5000);
    /* keys were derived for each and evicted: the cache holds 16 */
    assert_int_equal(stats.key_derivations, 5001);
    assert_true(stats.evicted_keys >= 5000 - 16);
    /* no forged sender got replay state, so Alice's survived */
    assert_int_equal(stats.evicted_senders, 0);
    assert_int_equal(prosec_receiver_unprotect(rx, T0, ALICE, legit, n, out,
                                               sizeof(out), &olen, NULL),
                     PROSEC_ERR_REPLAY);

    /* verified senders beyond the cap push the oldest out */
    for (uint32_t i = 0; i < 20; i++) {
        n = protect_as(&p, 0x200000 + i, 1, 0, msg, sizeof(msg), legit);
        assert_int_equal(prosec_receiver_unprotect(rx, T0, 0x200000 + i, legit,
                                                   n, out, sizeof(out), &olen,
                                                   NULL),
                         PROSEC_OK);
    }
    prosec_receiver_stats(rx, &stats);
    assert_int_equal(stats.evicted_senders, 20 + 1 - 8);
    prosec_receiver_free(rx);
    prosec_keyring_free(kr);
}

/* The sender and receiver end to end, across a PGK rollover. */
static void test_sender_to_receiver(void **state)
{
    struct store st = {0, 0, 0, 0, 0, false};
    struct prosec_sender_config sc = {st_save, st_load, &st, 3,
                                      PROSEC_BACKEND_AUTO};
    struct prosec_receiver_config rc = {0, 0, PROSEC_BACKEND_AUTO};
    struct prosec_keyring *tx_kr = NULL, *rx_kr = NULL;
    struct prosec_sender *s = NULL;
    struct prosec_receiver *rx = NULL;
    struct prosec_pgk p1 =
        make_pgk(14, T0, T0 + 10, 3, PROSEC_PROFILE_INTEGRITY, ALICE);
    struct prosec_pgk p2 =
        make_pgk(15, T0 + 10, T0 + 20, 3, PROSEC_PROFILE_INTEGRITY, ALICE);
    uint8_t pdu[PROSEC_PDU_MAX], out[PROSEC_PDU_MAX], data[1400];
    struct prosec_pdu_hdr h;

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)i;
    }
    assert_int_equal(prosec_keyring_new(&tx_kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_new(&rx_kr, GROUP, 0), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(tx_kr, &p1), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(tx_kr, &p2), PROSEC_OK);
    p1.member_id = p2.member_id = BOB; /* the receiver's own ID */
    assert_int_equal(prosec_keyring_add(rx_kr, &p1), PROSEC_OK);
    assert_int_equal(prosec_keyring_add(rx_kr, &p2), PROSEC_OK);
    assert_int_equal(prosec_sender_new(&s, tx_kr, &sc), PROSEC_OK);
    assert_int_equal(prosec_receiver_new(&rx, rx_kr, &rc), PROSEC_OK);
    for (int64_t t = T0; t < T0 + 20; t++) {
        size_t n = 0, olen = 0;

        assert_int_equal(prosec_sender_protect(s, t, 0, data, sizeof(data), pdu,
                                               sizeof(pdu), &n),
                         PROSEC_OK);
        assert_int_equal(prosec_receiver_unprotect(rx, t, ALICE, pdu, n, out,
                                                   sizeof(out), &olen, &h),
                         PROSEC_OK);
        assert_int_equal(olen, sizeof(data));
        assert_memory_equal(out, data, sizeof(data));
        assert_int_equal(h.pgk_index, t < T0 + 10 ? 14 : 15);
    }
    prosec_sender_free(s);
    prosec_receiver_free(rx);
    prosec_keyring_free(tx_kr);
    prosec_keyring_free(rx_kr);
}

static void test_wire_codecs(void **state)
{
    uint8_t buf[PROSEC_FRAME_MAX + 8], pdu[5] = {0x21, 0, 1, 0, 2};
    struct prosec_frame f = {PROSEC_FRAME_VERSION, ALICE, GROUP, pdu, 5}, g;
    struct prosec_pdu_hdr h;
    const uint8_t *payload;
    size_t n = 0, plen;

    (void)state;
    assert_int_equal(prosec_frame_encode(buf, sizeof(buf), &n, &f), PROSEC_OK);
    assert_int_equal(n, 12);
    assert_int_equal(prosec_frame_decode(buf, n, &g), PROSEC_OK);
    assert_int_equal(g.src, ALICE);
    assert_int_equal(g.dst, GROUP);
    assert_int_equal(g.pdu_len, 5);
    assert_int_equal(prosec_frame_decode(buf, 11, &g), PROSEC_ERR_MALFORMED);
    buf[0] = 2;
    assert_int_equal(prosec_frame_decode(buf, n, &g), PROSEC_ERR_MALFORMED);
    assert_int_equal(prosec_frame_encode(buf, 11, &n, &f), PROSEC_ERR_BUFFER);
    f.src = 0x1000000;
    assert_int_equal(prosec_frame_encode(buf, sizeof(buf), &n, &f),
                     PROSEC_ERR_L2_ID);
    assert_int_equal(prosec_frame_decode(buf, PROSEC_FRAME_MAX + 1, &g),
                     PROSEC_ERR_MALFORMED);

    assert_int_equal(prosec_pdu_decode(pdu, 5, &h, &payload, &plen), PROSEC_OK);
    assert_int_equal(h.sdu_type, 1);
    assert_int_equal(h.pgk_index, 1);
    assert_int_equal(h.ptk_id, 1);
    assert_int_equal(h.sn, 2);
    assert_int_equal(plen, 0);
    h.sdu_type = 4;
    assert_int_equal(prosec_pdu_hdr_encode(buf, &h), PROSEC_ERR_ARG);
    h.sdu_type = 0;
    h.pgk_index = 32;
    assert_int_equal(prosec_pdu_hdr_encode(buf, &h), PROSEC_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prose_vectors),
        cmocka_unit_test(test_wire_codecs),
        cmocka_unit_test(test_keyring_rules),
        cmocka_unit_test(test_replay_table),
        cmocka_unit_test(test_replay_window_edges),
        cmocka_unit_test(test_two_senders),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_crash_every_step),
        cmocka_unit_test(test_sn_wrap_and_exhaustion),
        cmocka_unit_test(test_receiver_errors),
        cmocka_unit_test(test_receiver_bounded),
        cmocka_unit_test(test_sender_to_receiver),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
