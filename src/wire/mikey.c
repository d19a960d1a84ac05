/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prosec's MIKEY profile (RFC 3830 pre-shared key mode, PRF-HMAC-SHA-256
 * and HMAC-SHA-256-256 of RFC 6043): the I_MESSAGE that pushes or revokes
 * a PGK and the verification message that answers it.  docs/wire.md shows
 * every octet.
 *
 * Properties to keep: parsing reads only through the bounded reader below
 * and accepts one payload chain; the MAC is compared in constant time
 * before the key wrap is touched; every buffer that held a PMK-derived key
 * or a PGK is wiped at out:, and out-parameters are written last.
 */
#include <string.h>

#include <openssl/evp.h>

#include "../crypto/internal.h"
#include "prosec/kdf.h"
#include "prosec/mikey.h"

/* RFC 3830 4.1.4: the constants of the PSK transport keys. */
enum {
    CONST_ENCR = 0x150533E1,
    CONST_AUTH = 0x2D22AC75,
    CS_ID_PSK = 0xFF, /* in place of the CS ID in the label */
    LABEL_LEN = 4 + 1 + 4 + PROSEC_MIKEY_RAND_LEN,
    ENCR_KEY_LEN = 16, /* AES-KW-128 */
    AUTH_KEY_LEN = 32, /* HMAC-SHA-256-256 */
    HDR_LEN = 10,
    T_LEN = 10,
    NTP_LEN = 8,
    /*
     * One Key data sub-payload (4 octets of header, the 32-octet PGK)
     * padded with zeros to a multiple of 64 bits for AES-KW (RFC 3394
     * wraps whole 64-bit blocks), then wrapped: 8 octets more.
     */
    KEY_DATA_LEN = 4 + PROSEC_MIKEY_PGK_LEN,
    KEY_PLAIN_LEN = (KEY_DATA_LEN + 7) / 8 * 8,
    KEY_WRAPPED_LEN = KEY_PLAIN_LEN + 8,
    EXT_MAGIC_LEN = 6,
    EXT_TLV_MAX = PROSEC_MIKEY_TLV_PMK_ID,
    R_MSG_LEN = HDR_LEN + T_LEN + 2 + PROSEC_MIKEY_MAC_LEN
};

/* Vendor-ID of the General Extension: who defines the TLVs after it. */
static const uint8_t ext_magic[EXT_MAGIC_LEN] = {'p', 'r', 'o', 's', 'e', 'c'};

/* TLVs a push must carry, and a revoke. */
#define TLV_BIT(t) (1u << (t))
static const uint32_t need_revoke =
    TLV_BIT(PROSEC_MIKEY_TLV_KIND) | TLV_BIT(PROSEC_MIKEY_TLV_GROUP_ID) |
    TLV_BIT(PROSEC_MIKEY_TLV_PGK_ID) | TLV_BIT(PROSEC_MIKEY_TLV_PMK_ID);
static const uint32_t need_push =
    need_revoke | TLV_BIT(PROSEC_MIKEY_TLV_MEMBER_ID) |
    TLV_BIT(PROSEC_MIKEY_TLV_ACTIVATION) | TLV_BIT(PROSEC_MIKEY_TLV_EXPIRY) |
    TLV_BIT(PROSEC_MIKEY_TLV_ALG) | TLV_BIT(PROSEC_MIKEY_TLV_PROFILE) |
    TLV_BIT(PROSEC_MIKEY_TLV_BEARER);

/* ---- bounded writer and reader --------------------------------------- */

struct wbuf {
    uint8_t *p;
    size_t cap, len;
    bool over;
};

static void put_n(struct wbuf *w, const void *data, size_t n)
{
    if (w->over || w->cap - w->len < n) {
        w->over = true;
        return;
    }
    memcpy(w->p + w->len, data, n);
    w->len += n;
}

/* v as n octets, big-endian (n <= 8). */
static void put_be(struct wbuf *w, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    put_n(w, b, n);
}

static void put8(struct wbuf *w, uint8_t v)
{
    put_n(w, &v, 1);
}

struct rbuf {
    const uint8_t *p;
    size_t len, off;
    bool bad; /* a read went past the end: every later read gives 0 */
};

static const uint8_t *get_n(struct rbuf *r, size_t n)
{
    const uint8_t *at;

    if (r->bad || r->len - r->off < n) {
        r->bad = true;
        return NULL;
    }
    at = r->p + r->off;
    r->off += n;
    return at;
}

static uint64_t get_be(struct rbuf *r, size_t n)
{
    const uint8_t *b = get_n(r, n);
    uint64_t v = 0;

    for (size_t i = 0; b != NULL && i < n; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

static uint8_t get8(struct rbuf *r)
{
    return (uint8_t)get_be(r, 1);
}

/* ---- keys -------------------------------------------------------------- */

/*
 * RFC 3830 4.1.4 (with 4.1.3's PRF): key = PRF(PMK, constant || 0xFF ||
 * CSB ID || RAND), out_len octets.
 */
static prosec_err derive(uint8_t *out, size_t out_len, uint32_t constant,
                         const uint8_t pmk[PROSEC_MIKEY_PMK_LEN],
                         uint32_t csb_id,
                         const uint8_t rand[PROSEC_MIKEY_RAND_LEN])
{
    uint8_t label[LABEL_LEN];

    prosec__store32_be(label, constant);
    label[4] = CS_ID_PSK;
    prosec__store32_be(label + 5, csb_id);
    memcpy(label + 9, rand, PROSEC_MIKEY_RAND_LEN);
    return prosec_mikey_prf(out, out_len, pmk, PROSEC_MIKEY_PMK_LEN, label,
                            sizeof(label));
}

/* AES-KW (RFC 3394, default IV) of in into out, under a 128-bit key. */
static prosec_err aes_kw(int wrap, const uint8_t key[ENCR_KEY_LEN],
                         const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t *out_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    prosec_err err = PROSEC_ERR_CRYPTO_LIB;

    if (ctx == NULL) {
        goto out;
    }
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_CipherInit_ex(ctx, EVP_aes_128_wrap(), NULL, key, NULL, wrap) !=
        1) {
        goto out;
    }
    /* An unwrap whose integrity check fails is refused here. */
    if (EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1 ||
        EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
        err = wrap ? PROSEC_ERR_CRYPTO_LIB : PROSEC_ERR_MIKEY_KEY_WRAP;
        goto out;
    }
    *out_len = (size_t)n + (size_t)fin;
    err = PROSEC_OK;

out:
    EVP_CIPHER_CTX_free(ctx);
    return err;
}

/* HMAC-SHA-256 under auth_key over the concatenation of n parts. */
static prosec_err mac(uint8_t out[PROSEC_MIKEY_MAC_LEN],
                      const uint8_t auth_key[AUTH_KEY_LEN],
                      const struct prosec__part *parts, size_t n)
{
    return prosec__hmac_sha256(out, auth_key, AUTH_KEY_LEN, parts, n);
}

/* ---- field checks ------------------------------------------------------ */

/* 1..255 octets of printable ASCII without space: a URI as we send it. */
static bool uri_ok(const uint8_t *s, size_t len)
{
    if (len == 0 || len > PROSEC_MIKEY_URI_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x21 || s[i] > 0x7E) {
            return false;
        }
    }
    return true;
}

static bool cstr_uri_ok(const char *s, size_t *len)
{
    size_t n = strnlen(s, PROSEC_MIKEY_URI_MAX + 1);

    *len = n;
    return uri_ok((const uint8_t *)s, n);
}

/* What both the encoder and the verification message need of a message. */
static prosec_err check_ids(const struct prosec_mikey_msg *m, size_t *idi_len,
                            size_t *idr_len)
{
    if (!cstr_uri_ok(m->idi, idi_len) || !cstr_uri_ok(m->idr, idr_len) ||
        m->group_id > 0xFFFFFF) {
        return PROSEC_ERR_ARG;
    }
    return PROSEC_OK;
}

static prosec_err check_msg(const struct prosec_mikey_msg *m, size_t *idi_len,
                            size_t *idr_len)
{
    prosec_err err = check_ids(m, idi_len, idr_len);

    if (err != PROSEC_OK) {
        return err;
    }
    if (m->kind == PROSEC_MIKEY_PGK_REVOKE) {
        return PROSEC_OK;
    }
    if (m->kind != PROSEC_MIKEY_PGK_PUSH || m->member_id > 0xFFFFFF ||
        m->activation < 0 || m->expiry <= m->activation || m->alg > 3 ||
        m->profile > 1 || m->bearer > 31) {
        return PROSEC_ERR_ARG;
    }
    return PROSEC_OK;
}

/* ---- the General Extension --------------------------------------------- */

static void put_tlv(struct wbuf *w, uint8_t type, uint64_t v, size_t n)
{
    put8(w, type);
    put8(w, (uint8_t)n);
    put_be(w, v, n);
}

static void put_ext(struct wbuf *w, const struct prosec_mikey_msg *m)
{
    bool push = m->kind == PROSEC_MIKEY_PGK_PUSH;

    put_n(w, ext_magic, sizeof(ext_magic));
    put8(w, PROSEC_MIKEY_EXT_VERSION);
    put_tlv(w, PROSEC_MIKEY_TLV_KIND, (uint64_t)m->kind, 1);
    put_tlv(w, PROSEC_MIKEY_TLV_GROUP_ID, m->group_id, 3);
    if (push) {
        put_tlv(w, PROSEC_MIKEY_TLV_MEMBER_ID, m->member_id, 3);
    }
    put_tlv(w, PROSEC_MIKEY_TLV_PGK_ID, m->pgk_id, 1);
    if (push) {
        put_tlv(w, PROSEC_MIKEY_TLV_ACTIVATION, (uint64_t)m->activation, 8);
        put_tlv(w, PROSEC_MIKEY_TLV_EXPIRY, (uint64_t)m->expiry, 8);
        put_tlv(w, PROSEC_MIKEY_TLV_ALG, m->alg, 1);
        put_tlv(w, PROSEC_MIKEY_TLV_PROFILE, m->profile, 1);
        put_tlv(w, PROSEC_MIKEY_TLV_BEARER, m->bearer, 1);
    }
    put_tlv(w, PROSEC_MIKEY_TLV_PMK_ID, m->pmk_id, 4);
}

/* The value length each known TLV type must have. */
static size_t tlv_len(uint8_t type)
{
    static const uint8_t lens[EXT_TLV_MAX + 1] = {
        [PROSEC_MIKEY_TLV_KIND] = 1,       [PROSEC_MIKEY_TLV_GROUP_ID] = 3,
        [PROSEC_MIKEY_TLV_MEMBER_ID] = 3,  [PROSEC_MIKEY_TLV_PGK_ID] = 1,
        [PROSEC_MIKEY_TLV_ACTIVATION] = 8, [PROSEC_MIKEY_TLV_EXPIRY] = 8,
        [PROSEC_MIKEY_TLV_ALG] = 1,        [PROSEC_MIKEY_TLV_PROFILE] = 1,
        [PROSEC_MIKEY_TLV_BEARER] = 1,     [PROSEC_MIKEY_TLV_PMK_ID] = 4};

    return type <= EXT_TLV_MAX ? lens[type] : 0;
}

/* Stores a known TLV's value in m; false when it is out of range. */
static bool set_tlv(struct prosec_mikey_msg *m, uint8_t type, uint64_t v)
{
    switch (type) {
    case PROSEC_MIKEY_TLV_KIND:
        m->kind = (enum prosec_mikey_kind)v;
        return true; /* an unknown kind is judged after the loop */
    case PROSEC_MIKEY_TLV_GROUP_ID:
        m->group_id = (uint32_t)v;
        return true;
    case PROSEC_MIKEY_TLV_MEMBER_ID:
        m->member_id = (uint32_t)v;
        return true;
    case PROSEC_MIKEY_TLV_PGK_ID:
        m->pgk_id = (uint8_t)v;
        return true;
    case PROSEC_MIKEY_TLV_ACTIVATION:
        m->activation = (int64_t)(v & INT64_MAX);
        return v <= INT64_MAX;
    case PROSEC_MIKEY_TLV_EXPIRY:
        m->expiry = (int64_t)(v & INT64_MAX);
        return v <= INT64_MAX;
    case PROSEC_MIKEY_TLV_ALG:
        m->alg = (uint8_t)v;
        return v <= 3;
    case PROSEC_MIKEY_TLV_PROFILE:
        m->profile = (uint8_t)v;
        return v <= 1;
    case PROSEC_MIKEY_TLV_BEARER:
        m->bearer = (uint8_t)v;
        return v <= 31;
    case PROSEC_MIKEY_TLV_PMK_ID:
        m->pmk_id = (uint32_t)v;
        return true;
    default:
        return false;
    }
}

/*
 * Reads the extension's data (len octets) into m: the Vendor-ID, the
 * version, then TLVs in any order.  Unknown types are skipped; a
 * duplicate, a wrong length, a truncated TLV or a value out of range is
 * malformed; a kind we do not know is unsupported.
 */
static prosec_err parse_ext(const uint8_t *data, size_t len,
                            struct prosec_mikey_msg *m)
{
    struct rbuf r = {data, len, 0, false};
    const uint8_t *magic = get_n(&r, EXT_MAGIC_LEN);
    uint8_t version = get8(&r);
    uint32_t seen = 0;

    if (r.bad) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (memcmp(magic, ext_magic, EXT_MAGIC_LEN) != 0 ||
        version != PROSEC_MIKEY_EXT_VERSION) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    while (r.off < r.len) {
        uint8_t type = get8(&r), n = get8(&r);
        const uint8_t *v = get_n(&r, n);
        struct rbuf vr = {v, n, 0, false};

        if (r.bad) {
            return PROSEC_ERR_MIKEY_MALFORMED;
        }
        if (tlv_len(type) == 0) {
            continue; /* not ours to know: skip */
        }
        if (n != tlv_len(type) || (seen & TLV_BIT(type)) != 0 ||
            !set_tlv(m, type, get_be(&vr, n))) {
            return PROSEC_ERR_MIKEY_MALFORMED;
        }
        seen |= TLV_BIT(type);
    }

    if ((seen & TLV_BIT(PROSEC_MIKEY_TLV_KIND)) == 0) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (m->kind != PROSEC_MIKEY_PGK_PUSH &&
        m->kind != PROSEC_MIKEY_PGK_REVOKE) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    /* A push carries all of them; a revoke only what names the key. */
    if (m->kind == PROSEC_MIKEY_PGK_PUSH
            ? seen != need_push || m->expiry <= m->activation
            : seen != need_revoke) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    return PROSEC_OK;
}

/* ---- common header ----------------------------------------------------- */

static void put_hdr(struct wbuf *w, uint8_t type, uint8_t next, bool v,
                    uint32_t csb_id)
{
    put8(w, PROSEC_MIKEY_VERSION);
    put8(w, type);
    put8(w, next);
    put8(w, (uint8_t)((v ? 0x80 : 0) | PROSEC_MIKEY_PRF_HMAC_SHA256));
    put_be(w, csb_id, 4);
    put8(w, 0); /* #CS: no crypto session, the key is for PC5 */
    put8(w, PROSEC_MIKEY_CS_MAP_EMPTY);
}

/* Reads HDR; *next is its next payload, *v its V flag. */
static prosec_err parse_hdr(struct rbuf *r, uint8_t want_type, uint8_t *next,
                            bool *v, uint32_t *csb_id)
{
    uint8_t version = get8(r), type = get8(r), vprf;
    uint8_t ncs, map;

    *next = get8(r);
    vprf = get8(r);
    *csb_id = (uint32_t)get_be(r, 4);
    ncs = get8(r);
    map = get8(r);
    if (r->bad) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    *v = (vprf & 0x80) != 0;
    if (version != PROSEC_MIKEY_VERSION || type != want_type ||
        (vprf & 0x7F) != PROSEC_MIKEY_PRF_HMAC_SHA256 || ncs != 0 ||
        map != PROSEC_MIKEY_CS_MAP_EMPTY) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    return PROSEC_OK;
}

/* Reads T: its next payload must be want_next. */
static prosec_err parse_t(struct rbuf *r, uint8_t want_next, uint64_t *ntp)
{
    uint8_t next = get8(r), ts_type = get8(r);

    *ntp = get_be(r, NTP_LEN);
    if (r->bad || next != want_next) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (ts_type != PROSEC_MIKEY_TS_NTP_UTC) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    return PROSEC_OK;
}

static void put_id(struct wbuf *w, uint8_t next, const char *uri, size_t len)
{
    put8(w, next);
    put8(w, PROSEC_MIKEY_ID_URI);
    put_be(w, len, 2);
    put_n(w, uri, len);
}

/* Reads an ID payload into uri (NUL-terminated). */
static prosec_err parse_id(struct rbuf *r, uint8_t want_next,
                           char uri[PROSEC_MIKEY_URI_MAX + 1])
{
    uint8_t next = get8(r), id_type = get8(r);
    size_t n = (size_t)get_be(r, 2);
    const uint8_t *data = get_n(r, n);

    if (r->bad || next != want_next) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (id_type != PROSEC_MIKEY_ID_URI) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    if (!uri_ok(data, n)) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    memcpy(uri, data, n);
    uri[n] = '\0';
    return PROSEC_OK;
}

/* ---- the I_MESSAGE ----------------------------------------------------- */

/* An I_MESSAGE after the structural pass, before any key work. */
struct i_parsed {
    struct prosec_mikey_msg m; /* all but the PGK */
    uint32_t csb_id;
    const uint8_t *encr; /* the wrapped key data (push) */
    size_t mac_off;      /* the MAC field starts here, and ends the input */
};

/* Reads KEMAC: the wrap must match the kind, the MAC end the message. */
static prosec_err parse_kemac(struct rbuf *r, struct i_parsed *p)
{
    bool push = p->m.kind == PROSEC_MIKEY_PGK_PUSH;
    uint8_t next = get8(r), encr_alg = get8(r), mac_alg;
    size_t encr_len = (size_t)get_be(r, 2);

    p->encr = get_n(r, encr_len);
    mac_alg = get8(r);
    p->mac_off = r->off;
    (void)get_n(r, PROSEC_MIKEY_MAC_LEN);
    if (r->bad || next != PROSEC_MIKEY_PT_LAST || r->off != r->len) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (encr_alg !=
            (push ? PROSEC_MIKEY_ENCR_AES_KW_128 : PROSEC_MIKEY_ENCR_NULL) ||
        mac_alg != PROSEC_MIKEY_MAC_HMAC_SHA256) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    if (encr_len != (push ? (size_t)KEY_WRAPPED_LEN : 0)) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    return PROSEC_OK;
}

/* Reads RAND: 16 octets, then an ID payload. */
static prosec_err parse_rand(struct rbuf *r,
                             uint8_t rand[PROSEC_MIKEY_RAND_LEN])
{
    uint8_t next = get8(r), n = get8(r);
    const uint8_t *data = get_n(r, n);

    if (r->bad || next != PROSEC_MIKEY_PT_ID || n != PROSEC_MIKEY_RAND_LEN) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    memcpy(rand, data, PROSEC_MIKEY_RAND_LEN);
    return PROSEC_OK;
}

/* Reads the General Extension, then a KEMAC. */
static prosec_err parse_genext(struct rbuf *r, struct prosec_mikey_msg *m)
{
    uint8_t next = get8(r), type = get8(r);
    size_t n = (size_t)get_be(r, 2);
    const uint8_t *data = get_n(r, n);

    if (r->bad || next != PROSEC_MIKEY_PT_KEMAC) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (type != PROSEC_MIKEY_GENEXT_VENDOR) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    return parse_ext(data, n, m);
}

/*
 * The structural pass: HDR, T, RAND, IDi, IDr, General Extension, KEMAC
 * in this order and nothing else, each next-payload field naming the one
 * that follows.
 */
static prosec_err parse_i(const uint8_t *buf, size_t len, struct i_parsed *p)
{
    struct rbuf r = {buf, len, 0, false};
    uint8_t next = 0;
    bool v = false;
    prosec_err err;

    memset(p, 0, sizeof(*p));
    if (len > PROSEC_MIKEY_MSG_MAX) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    err = parse_hdr(&r, PROSEC_MIKEY_TYPE_PSK_INIT, &next, &v, &p->csb_id);
    if (err == PROSEC_OK && next != PROSEC_MIKEY_PT_T) {
        err = PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (err == PROSEC_OK && !v) {
        err = PROSEC_ERR_MIKEY_UNSUPPORTED; /* we always want the answer */
    }

    /* each step runs only when every earlier one passed */
    if (err == PROSEC_OK) {
        err = parse_t(&r, PROSEC_MIKEY_PT_RAND, &p->m.ntp_time);
    }
    if (err == PROSEC_OK) {
        err = parse_rand(&r, p->m.rand);
    }
    if (err == PROSEC_OK) {
        err = parse_id(&r, PROSEC_MIKEY_PT_ID, p->m.idi);
    }
    if (err == PROSEC_OK) {
        err = parse_id(&r, PROSEC_MIKEY_PT_GENEXT, p->m.idr);
    }
    if (err == PROSEC_OK) {
        err = parse_genext(&r, &p->m);
    }
    if (err == PROSEC_OK) {
        err = parse_kemac(&r, p);
    }

    /* The header names the key the extension describes. */
    if (err == PROSEC_OK &&
        p->csb_id != prosec_mikey_csb_id(p->m.group_id, p->m.pgk_id)) {
        err = PROSEC_ERR_MIKEY_MALFORMED;
    }
    return err;
}

/*
 * The wrapped KEMAC data of a push: one Key data sub-payload (TGK, no KV)
 * padded with zeros, under AES-KW with encr_key.
 */
static prosec_err wrap_pgk(const uint8_t pgk[PROSEC_MIKEY_PGK_LEN],
                           const uint8_t encr_key[ENCR_KEY_LEN],
                           uint8_t wrapped[KEY_WRAPPED_LEN], size_t *len)
{
    uint8_t plain[KEY_PLAIN_LEN];
    prosec_err err;

    memset(plain, 0, sizeof(plain));
    plain[0] = PROSEC_MIKEY_PT_LAST;
    plain[1] = PROSEC_MIKEY_KEY_TGK << 4 | PROSEC_MIKEY_KV_NULL;
    plain[2] = 0;
    plain[3] = PROSEC_MIKEY_PGK_LEN;
    memcpy(plain + 4, pgk, PROSEC_MIKEY_PGK_LEN);
    err = aes_kw(1, encr_key, plain, sizeof(plain), wrapped, len);
    prosec_wipe(plain, sizeof(plain));
    return err;
}

/* Every payload of the I_MESSAGE up to the MAC field. */
static void put_i(struct wbuf *w, const struct prosec_mikey_msg *m,
                  size_t idi_len, size_t idr_len, const uint8_t *wrapped,
                  size_t wrapped_len)
{
    uint8_t ext[128];
    struct wbuf we = {ext, sizeof(ext), 0, false};
    bool push = m->kind == PROSEC_MIKEY_PGK_PUSH;

    put_ext(&we, m);
    w->over |= we.over;
    put_hdr(w, PROSEC_MIKEY_TYPE_PSK_INIT, PROSEC_MIKEY_PT_T, true,
            prosec_mikey_csb_id(m->group_id, m->pgk_id));
    put8(w, PROSEC_MIKEY_PT_RAND); /* T */
    put8(w, PROSEC_MIKEY_TS_NTP_UTC);
    put_be(w, m->ntp_time, NTP_LEN);
    put8(w, PROSEC_MIKEY_PT_ID); /* RAND */
    put8(w, PROSEC_MIKEY_RAND_LEN);
    put_n(w, m->rand, PROSEC_MIKEY_RAND_LEN);
    put_id(w, PROSEC_MIKEY_PT_ID, m->idi, idi_len);
    put_id(w, PROSEC_MIKEY_PT_GENEXT, m->idr, idr_len);
    put8(w, PROSEC_MIKEY_PT_KEMAC); /* General Extension */
    put8(w, PROSEC_MIKEY_GENEXT_VENDOR);
    put_be(w, we.len, 2);
    put_n(w, ext, we.len);
    put8(w, PROSEC_MIKEY_PT_LAST); /* KEMAC */
    put8(w, push ? PROSEC_MIKEY_ENCR_AES_KW_128 : PROSEC_MIKEY_ENCR_NULL);
    put_be(w, wrapped_len, 2);
    put_n(w, wrapped, wrapped_len);
    put8(w, PROSEC_MIKEY_MAC_HMAC_SHA256);
}

prosec_err prosec_mikey_encode(uint8_t *out, size_t cap, size_t *out_len,
                               const struct prosec_mikey_msg *m,
                               const uint8_t pmk[PROSEC_MIKEY_PMK_LEN])
{
    uint8_t msg[PROSEC_MIKEY_MSG_MAX], wrapped[KEY_WRAPPED_LEN];
    uint8_t encr_key[ENCR_KEY_LEN], auth_key[AUTH_KEY_LEN];
    uint8_t tag[PROSEC_MIKEY_MAC_LEN];
    struct wbuf w = {msg, sizeof(msg), 0, false};
    size_t idi_len = 0, idr_len = 0, wrapped_len = 0;
    uint32_t csb_id;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (out == NULL || out_len == NULL || m == NULL || pmk == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = check_msg(m, &idi_len, &idr_len);
    if (err != PROSEC_OK) {
        return err;
    }
    csb_id = prosec_mikey_csb_id(m->group_id, m->pgk_id);

    /* RFC 3830 4.1.4: both transport keys from the PMK */
    err = derive(encr_key, sizeof(encr_key), CONST_ENCR, pmk, csb_id, m->rand);
    if (err == PROSEC_OK) {
        err = derive(auth_key, sizeof(auth_key), CONST_AUTH, pmk, csb_id,
                     m->rand);
    }
    if (err == PROSEC_OK && m->kind == PROSEC_MIKEY_PGK_PUSH) {
        err = wrap_pgk(m->pgk, encr_key, wrapped, &wrapped_len);
    }
    if (err != PROSEC_OK) {
        goto out;
    }

    /* RFC 3830 5.2: the MAC covers the whole message up to the MAC field */
    put_i(&w, m, idi_len, idr_len, wrapped, wrapped_len);
    err = w.over ? PROSEC_ERR_INTERNAL /* the limits make it unreachable */
                 : mac(tag, auth_key, &(struct prosec__part){msg, w.len}, 1);
    if (err != PROSEC_OK) {
        goto out;
    }
    put_n(&w, tag, sizeof(tag));
    if (w.len > cap) {
        err = PROSEC_ERR_BUFFER;
        goto out;
    }
    memcpy(out, msg, w.len);
    *out_len = w.len;
    err = PROSEC_OK;

out:
    prosec_wipe(encr_key, sizeof(encr_key));
    prosec_wipe(auth_key, sizeof(auth_key));
    return err;
}

prosec_err prosec_mikey_peek(const uint8_t *buf, size_t len,
                             struct prosec_mikey_info *info)
{
    struct i_parsed p;
    prosec_err err;

    if (buf == NULL || info == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = parse_i(buf, len, &p);
    if (err != PROSEC_OK) {
        return err;
    }
    memset(info, 0, sizeof(*info));
    info->kind = p.m.kind;
    info->csb_id = p.csb_id;
    info->group_id = p.m.group_id;
    info->pgk_id = p.m.pgk_id;
    info->pmk_id = p.m.pmk_id;
    info->ntp_time = p.m.ntp_time;
    memcpy(info->rand, p.m.rand, sizeof(info->rand));
    memcpy(info->idi, p.m.idi, sizeof(info->idi));
    memcpy(info->idr, p.m.idr, sizeof(info->idr));
    return PROSEC_OK;
}

/* The Key data sub-payload inside the wrap: exactly what encode writes. */
static bool key_data_ok(const uint8_t plain[KEY_PLAIN_LEN])
{
    uint8_t pad = 0;

    for (size_t i = KEY_DATA_LEN; i < KEY_PLAIN_LEN; i++) {
        pad |= plain[i];
    }
    return plain[0] == PROSEC_MIKEY_PT_LAST &&
           plain[1] == (PROSEC_MIKEY_KEY_TGK << 4 | PROSEC_MIKEY_KV_NULL) &&
           plain[2] == 0 && plain[3] == PROSEC_MIKEY_PGK_LEN && pad == 0;
}

prosec_err prosec_mikey_decode(const uint8_t *buf, size_t len,
                               const uint8_t pmk[PROSEC_MIKEY_PMK_LEN],
                               struct prosec_mikey_msg *out)
{
    struct i_parsed p;
    uint8_t encr_key[ENCR_KEY_LEN], auth_key[AUTH_KEY_LEN];
    uint8_t plain[KEY_WRAPPED_LEN], tag[PROSEC_MIKEY_MAC_LEN];
    size_t plain_len = 0;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (buf == NULL || pmk == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    memset(plain, 0, sizeof(plain));
    err = parse_i(buf, len, &p);
    if (err != PROSEC_OK) {
        goto out;
    }

    err =
        derive(auth_key, sizeof(auth_key), CONST_AUTH, pmk, p.csb_id, p.m.rand);
    if (err == PROSEC_OK) {
        err = mac(tag, auth_key, &(struct prosec__part){buf, p.mac_off}, 1);
    }
    if (err != PROSEC_OK) {
        goto out;
    }
    if (!prosec_ct_equal(tag, buf + p.mac_off, sizeof(tag))) {
        err = PROSEC_ERR_MIKEY_MAC;
        goto out;
    }

    /* Authentic: now, and only now, unwrap the PGK. */
    if (p.m.kind == PROSEC_MIKEY_PGK_PUSH) {
        err = derive(encr_key, sizeof(encr_key), CONST_ENCR, pmk, p.csb_id,
                     p.m.rand);
        if (err == PROSEC_OK) {
            err =
                aes_kw(0, encr_key, p.encr, KEY_WRAPPED_LEN, plain, &plain_len);
        }
        if (err != PROSEC_OK) {
            goto out;
        }
        if (plain_len != KEY_PLAIN_LEN || !key_data_ok(plain)) {
            err = PROSEC_ERR_MIKEY_MALFORMED;
            goto out;
        }
        memcpy(p.m.pgk, plain + 4, PROSEC_MIKEY_PGK_LEN);
    }
    *out = p.m;
    err = PROSEC_OK;

out:
    prosec_wipe(&p, sizeof(p));
    prosec_wipe(encr_key, sizeof(encr_key));
    prosec_wipe(auth_key, sizeof(auth_key));
    prosec_wipe(plain, sizeof(plain));
    return err;
}

/* ---- the verification message ------------------------------------------ */

/*
 * RFC 3830 5.2: the verification MAC covers the R_MESSAGE up to its MAC
 * field, then the identities of the I_MESSAGE (the ID data, not whole
 * payloads) and its timestamp value: R || IDi || IDr || T.
 */
static prosec_err verify_mac(uint8_t tag[PROSEC_MIKEY_MAC_LEN],
                             const uint8_t *r_msg, size_t r_len,
                             const struct prosec_mikey_msg *i_msg,
                             const uint8_t pmk[PROSEC_MIKEY_PMK_LEN])
{
    uint8_t auth_key[AUTH_KEY_LEN], t[NTP_LEN];
    size_t idi_len = 0, idr_len = 0;
    prosec_err err = check_ids(i_msg, &idi_len, &idr_len);

    if (err != PROSEC_OK) {
        return err;
    }
    for (size_t i = 0; i < NTP_LEN; i++) {
        t[i] = (uint8_t)(i_msg->ntp_time >> (8 * (NTP_LEN - 1 - i)));
    }
    err = derive(auth_key, sizeof(auth_key), CONST_AUTH, pmk,
                 prosec_mikey_csb_id(i_msg->group_id, i_msg->pgk_id),
                 i_msg->rand);
    if (err == PROSEC_OK) {
        struct prosec__part parts[4] = {{r_msg, r_len},
                                        {(const uint8_t *)i_msg->idi, idi_len},
                                        {(const uint8_t *)i_msg->idr, idr_len},
                                        {t, sizeof(t)}};

        err = mac(tag, auth_key, parts, 4);
    }
    prosec_wipe(auth_key, sizeof(auth_key));
    return err;
}

prosec_err prosec_mikey_verify_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const struct prosec_mikey_msg *i_msg,
                                      const uint8_t pmk[PROSEC_MIKEY_PMK_LEN],
                                      uint64_t ntp_time)
{
    uint8_t msg[R_MSG_LEN], tag[PROSEC_MIKEY_MAC_LEN];
    struct wbuf w = {msg, sizeof(msg), 0, false};
    size_t idi_len = 0, idr_len = 0;
    prosec_err err;

    if (out == NULL || out_len == NULL || i_msg == NULL || pmk == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = check_ids(i_msg, &idi_len, &idr_len);
    if (err != PROSEC_OK) {
        return err;
    }

    /* HDR, T, V; the V flag means nothing in an answer (RFC 3830 6.1). */
    put_hdr(&w, PROSEC_MIKEY_TYPE_PSK_VERIFY, PROSEC_MIKEY_PT_T, false,
            prosec_mikey_csb_id(i_msg->group_id, i_msg->pgk_id));
    put8(&w, PROSEC_MIKEY_PT_V);
    put8(&w, PROSEC_MIKEY_TS_NTP_UTC);
    put_be(&w, ntp_time, NTP_LEN);
    put8(&w, PROSEC_MIKEY_PT_LAST);
    put8(&w, PROSEC_MIKEY_MAC_HMAC_SHA256);
    err = verify_mac(tag, msg, w.len, i_msg, pmk);
    if (err != PROSEC_OK) {
        return err;
    }
    put_n(&w, tag, sizeof(tag));
    if (w.over) {
        return PROSEC_ERR_INTERNAL;
    }
    if (cap < w.len) {
        return PROSEC_ERR_BUFFER;
    }
    memcpy(out, msg, w.len);
    *out_len = w.len;
    return PROSEC_OK;
}

/* The structural pass of an R_MESSAGE: HDR, T, V and nothing else. */
static prosec_err parse_r(const uint8_t *buf, size_t len, uint32_t *csb_id,
                          uint64_t *ntp)
{
    struct rbuf r = {buf, len, 0, false};
    uint8_t next, mac_alg;
    bool v;
    prosec_err err;

    if (len > PROSEC_MIKEY_MSG_MAX) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    err = parse_hdr(&r, PROSEC_MIKEY_TYPE_PSK_VERIFY, &next, &v, csb_id);
    if (err != PROSEC_OK) {
        return err;
    }
    if (next != PROSEC_MIKEY_PT_T) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    err = parse_t(&r, PROSEC_MIKEY_PT_V, ntp);
    if (err != PROSEC_OK) {
        return err;
    }
    next = get8(&r);
    mac_alg = get8(&r);
    (void)get_n(&r, PROSEC_MIKEY_MAC_LEN);
    if (r.bad || next != PROSEC_MIKEY_PT_LAST || r.off != r.len) {
        return PROSEC_ERR_MIKEY_MALFORMED;
    }
    if (mac_alg != PROSEC_MIKEY_MAC_HMAC_SHA256) {
        return PROSEC_ERR_MIKEY_UNSUPPORTED;
    }
    return PROSEC_OK;
}

prosec_err prosec_mikey_verify_peek(const uint8_t *buf, size_t len,
                                    uint32_t *csb_id, uint64_t *ntp_time)
{
    uint32_t csb = 0;
    uint64_t ntp = 0;
    prosec_err err;

    if (buf == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = parse_r(buf, len, &csb, &ntp);
    if (err != PROSEC_OK) {
        return err;
    }
    if (csb_id != NULL) {
        *csb_id = csb;
    }
    if (ntp_time != NULL) {
        *ntp_time = ntp;
    }
    return PROSEC_OK;
}

prosec_err prosec_mikey_verify_check(const uint8_t *buf, size_t len,
                                     const struct prosec_mikey_msg *i_msg,
                                     const uint8_t pmk[PROSEC_MIKEY_PMK_LEN])
{
    uint8_t tag[PROSEC_MIKEY_MAC_LEN];
    uint32_t csb = 0;
    uint64_t ntp = 0;
    prosec_err err;

    if (buf == NULL || i_msg == NULL || pmk == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = parse_r(buf, len, &csb, &ntp);
    if (err != PROSEC_OK) {
        return err;
    }
    err = verify_mac(tag, buf, len - PROSEC_MIKEY_MAC_LEN, i_msg, pmk);
    if (err != PROSEC_OK) {
        return err;
    }
    /* Another push's answer fails like a forgery: it is not ours. */
    if (csb != prosec_mikey_csb_id(i_msg->group_id, i_msg->pgk_id) ||
        !prosec_ct_equal(tag, buf + len - PROSEC_MIKEY_MAC_LEN, sizeof(tag))) {
        return PROSEC_ERR_MIKEY_MAC;
    }
    return PROSEC_OK;
}
