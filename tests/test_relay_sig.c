/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The relay signalling codec and the protected link of prosec/relay.h:
 * every encoder against the octets of tests/vectors/relay.txt and back
 * through its decoder; every decoder and the framing check against cut,
 * long, re-versioned, re-typed and out-of-range input, with their
 * out-parameters watched for writes on error; the relay's choice of
 * algorithms as a table; the whole handshake between a relay and a remote
 * device, then the attacks on it (a wrong PRUK, an altered command, a
 * bidding down by someone holding the PIK, a complete message moved to
 * another command); the link in both directions with replays, reordering,
 * altered octets, reflection, the size limits and COUNT exhaustion.  The
 * fixed inputs are those of tests/gen_relay_vectors.py, so the handshake
 * must reproduce its messages octet for octet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/wire/pc5sig_internal.h"
#include "prosec/prosec.h"

enum {
    MAX = PROSEC_PC5SIG_MSG_MAX,
    SENTINEL = 0xA5,
    REMOTE_L2 = 0x00C0FF,
    RELAY_L2 = 0xABCDEF,
    RSC = 0x000123,
    /* offsets into whole messages (header included) */
    ANN_PORT = PROSEC_PC5SIG_HDR_LEN + 7,
    DCR_CAPS = PROSEC_PC5SIG_HDR_LEN + 27,
    DSMC_CAPS = PROSEC_PC5SIG_HDR_LEN + 32,
    DSMC_EEA = DSMC_CAPS + 2,
    DSMC_EIA = DSMC_EEA + 1,
    DSMC_PORT = DSMC_EIA + 1 + 4,
    DSMC_MAC = DSMC_PORT + 2,
    LINK_DATA_OFF = PROSEC_PC5SIG_HDR_LEN + 4
};

/* ---- the inputs of tests/gen_relay_vectors.py ---------------------------- */

static const char KD_HEX[] =
    "0f3e24609e8c6ba97c34a53c09ccab04bf106fc0de69fbce7ba425f1dceb7cde";
static const char KD_SESS_HEX[] =
    "f97402b38020bd49e733ed2a48c8cf84c70daf19e9d267e41791b87dba2e41e0";
static const char ANNOUNCE_HEX[] = "0101000cabcdefc000020a14b9000123";
static const char DCR_HEX[] = "0102001d00c0ff0102030405060708101112131415161718"
                              "191a1b1c1d1e1f0f0e";
static const char DSMC_HEX[] =
    "0103002e202122232425262728292a2b2c2d2e2fa0a1a2a3a4a5a6a7a8a9aaabacadae"
    "af0f0e02020a00000114b8ea8b573f";
static const char COMPLETE_HEX[] = "010400046d95e537";
/* RELAY-LINK-1: from the remote, EEA2/EIA2, COUNT 1 */
static const char LINK1_HEX[] =
    "0107002900000001f3be726754240926574baf8fe6cde95277d8cada7c920dca18bf41"
    "464df522344535c3f777";
static const char LINK1_PT[] = "first datagram from the remote UE";

static void fill(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(start + i);
    }
}

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex) / 2;

    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;

        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void pruk_of(uint8_t pruk[PROSEC_PRUK_LEN])
{
    fill(pruk, PROSEC_PRUK_LEN, 0x40);
}

static struct prosec_ue_sec_caps all_caps(void)
{
    return (struct prosec_ue_sec_caps){0x0F, 0x0E};
}

static struct prosec_pc5sig_announce sample_announce(void)
{
    struct prosec_pc5sig_announce a = {RELAY_L2, {{192, 0, 2, 10}, 5305}, RSC};

    return a;
}

static struct prosec_pc5sig_dcr sample_dcr(void)
{
    struct prosec_pc5sig_dcr r;

    memset(&r, 0, sizeof(r));
    r.remote_l2_id = REMOTE_L2;
    fill(r.pruk_id, sizeof(r.pruk_id), 0x01);
    fill(r.nonce1, sizeof(r.nonce1), 0x10);
    r.caps = all_caps();
    return r;
}

static struct prosec_pc5sig_dsmc sample_dsmc(void)
{
    struct prosec_pc5sig_dsmc m;

    memset(&m, 0, sizeof(m));
    fill(m.nonce2, sizeof(m.nonce2), 0x20);
    fill(m.kd_freshness, sizeof(m.kd_freshness), 0xA0);
    m.caps = all_caps();
    m.eea = PROSEC_EEA2;
    m.eia = PROSEC_EIA2;
    m.mikey = (struct prosec_pc5sig_addr){{10, 0, 0, 1}, 5304};
    return m;
}

/* Both ends of a link from the vectors' KD-sess. */
static void new_links(unsigned eea, unsigned eia, struct prosec_link **relay,
                      struct prosec_link **remote)
{
    uint8_t kd_sess[PROSEC_KD_SESS_LEN];

    unhex(kd_sess, sizeof(kd_sess), KD_SESS_HEX);
    assert_int_equal(prosec_link_new(relay, kd_sess, eea, eia,
                                     PROSEC_LINK_RELAY, PROSEC_BACKEND_AUTO),
                     PROSEC_OK);
    assert_int_equal(prosec_link_new(remote, kd_sess, eea, eia,
                                     PROSEC_LINK_REMOTE, PROSEC_BACKEND_AUTO),
                     PROSEC_OK);
}

static void assert_all(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != v) {
            print_error("octet %zu is %02x, not %02x\n", i, p[i], v);
            fail();
        }
    }
}

/* ---- every decoder, behind one signature ------------------------------- */

union dec_out {
    struct prosec_pc5sig_announce a;
    struct prosec_pc5sig_dcr r;
    struct prosec_pc5sig_dsmc m;
    struct {
        enum prosec_pc5sig_type type;
        uint8_t cause;
    } rej;
    enum prosec_pc5sig_type type;
    struct {
        uint8_t buf[64];
        size_t len;
    } link;
};

/* The receiving ends the keyed decoders use (set by setup()). */
static struct prosec_link *g_relay;
static struct prosec_link *g_remote;
static uint8_t g_dsmc[PROSEC_PC5SIG_DSMC_LEN];

static prosec_err d_type(const uint8_t *msg, size_t len, union dec_out *o)
{
    return prosec_pc5sig_type(msg, len, &o->type);
}

static prosec_err d_announce(const uint8_t *msg, size_t len, union dec_out *o)
{
    return prosec_pc5sig_announce_decode(msg, len, &o->a);
}

static prosec_err d_dcr(const uint8_t *msg, size_t len, union dec_out *o)
{
    return prosec_pc5sig_dcr_decode(msg, len, &o->r);
}

static prosec_err d_dsmc(const uint8_t *msg, size_t len, union dec_out *o)
{
    return prosec_pc5sig_dsmc_decode(msg, len, &o->m);
}

static prosec_err d_verify(const uint8_t *msg, size_t len, union dec_out *o)
{
    struct prosec_ue_sec_caps sent = all_caps();

    (void)o;
    return prosec_pc5sig_dsmc_verify(msg, len, prosec_link_pik(g_remote),
                                     &sent);
}

static prosec_err d_complete(const uint8_t *msg, size_t len, union dec_out *o)
{
    (void)o;
    return prosec_pc5sig_complete_check(msg, len, g_dsmc, sizeof(g_dsmc),
                                        prosec_link_pik(g_relay));
}

static prosec_err d_reject(const uint8_t *msg, size_t len, union dec_out *o)
{
    return prosec_pc5sig_reject_decode(msg, len, &o->rej.type, &o->rej.cause);
}

/* The relay opens the remote's LINK_DATA, always as its first message. */
static prosec_err d_link(const uint8_t *msg, size_t len, union dec_out *o)
{
    prosec__link_set_counts(g_relay, 0, 0);
    return prosec_link_open(g_relay, msg, len, o->link.buf, sizeof(o->link.buf),
                            &o->link.len);
}

struct decoder {
    const char *name;
    prosec_err (*fn)(const uint8_t *, size_t, union dec_out *);
    unsigned types; /* bit t: accepts type t */
};

#define T(t) (1u << (t))
enum {
    D_TYPE,
    D_ANNOUNCE,
    D_DCR,
    D_DSMC,
    D_VERIFY,
    D_COMPLETE,
    D_REJECT,
    D_LINK,
    N_DECODERS
};
static const struct decoder DECODERS[N_DECODERS] = {
    [D_TYPE] = {"type", d_type, 0xFE},
    [D_ANNOUNCE] = {"announce", d_announce, T(PROSEC_PC5SIG_ANNOUNCE)},
    [D_DCR] = {"dcr", d_dcr, T(PROSEC_PC5SIG_DCR)},
    [D_DSMC] = {"dsmc", d_dsmc, T(PROSEC_PC5SIG_DSMC)},
    [D_VERIFY] = {"dsmc_verify", d_verify, T(PROSEC_PC5SIG_DSMC)},
    [D_COMPLETE] = {"complete", d_complete, T(PROSEC_PC5SIG_DSM_COMPLETE)},
    [D_REJECT] = {"reject", d_reject,
                  T(PROSEC_PC5SIG_DSM_REJECT) | T(PROSEC_PC5SIG_LINK_REJECT)},
    [D_LINK] = {"link_open", d_link, T(PROSEC_PC5SIG_LINK_DATA)},
};
#undef T

/* One valid message of each type, all valid under the keys of setup(). */
struct sample {
    uint8_t msg[64];
    size_t len;
};
static struct sample g_samples[PROSEC_PC5SIG_LINK_DATA + 1];

/*
 * Runs decoder d on msg and checks its answer is want; on error, that it
 * wrote nothing (the output starts as SENTINEL octets).
 */
static void expect(const struct decoder *d, const uint8_t *msg, size_t len,
                   prosec_err want, const char *what)
{
    union dec_out o;
    prosec_err got;

    memset(&o, SENTINEL, sizeof(o));
    got = d->fn(msg, len, &o);
    if (got != want) {
        print_error("%s on %s (%zu octets): %s, want %s\n", d->name, what, len,
                    prosec_err_name(got), prosec_err_name(want));
        fail();
    }
    if (got != PROSEC_OK) {
        assert_all((const uint8_t *)&o, sizeof(o), SENTINEL);
    }
}

static int setup(void **state)
{
    (void)state;
    new_links(PROSEC_EEA2, PROSEC_EIA2, &g_relay, &g_remote);
    unhex(g_dsmc, sizeof(g_dsmc), DSMC_HEX);
    g_samples[PROSEC_PC5SIG_ANNOUNCE].len =
        unhex(g_samples[PROSEC_PC5SIG_ANNOUNCE].msg, 64, ANNOUNCE_HEX);
    g_samples[PROSEC_PC5SIG_DCR].len =
        unhex(g_samples[PROSEC_PC5SIG_DCR].msg, 64, DCR_HEX);
    g_samples[PROSEC_PC5SIG_DSMC].len =
        unhex(g_samples[PROSEC_PC5SIG_DSMC].msg, 64, DSMC_HEX);
    g_samples[PROSEC_PC5SIG_DSM_COMPLETE].len =
        unhex(g_samples[PROSEC_PC5SIG_DSM_COMPLETE].msg, 64, COMPLETE_HEX);
    g_samples[PROSEC_PC5SIG_DSM_REJECT].len =
        unhex(g_samples[PROSEC_PC5SIG_DSM_REJECT].msg, 64, "0105000102");
    g_samples[PROSEC_PC5SIG_LINK_REJECT].len =
        unhex(g_samples[PROSEC_PC5SIG_LINK_REJECT].msg, 64, "0106000105");
    g_samples[PROSEC_PC5SIG_LINK_DATA].len =
        unhex(g_samples[PROSEC_PC5SIG_LINK_DATA].msg, 64, LINK1_HEX);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    prosec_link_free(g_relay);
    prosec_link_free(g_remote);
    return 0;
}

/* ---- encoders and round trips -------------------------------------------- */

/* Field by field: the structs have padding that no decoder promises. */
static void same_addr(const struct prosec_pc5sig_addr *a,
                      const struct prosec_pc5sig_addr *b)
{
    assert_memory_equal(a->ipv4, b->ipv4, sizeof(a->ipv4));
    assert_int_equal(a->port, b->port);
}

static void same_announce(const struct prosec_pc5sig_announce *a,
                          const struct prosec_pc5sig_announce *b)
{
    assert_int_equal(a->relay_l2_id, b->relay_l2_id);
    same_addr(&a->tcp, &b->tcp);
    assert_int_equal(a->service_code, b->service_code);
}

static void same_dcr(const struct prosec_pc5sig_dcr *a,
                     const struct prosec_pc5sig_dcr *b)
{
    assert_int_equal(a->remote_l2_id, b->remote_l2_id);
    assert_memory_equal(a->pruk_id, b->pruk_id, sizeof(a->pruk_id));
    assert_memory_equal(a->nonce1, b->nonce1, sizeof(a->nonce1));
    assert_int_equal(a->caps.eea, b->caps.eea);
    assert_int_equal(a->caps.eia, b->caps.eia);
}

static void same_dsmc(const struct prosec_pc5sig_dsmc *a,
                      const struct prosec_pc5sig_dsmc *b)
{
    assert_memory_equal(a->nonce2, b->nonce2, sizeof(a->nonce2));
    assert_memory_equal(a->kd_freshness, b->kd_freshness,
                        sizeof(a->kd_freshness));
    assert_int_equal(a->caps.eea, b->caps.eea);
    assert_int_equal(a->caps.eia, b->caps.eia);
    assert_int_equal(a->eea, b->eea);
    assert_int_equal(a->eia, b->eia);
    same_addr(&a->mikey, &b->mikey);
    assert_memory_equal(a->mac, b->mac, sizeof(a->mac));
}

static void test_announce_round_trip(void **state)
{
    struct prosec_pc5sig_announce a = sample_announce(), back;
    uint8_t out[MAX], want[64];
    size_t n = 0, wn = unhex(want, sizeof(want), ANNOUNCE_HEX);

    (void)state;
    assert_int_equal(prosec_pc5sig_announce_encode(out, sizeof(out), &n, &a),
                     PROSEC_OK);
    assert_int_equal(n, PROSEC_PC5SIG_ANNOUNCE_LEN);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);
    assert_int_equal(prosec_pc5sig_announce_decode(out, n, &back), PROSEC_OK);
    same_announce(&back, &a);

    /* the edges of every field, in a buffer of exactly the length */
    a = (struct prosec_pc5sig_announce){
        PROSEC_L2_ID_MAX, {{255, 255, 255, 255}, 65535}, 0xFFFFFF};
    assert_int_equal(
        prosec_pc5sig_announce_encode(out, PROSEC_PC5SIG_ANNOUNCE_LEN, &n, &a),
        PROSEC_OK);
    assert_int_equal(prosec_pc5sig_announce_decode(out, n, &back), PROSEC_OK);
    same_announce(&back, &a);
    a = (struct prosec_pc5sig_announce){0, {{0, 0, 0, 0}, 1}, 0};
    assert_int_equal(prosec_pc5sig_announce_encode(out, sizeof(out), &n, &a),
                     PROSEC_OK);
    assert_int_equal(prosec_pc5sig_announce_decode(out, n, &back), PROSEC_OK);
    same_announce(&back, &a);
}

static void test_dcr_round_trip(void **state)
{
    struct prosec_pc5sig_dcr r = sample_dcr(), back;
    uint8_t out[MAX], want[64];
    size_t n = 0, wn = unhex(want, sizeof(want), DCR_HEX);

    (void)state;
    assert_int_equal(prosec_pc5sig_dcr_encode(out, sizeof(out), &n, &r),
                     PROSEC_OK);
    assert_int_equal(n, PROSEC_PC5SIG_DCR_LEN);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);
    assert_int_equal(prosec_pc5sig_dcr_decode(out, n, &back), PROSEC_OK);
    same_dcr(&back, &r);

    /* every legal capability set, and the largest L2 ID */
    r.remote_l2_id = PROSEC_L2_ID_MAX;
    for (unsigned eea = 0; eea <= PROSEC_CAPS_EEA_MASK; eea++) {
        for (unsigned eia = 0; eia <= PROSEC_CAPS_EIA_MASK; eia += 2) {
            r.caps = (struct prosec_ue_sec_caps){(uint8_t)eea, (uint8_t)eia};
            assert_int_equal(
                prosec_pc5sig_dcr_encode(out, PROSEC_PC5SIG_DCR_LEN, &n, &r),
                PROSEC_OK);
            assert_int_equal(prosec_pc5sig_dcr_decode(out, n, &back),
                             PROSEC_OK);
            same_dcr(&back, &r);
        }
    }
}

static void test_dsmc_round_trip(void **state)
{
    struct prosec_pc5sig_dsmc m = sample_dsmc(), back;
    uint8_t out[MAX], again[MAX], want[64];
    size_t n = 0, n2 = 0, wn = unhex(want, sizeof(want), DSMC_HEX);
    struct prosec_ue_sec_caps sent = all_caps();

    (void)state;
    memset(m.mac, 0xEE, sizeof(m.mac)); /* encode ignores it */
    assert_int_equal(prosec_pc5sig_dsmc_encode(out, sizeof(out), &n, &m,
                                               prosec_link_pik(g_relay)),
                     PROSEC_OK);
    assert_int_equal(n, PROSEC_PC5SIG_DSMC_LEN);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);

    assert_int_equal(prosec_pc5sig_dsmc_decode(out, n, &back), PROSEC_OK);
    memcpy(m.mac, out + DSMC_MAC, PROSEC_MAC_LEN);
    same_dsmc(&back, &m);
    assert_int_equal(
        prosec_pc5sig_dsmc_verify(out, n, prosec_link_pik(g_remote), &sent),
        PROSEC_OK);
    assert_int_equal(prosec_pc5sig_dsmc_encode(again, sizeof(again), &n2, &back,
                                               prosec_link_pik(g_relay)),
                     PROSEC_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(again, out, n);

    /* EEA0 and EIA3 offered and chosen, port 65535 */
    m.eea = PROSEC_EEA0;
    m.eia = PROSEC_EIA3;
    m.mikey.port = 65535;
    assert_int_equal(prosec_pc5sig_dsmc_encode(out, PROSEC_PC5SIG_DSMC_LEN, &n,
                                               &m, prosec_link_pik(g_relay)),
                     PROSEC_OK);
    assert_int_equal(prosec_pc5sig_dsmc_decode(out, n, &back), PROSEC_OK);
    assert_int_equal(back.eea, PROSEC_EEA0);
    assert_int_equal(back.eia, PROSEC_EIA3);
    assert_int_equal(back.mikey.port, 65535);
}

static void test_complete_round_trip(void **state)
{
    uint8_t out[MAX], want[16];
    size_t n = 0, wn = unhex(want, sizeof(want), COMPLETE_HEX);

    (void)state;
    assert_int_equal(prosec_pc5sig_complete_encode(
                         out, PROSEC_PC5SIG_COMPLETE_LEN, &n, g_dsmc,
                         sizeof(g_dsmc), prosec_link_pik(g_remote)),
                     PROSEC_OK);
    assert_int_equal(n, PROSEC_PC5SIG_COMPLETE_LEN);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);
    assert_int_equal(prosec_pc5sig_complete_check(out, n, g_dsmc,
                                                  sizeof(g_dsmc),
                                                  prosec_link_pik(g_relay)),
                     PROSEC_OK);
}

static void test_reject_round_trip(void **state)
{
    static const enum prosec_pc5sig_type types[] = {PROSEC_PC5SIG_DSM_REJECT,
                                                    PROSEC_PC5SIG_LINK_REJECT};
    uint8_t out[MAX];
    enum prosec_pc5sig_type t;
    uint8_t cause = 0;
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        for (uint8_t c = 1; c <= PROSEC_PC5SIG_CAUSE_MAX; c++) {
            assert_int_equal(
                prosec_pc5sig_reject_encode(out, PROSEC_PC5SIG_REJECT_LEN, &n,
                                            types[i], c),
                PROSEC_OK);
            assert_int_equal(n, PROSEC_PC5SIG_REJECT_LEN);
            assert_int_equal(out[0], PROSEC_PC5SIG_VERSION);
            assert_int_equal(out[1], types[i]);
            assert_int_equal(out[2], 0);
            assert_int_equal(out[3], 1);
            assert_int_equal(out[4], c);
            assert_int_equal(prosec_pc5sig_reject_decode(out, n, &t, &cause),
                             PROSEC_OK);
            assert_int_equal(t, types[i]);
            assert_int_equal(cause, c);
        }
    }
}

/* An encoder refusing its input must leave out and *out_len alone. */
static void encoder_refuses(prosec_err got, prosec_err want, const uint8_t *out,
                            size_t cap, size_t out_len)
{
    assert_int_equal(got, want);
    assert_all(out, cap, SENTINEL);
    assert_int_equal(out_len, (size_t)0x5A5A);
}

static void test_announce_encode_refuses(void **state)
{
    struct prosec_pc5sig_announce a;
    uint8_t out[MAX];
    size_t n = 0x5A5A;

    (void)state;
    memset(out, SENTINEL, sizeof(out));

    /* L2 ID, port, service code, buffer, NULL */
    a = sample_announce();
    a.relay_l2_id = PROSEC_L2_ID_MAX + 1;
    encoder_refuses(prosec_pc5sig_announce_encode(out, sizeof(out), &n, &a),
                    PROSEC_ERR_L2_ID, out, sizeof(out), n);
    a.relay_l2_id = UINT32_MAX;
    encoder_refuses(prosec_pc5sig_announce_encode(out, sizeof(out), &n, &a),
                    PROSEC_ERR_L2_ID, out, sizeof(out), n);
    a = sample_announce();
    a.tcp.port = 0;
    encoder_refuses(prosec_pc5sig_announce_encode(out, sizeof(out), &n, &a),
                    PROSEC_ERR_ARG, out, sizeof(out), n);
    a = sample_announce();
    a.service_code = 0x1000000;
    encoder_refuses(prosec_pc5sig_announce_encode(out, sizeof(out), &n, &a),
                    PROSEC_ERR_ARG, out, sizeof(out), n);
    a = sample_announce();
    encoder_refuses(prosec_pc5sig_announce_encode(
                        out, PROSEC_PC5SIG_ANNOUNCE_LEN - 1, &n, &a),
                    PROSEC_ERR_BUFFER, out, sizeof(out), n);
    encoder_refuses(prosec_pc5sig_announce_encode(out, sizeof(out), &n, NULL),
                    PROSEC_ERR_NULL, out, sizeof(out), n);
    assert_int_equal(prosec_pc5sig_announce_encode(NULL, 99, &n, &a),
                     PROSEC_ERR_NULL);
    encoder_refuses(prosec_pc5sig_announce_encode(out, sizeof(out), NULL, &a),
                    PROSEC_ERR_NULL, out, sizeof(out), n);
}

static void test_dcr_encode_refuses(void **state)
{
    static const struct prosec_ue_sec_caps bad_caps[] = {
        {0x10, 0x0E}, {0x80, 0x0E}, {0x0F, 0x01},
        {0x0F, 0x0F}, {0x0F, 0x10}, {0x0F, 0x80}};
    struct prosec_pc5sig_dcr r;
    uint8_t out[MAX];
    size_t n = 0x5A5A;

    (void)state;
    memset(out, SENTINEL, sizeof(out));

    /* L2 ID, reserved capability bits (EIA0 among them) */
    r = sample_dcr();
    r.remote_l2_id = PROSEC_L2_ID_MAX + 1;
    encoder_refuses(prosec_pc5sig_dcr_encode(out, sizeof(out), &n, &r),
                    PROSEC_ERR_L2_ID, out, sizeof(out), n);
    for (size_t i = 0; i < sizeof(bad_caps) / sizeof(bad_caps[0]); i++) {
        r = sample_dcr();
        r.caps = bad_caps[i];
        encoder_refuses(prosec_pc5sig_dcr_encode(out, sizeof(out), &n, &r),
                        PROSEC_ERR_ARG, out, sizeof(out), n);
    }
    r = sample_dcr();
    encoder_refuses(
        prosec_pc5sig_dcr_encode(out, PROSEC_PC5SIG_DCR_LEN - 1, &n, &r),
        PROSEC_ERR_BUFFER, out, sizeof(out), n);
    encoder_refuses(prosec_pc5sig_dcr_encode(out, sizeof(out), &n, NULL),
                    PROSEC_ERR_NULL, out, sizeof(out), n);
}

static void test_dsmc_encode_refuses(void **state)
{
    static const struct {
        uint8_t eea, eia, caps_eea, caps_eia;
        prosec_err want;
    } dsmc_bad[] = {
        {4, 2, 0x0F, 0x0E, PROSEC_ERR_PC5SIG_ALG},
        {0xFF, 2, 0x0F, 0x0E, PROSEC_ERR_PC5SIG_ALG},
        {2, 0, 0x0F, 0x0E, PROSEC_ERR_PC5SIG_ALG},
        {2, 4, 0x0F, 0x0E, PROSEC_ERR_PC5SIG_ALG},
        {0, 2, 0x0E, 0x0E, PROSEC_ERR_PC5SIG_ALG}, /* EEA0 not offered */
        {2, 2, 0x0B, 0x0E, PROSEC_ERR_PC5SIG_ALG},
        {2, 2, 0x0F, 0x0A, PROSEC_ERR_PC5SIG_ALG},
        {2, 2, 0x1F, 0x0E, PROSEC_ERR_ARG},
        {2, 2, 0x0F, 0x0F, PROSEC_ERR_ARG},
    };
    struct prosec_alg_key *pik = prosec_link_pik(g_relay);
    struct prosec_pc5sig_dsmc m;
    uint8_t out[MAX];
    size_t n = 0x5A5A;

    (void)state;
    memset(out, SENTINEL, sizeof(out));

    /* algorithms out of range or not offered, port, caps */
    for (size_t i = 0; i < sizeof(dsmc_bad) / sizeof(dsmc_bad[0]); i++) {
        m = sample_dsmc();
        m.eea = dsmc_bad[i].eea;
        m.eia = dsmc_bad[i].eia;
        m.caps = (struct prosec_ue_sec_caps){dsmc_bad[i].caps_eea,
                                             dsmc_bad[i].caps_eia};
        encoder_refuses(
            prosec_pc5sig_dsmc_encode(out, sizeof(out), &n, &m, pik),
            dsmc_bad[i].want, out, sizeof(out), n);
    }
    m = sample_dsmc();
    m.mikey.port = 0;
    encoder_refuses(prosec_pc5sig_dsmc_encode(out, sizeof(out), &n, &m, pik),
                    PROSEC_ERR_ARG, out, sizeof(out), n);
    m = sample_dsmc();
    encoder_refuses(
        prosec_pc5sig_dsmc_encode(out, PROSEC_PC5SIG_DSMC_LEN - 1, &n, &m, pik),
        PROSEC_ERR_BUFFER, out, sizeof(out), n);
    encoder_refuses(prosec_pc5sig_dsmc_encode(out, sizeof(out), &n, &m, NULL),
                    PROSEC_ERR_NULL, out, sizeof(out), n);
    encoder_refuses(prosec_pc5sig_dsmc_encode(out, sizeof(out), &n, NULL, pik),
                    PROSEC_ERR_NULL, out, sizeof(out), n);
}

static void test_complete_encode_refuses(void **state)
{
    struct prosec_alg_key *pik = prosec_link_pik(g_relay);
    uint8_t out[MAX];
    size_t n = 0x5A5A;

    (void)state;
    memset(out, SENTINEL, sizeof(out));

    /* short buffer, NULL, a command that is not one */
    encoder_refuses(
        prosec_pc5sig_complete_encode(out, PROSEC_PC5SIG_COMPLETE_LEN - 1, &n,
                                      g_dsmc, sizeof(g_dsmc), pik),
        PROSEC_ERR_BUFFER, out, sizeof(out), n);
    encoder_refuses(prosec_pc5sig_complete_encode(out, sizeof(out), &n, g_dsmc,
                                                  sizeof(g_dsmc), NULL),
                    PROSEC_ERR_NULL, out, sizeof(out), n);
    encoder_refuses(
        prosec_pc5sig_complete_encode(out, sizeof(out), &n, NULL, 0, pik),
        PROSEC_ERR_NULL, out, sizeof(out), n);
    encoder_refuses(prosec_pc5sig_complete_encode(out, sizeof(out), &n, g_dsmc,
                                                  sizeof(g_dsmc) - 1, pik),
                    PROSEC_ERR_PC5SIG_MALFORMED, out, sizeof(out), n);
    encoder_refuses(prosec_pc5sig_complete_encode(
                        out, sizeof(out), &n, g_samples[PROSEC_PC5SIG_DCR].msg,
                        g_samples[PROSEC_PC5SIG_DCR].len, pik),
                    PROSEC_ERR_PC5SIG_TYPE, out, sizeof(out), n);
}

static void test_reject_encode_refuses(void **state)
{
    static const uint8_t bad_cause[] = {0, PROSEC_PC5SIG_CAUSE_MAX + 1, 0xFF};
    static const enum prosec_pc5sig_type not_reject[] = {
        PROSEC_PC5SIG_ANNOUNCE,  PROSEC_PC5SIG_DCR,
        PROSEC_PC5SIG_DSMC,      PROSEC_PC5SIG_DSM_COMPLETE,
        PROSEC_PC5SIG_LINK_DATA, (enum prosec_pc5sig_type)0};
    uint8_t out[MAX];
    size_t n = 0x5A5A;

    (void)state;
    memset(out, SENTINEL, sizeof(out));

    /* cause 0 and above the last, a type that is no reject */
    for (size_t i = 0; i < sizeof(bad_cause); i++) {
        encoder_refuses(prosec_pc5sig_reject_encode(out, sizeof(out), &n,
                                                    PROSEC_PC5SIG_LINK_REJECT,
                                                    bad_cause[i]),
                        PROSEC_ERR_ARG, out, sizeof(out), n);
    }
    for (size_t i = 0; i < sizeof(not_reject) / sizeof(not_reject[0]); i++) {
        encoder_refuses(
            prosec_pc5sig_reject_encode(out, sizeof(out), &n, not_reject[i], 1),
            PROSEC_ERR_ARG, out, sizeof(out), n);
    }
    encoder_refuses(
        prosec_pc5sig_reject_encode(out, PROSEC_PC5SIG_REJECT_LEN - 1, &n,
                                    PROSEC_PC5SIG_DSM_REJECT, 1),
        PROSEC_ERR_BUFFER, out, sizeof(out), n);
}

/* ---- decoders: structure ------------------------------------------------ */

/* Each decoder takes its own types and refuses the others' as TYPE. */
static void test_decoders_types(void **state)
{
    (void)state;
    for (size_t d = 0; d < N_DECODERS; d++) {
        for (unsigned t = 1; t <= PROSEC_PC5SIG_LINK_DATA; t++) {
            const struct sample *s = &g_samples[t];
            bool mine = (DECODERS[d].types >> t & 1) != 0;

            expect(&DECODERS[d], s->msg, s->len,
                   mine ? PROSEC_OK : PROSEC_ERR_PC5SIG_TYPE, "a sample");
        }
    }
}

static void test_decoders_length(void **state)
{
    uint8_t m[MAX + 2];

    (void)state;
    for (size_t d = 0; d < N_DECODERS; d++) {
        for (unsigned t = 1; t <= PROSEC_PC5SIG_LINK_DATA; t++) {
            const struct sample *s = &g_samples[t];
            prosec_err want;

            if ((DECODERS[d].types >> t & 1) == 0) {
                continue;
            }
            /* every truncation, the empty message included */
            memcpy(m, s->msg, s->len);
            for (size_t n = 0; n < s->len; n++) {
                expect(&DECODERS[d], m, n, PROSEC_ERR_PC5SIG_MALFORMED,
                       "a truncation");
            }
            /* a trailing octet */
            m[s->len] = 0;
            expect(&DECODERS[d], m, s->len + 1, PROSEC_ERR_PC5SIG_MALFORMED,
                   "a trailing octet");
            /* a body one octet longer or shorter, its length in the
             * header: only LINK_DATA may have it, and then its MAC-I fails */
            want = PROSEC_ERR_PC5SIG_MALFORMED;
            if (t == PROSEC_PC5SIG_LINK_DATA) {
                want = d == D_TYPE ? PROSEC_OK : PROSEC_ERR_PC5SIG_MAC;
            }
            m[3] = (uint8_t)(m[3] + 1);
            expect(&DECODERS[d], m, s->len + 1, want, "a longer body");
            m[3] = (uint8_t)(m[3] - 2);
            expect(&DECODERS[d], m, s->len - 1, want, "a shorter body");
        }
    }

    /* LINK_DATA: less than COUNT and MAC-I, more than the largest payload */
    memset(m, 0, sizeof(m));
    prosec__pc5sig_put_hdr(m, PROSEC_PC5SIG_LINK_DATA, 4 + PROSEC_MAC_LEN - 1);
    for (size_t d = 0; d < N_DECODERS; d++) {
        if ((DECODERS[d].types >> PROSEC_PC5SIG_LINK_DATA & 1) != 0) {
            expect(&DECODERS[d], m, PROSEC_LINK_OVERHEAD - 1,
                   PROSEC_ERR_PC5SIG_MALFORMED, "a LINK_DATA body of 7");
        }
    }
    prosec__pc5sig_put_hdr(m, PROSEC_PC5SIG_LINK_DATA,
                           MAX + 1 - PROSEC_PC5SIG_HDR_LEN);
    for (size_t d = 0; d < N_DECODERS; d++) {
        if ((DECODERS[d].types >> PROSEC_PC5SIG_LINK_DATA & 1) != 0) {
            expect(&DECODERS[d], m, MAX + 1, PROSEC_ERR_PC5SIG_MALFORMED,
                   "a LINK_DATA over the limit");
        }
    }
}

static void test_decoders_version_type(void **state)
{
    static const uint8_t bad_version[] = {0, PROSEC_PC5SIG_VERSION + 1, 0xFF};
    static const uint8_t bad_type[] = {0, PROSEC_PC5SIG_LINK_DATA + 1, 0x80,
                                       0xFF};
    uint8_t m[64];

    (void)state;
    for (size_t d = 0; d < N_DECODERS; d++) {
        for (unsigned t = 1; t <= PROSEC_PC5SIG_LINK_DATA; t++) {
            const struct sample *s = &g_samples[t];

            memcpy(m, s->msg, s->len);
            for (size_t i = 0; i < sizeof(bad_version); i++) {
                m[0] = bad_version[i];
                expect(&DECODERS[d], m, s->len, PROSEC_ERR_PC5SIG_VERSION,
                       "another version");
            }
            m[0] = PROSEC_PC5SIG_VERSION;
            for (size_t i = 0; i < sizeof(bad_type); i++) {
                m[1] = bad_type[i];
                expect(&DECODERS[d], m, s->len, PROSEC_ERR_PC5SIG_TYPE,
                       "an unknown type");
            }
        }
    }
}

static void test_decoders_null(void **state)
{
    const struct sample *s;
    struct prosec_ue_sec_caps sent = all_caps();
    enum prosec_pc5sig_type t = (enum prosec_pc5sig_type)0;
    uint8_t cause = 0, out[64];
    size_t n = 0;

    (void)state;
    for (size_t d = 0; d < N_DECODERS; d++) {
        expect(&DECODERS[d], NULL, 0, PROSEC_ERR_NULL, "NULL");
        expect(&DECODERS[d], NULL, 8, PROSEC_ERR_NULL, "NULL");
    }
    s = &g_samples[PROSEC_PC5SIG_ANNOUNCE];
    assert_int_equal(prosec_pc5sig_announce_decode(s->msg, s->len, NULL),
                     PROSEC_ERR_NULL);
    s = &g_samples[PROSEC_PC5SIG_DCR];
    assert_int_equal(prosec_pc5sig_dcr_decode(s->msg, s->len, NULL),
                     PROSEC_ERR_NULL);
    s = &g_samples[PROSEC_PC5SIG_DSMC];
    assert_int_equal(prosec_pc5sig_dsmc_decode(s->msg, s->len, NULL),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_pc5sig_dsmc_verify(s->msg, s->len, NULL, &sent),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_pc5sig_dsmc_verify(s->msg, s->len,
                                               prosec_link_pik(g_remote), NULL),
                     PROSEC_ERR_NULL);
    s = &g_samples[PROSEC_PC5SIG_DSM_COMPLETE];
    assert_int_equal(prosec_pc5sig_complete_check(s->msg, s->len, NULL, 0,
                                                  prosec_link_pik(g_relay)),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_pc5sig_complete_check(s->msg, s->len, g_dsmc,
                                                  sizeof(g_dsmc), NULL),
                     PROSEC_ERR_NULL);
    s = &g_samples[PROSEC_PC5SIG_DSM_REJECT];
    assert_int_equal(prosec_pc5sig_reject_decode(s->msg, s->len, NULL, &cause),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_pc5sig_reject_decode(s->msg, s->len, &t, NULL),
                     PROSEC_ERR_NULL);
    assert_int_equal(cause, 0);
    assert_int_equal(prosec_pc5sig_type(s->msg, s->len, NULL), PROSEC_ERR_NULL);
    s = &g_samples[PROSEC_PC5SIG_LINK_DATA];
    assert_int_equal(
        prosec_link_open(NULL, s->msg, s->len, out, sizeof(out), &n),
        PROSEC_ERR_NULL);
    assert_int_equal(
        prosec_link_open(g_relay, s->msg, s->len, out, sizeof(out), NULL),
        PROSEC_ERR_NULL);
    assert_int_equal(
        prosec_link_open(g_relay, s->msg, s->len, NULL, sizeof(out), &n),
        PROSEC_ERR_NULL);
    assert_int_equal(n, 0);
}

/* ---- decoders: fields out of range --------------------------------------- */

struct patch {
    unsigned type; /* the sample to start from */
    size_t off[2];
    uint8_t val[2];
    size_t n;
    const char *what;
};

static void test_decoders_fields(void **state)
{
    static const struct patch P[] = {
        {PROSEC_PC5SIG_ANNOUNCE, {ANN_PORT, ANN_PORT + 1}, {0, 0}, 2, "port 0"},
        {PROSEC_PC5SIG_DCR, {DCR_CAPS}, {0x1F}, 1, "EEA bit 4"},
        {PROSEC_PC5SIG_DCR, {DCR_CAPS}, {0x8F}, 1, "EEA bit 7"},
        {PROSEC_PC5SIG_DCR, {DCR_CAPS + 1}, {0x0F}, 1, "EIA0"},
        {PROSEC_PC5SIG_DCR, {DCR_CAPS + 1}, {0x01}, 1, "EIA0 only"},
        {PROSEC_PC5SIG_DCR, {DCR_CAPS + 1}, {0x1E}, 1, "EIA bit 4"},
        {PROSEC_PC5SIG_DCR, {DCR_CAPS + 1}, {0xFE}, 1, "EIA bits 4..7"},
        {PROSEC_PC5SIG_DSMC, {DSMC_CAPS}, {0x1F}, 1, "EEA bit 4"},
        {PROSEC_PC5SIG_DSMC, {DSMC_CAPS + 1}, {0x0F}, 1, "EIA0 offered"},
        {PROSEC_PC5SIG_DSMC, {DSMC_CAPS + 1}, {0x8E}, 1, "EIA bit 7"},
        {PROSEC_PC5SIG_DSMC, {DSMC_EEA}, {4}, 1, "EEA 4"},
        {PROSEC_PC5SIG_DSMC, {DSMC_EEA}, {0xFF}, 1, "EEA 255"},
        {PROSEC_PC5SIG_DSMC, {DSMC_EIA}, {0}, 1, "EIA 0"},
        {PROSEC_PC5SIG_DSMC, {DSMC_EIA}, {4}, 1, "EIA 4"},
        {PROSEC_PC5SIG_DSMC, {DSMC_EIA}, {0x82}, 1, "EIA 130"},
        {PROSEC_PC5SIG_DSMC, {DSMC_PORT, DSMC_PORT + 1}, {0, 0}, 2, "port 0"},
        {PROSEC_PC5SIG_DSM_REJECT, {4}, {0}, 1, "cause 0"},
        {PROSEC_PC5SIG_DSM_REJECT, {4}, {6}, 1, "cause 6"},
        {PROSEC_PC5SIG_LINK_REJECT, {4}, {0}, 1, "cause 0"},
        {PROSEC_PC5SIG_LINK_REJECT, {4}, {0xFF}, 1, "cause 255"},
    };
    uint8_t m[64];

    (void)state;
    for (size_t i = 0; i < sizeof(P) / sizeof(P[0]); i++) {
        const struct sample *s = &g_samples[P[i].type];

        memcpy(m, s->msg, s->len);
        for (size_t k = 0; k < P[i].n; k++) {
            m[P[i].off[k]] = P[i].val[k];
        }
        for (size_t d = 0; d < N_DECODERS; d++) {
            bool mine = (DECODERS[d].types >> P[i].type & 1) != 0;

            /* prosec_pc5sig_type reads the header only */
            if (d == D_TYPE) {
                continue;
            }
            expect(&DECODERS[d], m, s->len,
                   mine ? PROSEC_ERR_PC5SIG_MALFORMED : PROSEC_ERR_PC5SIG_TYPE,
                   P[i].what);
        }
        /* a malformed command is refused as the complete's input, too */
        if (P[i].type == PROSEC_PC5SIG_DSMC) {
            uint8_t out[16];
            size_t n = 0;

            assert_int_equal(
                prosec_pc5sig_complete_encode(out, sizeof(out), &n, m, s->len,
                                              prosec_link_pik(g_remote)),
                PROSEC_ERR_PC5SIG_MALFORMED);
            assert_int_equal(prosec_pc5sig_complete_check(
                                 g_samples[PROSEC_PC5SIG_DSM_COMPLETE].msg,
                                 PROSEC_PC5SIG_COMPLETE_LEN, m, s->len,
                                 prosec_link_pik(g_relay)),
                             PROSEC_ERR_PC5SIG_MALFORMED);
        }
    }

    /* and every cause in range decodes */
    memcpy(m, g_samples[PROSEC_PC5SIG_DSM_REJECT].msg, 5);
    for (uint8_t c = 1; c <= PROSEC_PC5SIG_CAUSE_MAX; c++) {
        m[4] = c;
        expect(&DECODERS[D_REJECT], m, 5, PROSEC_OK, "a cause in range");
    }
}

/* ---- framing ------------------------------------------------------------- */

static void test_frame_incomplete(void **state)
{
    size_t need = 0;

    (void)state;
    assert_int_equal(prosec_pc5sig_frame(NULL, 0, &need),
                     PROSEC_ERR_PC5SIG_INCOMPLETE);
    assert_int_equal(need, PROSEC_PC5SIG_HDR_LEN);
    for (unsigned t = 1; t <= PROSEC_PC5SIG_LINK_DATA; t++) {
        const struct sample *s = &g_samples[t];

        for (size_t avail = 0; avail <= s->len; avail++) {
            size_t want =
                avail < PROSEC_PC5SIG_HDR_LEN ? PROSEC_PC5SIG_HDR_LEN : s->len;

            need = 0;
            assert_int_equal(prosec_pc5sig_frame(s->msg, avail, &need),
                             avail == s->len ? PROSEC_OK
                                             : PROSEC_ERR_PC5SIG_INCOMPLETE);
            assert_int_equal(need, want);
        }
    }
}

static void test_frame_stream(void **state)
{
    uint8_t stream[4 * 64];
    size_t len = 0, off = 0, need = 0;
    unsigned order[] = {PROSEC_PC5SIG_DSMC, PROSEC_PC5SIG_DSM_COMPLETE,
                        PROSEC_PC5SIG_LINK_DATA, PROSEC_PC5SIG_LINK_REJECT};
    enum prosec_pc5sig_type t;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        memcpy(stream + len, g_samples[order[i]].msg, g_samples[order[i]].len);
        len += g_samples[order[i]].len;
    }
    /* cut the stream as a reader would, each message whole */
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(prosec_pc5sig_frame(stream + off, len - off, &need),
                         PROSEC_OK);
        assert_int_equal(need, g_samples[order[i]].len);
        assert_int_equal(prosec_pc5sig_type(stream + off, need, &t), PROSEC_OK);
        assert_int_equal(t, order[i]);
        off += need;
    }
    assert_int_equal(off, len);
    assert_int_equal(prosec_pc5sig_frame(stream + off, 0, &need),
                     PROSEC_ERR_PC5SIG_INCOMPLETE);
    assert_int_equal(need, PROSEC_PC5SIG_HDR_LEN);
}

static void test_frame_refuses(void **state)
{
    /* the body lengths each type cannot have */
    static const struct {
        uint8_t type;
        unsigned body;
    } bad[] = {
        {PROSEC_PC5SIG_ANNOUNCE, 11},
        {PROSEC_PC5SIG_ANNOUNCE, 13},
        {PROSEC_PC5SIG_ANNOUNCE, 0},
        {PROSEC_PC5SIG_DCR, 28},
        {PROSEC_PC5SIG_DCR, 30},
        {PROSEC_PC5SIG_DSMC, 45},
        {PROSEC_PC5SIG_DSMC, 47},
        {PROSEC_PC5SIG_DSMC, 0xFFFF},
        {PROSEC_PC5SIG_DSM_COMPLETE, 3},
        {PROSEC_PC5SIG_DSM_COMPLETE, 5},
        {PROSEC_PC5SIG_DSM_REJECT, 0},
        {PROSEC_PC5SIG_DSM_REJECT, 2},
        {PROSEC_PC5SIG_LINK_REJECT, 0},
        {PROSEC_PC5SIG_LINK_REJECT, 0x100},
        {PROSEC_PC5SIG_LINK_DATA, 0},
        {PROSEC_PC5SIG_LINK_DATA, 7},
        {PROSEC_PC5SIG_LINK_DATA, 8 + PROSEC_LINK_PAYLOAD_MAX + 1},
        {PROSEC_PC5SIG_LINK_DATA, 0xFFFF},
    };
    uint8_t h[PROSEC_PC5SIG_HDR_LEN];
    size_t need = 0x5A5A;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        prosec__pc5sig_put_hdr(h, bad[i].type, bad[i].body);
        assert_int_equal(prosec_pc5sig_frame(h, sizeof(h), &need),
                         PROSEC_ERR_PC5SIG_MALFORMED);
        assert_int_equal(need, 0x5A5A);
    }

    /* the edges of LINK_DATA pass: an empty and the largest payload */
    prosec__pc5sig_put_hdr(h, PROSEC_PC5SIG_LINK_DATA, 8);
    assert_int_equal(prosec_pc5sig_frame(h, sizeof(h), &need),
                     PROSEC_ERR_PC5SIG_INCOMPLETE);
    assert_int_equal(need, PROSEC_LINK_OVERHEAD);
    prosec__pc5sig_put_hdr(h, PROSEC_PC5SIG_LINK_DATA,
                           8 + PROSEC_LINK_PAYLOAD_MAX);
    assert_int_equal(prosec_pc5sig_frame(h, sizeof(h), &need),
                     PROSEC_ERR_PC5SIG_INCOMPLETE);
    assert_int_equal(need, MAX);

    /* version and type are judged as soon as they arrive */
    need = 0x5A5A;
    h[0] = 2;
    assert_int_equal(prosec_pc5sig_frame(h, 1, &need),
                     PROSEC_ERR_PC5SIG_VERSION);
    h[0] = PROSEC_PC5SIG_VERSION;
    h[1] = 0;
    assert_int_equal(prosec_pc5sig_frame(h, 2, &need), PROSEC_ERR_PC5SIG_TYPE);
    h[1] = PROSEC_PC5SIG_LINK_DATA + 1;
    assert_int_equal(prosec_pc5sig_frame(h, 4, &need), PROSEC_ERR_PC5SIG_TYPE);
    assert_int_equal(need, 0x5A5A);

    /* NULL */
    assert_int_equal(prosec_pc5sig_frame(h, 4, NULL), PROSEC_ERR_NULL);
    assert_int_equal(prosec_pc5sig_frame(NULL, 1, &need), PROSEC_ERR_NULL);
    assert_int_equal(need, 0x5A5A);
}

/* ---- the relay's choice of algorithms ------------------------------------ */

static void test_choose_alg(void **state)
{
    static const struct {
        uint8_t off_eea, off_eia, allow_eea, allow_eia;
        prosec_err want;
        uint8_t eea, eia;
    } C[] = {
        /* preference: EEA2, EEA3, EEA1, EEA0; EIA2, EIA3, EIA1 */
        {0x0F, 0x0E, 0x0F, 0x0E, PROSEC_OK, 2, 2},
        {0x0B, 0x0A, 0x0F, 0x0E, PROSEC_OK, 3, 3},
        {0x03, 0x02, 0x0F, 0x0E, PROSEC_OK, 1, 1},
        {0x06, 0x06, 0x0F, 0x0E, PROSEC_OK, 2, 2},
        {0x0A, 0x0A, 0x0F, 0x0E, PROSEC_OK, 3, 3},
        {0x0C, 0x0C, 0x08, 0x08, PROSEC_OK, 3, 3},
        {0x0F, 0x0E, 0x02, 0x02, PROSEC_OK, 1, 1},
        /* EEA0 only when both list it, and then last */
        {0x01, 0x04, 0x0F, 0x0E, PROSEC_OK, 0, 2},
        {0x0F, 0x0E, 0x01, 0x0E, PROSEC_OK, 0, 2},
        {0x09, 0x08, 0x05, 0x0E, PROSEC_OK, 0, 3},
        {0x0F, 0x0E, 0x0E, 0x0E, PROSEC_OK, 2, 2},
        {0x01, 0x04, 0x0E, 0x0E, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        {0x0E, 0x04, 0x01, 0x0E, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        /* nothing in common */
        {0x0F, 0x04, 0x0F, 0x0A, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        {0x02, 0x0E, 0x0C, 0x0E, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        {0x00, 0x0E, 0x0F, 0x0E, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        {0x0F, 0x00, 0x0F, 0x0E, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        /* bits that are no algorithm never count: EIA0, bits 4..7 */
        {0x0F, 0x01, 0x0F, 0x01, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        {0xF0, 0x0E, 0xF0, 0x0E, PROSEC_ERR_PC5SIG_ALG, 0, 0},
        {0x0F, 0xF0, 0x0F, 0xF0, PROSEC_ERR_PC5SIG_ALG, 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++) {
        struct prosec_ue_sec_caps off = {C[i].off_eea, C[i].off_eia};
        struct prosec_ue_sec_caps allow = {C[i].allow_eea, C[i].allow_eia};
        uint8_t eea = 0xA5, eia = 0xA5;
        prosec_err got = prosec_pc5sig_choose_alg(&off, &allow, &eea, &eia);

        if (got != C[i].want) {
            print_error("case %zu: %s\n", i, prosec_err_name(got));
            fail();
        }
        assert_int_equal(eea, got == PROSEC_OK ? C[i].eea : 0xA5);
        assert_int_equal(eia, got == PROSEC_OK ? C[i].eia : 0xA5);
    }
    {
        struct prosec_ue_sec_caps c = all_caps();
        uint8_t eea = 0, eia = 0;

        assert_int_equal(prosec_pc5sig_choose_alg(NULL, &c, &eea, &eia),
                         PROSEC_ERR_NULL);
        assert_int_equal(prosec_pc5sig_choose_alg(&c, NULL, &eea, &eia),
                         PROSEC_ERR_NULL);
        assert_int_equal(prosec_pc5sig_choose_alg(&c, &c, NULL, &eia),
                         PROSEC_ERR_NULL);
        assert_int_equal(prosec_pc5sig_choose_alg(&c, &c, &eea, NULL),
                         PROSEC_ERR_NULL);
    }
}

/* ---- key derivations ----------------------------------------------------- */

static void test_kd(void **state)
{
    uint8_t pruk[PROSEC_PRUK_LEN], fresh[PROSEC_KD_FRESHNESS_LEN];
    uint8_t n1[PROSEC_NONCE_LEN], n2[PROSEC_NONCE_LEN];
    uint8_t kd[PROSEC_KD_LEN], want[PROSEC_KD_LEN], sess[PROSEC_KD_SESS_LEN];
    uint8_t swapped[PROSEC_KD_SESS_LEN];

    (void)state;
    pruk_of(pruk);
    fill(fresh, sizeof(fresh), 0xA0);
    fill(n1, sizeof(n1), 0x10);
    fill(n2, sizeof(n2), 0x20);
    assert_int_equal(prosec_kd_derive(kd, pruk, fresh), PROSEC_OK);
    unhex(want, sizeof(want), KD_HEX);
    assert_memory_equal(kd, want, sizeof(kd));
    assert_int_equal(prosec_kd_sess_derive(sess, kd, n1, n2), PROSEC_OK);
    unhex(want, sizeof(want), KD_SESS_HEX);
    assert_memory_equal(sess, want, sizeof(sess));
    /* the nonces are not interchangeable */
    assert_int_equal(prosec_kd_sess_derive(swapped, kd, n2, n1), PROSEC_OK);
    assert_memory_not_equal(swapped, sess, sizeof(sess));
    /* another freshness, another KD */
    fresh[15] ^= 1;
    assert_int_equal(prosec_kd_derive(want, pruk, fresh), PROSEC_OK);
    assert_memory_not_equal(want, kd, sizeof(kd));

    /* NULL, and nothing written then */
    memset(kd, SENTINEL, sizeof(kd));
    assert_int_equal(prosec_kd_derive(kd, NULL, fresh), PROSEC_ERR_NULL);
    assert_int_equal(prosec_kd_derive(kd, pruk, NULL), PROSEC_ERR_NULL);
    assert_int_equal(prosec_kd_derive(NULL, pruk, fresh), PROSEC_ERR_NULL);
    assert_all(kd, sizeof(kd), SENTINEL);
    assert_int_equal(prosec_kd_sess_derive(kd, NULL, n1, n2), PROSEC_ERR_NULL);
    assert_int_equal(prosec_kd_sess_derive(kd, sess, NULL, n2),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_kd_sess_derive(kd, sess, n1, NULL),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_kd_sess_derive(NULL, sess, n1, n2),
                     PROSEC_ERR_NULL);
    assert_all(kd, sizeof(kd), SENTINEL);
}

/* ---- the handshake ------------------------------------------------------- */

struct hs {
    struct prosec_ue_sec_caps sent; /* what the remote offered */
    struct prosec_ue_sec_caps allowed;
    uint8_t nonce2_start;
    uint8_t dcr[MAX], dsmc[MAX], complete[MAX];
    size_t dcr_len, dsmc_len, complete_len;
    struct prosec_link *relay, *remote;
};

static void hs_init(struct hs *h)
{
    memset(h, 0, sizeof(*h));
    h->sent = all_caps();
    h->allowed = all_caps();
    h->nonce2_start = 0x20;
}

static void hs_free(struct hs *h)
{
    prosec_link_free(h->relay);
    prosec_link_free(h->remote);
    h->relay = h->remote = NULL;
}

/* The remote device asks. */
static void hs_request(struct hs *h)
{
    struct prosec_pc5sig_dcr r = sample_dcr();

    r.caps = h->sent;
    assert_int_equal(
        prosec_pc5sig_dcr_encode(h->dcr, sizeof(h->dcr), &h->dcr_len, &r),
        PROSEC_OK);
}

/*
 * The relay reads the request, takes KD from the KMF (computed here from
 * the PRUK the KMF holds), and writes its command.
 */
static void hs_command(struct hs *h)
{
    struct prosec_pc5sig_dcr r;
    struct prosec_pc5sig_dsmc m = sample_dsmc();
    uint8_t pruk[PROSEC_PRUK_LEN], kd[PROSEC_KD_LEN], sess[PROSEC_KD_SESS_LEN];

    assert_int_equal(prosec_pc5sig_dcr_decode(h->dcr, h->dcr_len, &r),
                     PROSEC_OK);
    m.caps = r.caps;
    assert_int_equal(
        prosec_pc5sig_choose_alg(&r.caps, &h->allowed, &m.eea, &m.eia),
        PROSEC_OK);
    fill(m.nonce2, sizeof(m.nonce2), h->nonce2_start);

    /* the KMF's part: KD for this PRUK ID and freshness */
    pruk_of(pruk);
    assert_int_equal(prosec_kd_derive(kd, pruk, m.kd_freshness), PROSEC_OK);

    assert_int_equal(prosec_kd_sess_derive(sess, kd, r.nonce1, m.nonce2),
                     PROSEC_OK);
    assert_int_equal(prosec_link_new(&h->relay, sess, m.eea, m.eia,
                                     PROSEC_LINK_RELAY, PROSEC_BACKEND_AUTO),
                     PROSEC_OK);
    assert_int_equal(prosec_pc5sig_dsmc_encode(h->dsmc, sizeof(h->dsmc),
                                               &h->dsmc_len, &m,
                                               prosec_link_pik(h->relay)),
                     PROSEC_OK);
}

/*
 * The remote device, holding pruk, checks a command (msg, len) and, if it
 * passes, writes its complete message; returns what the check said.  Its
 * keys come from the command's own fields, as a real remote's would.
 */
static prosec_err hs_accept(struct hs *h, const uint8_t pruk[PROSEC_PRUK_LEN],
                            const uint8_t *msg, size_t len)
{
    struct prosec_pc5sig_dsmc m;
    uint8_t kd[PROSEC_KD_LEN], sess[PROSEC_KD_SESS_LEN];
    uint8_t nonce1[PROSEC_NONCE_LEN];
    prosec_err err;

    prosec_link_free(h->remote);
    h->remote = NULL;
    h->complete_len = 0;
    err = prosec_pc5sig_dsmc_decode(msg, len, &m);
    if (err != PROSEC_OK) {
        return err;
    }
    fill(nonce1, sizeof(nonce1), 0x10);
    assert_int_equal(prosec_kd_derive(kd, pruk, m.kd_freshness), PROSEC_OK);
    assert_int_equal(prosec_kd_sess_derive(sess, kd, nonce1, m.nonce2),
                     PROSEC_OK);
    assert_int_equal(prosec_link_new(&h->remote, sess, m.eea, m.eia,
                                     PROSEC_LINK_REMOTE, PROSEC_BACKEND_AUTO),
                     PROSEC_OK);
    err = prosec_pc5sig_dsmc_verify(msg, len, prosec_link_pik(h->remote),
                                    &h->sent);
    if (err != PROSEC_OK) {
        return err;
    }
    assert_int_equal(prosec_pc5sig_complete_encode(
                         h->complete, sizeof(h->complete), &h->complete_len,
                         msg, len, prosec_link_pik(h->remote)),
                     PROSEC_OK);
    return PROSEC_OK;
}

static prosec_err hs_finish(struct hs *h)
{
    return prosec_pc5sig_complete_check(h->complete, h->complete_len, h->dsmc,
                                        h->dsmc_len, prosec_link_pik(h->relay));
}

/* A payload one way and another back over an established link. */
static void exchange(struct prosec_link *relay, struct prosec_link *remote)
{
    static const char up[] = "from the remote", down[] = "from the relay";
    uint8_t msg[MAX], out[MAX];
    size_t n = 0, got = 0;

    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)up, sizeof(up),
                                      msg, sizeof(msg), &n),
                     PROSEC_OK);
    assert_int_equal(prosec_link_open(relay, msg, n, out, sizeof(out), &got),
                     PROSEC_OK);
    assert_int_equal(got, sizeof(up));
    assert_memory_equal(out, up, sizeof(up));
    assert_int_equal(prosec_link_seal(relay, (const uint8_t *)down,
                                      sizeof(down), msg, sizeof(msg), &n),
                     PROSEC_OK);
    assert_int_equal(prosec_link_open(remote, msg, n, out, sizeof(out), &got),
                     PROSEC_OK);
    assert_int_equal(got, sizeof(down));
    assert_memory_equal(out, down, sizeof(down));
}

static void test_handshake(void **state)
{
    uint8_t pruk[PROSEC_PRUK_LEN], want[64];
    struct hs h;

    (void)state;
    pruk_of(pruk);
    hs_init(&h);
    hs_request(&h);
    hs_command(&h);
    /* the messages of the vectors, octet for octet */
    assert_int_equal(h.dsmc_len, unhex(want, sizeof(want), DSMC_HEX));
    assert_memory_equal(h.dsmc, want, h.dsmc_len);
    assert_int_equal(hs_accept(&h, pruk, h.dsmc, h.dsmc_len), PROSEC_OK);
    assert_int_equal(h.complete_len, unhex(want, sizeof(want), COMPLETE_HEX));
    assert_memory_equal(h.complete, want, h.complete_len);
    assert_int_equal(hs_finish(&h), PROSEC_OK);
    exchange(h.relay, h.remote);
    exchange(h.relay, h.remote);
    hs_free(&h);

    /* a remote offering only EEA1 and EIA3, a relay allowing everything */
    hs_init(&h);
    h.sent = (struct prosec_ue_sec_caps){0x02, 0x08};
    hs_request(&h);
    hs_command(&h);
    assert_int_equal(h.dsmc[DSMC_EEA], PROSEC_EEA1);
    assert_int_equal(h.dsmc[DSMC_EIA], PROSEC_EIA3);
    assert_int_equal(hs_accept(&h, pruk, h.dsmc, h.dsmc_len), PROSEC_OK);
    assert_int_equal(hs_finish(&h), PROSEC_OK);
    exchange(h.relay, h.remote);
    hs_free(&h);

    /* both listing EEA0 and nothing else in common: null ciphering */
    hs_init(&h);
    h.sent = (struct prosec_ue_sec_caps){0x09, 0x02};
    h.allowed = (struct prosec_ue_sec_caps){0x05, 0x0E};
    hs_request(&h);
    hs_command(&h);
    assert_int_equal(h.dsmc[DSMC_EEA], PROSEC_EEA0);
    assert_int_equal(h.dsmc[DSMC_EIA], PROSEC_EIA1);
    assert_int_equal(hs_accept(&h, pruk, h.dsmc, h.dsmc_len), PROSEC_OK);
    assert_int_equal(hs_finish(&h), PROSEC_OK);
    exchange(h.relay, h.remote);
    hs_free(&h);
}

static void test_handshake_wrong_pruk(void **state)
{
    uint8_t pruk[PROSEC_PRUK_LEN];
    struct hs h;

    (void)state;
    hs_init(&h);
    hs_request(&h);
    hs_command(&h);
    for (size_t i = 0; i < PROSEC_PRUK_LEN; i += 7) {
        pruk_of(pruk);
        pruk[i] ^= 0x01;
        assert_int_equal(hs_accept(&h, pruk, h.dsmc, h.dsmc_len),
                         PROSEC_ERR_PC5SIG_MAC);
        assert_int_equal(h.complete_len, 0);
    }

    /* one posing as the remote without its PRUK cannot complete either */
    assert_int_equal(prosec_pc5sig_complete_encode(
                         h.complete, sizeof(h.complete), &h.complete_len,
                         h.dsmc, h.dsmc_len, prosec_link_pik(h.remote)),
                     PROSEC_OK);
    assert_int_equal(hs_finish(&h), PROSEC_ERR_PC5SIG_MAC);
    hs_free(&h);
}

static void test_handshake_altered_command(void **state)
{
    uint8_t pruk[PROSEC_PRUK_LEN], m[MAX];
    struct prosec_pc5sig_dsmc ignored;
    size_t macs = 0;
    struct hs h;

    (void)state;
    pruk_of(pruk);
    hs_init(&h);
    hs_request(&h);
    hs_command(&h);

    /*
     * Every bit of every octet after the header: what still decodes must
     * fail its MAC-I (the remote derives its keys from the altered
     * fields), and never yield a complete message.
     */
    for (size_t off = PROSEC_PC5SIG_HDR_LEN; off < h.dsmc_len; off++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            prosec_err want;

            memcpy(m, h.dsmc, h.dsmc_len);
            m[off] ^= (uint8_t)(1u << bit);
            want = prosec_pc5sig_dsmc_decode(m, h.dsmc_len, &ignored);
            if (want == PROSEC_OK) {
                want = PROSEC_ERR_PC5SIG_MAC;
                macs++;
            } else {
                assert_int_equal(want, PROSEC_ERR_PC5SIG_MALFORMED);
            }
            assert_int_equal(hs_accept(&h, pruk, m, h.dsmc_len), want);
            assert_int_equal(h.complete_len, 0);
        }
    }
    /* nonce, freshness, MIKEY address and MAC-I: 42 octets of free bits */
    assert_true(macs >= 42 * 8);

    /* the untouched command still passes */
    assert_int_equal(hs_accept(&h, pruk, h.dsmc, h.dsmc_len), PROSEC_OK);
    assert_int_equal(hs_finish(&h), PROSEC_OK);
    hs_free(&h);
}

/*
 * A bidding down by someone who holds KD-sess (so any PIK): the echoed
 * capabilities are rewritten and the MAC-I made anew.  The MAC-I passes;
 * the echo must not.
 */
static void test_handshake_bidding_down(void **state)
{
    static const struct {
        uint8_t caps_eea, caps_eia, eea, eia;
    } forged[] = {
        {0x01, 0x0E, PROSEC_EEA0, PROSEC_EIA2}, /* "you offered EEA0 only" */
        {0x03, 0x02, PROSEC_EEA1, PROSEC_EIA1},
        {0x0E, 0x0E, PROSEC_EEA2, PROSEC_EIA2}, /* echo differs, alg fine */
        {0x0F, 0x0C, PROSEC_EEA2, PROSEC_EIA2},
    };
    uint8_t pruk[PROSEC_PRUK_LEN], kd_sess[PROSEC_KD_SESS_LEN], msg[MAX];
    struct prosec_pc5sig_dsmc m;
    size_t n = 0;
    struct hs h;

    (void)state;
    pruk_of(pruk);
    unhex(kd_sess, sizeof(kd_sess), KD_SESS_HEX);
    hs_init(&h);
    hs_request(&h);
    hs_command(&h);
    assert_int_equal(prosec_pc5sig_dsmc_decode(h.dsmc, h.dsmc_len, &m),
                     PROSEC_OK);
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        struct prosec_link *evil = NULL;

        m.caps =
            (struct prosec_ue_sec_caps){forged[i].caps_eea, forged[i].caps_eia};
        m.eea = forged[i].eea;
        m.eia = forged[i].eia;
        assert_int_equal(prosec_link_new(&evil, kd_sess, m.eea, m.eia,
                                         PROSEC_LINK_RELAY,
                                         PROSEC_BACKEND_AUTO),
                         PROSEC_OK);
        assert_int_equal(prosec_pc5sig_dsmc_encode(msg, sizeof(msg), &n, &m,
                                                   prosec_link_pik(evil)),
                         PROSEC_OK);
        assert_int_equal(hs_accept(&h, pruk, msg, n), PROSEC_ERR_PC5SIG_ECHO);
        assert_int_equal(h.complete_len, 0);
        prosec_link_free(evil);
    }

    /*
     * The echo right, but EEA0 chosen though the remote did not offer it:
     * no encoder writes that, so the MAC-I is made by hand.
     */
    hs_free(&h);
    hs_init(&h);
    h.sent = (struct prosec_ue_sec_caps){0x0E, 0x0E};
    hs_request(&h);
    hs_command(&h);
    memcpy(msg, h.dsmc, h.dsmc_len);
    msg[DSMC_EEA] = PROSEC_EEA0;
    assert_int_equal(prosec_eia_keyed(prosec_link_pik(h.relay), PROSEC_EIA2, 0,
                                      0, 1, msg, DSMC_MAC, DSMC_MAC * 8,
                                      msg + DSMC_MAC),
                     PROSEC_OK);
    assert_int_equal(hs_accept(&h, pruk, msg, h.dsmc_len),
                     PROSEC_ERR_PC5SIG_ALG);
    assert_int_equal(h.complete_len, 0);
    /* the same steps over the real command pass: the MAC-I was right */
    msg[DSMC_EEA] = h.dsmc[DSMC_EEA];
    assert_int_equal(prosec_eia_keyed(prosec_link_pik(h.relay), PROSEC_EIA2, 0,
                                      0, 1, msg, DSMC_MAC, DSMC_MAC * 8,
                                      msg + DSMC_MAC),
                     PROSEC_OK);
    assert_memory_equal(msg, h.dsmc, h.dsmc_len);
    hs_free(&h);
}

static void test_handshake_complete_binding(void **state)
{
    uint8_t pruk[PROSEC_PRUK_LEN], other[MAX], complete[MAX];
    struct prosec_pc5sig_dsmc m;
    size_t n = 0, cn = 0;
    struct hs h1, h2;

    (void)state;
    pruk_of(pruk);

    /* the same keys, another command (another MIKEY port) */
    hs_init(&h1);
    hs_request(&h1);
    hs_command(&h1);
    assert_int_equal(prosec_pc5sig_dsmc_decode(h1.dsmc, h1.dsmc_len, &m),
                     PROSEC_OK);
    m.mikey.port++;
    assert_int_equal(prosec_pc5sig_dsmc_encode(other, sizeof(other), &n, &m,
                                               prosec_link_pik(h1.relay)),
                     PROSEC_OK);
    assert_int_equal(hs_accept(&h1, pruk, other, n), PROSEC_OK);
    assert_int_equal(hs_finish(&h1), PROSEC_ERR_PC5SIG_MAC);
    /* checked against the command it answers, it passes */
    assert_int_equal(prosec_pc5sig_complete_check(h1.complete, h1.complete_len,
                                                  other, n,
                                                  prosec_link_pik(h1.relay)),
                     PROSEC_OK);

    /* another session's complete (another Nonce_2, so other keys) */
    hs_init(&h2);
    h2.nonce2_start = 0x60;
    hs_request(&h2);
    hs_command(&h2);
    assert_int_equal(hs_accept(&h2, pruk, h2.dsmc, h2.dsmc_len), PROSEC_OK);
    assert_int_equal(hs_finish(&h2), PROSEC_OK);
    assert_int_equal(hs_accept(&h1, pruk, h1.dsmc, h1.dsmc_len), PROSEC_OK);
    assert_int_equal(hs_finish(&h1), PROSEC_OK);
    memcpy(complete, h2.complete, h2.complete_len);
    cn = h2.complete_len;
    assert_int_equal(prosec_pc5sig_complete_check(complete, cn, h1.dsmc,
                                                  h1.dsmc_len,
                                                  prosec_link_pik(h1.relay)),
                     PROSEC_ERR_PC5SIG_MAC);

    /* the command itself sent back is no complete message */
    assert_int_equal(prosec_pc5sig_complete_check(h1.dsmc, h1.dsmc_len, h1.dsmc,
                                                  h1.dsmc_len,
                                                  prosec_link_pik(h1.relay)),
                     PROSEC_ERR_PC5SIG_TYPE);
    hs_free(&h1);
    hs_free(&h2);
}

/* ---- the link ------------------------------------------------------------ */

static void test_link_both_directions(void **state)
{
    uint8_t pt[300], msg[MAX], out[MAX], want[64];
    struct prosec_link *relay = NULL, *remote = NULL;
    uint32_t sent = 0, acc = 0;
    size_t n = 0, got = 0;

    (void)state;
    for (unsigned eea = 0; eea <= PROSEC_EEA_MAX; eea++) {
        for (unsigned eia = 1; eia <= PROSEC_EIA_MAX; eia++) {
            new_links(eea, eia, &relay, &remote);
            for (uint32_t i = 1; i <= 3; i++) {
                fill(pt, sizeof(pt), (uint8_t)(eea * 16 + eia + i));
                assert_int_equal(prosec_link_seal(remote, pt, sizeof(pt) - i,
                                                  msg, sizeof(msg), &n),
                                 PROSEC_OK);
                assert_int_equal(n, sizeof(pt) - i + PROSEC_LINK_OVERHEAD);
                assert_int_equal(load32(msg + 4), i);
                assert_int_equal(
                    prosec_link_open(relay, msg, n, out, sizeof(out), &got),
                    PROSEC_OK);
                assert_int_equal(got, sizeof(pt) - i);
                assert_memory_equal(out, pt, got);
                assert_int_equal(
                    prosec_link_seal(relay, pt, i, msg, sizeof(msg), &n),
                    PROSEC_OK);
                assert_int_equal(
                    prosec_link_open(remote, msg, n, out, sizeof(out), &got),
                    PROSEC_OK);
                assert_int_equal(got, i);
                assert_memory_equal(out, pt, got);
            }
            prosec_link_counts(relay, &sent, &acc);
            assert_int_equal(sent, 3);
            assert_int_equal(acc, 3);
            prosec_link_counts(remote, &sent, NULL);
            assert_int_equal(sent, 3);
            prosec_link_free(relay);
            prosec_link_free(remote);
        }
    }

    /* the remote's first message is RELAY-LINK-1 */
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay, &remote);
    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)LINK1_PT,
                                      strlen(LINK1_PT), msg, sizeof(msg), &n),
                     PROSEC_OK);
    assert_int_equal(n, unhex(want, sizeof(want), LINK1_HEX));
    assert_memory_equal(msg, want, n);
    prosec_link_free(relay);
    prosec_link_free(remote);
}

static void test_link_replay_reorder(void **state)
{
    struct prosec_link *relay = NULL, *remote = NULL;
    uint8_t m1[MAX], m2[MAX], m3[MAX], out[MAX];
    size_t n1 = 0, n2 = 0, n3 = 0, got = 0x5A5A;
    uint32_t acc = 0;

    (void)state;
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay, &remote);
    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)"one", 3, m1,
                                      sizeof(m1), &n1),
                     PROSEC_OK);
    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)"two", 3, m2,
                                      sizeof(m2), &n2),
                     PROSEC_OK);
    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)"three", 5, m3,
                                      sizeof(m3), &n3),
                     PROSEC_OK);

    /* replay */
    assert_int_equal(prosec_link_open(relay, m1, n1, out, sizeof(out), &got),
                     PROSEC_OK);
    memset(out, SENTINEL, sizeof(out));
    got = 0x5A5A;
    assert_int_equal(prosec_link_open(relay, m1, n1, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_REPLAY);
    assert_all(out, sizeof(out), SENTINEL);
    assert_int_equal(got, 0x5A5A);
    prosec_link_counts(relay, NULL, &acc);
    assert_int_equal(acc, 1);

    /* reorder: 3 before 2, then 2 is late and refused */
    assert_int_equal(prosec_link_open(relay, m3, n3, out, sizeof(out), &got),
                     PROSEC_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(out, "three", 5);
    assert_int_equal(prosec_link_open(relay, m2, n2, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_REPLAY);
    assert_int_equal(prosec_link_open(relay, m1, n1, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_REPLAY);
    prosec_link_counts(relay, NULL, &acc);
    assert_int_equal(acc, 3);
    prosec_link_free(relay);
    prosec_link_free(remote);
}

static void test_link_altered(void **state)
{
    static const char pt[] = "an octet of this will not survive";
    struct prosec_link *relay = NULL, *remote = NULL;
    uint8_t msg[MAX], bad[MAX], out[MAX];
    size_t n = 0, got = 0x5A5A;
    uint32_t acc = 0;

    (void)state;
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay, &remote);
    assert_int_equal(prosec_link_seal(relay, (const uint8_t *)pt, sizeof(pt),
                                      msg, sizeof(msg), &n),
                     PROSEC_OK);
    for (size_t off = 0; off < n; off++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            prosec_err want = PROSEC_ERR_PC5SIG_MAC;

            memcpy(bad, msg, n);
            bad[off] ^= (uint8_t)(1u << bit);
            if (off == 0) {
                want = PROSEC_ERR_PC5SIG_VERSION;
            } else if (off == 1) {
                /* a known type (7 to 6, 5 or 3) has another length */
                want = bad[1] >= PROSEC_PC5SIG_ANNOUNCE &&
                               bad[1] <= PROSEC_PC5SIG_LINK_DATA
                           ? PROSEC_ERR_PC5SIG_MALFORMED
                           : PROSEC_ERR_PC5SIG_TYPE;
            } else if (off < PROSEC_PC5SIG_HDR_LEN) {
                want = PROSEC_ERR_PC5SIG_MALFORMED; /* length and len */
            }
            memset(out, SENTINEL, sizeof(out));
            assert_int_equal(
                prosec_link_open(remote, bad, n, out, sizeof(out), &got), want);
            assert_all(out, sizeof(out), SENTINEL);
            assert_int_equal(got, 0x5A5A);
        }
    }
    prosec_link_counts(remote, NULL, &acc);
    assert_int_equal(acc, 0);
    /* after all that, the real one opens */
    assert_int_equal(prosec_link_open(remote, msg, n, out, sizeof(out), &got),
                     PROSEC_OK);
    assert_memory_equal(out, pt, sizeof(pt));
    prosec_link_free(relay);
    prosec_link_free(remote);
}

/* A message reflected back to its sender, or opened by the wrong role. */
static void test_link_wrong_direction(void **state)
{
    struct prosec_link *relay = NULL, *remote = NULL, *relay2 = NULL;
    struct prosec_link *remote2 = NULL;
    uint8_t msg[MAX], out[MAX];
    size_t n = 0, got = 0;

    (void)state;
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay, &remote);
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay2, &remote2);
    assert_int_equal(prosec_link_seal(relay, (const uint8_t *)"down", 4, msg,
                                      sizeof(msg), &n),
                     PROSEC_OK);
    assert_int_equal(prosec_link_open(relay, msg, n, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_MAC);
    assert_int_equal(prosec_link_open(relay2, msg, n, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_MAC);
    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)"up", 2, msg,
                                      sizeof(msg), &n),
                     PROSEC_OK);
    assert_int_equal(prosec_link_open(remote, msg, n, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_MAC);
    assert_int_equal(prosec_link_open(remote2, msg, n, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_MAC);
    /* the right receiver takes it */
    assert_int_equal(prosec_link_open(relay2, msg, n, out, sizeof(out), &got),
                     PROSEC_OK);
    assert_memory_equal(out, "up", 2);

    /* EEA0: the payload in clear, yet the direction still counts */
    prosec_link_free(relay);
    prosec_link_free(remote);
    new_links(PROSEC_EEA0, PROSEC_EIA1, &relay, &remote);
    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)"up", 2, msg,
                                      sizeof(msg), &n),
                     PROSEC_OK);
    assert_int_equal(prosec_link_open(remote, msg, n, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_MAC);
    assert_int_equal(prosec_link_open(relay, msg, n, out, sizeof(out), &got),
                     PROSEC_OK);
    prosec_link_free(relay);
    prosec_link_free(remote);
    prosec_link_free(relay2);
    prosec_link_free(remote2);
}

static void test_link_sizes(void **state)
{
    static uint8_t pt[PROSEC_LINK_PAYLOAD_MAX + 1], msg[MAX + 16],
        out[MAX + 16];
    struct prosec_link *relay = NULL, *remote = NULL;
    size_t n = 0x5A5A, got = 0x5A5A;
    uint32_t sent = 0, acc = 0;

    (void)state;
    fill(pt, sizeof(pt), 0x33);
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay, &remote);

    /* too large, and a buffer one short: no COUNT used, out unwritten */
    memset(msg, SENTINEL, sizeof(msg));
    assert_int_equal(prosec_link_seal(remote, pt, PROSEC_LINK_PAYLOAD_MAX + 1,
                                      msg, sizeof(msg), &n),
                     PROSEC_ERR_PC5SIG_TOO_LARGE);
    assert_int_equal(
        prosec_link_seal(remote, pt, SIZE_MAX, msg, sizeof(msg), &n),
        PROSEC_ERR_PC5SIG_TOO_LARGE);
    assert_int_equal(prosec_link_seal(remote, pt, 100, msg,
                                      100 + PROSEC_LINK_OVERHEAD - 1, &n),
                     PROSEC_ERR_BUFFER);
    assert_int_equal(
        prosec_link_seal(remote, pt, 0, msg, PROSEC_LINK_OVERHEAD - 1, &n),
        PROSEC_ERR_BUFFER);
    assert_all(msg, sizeof(msg), SENTINEL);
    assert_int_equal(n, 0x5A5A);
    prosec_link_counts(remote, &sent, NULL);
    assert_int_equal(sent, 0);

    /* the largest payload, in a buffer of exactly its size: COUNT 1 */
    assert_int_equal(
        prosec_link_seal(remote, pt, PROSEC_LINK_PAYLOAD_MAX, msg, MAX, &n),
        PROSEC_OK);
    assert_int_equal(n, MAX);
    assert_int_equal(load32(msg + 4), 1);

    /* opened into a buffer one short: refused, and nothing changes */
    memset(out, SENTINEL, sizeof(out));
    assert_int_equal(
        prosec_link_open(relay, msg, n, out, PROSEC_LINK_PAYLOAD_MAX - 1, &got),
        PROSEC_ERR_BUFFER);
    assert_all(out, sizeof(out), SENTINEL);
    assert_int_equal(got, 0x5A5A);
    prosec_link_counts(relay, NULL, &acc);
    assert_int_equal(acc, 0);
    assert_int_equal(
        prosec_link_open(relay, msg, n, out, PROSEC_LINK_PAYLOAD_MAX, &got),
        PROSEC_OK);
    assert_int_equal(got, PROSEC_LINK_PAYLOAD_MAX);
    assert_memory_equal(out, pt, got);

    /* NULL plaintext with a length */
    assert_int_equal(prosec_link_seal(remote, NULL, 1, msg, sizeof(msg), &n),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_link_seal(NULL, pt, 1, msg, sizeof(msg), &n),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_link_seal(remote, pt, 1, NULL, sizeof(msg), &n),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_link_seal(remote, pt, 1, msg, sizeof(msg), NULL),
                     PROSEC_ERR_NULL);
    prosec_link_counts(remote, &sent, NULL);
    assert_int_equal(sent, 1);
    prosec_link_free(relay);
    prosec_link_free(remote);
}

static void test_link_empty(void **state)
{
    struct prosec_link *relay = NULL, *remote = NULL;
    uint8_t msg[MAX], want[64];
    size_t n = 0, got = 0x5A5A;

    (void)state;
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay, &remote);
    /* RELAY-LINK-3: the empty payload at COUNT 2 */
    prosec__link_set_counts(remote, 1, 0);
    assert_int_equal(prosec_link_seal(remote, NULL, 0, msg, sizeof(msg), &n),
                     PROSEC_OK);
    assert_int_equal(n, PROSEC_LINK_OVERHEAD);
    assert_int_equal(n, unhex(want, sizeof(want), "010700080000000277a9ad06"));
    assert_memory_equal(msg, want, n);
    /* opened without an output buffer at all */
    assert_int_equal(prosec_link_open(relay, msg, n, NULL, 0, &got), PROSEC_OK);
    assert_int_equal(got, 0);
    /* an empty message still carries a MAC-I */
    assert_int_equal(prosec_link_seal(remote, NULL, 0, msg, sizeof(msg), &n),
                     PROSEC_OK);
    msg[n - 1] ^= 1;
    assert_int_equal(prosec_link_open(relay, msg, n, NULL, 0, &got),
                     PROSEC_ERR_PC5SIG_MAC);
    prosec_link_free(relay);
    prosec_link_free(remote);
}

static void test_link_eea0(void **state)
{
    static const char pt[] = "null ciphering, MAC-I in clear";
    struct prosec_link *relay = NULL, *remote = NULL;
    uint8_t msg[MAX], out[MAX], want[64];
    size_t n = 0, got = 0;

    (void)state;
    new_links(PROSEC_EEA0, PROSEC_EIA2, &relay, &remote);
    /* RELAY-LINK-5, at COUNT 5: the payload travels as it is */
    prosec__link_set_counts(remote, 4, 0);
    assert_int_equal(prosec_link_seal(remote, (const uint8_t *)pt, strlen(pt),
                                      msg, sizeof(msg), &n),
                     PROSEC_OK);
    assert_memory_equal(msg + LINK_DATA_OFF, pt, strlen(pt));
    assert_int_equal(n, unhex(want, sizeof(want),
                              "01070026000000056e756c6c20636970686572696e672c"
                              "204d41432d4920696e20636c6561723026baf5"));
    assert_memory_equal(msg, want, n);
    /* and is protected all the same */
    msg[LINK_DATA_OFF] ^= 0x20;
    assert_int_equal(prosec_link_open(relay, msg, n, out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_MAC);
    msg[LINK_DATA_OFF] ^= 0x20;
    assert_int_equal(prosec_link_open(relay, msg, n, out, sizeof(out), &got),
                     PROSEC_OK);
    assert_int_equal(got, strlen(pt));
    assert_memory_equal(out, pt, got);
    prosec_link_free(relay);
    prosec_link_free(remote);
}

static void test_link_count_edges(void **state)
{
    struct prosec_link *relay = NULL, *remote = NULL;
    uint8_t msg[MAX], out[MAX];
    size_t n = 0x5A5A, got = 0;
    uint32_t sent = 0, acc = 0;

    (void)state;
    new_links(PROSEC_EEA0, PROSEC_EIA2, &relay, &remote);

    /* the last COUNT is used once, then the link is spent */
    prosec__link_set_counts(relay, UINT32_MAX - 1, 0);
    assert_int_equal(
        prosec_link_seal(relay, (const uint8_t *)"x", 1, msg, sizeof(msg), &n),
        PROSEC_OK);
    assert_int_equal(load32(msg + 4), UINT32_MAX);
    assert_int_equal(prosec_link_open(remote, msg, n, out, sizeof(out), &got),
                     PROSEC_OK);
    prosec_link_counts(remote, NULL, &acc);
    assert_int_equal(acc, UINT32_MAX);
    memset(msg, SENTINEL, sizeof(msg));
    n = 0x5A5A;
    assert_int_equal(
        prosec_link_seal(relay, (const uint8_t *)"x", 1, msg, sizeof(msg), &n),
        PROSEC_ERR_PC5SIG_COUNT);
    assert_all(msg, sizeof(msg), SENTINEL);
    assert_int_equal(n, 0x5A5A);
    prosec_link_counts(relay, &sent, NULL);
    assert_int_equal(sent, UINT32_MAX);

    /*
     * COUNT 0 belongs to the security mode messages: a LINK_DATA at COUNT
     * 0 with a right MAC-I (EEA0, so it can be built here) is refused.
     */
    prosec__pc5sig_put_hdr(msg, PROSEC_PC5SIG_LINK_DATA, 4 + 1 + 4);
    memset(msg + 4, 0, 4);
    msg[LINK_DATA_OFF] = 'z';
    assert_int_equal(prosec_eia_keyed(prosec_link_pik(relay), PROSEC_EIA2, 0, 0,
                                      1, msg, LINK_DATA_OFF + 1,
                                      (LINK_DATA_OFF + 1) * 8,
                                      msg + LINK_DATA_OFF + 1),
                     PROSEC_OK);
    prosec__link_set_counts(remote, 0, 0);
    assert_int_equal(prosec_link_open(remote, msg, PROSEC_LINK_OVERHEAD + 1,
                                      out, sizeof(out), &got),
                     PROSEC_ERR_PC5SIG_REPLAY);
    /* the same at COUNT 1 is taken: the MAC-I was built right */
    msg[7] = 1;
    assert_int_equal(prosec_eia_keyed(prosec_link_pik(relay), PROSEC_EIA2, 1, 0,
                                      1, msg, LINK_DATA_OFF + 1,
                                      (LINK_DATA_OFF + 1) * 8,
                                      msg + LINK_DATA_OFF + 1),
                     PROSEC_OK);
    assert_int_equal(prosec_link_open(remote, msg, PROSEC_LINK_OVERHEAD + 1,
                                      out, sizeof(out), &got),
                     PROSEC_OK);
    assert_int_equal(got, 1);
    assert_int_equal(out[0], 'z');
    prosec_link_free(relay);
    prosec_link_free(remote);
}

static void test_link_overlap(void **state)
{
    struct prosec_link *relay = NULL, *remote = NULL;
    uint8_t buf[256], out[256], orig[256];
    size_t n = 0x5A5A, got = 0;
    uint32_t sent = 0;

    (void)state;
    new_links(PROSEC_EEA2, PROSEC_EIA2, &relay, &remote);
    fill(buf, sizeof(buf), 0);
    memcpy(orig, buf, sizeof(buf));
    /* out overlapping the plaintext, at its start and inside it */
    assert_int_equal(
        prosec_link_seal(remote, buf + LINK_DATA_OFF, 64, buf, sizeof(buf), &n),
        PROSEC_ERR_OVERLAP);
    assert_int_equal(prosec_link_seal(remote, buf, 64, buf, sizeof(buf), &n),
                     PROSEC_ERR_OVERLAP);
    assert_int_equal(prosec_link_seal(remote, buf, 64, buf + 63, 100, &n),
                     PROSEC_ERR_OVERLAP);
    assert_int_equal(n, 0x5A5A);
    assert_memory_equal(buf, orig, sizeof(buf));
    prosec_link_counts(remote, &sent, NULL);
    assert_int_equal(sent, 0);
    /* adjacent is fine */
    assert_int_equal(prosec_link_seal(remote, buf, 64, buf + 64, 100, &n),
                     PROSEC_OK);
    assert_int_equal(
        prosec_link_open(relay, buf + 64, n, out, sizeof(out), &got),
        PROSEC_OK);
    assert_int_equal(got, 64);
    assert_memory_equal(out, orig, 64);
    prosec_link_free(relay);
    prosec_link_free(remote);
}

static void test_link_new_args(void **state)
{
    static int dummy;
    uint8_t kd_sess[PROSEC_KD_SESS_LEN];
    struct prosec_link *keep = (struct prosec_link *)(void *)&dummy;
    struct prosec_link *l = keep;
    uint32_t sent = 7, acc = 7;

    (void)state;
    unhex(kd_sess, sizeof(kd_sess), KD_SESS_HEX);
    assert_int_equal(prosec_link_new(&l, kd_sess, 2, 2,
                                     (enum prosec_link_role)0,
                                     PROSEC_BACKEND_AUTO),
                     PROSEC_ERR_ARG);
    assert_int_equal(prosec_link_new(&l, kd_sess, 2, 2,
                                     (enum prosec_link_role)3,
                                     PROSEC_BACKEND_AUTO),
                     PROSEC_ERR_ARG);
    assert_int_equal(prosec_link_new(&l, kd_sess, 4, 2, PROSEC_LINK_RELAY,
                                     PROSEC_BACKEND_AUTO),
                     PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_link_new(&l, kd_sess, 2, 0, PROSEC_LINK_RELAY,
                                     PROSEC_BACKEND_AUTO),
                     PROSEC_ERR_ALG_ID);
    assert_int_equal(prosec_link_new(&l, kd_sess, 2, 4, PROSEC_LINK_RELAY,
                                     PROSEC_BACKEND_AUTO),
                     PROSEC_ERR_ALG_ID);
    assert_int_equal(
        prosec_link_new(&l, NULL, 2, 2, PROSEC_LINK_RELAY, PROSEC_BACKEND_AUTO),
        PROSEC_ERR_NULL);
    assert_int_equal(prosec_link_new(NULL, kd_sess, 2, 2, PROSEC_LINK_RELAY,
                                     PROSEC_BACKEND_AUTO),
                     PROSEC_ERR_NULL);
    assert_ptr_equal(l, keep);

    prosec_link_free(NULL);
    assert_null(prosec_link_pik(NULL));
    prosec_link_counts(NULL, &sent, &acc);
    assert_int_equal(sent, 0);
    assert_int_equal(acc, 0);
    prosec_link_counts(g_relay, NULL, NULL);
}

/* ---- the fuzzer's seeds -------------------------------------------------- */

static size_t read_seed(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", PROSEC_PC5SIG_CORPUS, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        print_error("cannot open %s\n", path);
        fail();
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* The seeds are valid under the keys fuzz_pc5sig.c fixes (setup()'s). */
static void test_seeds(void **state)
{
    static const struct {
        const char *name;
        size_t decoder; /* index in DECODERS */
    } S[] = {
        {"announce", D_ANNOUNCE}, {"dcr", D_DCR},
        {"dsmc", D_VERIFY},       {"complete", D_COMPLETE},
        {"dsm_reject", D_REJECT}, {"link_reject", D_REJECT},
        {"link_data", D_LINK},    {"link_data_empty", D_LINK},
    };
    struct prosec_link *relay0 = NULL, *remote0 = NULL;
    uint8_t buf[512], out[64];
    size_t n, need = 0, got = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(S) / sizeof(S[0]); i++) {
        n = read_seed(S[i].name, buf, sizeof(buf));
        expect(&DECODERS[S[i].decoder], buf, n, PROSEC_OK, S[i].name);
    }
    n = read_seed("link_data_eea0", buf, sizeof(buf));
    new_links(PROSEC_EEA0, PROSEC_EIA2, &relay0, &remote0);
    assert_int_equal(prosec_link_open(relay0, buf, n, out, sizeof(out), &got),
                     PROSEC_OK);
    prosec_link_free(relay0);
    prosec_link_free(remote0);

    n = read_seed("dcr_truncated", buf, sizeof(buf));
    assert_int_equal(prosec_pc5sig_frame(buf, n, &need),
                     PROSEC_ERR_PC5SIG_INCOMPLETE);
    assert_int_equal(need, PROSEC_PC5SIG_DCR_LEN);
    n = read_seed("two_messages", buf, sizeof(buf));
    assert_int_equal(prosec_pc5sig_frame(buf, n, &need), PROSEC_OK);
    expect(&DECODERS[D_COMPLETE], buf, need, PROSEC_OK, "two_messages, first");
    expect(&DECODERS[D_LINK], buf + need, n - need, PROSEC_OK,
           "two_messages, second");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_announce_round_trip),
        cmocka_unit_test(test_dcr_round_trip),
        cmocka_unit_test(test_dsmc_round_trip),
        cmocka_unit_test(test_complete_round_trip),
        cmocka_unit_test(test_reject_round_trip),
        cmocka_unit_test(test_announce_encode_refuses),
        cmocka_unit_test(test_dcr_encode_refuses),
        cmocka_unit_test(test_dsmc_encode_refuses),
        cmocka_unit_test(test_complete_encode_refuses),
        cmocka_unit_test(test_reject_encode_refuses),
        cmocka_unit_test(test_decoders_types),
        cmocka_unit_test(test_decoders_length),
        cmocka_unit_test(test_decoders_version_type),
        cmocka_unit_test(test_decoders_null),
        cmocka_unit_test(test_decoders_fields),
        cmocka_unit_test(test_frame_incomplete),
        cmocka_unit_test(test_frame_stream),
        cmocka_unit_test(test_frame_refuses),
        cmocka_unit_test(test_choose_alg),
        cmocka_unit_test(test_kd),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_handshake_wrong_pruk),
        cmocka_unit_test(test_handshake_altered_command),
        cmocka_unit_test(test_handshake_bidding_down),
        cmocka_unit_test(test_handshake_complete_binding),
        cmocka_unit_test(test_link_both_directions),
        cmocka_unit_test(test_link_replay_reorder),
        cmocka_unit_test(test_link_altered),
        cmocka_unit_test(test_link_wrong_direction),
        cmocka_unit_test(test_link_sizes),
        cmocka_unit_test(test_link_empty),
        cmocka_unit_test(test_link_eea0),
        cmocka_unit_test(test_link_count_edges),
        cmocka_unit_test(test_link_overlap),
        cmocka_unit_test(test_link_new_args),
        cmocka_unit_test(test_seeds),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
