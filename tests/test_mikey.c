/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MIKEY: round trips of a push, a revocation and the verification
 * message; known answers for the transport keys, recomputed here from
 * RFC 3830 4.1.4 with OpenSSL and an encoder of the test's own; every bit
 * flip and every truncation refused; tables of malformed headers and
 * General Extensions with the expected error; the replay cache and the
 * NTP conversion as tables over their edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "prosec/prosec.h"

enum { GROUP = 0xD4E5F6, MEMBER = 0xA1B2C3, PGK_ID = 0x21 };

static const char KMF_URI[] = "https://kmf.example.org";
static const char DEV_URI[] = "sip:device-7@example.org";

static void fill(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(start + i);
    }
}

static struct prosec_mikey_msg make_msg(enum prosec_mikey_kind kind)
{
    struct prosec_mikey_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.ntp_time = 0xE8D4A51012345678ull;
    fill(m.rand, sizeof(m.rand), 0xA0);
    strcpy(m.idi, KMF_URI);
    strcpy(m.idr, DEV_URI);
    m.group_id = GROUP;
    m.pgk_id = PGK_ID;
    m.pmk_id = 0x0BADF00D;
    if (kind == PROSEC_MIKEY_PGK_PUSH) {
        m.member_id = MEMBER;
        m.activation = 1697260000;
        m.expiry = 1697346400;
        m.alg = 3;
        m.profile = 1;
        m.bearer = 17;
        fill(m.pgk, sizeof(m.pgk), 0x40);
    }
    return m;
}

static void make_pmk(uint8_t pmk[PROSEC_MIKEY_PMK_LEN])
{
    fill(pmk, PROSEC_MIKEY_PMK_LEN, 0x11);
}

static size_t encode(const struct prosec_mikey_msg *m, uint8_t *out)
{
    uint8_t pmk[PROSEC_MIKEY_PMK_LEN];
    size_t n = 0;

    make_pmk(pmk);
    assert_int_equal(prosec_mikey_encode(out, PROSEC_MIKEY_MSG_MAX, &n, m, pmk),
                     PROSEC_OK);
    return n;
}

static void assert_same_msg(const struct prosec_mikey_msg *a,
                            const struct prosec_mikey_msg *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->ntp_time, b->ntp_time);
    assert_memory_equal(a->rand, b->rand, sizeof(a->rand));
    assert_string_equal(a->idi, b->idi);
    assert_string_equal(a->idr, b->idr);
    assert_int_equal(a->group_id, b->group_id);
    assert_int_equal(a->member_id, b->member_id);
    assert_int_equal(a->pgk_id, b->pgk_id);
    assert_int_equal(a->activation, b->activation);
    assert_int_equal(a->expiry, b->expiry);
    assert_int_equal(a->alg, b->alg);
    assert_int_equal(a->profile, b->profile);
    assert_int_equal(a->bearer, b->bearer);
    assert_int_equal(a->pmk_id, b->pmk_id);
    assert_memory_equal(a->pgk, b->pgk, sizeof(a->pgk));
}

/* ---- the test's own encoder (RFC 3830 6, RFC 6043) --------------------- */

struct tb {
    uint8_t b[2048];
    size_t n;
};

static void tb_put(struct tb *t, const void *p, size_t n)
{
    assert_true(t->n + n <= sizeof(t->b));
    memcpy(t->b + t->n, p, n);
    t->n += n;
}

static void tb_be(struct tb *t, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t o = (uint8_t)(v >> (8 * (n - 1 - i)));

        tb_put(t, &o, 1);
    }
}

/* PRF(PMK, constant || 0xFF || CSB ID || RAND), RFC 3830 4.1.4. */
static void transport_key(uint8_t *out, size_t len, uint32_t constant,
                          uint32_t csb_id, const uint8_t rand[16])
{
    uint8_t pmk[PROSEC_MIKEY_PMK_LEN], label[25];

    make_pmk(pmk);
    label[0] = (uint8_t)(constant >> 24);
    label[1] = (uint8_t)(constant >> 16);
    label[2] = (uint8_t)(constant >> 8);
    label[3] = (uint8_t)constant;
    label[4] = 0xFF;
    label[5] = (uint8_t)(csb_id >> 24);
    label[6] = (uint8_t)(csb_id >> 16);
    label[7] = (uint8_t)(csb_id >> 8);
    label[8] = (uint8_t)csb_id;
    memcpy(label + 9, rand, 16);
    assert_int_equal(prosec_mikey_prf(out, len, pmk, sizeof(pmk), label, 25),
                     PROSEC_OK);
}

static void hmac256(uint8_t out[32], const uint8_t key[32], const uint8_t *m,
                    size_t n)
{
    unsigned int len = 0;

    assert_non_null(HMAC(EVP_sha256(), key, 32, m, n, out, &len));
    assert_int_equal(len, 32);
}

static size_t kw(int enc, const uint8_t key[16], const uint8_t *in, size_t n,
                 uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int a = 0, b = 0, ok;

    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = EVP_CipherInit_ex(c, EVP_aes_128_wrap(), NULL, key, NULL, enc) == 1 &&
         EVP_CipherUpdate(c, out, &a, in, (int)n) == 1 &&
         EVP_CipherFinal_ex(c, out + a, &b) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? (size_t)(a + b) : 0;
}

/* A General Extension TLV list, built by hand. */
struct ext {
    uint8_t b[256];
    size_t n;
};

static void ext_tlv(struct ext *e, uint8_t type, uint8_t len, uint64_t v)
{
    e->b[e->n++] = type;
    e->b[e->n++] = len;
    for (size_t i = 0; i < len; i++) {
        e->b[e->n++] =
            (uint8_t)(len - 1 - i < 8 ? v >> (8 * (len - 1 - i)) : 0);
    }
}

static struct ext ext_header(void)
{
    struct ext e = {{'p', 'r', 'o', 's', 'e', 'c', 1}, 7};

    return e;
}

static struct ext ext_push(void)
{
    struct ext e = ext_header();

    ext_tlv(&e, 1, 1, 1);
    ext_tlv(&e, 2, 3, GROUP);
    ext_tlv(&e, 3, 3, MEMBER);
    ext_tlv(&e, 4, 1, PGK_ID);
    ext_tlv(&e, 5, 8, 1697260000);
    ext_tlv(&e, 6, 8, 1697346400);
    ext_tlv(&e, 7, 1, 3);
    ext_tlv(&e, 8, 1, 1);
    ext_tlv(&e, 9, 1, 17);
    ext_tlv(&e, 10, 4, 0x0BADF00D);
    return e;
}

/*
 * An I_MESSAGE of prosec's layout with this extension and this key data
 * (plain, wrapped here unless encr_alg is NULL), MAC'd with keys derived
 * here.  csb_id 0 means Group ID << 8 | PGK ID.
 */
static size_t build(uint8_t *out, const struct ext *e, const uint8_t *key_data,
                    size_t key_data_len, uint8_t encr_alg, uint32_t csb_id)
{
    uint8_t rand[16], encr_key[16], auth_key[32], wrapped[128], mac[32];
    size_t wlen = 0;
    struct tb t = {{0}, 0};

    fill(rand, sizeof(rand), 0xA0);
    csb_id = csb_id != 0 ? csb_id : (uint32_t)GROUP << 8 | PGK_ID;
    transport_key(encr_key, 16, 0x150533E1, csb_id, rand);
    transport_key(auth_key, 32, 0x2D22AC75, csb_id, rand);
    if (encr_alg == 2) {
        wlen = kw(1, encr_key, key_data, key_data_len, wrapped);
        assert_true(wlen > 0);
    }
    tb_put(&t, (uint8_t[]){1, 0, 5, 0x81}, 4); /* HDR */
    tb_be(&t, csb_id, 4);
    tb_put(&t, (uint8_t[]){0, 1, 11, 0}, 4); /* #CS, map; T */
    tb_be(&t, 0xE8D4A51012345678ull, 8);
    tb_put(&t, (uint8_t[]){6, 16}, 2); /* RAND */
    tb_put(&t, rand, 16);
    tb_put(&t, (uint8_t[]){6, 1, 0, sizeof(KMF_URI) - 1}, 4);
    tb_put(&t, KMF_URI, sizeof(KMF_URI) - 1);
    tb_put(&t, (uint8_t[]){21, 1, 0, sizeof(DEV_URI) - 1}, 4);
    tb_put(&t, DEV_URI, sizeof(DEV_URI) - 1);
    tb_put(&t, (uint8_t[]){1, 0}, 2); /* General Extension, Vendor-ID */
    tb_be(&t, e->n, 2);
    tb_put(&t, e->b, e->n);
    tb_put(&t, (uint8_t[]){0, encr_alg}, 2); /* KEMAC */
    tb_be(&t, wlen, 2);
    tb_put(&t, wrapped, wlen);
    tb_put(&t, (uint8_t[]){2}, 1); /* HMAC-SHA-256-256 */
    hmac256(mac, auth_key, t.b, t.n);
    tb_put(&t, mac, 32);
    memcpy(out, t.b, t.n);
    return t.n;
}

/* The key data prosec wraps: TGK, no KV, 32 octets, 4 octets of zeros. */
static void key_data(uint8_t kd[40], const uint8_t pgk[32])
{
    memset(kd, 0, 40);
    kd[3] = 32;
    memcpy(kd + 4, pgk, 32);
}

static prosec_err decode(const uint8_t *buf, size_t n,
                         struct prosec_mikey_msg *m)
{
    uint8_t pmk[PROSEC_MIKEY_PMK_LEN];

    make_pmk(pmk);
    return prosec_mikey_decode(buf, n, pmk, m);
}

/* ---- round trips -------------------------------------------------------- */

static void test_push_round_trip(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH), back;
    struct prosec_mikey_info info;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX];
    size_t n = encode(&m, buf);

    (void)state;
    assert_int_equal(decode(buf, n, &back), PROSEC_OK);
    assert_same_msg(&m, &back);

    assert_int_equal(prosec_mikey_peek(buf, n, &info), PROSEC_OK);
    assert_int_equal(info.kind, PROSEC_MIKEY_PGK_PUSH);
    assert_int_equal(info.csb_id, 0xD4E5F621u);
    assert_int_equal(info.group_id, GROUP);
    assert_int_equal(info.pgk_id, PGK_ID);
    assert_int_equal(info.pmk_id, 0x0BADF00D);
    assert_int_equal(info.ntp_time, m.ntp_time);
    assert_memory_equal(info.rand, m.rand, 16);
    assert_string_equal(info.idi, KMF_URI);
    assert_string_equal(info.idr, DEV_URI);
}

static void test_revoke_round_trip(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_REVOKE), back;
    struct prosec_mikey_info info;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX], zero[32] = {0};
    size_t n;

    (void)state;
    /* Push-only fields are not sent: set them to see them ignored. */
    m.member_id = MEMBER;
    m.alg = 7;
    fill(m.pgk, sizeof(m.pgk), 1);
    n = encode(&m, buf);
    assert_int_equal(decode(buf, n, &back), PROSEC_OK);
    assert_int_equal(back.kind, PROSEC_MIKEY_PGK_REVOKE);
    assert_int_equal(back.group_id, GROUP);
    assert_int_equal(back.pgk_id, PGK_ID);
    assert_int_equal(back.pmk_id, 0x0BADF00D);
    assert_int_equal(back.member_id, 0);
    assert_int_equal(back.alg, 0);
    assert_memory_equal(back.pgk, zero, 32);
    assert_int_equal(prosec_mikey_peek(buf, n, &info), PROSEC_OK);
    assert_int_equal(info.kind, PROSEC_MIKEY_PGK_REVOKE);

    /* The KEMAC carries no key (NULL, empty) but still a MAC. */
    assert_int_equal(buf[n - 37], PROSEC_MIKEY_PT_LAST);
    assert_int_equal(buf[n - 36], PROSEC_MIKEY_ENCR_NULL);
    assert_int_equal(buf[n - 35], 0);
    assert_int_equal(buf[n - 34], 0);
    assert_int_equal(buf[n - 33], PROSEC_MIKEY_MAC_HMAC_SHA256);
    buf[n - 1] ^= 1;
    assert_int_equal(decode(buf, n, &back), PROSEC_ERR_MIKEY_MAC);
}

/* ---- known answers: the transport keys of RFC 3830 4.1.4 ---------------- */

static void test_transport_keys(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH);
    uint8_t buf[PROSEC_MIKEY_MSG_MAX], ours[PROSEC_MIKEY_MSG_MAX];
    uint8_t encr_key[16], auth_key[32], mac[32], plain[64], kd[40];
    uint32_t csb = 0xD4E5F621u;
    size_t n = encode(&m, buf), kemac = n - 32 - 1 - 48 - 4;
    struct ext e = ext_push();

    (void)state;
    transport_key(encr_key, 16, 0x150533E1, csb, m.rand);
    transport_key(auth_key, 32, 0x2D22AC75, csb, m.rand);

    /* The MAC is HMAC-SHA-256 under auth_key of all that precedes it. */
    hmac256(mac, auth_key, buf, n - 32);
    assert_memory_equal(mac, buf + n - 32, 32);

    /* The KEMAC data unwraps under encr_key to the key data sub-payload. */
    assert_int_equal(buf[kemac], PROSEC_MIKEY_PT_LAST);
    assert_int_equal(buf[kemac + 1], PROSEC_MIKEY_ENCR_AES_KW_128);
    assert_int_equal(buf[kemac + 3], 48);
    assert_int_equal(kw(0, encr_key, buf + kemac + 4, 48, plain), 40);
    key_data(kd, m.pgk);
    assert_memory_equal(plain, kd, 40);

    /* And the whole message is what the test's own encoder makes. */
    assert_int_equal(build(ours, &e, kd, 40, 2, 0), n);
    assert_memory_equal(ours, buf, n);
}

static void test_verify_known_answer(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH);
    uint8_t pmk[32], r[128], auth_key[32], mac[32];
    uint64_t t_r = m.ntp_time + (5ull << 32);
    struct tb t = {{0}, 0};
    size_t n = 0;

    (void)state;
    make_pmk(pmk);
    assert_int_equal(prosec_mikey_verify_encode(r, sizeof(r), &n, &m, pmk, t_r),
                     PROSEC_OK);
    assert_int_equal(n, 54);

    /* HDR (data type 1), T, V; MAC over R || IDi || IDr || T of I. */
    tb_put(&t, (uint8_t[]){1, 1, 5, 0x01, 0xD4, 0xE5, 0xF6, 0x21, 0, 1, 9, 0},
           12);
    tb_be(&t, t_r, 8);
    tb_put(&t, (uint8_t[]){0, 2}, 2);
    assert_memory_equal(r, t.b, t.n);
    tb_put(&t, KMF_URI, strlen(KMF_URI));
    tb_put(&t, DEV_URI, strlen(DEV_URI));
    tb_be(&t, m.ntp_time, 8);
    transport_key(auth_key, 32, 0x2D22AC75, 0xD4E5F621u, m.rand);
    hmac256(mac, auth_key, t.b, t.n);
    assert_memory_equal(r + 22, mac, 32);
}

/* ---- tampering ------------------------------------------------------------
 */

static void test_every_bit_flip(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH), back;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX];
    size_t n = encode(&m, buf), refused = 0;

    (void)state;
    for (size_t bit = 0; bit < 8 * n; bit++) {
        buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        memset(&back, 0x77, sizeof(back));
        if (decode(buf, n, &back) != PROSEC_OK) {
            refused++;
        }
        /* out-parameters untouched on failure */
        assert_int_equal(back.pmk_id, 0x77777777);
        buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
    }
    assert_int_equal(refused, 8 * n);
    assert_int_equal(decode(buf, n, &back), PROSEC_OK);
}

static void test_every_truncation(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH), back;
    struct prosec_mikey_info info;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX + 1];
    size_t n = encode(&m, buf);

    (void)state;
    for (size_t len = 0; len < n; len++) {
        /* a copy of exactly len octets, so ASan sees any over-read */
        uint8_t *cut = malloc(len > 0 ? len : 1);

        memcpy(cut, buf, len);
        assert_int_not_equal(decode(cut, len, &back), PROSEC_OK);
        assert_int_not_equal(prosec_mikey_peek(cut, len, &info), PROSEC_OK);
        free(cut);
    }
    buf[n] = 0;
    assert_int_equal(decode(buf, n + 1, &back), PROSEC_ERR_MIKEY_MALFORMED);
    assert_int_equal(decode(buf, PROSEC_MIKEY_MSG_MAX + 1, &back),
                     PROSEC_ERR_MIKEY_MALFORMED);
}

static void test_wrong_pmk(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH), back;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX], pmk[32];
    size_t n = encode(&m, buf);

    (void)state;
    make_pmk(pmk);
    pmk[31] ^= 1;
    assert_int_equal(prosec_mikey_decode(buf, n, pmk, &back),
                     PROSEC_ERR_MIKEY_MAC);
}

/* One octet of a valid push set to another value, and the error. */
struct header_case {
    const char *what;
    size_t off; /* from the start; SIZE_MAX: from the KEMAC */
    uint8_t value;
    prosec_err want;
};

static void test_header_table(void **state)
{
    /* Offsets: HDR 0, T 10, RAND 20, IDi 38, IDr 38 + 4 + 23 = 65. */
    static const struct header_case cases[] = {
        {"version 2", 0, 2, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"data type 1 (verification)", 1, 1, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"HDR next payload RAND", 2, 11, PROSEC_ERR_MIKEY_MALFORMED},
        {"V flag clear", 3, 0x01, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"PRF MIKEY-1", 3, 0x80, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"CSB ID of another PGK", 7, 0x22, PROSEC_ERR_MIKEY_MALFORMED},
        {"#CS 1", 8, 1, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"CS ID map SRTP-ID", 9, 0, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"T next payload ID", 10, 6, PROSEC_ERR_MIKEY_MALFORMED},
        {"TS type COUNTER", 11, 2, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"RAND next payload KEMAC", 20, 1, PROSEC_ERR_MIKEY_MALFORMED},
        {"RAND len 15", 21, 15, PROSEC_ERR_MIKEY_MALFORMED},
        {"IDi next payload KEMAC", 38, 1, PROSEC_ERR_MIKEY_MALFORMED},
        {"IDi type NAI", 39, 0, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"IDi len 0", 41, 0, PROSEC_ERR_MIKEY_MALFORMED},
        {"IDi with a space", 45, ' ', PROSEC_ERR_MIKEY_MALFORMED},
        {"IDi with a NUL", 45, 0, PROSEC_ERR_MIKEY_MALFORMED},
        {"IDr next payload KEMAC", 65, 1, PROSEC_ERR_MIKEY_MALFORMED},
        {"IDr len past the end", 67, 0xF0, PROSEC_ERR_MIKEY_MALFORMED},
        {"General Extension type SDP-IDs", 94, 1, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"General Extension next payload V", 93, 9, PROSEC_ERR_MIKEY_MALFORMED},
        {"Vendor-ID of someone else", 97, 'P', PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"extension version 2", 103, 2, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"KEMAC next payload T", SIZE_MAX, 5, PROSEC_ERR_MIKEY_MALFORMED},
        {"KEMAC Encr alg AES-CM-128", SIZE_MAX - 1, 1,
         PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"KEMAC Encr alg NULL for a push", SIZE_MAX - 1, 0,
         PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"KEMAC Encr data len 40", SIZE_MAX - 3, 40,
         PROSEC_ERR_MIKEY_MALFORMED},
        {"Mac alg HMAC-SHA-1-160", SIZE_MAX - 4, 1,
         PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"Mac alg NULL", SIZE_MAX - 4, 0, PROSEC_ERR_MIKEY_UNSUPPORTED},
    };
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH), back;
    struct prosec_mikey_info info;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX];
    size_t n = encode(&m, buf), kemac = n - 32 - 1 - 48 - 4;

    (void)state;
    assert_int_equal(buf[93], PROSEC_MIKEY_PT_KEMAC); /* offsets hold */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct header_case *c = &cases[i];
        size_t off = c->off;
        uint8_t keep;
        prosec_err got;

        if (off >= SIZE_MAX - 4) {
            /* from the KEMAC: 0 next, 1 alg, 3 length low, 52 Mac alg */
            off = kemac + (size_t[]){0, 1, 0, 3, 52}[SIZE_MAX - off];
        }
        keep = buf[off];
        buf[off] = c->value;
        got = decode(buf, n, &back);
        if (got != c->want) {
            print_error("%s: got %s, want %s\n", c->what, prosec_err_name(got),
                        prosec_err_name(c->want));
            fail();
        }
        assert_int_equal(prosec_mikey_peek(buf, n, &info), c->want);
        buf[off] = keep;
    }
    assert_int_equal(decode(buf, n, &back), PROSEC_OK);
}

/* A General Extension built by hand, MAC'd correctly, and the result. */
static void ext_case(const char *what, const struct ext *e, prosec_err want)
{
    struct prosec_mikey_msg back;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX], kd[40], pgk[32];
    size_t n;
    prosec_err got;

    fill(pgk, sizeof(pgk), 0x40);
    key_data(kd, pgk);
    n = build(buf, e, kd, 40, 2, 0);
    got = decode(buf, n, &back);
    if (got != want) {
        print_error("%s: got %s, want %s\n", what, prosec_err_name(got),
                    prosec_err_name(want));
        fail();
    }
}

static void test_extension_table(void **state)
{
    struct ext e;

    (void)state;
    e = ext_push();
    ext_case("all ten TLVs", &e, PROSEC_OK);

    e = ext_push();
    ext_tlv(&e, 200, 3, 0xABCDEF);
    ext_tlv(&e, 0, 0, 0);
    ext_tlv(&e, 11, 9, 1);
    ext_case("unknown TLVs are skipped", &e, PROSEC_OK);

    e = ext_header();
    ext_tlv(&e, 10, 4, 0x0BADF00D); /* any order */
    ext_tlv(&e, 9, 1, 17);
    ext_tlv(&e, 8, 1, 1);
    ext_tlv(&e, 7, 1, 3);
    ext_tlv(&e, 6, 8, 1697346400);
    ext_tlv(&e, 5, 8, 1697260000);
    ext_tlv(&e, 4, 1, PGK_ID);
    ext_tlv(&e, 3, 3, MEMBER);
    ext_tlv(&e, 2, 3, GROUP);
    ext_tlv(&e, 1, 1, 1);
    ext_case("reverse order", &e, PROSEC_OK);

    e = ext_push();
    ext_tlv(&e, 2, 3, GROUP);
    ext_case("duplicate Group ID", &e, PROSEC_ERR_MIKEY_MALFORMED);

    e = ext_push();
    e.b[e.n++] = 3; /* a TLV header, no value */
    e.b[e.n++] = 3;
    ext_case("truncated TLV", &e, PROSEC_ERR_MIKEY_MALFORMED);

    e = ext_push();
    e.b[e.n++] = 200; /* a lone type octet */
    ext_case("TLV without its length", &e, PROSEC_ERR_MIKEY_MALFORMED);

    e = ext_header();
    e.n = 6;
    ext_case("extension shorter than its header", &e,
             PROSEC_ERR_MIKEY_MALFORMED);

    struct {
        const char *what;
        uint8_t type, len;
        uint64_t v;
        prosec_err want;
    } bad[] = {
        {"PGK ID of 2 octets", 4, 2, PGK_ID, PROSEC_ERR_MIKEY_MALFORMED},
        {"algorithm 4", 7, 1, 4, PROSEC_ERR_MIKEY_MALFORMED},
        {"profile 2", 8, 1, 2, PROSEC_ERR_MIKEY_MALFORMED},
        {"BEARER 32", 9, 1, 32, PROSEC_ERR_MIKEY_MALFORMED},
        {"activation with the top bit", 5, 8, 1ull << 63,
         PROSEC_ERR_MIKEY_MALFORMED},
        {"expiry at activation", 6, 8, 1697260000, PROSEC_ERR_MIKEY_MALFORMED},
        {"expiry before activation", 6, 8, 1, PROSEC_ERR_MIKEY_MALFORMED},
        {"kind 3 (not known yet)", 1, 1, 3, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"kind 0", 1, 1, 0, PROSEC_ERR_MIKEY_UNSUPPORTED},
        {"Group ID of another group", 2, 3, GROUP ^ 1,
         PROSEC_ERR_MIKEY_MALFORMED},
        {"PGK ID of another PGK", 4, 1, PGK_ID + 1, PROSEC_ERR_MIKEY_MALFORMED},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ext base = ext_push(), out = ext_header();
        size_t at = 7;

        /* copy base, replacing the TLV of this type */
        while (at < base.n) {
            uint8_t t = base.b[at], l = base.b[at + 1];

            if (t == bad[i].type) {
                ext_tlv(&out, t, bad[i].len, bad[i].v);
            } else {
                memcpy(out.b + out.n, base.b + at, 2u + l);
                out.n += 2u + l;
            }
            at += 2u + l;
        }
        ext_case(bad[i].what, &out, bad[i].want);
    }

    for (uint8_t drop = 1; drop <= 10; drop++) {
        struct ext base = ext_push(), out = ext_header();
        char what[64];

        for (size_t at = 7; at < base.n; at += 2u + base.b[at + 1]) {
            if (base.b[at] != drop) {
                memcpy(out.b + out.n, base.b + at, 2u + base.b[at + 1]);
                out.n += 2u + base.b[at + 1];
            }
        }
        snprintf(what, sizeof(what), "push without TLV %u", drop);
        ext_case(what, &out, PROSEC_ERR_MIKEY_MALFORMED);
    }
}

static void test_revoke_extension(void **state)
{
    struct prosec_mikey_msg back;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX];
    struct ext e = ext_header();
    size_t n;

    (void)state;
    ext_tlv(&e, 1, 1, 2);
    ext_tlv(&e, 2, 3, GROUP);
    ext_tlv(&e, 4, 1, PGK_ID);
    ext_tlv(&e, 10, 4, 0x0BADF00D);
    n = build(buf, &e, NULL, 0, 0, 0);
    assert_int_equal(decode(buf, n, &back), PROSEC_OK);
    assert_int_equal(back.kind, PROSEC_MIKEY_PGK_REVOKE);

    ext_tlv(&e, 3, 3, MEMBER); /* a revoke names the key, no more */
    n = build(buf, &e, NULL, 0, 0, 0);
    assert_int_equal(decode(buf, n, &back), PROSEC_ERR_MIKEY_MALFORMED);
}

/* The key data under a valid MAC: only what prosec wraps is accepted. */
static void test_key_data_table(void **state)
{
    struct prosec_mikey_msg back;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX], kd[40], pgk[32];
    struct ext e = ext_push();
    size_t n, kemac;

    (void)state;
    fill(pgk, sizeof(pgk), 0x40);
    struct {
        const char *what;
        size_t off;
        uint8_t value;
    } cases[] = {
        {"next payload not Last", 0, 20}, {"Type TEK", 1, 0x20},
        {"KV SPI/MKI", 1, 0x01},          {"Key data len 31", 3, 31},
        {"Key data len 288", 2, 1},       {"padding not zero", 39, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        key_data(kd, pgk);
        kd[cases[i].off] = cases[i].value;
        n = build(buf, &e, kd, 40, 2, 0);
        if (decode(buf, n, &back) != PROSEC_ERR_MIKEY_MALFORMED) {
            print_error("%s: not refused as malformed\n", cases[i].what);
            fail();
        }
    }

    /* Wrapped data that fails RFC 3394's check, under a valid MAC. */
    key_data(kd, pgk);
    n = build(buf, &e, kd, 40, 2, 0);
    kemac = n - 32 - 1 - 48 - 4;
    buf[kemac + 4 + 20] ^= 1;
    {
        uint8_t auth_key[32], rand[16];

        fill(rand, 16, 0xA0);
        transport_key(auth_key, 32, 0x2D22AC75, 0xD4E5F621u, rand);
        hmac256(buf + n - 32, auth_key, buf, n - 32);
    }
    assert_int_equal(decode(buf, n, &back), PROSEC_ERR_MIKEY_KEY_WRAP);
}

/* ---- the encoder's checks ---------------------------------------------------
 */

static void test_encode_args(void **state)
{
    uint8_t buf[PROSEC_MIKEY_MSG_MAX], pmk[32];
    struct prosec_mikey_msg m;
    size_t n = 0, need;

    (void)state;
    make_pmk(pmk);
    m = make_msg(PROSEC_MIKEY_PGK_PUSH);
    assert_int_equal(prosec_mikey_encode(NULL, 1, &n, &m, pmk),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_mikey_encode(buf, sizeof(buf), &n, &m, NULL),
                     PROSEC_ERR_NULL);
    assert_int_equal(prosec_mikey_encode(buf, sizeof(buf), &n, &m, pmk),
                     PROSEC_OK);
    need = n;
    memset(buf, 0xEE, sizeof(buf));
    assert_int_equal(prosec_mikey_encode(buf, need - 1, &n, &m, pmk),
                     PROSEC_ERR_BUFFER);
    assert_int_equal(buf[0], 0xEE);
}

#define BAD(stmt)                                                              \
    do {                                                                       \
        m = make_msg(PROSEC_MIKEY_PGK_PUSH);                                   \
        stmt;                                                                  \
        assert_int_equal(prosec_mikey_encode(buf, sizeof(buf), &n, &m, pmk),   \
                         PROSEC_ERR_ARG);                                      \
    } while (0)

static void test_encode_ranges(void **state)
{
    uint8_t buf[PROSEC_MIKEY_MSG_MAX], pmk[32];
    struct prosec_mikey_msg m;
    size_t n = 0;

    (void)state;
    make_pmk(pmk);
    BAD(m.kind = (enum prosec_mikey_kind)3);
    BAD(m.idi[0] = '\0');
    BAD(m.idr[3] = ' ');
    BAD(memset(m.idi, 'a', sizeof(m.idi))); /* no NUL within 256 */
    BAD(m.group_id = 0x1000000);
    BAD(m.member_id = 0x1000000);
    BAD(m.activation = -1);
    BAD(m.expiry = m.activation);
    BAD(m.alg = 4);
    BAD(m.profile = 2);
    BAD(m.bearer = 32);

    /* the longest URIs fit the message limit */
    m = make_msg(PROSEC_MIKEY_PGK_PUSH);
    memset(m.idi, 'a', PROSEC_MIKEY_URI_MAX);
    m.idi[PROSEC_MIKEY_URI_MAX] = '\0';
    memset(m.idr, 'b', PROSEC_MIKEY_URI_MAX);
    m.idr[PROSEC_MIKEY_URI_MAX] = '\0';
    assert_int_equal(prosec_mikey_encode(buf, sizeof(buf), &n, &m, pmk),
                     PROSEC_OK);
    assert_true(n <= PROSEC_MIKEY_MSG_MAX);
    {
        struct prosec_mikey_msg back;

        assert_int_equal(decode(buf, n, &back), PROSEC_OK);
        assert_same_msg(&m, &back);
    }
}

/* ---- the verification message ----------------------------------------------
 */

static void test_verify_round_trip(void **state)
{
    struct prosec_mikey_msg m = make_msg(PROSEC_MIKEY_PGK_PUSH), other;
    uint8_t pmk[32], r[128];
    uint64_t t_r = m.ntp_time + (2ull << 32), t = 0;
    uint32_t csb = 0;
    size_t n = 0;

    (void)state;
    make_pmk(pmk);
    assert_int_equal(prosec_mikey_verify_encode(r, sizeof(r), &n, &m, pmk, t_r),
                     PROSEC_OK);
    assert_int_equal(prosec_mikey_verify_check(r, n, &m, pmk), PROSEC_OK);
    assert_int_equal(prosec_mikey_verify_peek(r, n, &csb, &t), PROSEC_OK);
    assert_int_equal(csb, 0xD4E5F621u);
    assert_int_equal(t, t_r);
    assert_int_equal(prosec_mikey_verify_peek(r, n, NULL, NULL), PROSEC_OK);

    /* every bit flip, every truncation, one octet more */
    for (size_t bit = 0; bit < 8 * n; bit++) {
        r[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        assert_int_not_equal(prosec_mikey_verify_check(r, n, &m, pmk),
                             PROSEC_OK);
        r[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
    }
    for (size_t len = 0; len < n; len++) {
        assert_int_not_equal(prosec_mikey_verify_check(r, len, &m, pmk),
                             PROSEC_OK);
        assert_int_not_equal(prosec_mikey_verify_peek(r, len, &csb, &t),
                             PROSEC_OK);
    }
    r[n] = 0;
    assert_int_equal(prosec_mikey_verify_check(r, n + 1, &m, pmk),
                     PROSEC_ERR_MIKEY_MALFORMED);

    /* the answer to another push, or under another PMK, is not ours */
    other = m;
    other.rand[0] ^= 1;
    assert_int_equal(prosec_mikey_verify_check(r, n, &other, pmk),
                     PROSEC_ERR_MIKEY_MAC);
    other = m;
    other.ntp_time++;
    assert_int_equal(prosec_mikey_verify_check(r, n, &other, pmk),
                     PROSEC_ERR_MIKEY_MAC);
    other = m;
    other.idr[0] = 'S';
    assert_int_equal(prosec_mikey_verify_check(r, n, &other, pmk),
                     PROSEC_ERR_MIKEY_MAC);
    other = m;
    other.pgk_id++;
    assert_int_equal(prosec_mikey_verify_check(r, n, &other, pmk),
                     PROSEC_ERR_MIKEY_MAC);
    pmk[0] ^= 1;
    assert_int_equal(prosec_mikey_verify_check(r, n, &m, pmk),
                     PROSEC_ERR_MIKEY_MAC);
    pmk[0] ^= 1;

    /* an I_MESSAGE is not a verification message, nor the reverse */
    {
        uint8_t i_buf[PROSEC_MIKEY_MSG_MAX];
        struct prosec_mikey_info info;
        size_t i_n = encode(&m, i_buf);

        assert_int_equal(prosec_mikey_verify_check(i_buf, i_n, &m, pmk),
                         PROSEC_ERR_MIKEY_UNSUPPORTED);
        assert_int_equal(prosec_mikey_peek(r, n, &info),
                         PROSEC_ERR_MIKEY_UNSUPPORTED);
    }
    assert_int_equal(prosec_mikey_verify_encode(r, 53, &n, &m, pmk, t_r),
                     PROSEC_ERR_BUFFER);
}

/* ---- NTP time
 * ---------------------------------------------------------------- */

static void test_ntp_table(void **state)
{
    static const struct {
        int64_t unix_s;
        uint32_t nsec;
        uint64_t ntp;
    } cases[] = {
        {0, 0, 0x83AA7E8000000000ull},          /* 1970-01-01 */
        {0, 500000000, 0x83AA7E8080000000ull},  /* half a second */
        {0, 999999999, 0x83AA7E80FFFFFFFBull},  /* rounded down */
        {1697260000, 0, 0xE8D4A06000000000ull}, /* 2023 */
        {PROSEC_NTP_UNIX_MIN, 0, 0x8000000000000000ull},
        {2085978495, 0, 0xFFFFFFFF00000000ull}, /* last second of era 0 */
        {2085978496, 0, 0x0000000000000000ull}, /* first of era 1 */
        {PROSEC_NTP_UNIX_MAX, 0, 0x7FFFFFFF00000000ull},
    };
    uint64_t ntp = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            prosec_ntp_from_unix(cases[i].unix_s, cases[i].nsec, &ntp),
            PROSEC_OK);
        assert_int_equal(ntp, cases[i].ntp);
        assert_int_equal(prosec_ntp_to_unix(ntp), cases[i].unix_s);
    }
    assert_int_equal(prosec_ntp_from_unix(PROSEC_NTP_UNIX_MIN - 1, 0, &ntp),
                     PROSEC_ERR_ARG);
    assert_int_equal(prosec_ntp_from_unix(PROSEC_NTP_UNIX_MAX + 1, 0, &ntp),
                     PROSEC_ERR_ARG);
    assert_int_equal(prosec_ntp_from_unix(0, 1000000000, &ntp), PROSEC_ERR_ARG);
    assert_int_equal(prosec_ntp_from_unix(0, 0, NULL), PROSEC_ERR_NULL);
}

/* ---- replay cache
 * ------------------------------------------------------------ */

enum op { CHECK, ADD };

struct replay_step {
    enum op op;
    int64_t t;     /* the message's T, Unix seconds */
    uint32_t frac; /* and its NTP fraction */
    uint8_t rand;  /* which RAND */
    int64_t now;
    prosec_err want;
};

static void run_replay(struct prosec_mikey_replay *c,
                       const struct replay_step *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t rand[16];
        uint64_t ntp = 0;
        prosec_err got;

        memset(rand, s[i].rand, sizeof(rand));
        assert_int_equal(prosec_ntp_from_unix(s[i].t, 0, &ntp), PROSEC_OK);
        ntp |= s[i].frac;
        got = s[i].op == ADD
                  ? prosec_mikey_replay_add(c, ntp, rand, s[i].now)
                  : prosec_mikey_replay_check(c, ntp, rand, s[i].now);
        if (got != s[i].want) {
            print_error("step %zu: got %s, want %s\n", i, prosec_err_name(got),
                        prosec_err_name(s[i].want));
            fail();
        }
    }
}

#define T0 1700000000LL
#define W  PROSEC_MIKEY_WINDOW_DEFAULT

static void test_replay_table(void **state)
{
    static const struct replay_step steps[] = {
        /* the timestamp window, both edges, in whole seconds */
        {CHECK, T0, 0, 1, T0, PROSEC_OK},
        {CHECK, T0 + W, 0, 1, T0, PROSEC_OK},
        {CHECK, T0 + W, 0xFFFFFFFF, 1, T0, PROSEC_OK},
        {CHECK, T0 + W + 1, 0, 1, T0, PROSEC_ERR_MIKEY_TIME},
        {CHECK, T0 - W, 0, 1, T0, PROSEC_OK},
        {CHECK, T0 - W - 1, 0xFFFFFFFF, 1, T0, PROSEC_ERR_MIKEY_TIME},
        {CHECK, T0, 0, 1, INT64_MAX, PROSEC_ERR_MIKEY_TIME},
        {CHECK, T0, 0, 1, INT64_MIN, PROSEC_ERR_MIKEY_TIME},
        /* (T, RAND) seen before */
        {ADD, T0, 0, 1, T0, PROSEC_OK},
        {CHECK, T0, 0, 1, T0 + 1, PROSEC_ERR_MIKEY_REPLAY},
        {ADD, T0, 0, 1, T0 + 1, PROSEC_ERR_MIKEY_REPLAY},
        {ADD, T0, 0, 2, T0, PROSEC_OK}, /* same T, other RAND */
        {ADD, T0, 1, 1, T0, PROSEC_OK}, /* same RAND, other T */
        {ADD, T0 + W + 1, 0, 3, T0, PROSEC_ERR_MIKEY_TIME}, /* not added */
        {CHECK, T0 + W + 1, 0, 3, T0 + 1, PROSEC_OK},
        /* a replay after the window is refused for its time */
        {CHECK, T0, 0, 1, T0 + W, PROSEC_ERR_MIKEY_REPLAY},
        {CHECK, T0, 0, 1, T0 + W + 1, PROSEC_ERR_MIKEY_TIME},
    };
    struct prosec_mikey_replay *c = NULL;

    (void)state;
    assert_int_equal(prosec_mikey_replay_new(&c, 16, W), PROSEC_OK);
    run_replay(c, steps, sizeof(steps) / sizeof(steps[0]));
    assert_int_equal(prosec_mikey_replay_count(c), 3);
    prosec_mikey_replay_free(c);
}

static void test_replay_full(void **state)
{
    static const struct replay_step steps[] = {
        {ADD, T0, 0, 1, T0, PROSEC_OK},
        {ADD, T0 + 10, 0, 2, T0 + 10, PROSEC_OK},
        {ADD, T0 + 10, 0, 3, T0 + 10, PROSEC_OK},
        /* full of live entries: refuse, forget nothing */
        {ADD, T0 + 20, 0, 4, T0 + 20, PROSEC_ERR_FULL},
        {CHECK, T0, 0, 1, T0 + 20, PROSEC_ERR_MIKEY_REPLAY},
        /* the first entry leaves the window: its place is free */
        {ADD, T0 + 20 + W, 0, 4, T0 + W + 1, PROSEC_OK},
        {ADD, T0 + 21 + W, 0, 5, T0 + W + 1, PROSEC_ERR_FULL},
        /* a clock gone back forgets no entry ahead of it: they are
         * acceptable again once the clock has caught up */
        {ADD, T0 - 2 * W, 0, 6, T0 - 2 * W, PROSEC_ERR_FULL},
        {CHECK, T0 + 20 + W, 0, 4, T0 + 20 + W, PROSEC_ERR_MIKEY_REPLAY},
    };
    struct prosec_mikey_replay *c = NULL;

    (void)state;
    assert_int_equal(prosec_mikey_replay_new(&c, 3, W), PROSEC_OK);
    run_replay(c, steps, sizeof(steps) / sizeof(steps[0]));
    prosec_mikey_replay_free(c);

    assert_int_equal(prosec_mikey_replay_new(&c, 0, W), PROSEC_ERR_ARG);
    assert_int_equal(prosec_mikey_replay_new(&c, 1, 0), PROSEC_ERR_ARG);
    assert_int_equal(
        prosec_mikey_replay_new(&c, PROSEC_MIKEY_REPLAY_CAP_MAX + 1, W),
        PROSEC_ERR_ARG);
    assert_int_equal(
        prosec_mikey_replay_new(&c, 1, PROSEC_MIKEY_WINDOW_MAX + 1),
        PROSEC_ERR_ARG);
    assert_int_equal(prosec_mikey_replay_new(NULL, 1, W), PROSEC_ERR_NULL);
    prosec_mikey_replay_free(NULL);
    assert_int_equal(prosec_mikey_replay_count(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_round_trip),
        cmocka_unit_test(test_revoke_round_trip),
        cmocka_unit_test(test_transport_keys),
        cmocka_unit_test(test_verify_known_answer),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_wrong_pmk),
        cmocka_unit_test(test_header_table),
        cmocka_unit_test(test_extension_table),
        cmocka_unit_test(test_revoke_extension),
        cmocka_unit_test(test_key_data_table),
        cmocka_unit_test(test_encode_args),
        cmocka_unit_test(test_encode_ranges),
        cmocka_unit_test(test_verify_round_trip),
        cmocka_unit_test(test_ntp_table),
        cmocka_unit_test(test_replay_table),
        cmocka_unit_test(test_replay_full),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
