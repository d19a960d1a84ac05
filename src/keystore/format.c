/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bytes of a keystore file (docs/keystore.md): the 72-octet header and
 * the body's TLVs.  Decoders check every length against what is left
 * before reading, take each value through the setters of store.c, and
 * refuse duplicates and unknown types; nothing here grows without bound,
 * as every table has its fixed cap.  All numbers are big-endian.
 */
#include <string.h>

#include "internal.h"

const uint8_t prosec__ks_magic[PROSEC__KS_MAGIC_LEN] = {'P', 'R', 'O', 'S',
                                                        'E', 'C', 'K', 'S'};

/* Body TLV types (docs/keystore.md "Body"). */
enum tlv_type {
    T_CRED_FIRST = 0x01, /* 0x01..0x07: enum prosec_keystore_cred + 1 */
    T_CRED_LAST = 0x07,
    T_PMK = 0x10,
    T_PRUK = 0x11,
    T_GROUP = 0x20,
    T_PGK = 0x21,
    T_RESERVATION = 0x22,
    T_REPLAY = 0x23,
    T_SETTING = 0x30
};

/* Fixed value lengths. */
enum tlv_len {
    TLV_HDR_LEN = 5, /* type (1), length (4) */
    PMK_VAL_LEN = 4 + PROSEC_KS_PMK_LEN,
    PRUK_VAL_LEN = 8 + PROSEC_KS_PRUK_LEN,
    PGK_VAL_LEN = 3 + 1 + PROSEC_PGK_LEN + 8 + 8 + 1 + 1 + 1 + 3,
    RES_VAL_LEN = 3 + 1 + 2,
    REPLAY_VAL_LEN = 3 + 3 + 1 + 2 + 2
};

/* ---- byte order ------------------------------------------------------------
 */

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void store_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        p[i - 1] = (uint8_t)v;
        v >>= 8;
    }
}

/* ---- header
 * ------------------------------------------------------------------ */

void prosec__ks_header_encode(uint8_t out[PROSEC__KS_HDR_LEN],
                              const struct prosec__ks_header *h)
{
    memset(out, 0, PROSEC__KS_HDR_LEN);
    memcpy(out, prosec__ks_magic, PROSEC__KS_MAGIC_LEN);
    store_be(out + 8, h->version, 2);
    out[10] = h->kdf;
    out[11] = h->aead;
    store_be(out + 12, h->argon2.passes, 4);
    store_be(out + 16, h->argon2.memory_kib, 4);
    out[20] = (uint8_t)h->argon2.lanes;
    out[21] = h->kdf == PROSEC__KS_KDF_ARGON2ID ? PROSEC__KS_ARGON2_VERSION : 0;
    /* 22..23 reserved, zero */
    memcpy(out + 24, h->salt, PROSEC__KS_SALT_LEN);
    memcpy(out + 56, h->nonce, PROSEC__KS_NONCE_LEN);
    store_be(out + 68, h->body_len, 4);
}

prosec_err prosec__ks_argon2_check(const struct prosec_argon2_params *p,
                                   bool allow_weak)
{
    uint32_t min_passes = PROSEC_ARGON2_PASSES_MIN;
    uint32_t min_memory = PROSEC_ARGON2_MEMORY_MIN;

    if (p->lanes < 1 || p->lanes > PROSEC_ARGON2_LANES_MAX) {
        return PROSEC_ERR_KS_KDF_PARAMS;
    }
    if (allow_weak) {
        /* libargon2's own minimum: 8 KiB per lane, one pass */
        min_passes = 1;
        min_memory = 8 * p->lanes;
    }
    if (p->passes < min_passes || p->passes > PROSEC_ARGON2_PASSES_MAX ||
        p->memory_kib < min_memory ||
        p->memory_kib > PROSEC_ARGON2_MEMORY_MAX) {
        return PROSEC_ERR_KS_KDF_PARAMS;
    }
    return PROSEC_OK;
}

prosec_err prosec__ks_header_decode(const uint8_t *file, size_t len,
                                    bool allow_weak,
                                    struct prosec__ks_header *out)
{
    struct prosec__ks_header h;
    size_t n = len < PROSEC__KS_MAGIC_LEN ? len : PROSEC__KS_MAGIC_LEN;
    size_t total;

    /* A prefix of the magic is a torn file, anything else foreign. */
    if (len == 0) {
        return PROSEC_ERR_KS_TRUNCATED;
    }
    if (memcmp(file, prosec__ks_magic, n) != 0) {
        return PROSEC_ERR_KS_MAGIC;
    }
    if (len < PROSEC__KS_MAGIC_LEN + 2) {
        return PROSEC_ERR_KS_TRUNCATED;
    }
    /* The version decides the rest of the layout, so it comes first. */
    memset(&h, 0, sizeof(h));
    h.version = (uint16_t)load_be(file + 8, 2);
    if (h.version != PROSEC__KS_VERSION) {
        return PROSEC_ERR_KS_VERSION;
    }
    if (len < PROSEC__KS_HDR_LEN) {
        return PROSEC_ERR_KS_TRUNCATED;
    }

    h.kdf = file[10];
    h.aead = file[11];
    h.argon2.passes = (uint32_t)load_be(file + 12, 4);
    h.argon2.memory_kib = (uint32_t)load_be(file + 16, 4);
    h.argon2.lanes = file[20];
    memcpy(h.salt, file + 24, PROSEC__KS_SALT_LEN);
    memcpy(h.nonce, file + 56, PROSEC__KS_NONCE_LEN);
    h.body_len = (uint32_t)load_be(file + 68, 4);

    if (h.aead != PROSEC__KS_AEAD_CHACHA20_POLY1305 || file[22] != 0 ||
        file[23] != 0) {
        return PROSEC_ERR_KS_HEADER;
    }
    if (h.kdf == PROSEC__KS_KDF_KEY) {
        /* no parameters: all of octets 12..21 are zero */
        if (load_be(file + 12, 8) != 0 || file[20] != 0 || file[21] != 0) {
            return PROSEC_ERR_KS_HEADER;
        }
    } else if (h.kdf == PROSEC__KS_KDF_ARGON2ID) {
        if (file[21] != PROSEC__KS_ARGON2_VERSION) {
            return PROSEC_ERR_KS_HEADER;
        }
        if (prosec__ks_argon2_check(&h.argon2, allow_weak) != PROSEC_OK) {
            return PROSEC_ERR_KS_KDF_PARAMS;
        }
    } else {
        return PROSEC_ERR_KS_HEADER;
    }
    if (h.body_len == 0 || h.body_len > PROSEC_KS_BODY_MAX) {
        return PROSEC_ERR_KS_HEADER;
    }

    total = PROSEC__KS_HDR_LEN + (size_t)h.body_len + PROSEC__KS_TAG_LEN;
    if (len < total) {
        return PROSEC_ERR_KS_TRUNCATED;
    }
    if (len > total) {
        return PROSEC_ERR_KS_SIZE;
    }
    *out = h;
    return PROSEC_OK;
}

/* ---- body: writing
 * ------------------------------------------------------------ */

/* A writer that only counts when buf is NULL. */
struct writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

static void put(struct writer *w, const void *p, size_t n)
{
    if (w->buf != NULL) {
        if (n > w->cap - w->len) {
            w->overflow = true;
            return;
        }
        if (n > 0) {
            memcpy(w->buf + w->len, p, n);
        }
    }
    w->len += n;
}

static void put_be(struct writer *w, uint64_t v, size_t n)
{
    uint8_t b[8];

    store_be(b, v, n);
    put(w, b, n);
}

static void put_tlv(struct writer *w, uint8_t type, size_t len)
{
    put_be(w, type, 1);
    put_be(w, len, 4);
}

static void put_pgk(struct writer *w, const struct prosec__ks_pgk *p)
{
    put_tlv(w, T_PGK, PGK_VAL_LEN);
    put_be(w, p->group_id, 3);
    put_be(w, p->pgk.pgk_id, 1);
    put(w, p->pgk.key, PROSEC_PGK_LEN);
    put_be(w, (uint64_t)p->pgk.activation, 8);
    put_be(w, (uint64_t)p->pgk.expiry, 8);
    put_be(w, p->pgk.alg, 1);
    put_be(w, (uint64_t)p->pgk.profile, 1);
    put_be(w, p->pgk.bearer, 1);
    put_be(w, p->pgk.member_id, 3);
}

static void write_body(struct writer *w, const struct prosec_keystore *ks)
{
    const struct prosec__ks_secrets *s = ks->sec;

    put_be(w, PROSEC__KS_BODY_VERSION, 1);
    for (size_t i = 0; i < PROSEC_KS_CRED_COUNT; i++) {
        if (ks->cred[i].data != NULL) {
            put_tlv(w, (uint8_t)(T_CRED_FIRST + i), ks->cred[i].len);
            put(w, ks->cred[i].data, ks->cred[i].len);
        }
    }
    if (s->has_pmk) {
        put_tlv(w, T_PMK, PMK_VAL_LEN);
        put_be(w, s->pmk_id, 4);
        put(w, s->pmk, PROSEC_KS_PMK_LEN);
    }
    if (s->has_pruk) {
        put_tlv(w, T_PRUK, PRUK_VAL_LEN);
        put_be(w, s->pruk_id, 8);
        put(w, s->pruk, PROSEC_KS_PRUK_LEN);
    }
    /* each group, then its PGKs, which refer to it */
    for (size_t g = 0; g < ks->n_group; g++) {
        size_t nlen = strlen(ks->group[g].name);

        put_tlv(w, T_GROUP, 3 + nlen);
        put_be(w, ks->group[g].id, 3);
        put(w, ks->group[g].name, nlen);
        for (size_t i = 0; i < s->n_pgk; i++) {
            if (s->pgk[i].group_id == ks->group[g].id) {
                put_pgk(w, &s->pgk[i]);
            }
        }
    }
    for (size_t i = 0; i < ks->n_res; i++) {
        put_tlv(w, T_RESERVATION, RES_VAL_LEN);
        put_be(w, ks->res[i].group_id, 3);
        put_be(w, ks->res[i].pgk_id, 1);
        put_be(w, ks->res[i].reserved, 2);
    }
    for (size_t i = 0; i < ks->n_replay; i++) {
        const struct prosec__ks_replay *r = &ks->replay[i];

        put_tlv(w, T_REPLAY, REPLAY_VAL_LEN);
        put_be(w, r->group_id, 3);
        put_be(w, r->sender_id, 3);
        put_be(w, r->pgk_id, 1);
        put_be(w, r->ptk_id, 2);
        put_be(w, r->sn, 2);
    }
    for (size_t i = 0; i < ks->n_setting; i++) {
        const struct prosec__ks_setting *st = &ks->setting[i];
        size_t klen = strlen(st->key);

        put_tlv(w, T_SETTING, 1 + klen + st->value.len);
        put_be(w, klen, 1);
        put(w, st->key, klen);
        put(w, st->value.data, st->value.len);
    }
}

prosec_err prosec__ks_body_encode(const struct prosec_keystore *ks,
                                  uint8_t **out, size_t *out_len)
{
    struct writer count = {NULL, 0, 0, false};
    struct writer w = {NULL, 0, 0, false};

    write_body(&count, ks);
    if (count.len > PROSEC_KS_BODY_MAX) {
        return PROSEC_ERR_FULL;
    }
    w.buf = prosec__secmem_alloc(count.len, NULL);
    if (w.buf == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    w.cap = count.len;
    write_body(&w, ks);
    if (w.overflow || w.len != count.len) {
        prosec__secmem_free(w.buf);
        return PROSEC_ERR_INTERNAL;
    }
    *out = w.buf;
    *out_len = w.len;
    return PROSEC_OK;
}

/* ---- body: reading
 * --------------------------------------------------------------- */

/* Maps a setter's refusal to a malformed body; memory stays memory. */
static prosec_err body_err(prosec_err err)
{
    return err == PROSEC_OK || err == PROSEC_ERR_NOMEM ? err
                                                       : PROSEC_ERR_KS_BODY;
}

static prosec_err read_group(struct prosec_keystore *ks, const uint8_t *v,
                             size_t len)
{
    char name[PROSEC_KS_NAME_MAX + 1];
    uint32_t id;
    const char *old;

    if (len < 3 + 1 || len > 3 + PROSEC_KS_NAME_MAX ||
        memchr(v + 3, 0, len - 3) != NULL) {
        return PROSEC_ERR_KS_BODY;
    }
    id = (uint32_t)load_be(v, 3);
    if (prosec_keystore_group_name(ks, id, &old) == PROSEC_OK) {
        return PROSEC_ERR_KS_BODY;
    }
    memcpy(name, v + 3, len - 3);
    name[len - 3] = 0;
    return body_err(prosec_keystore_group_set(ks, id, name));
}

static prosec_err read_pgk(struct prosec_keystore *ks, const uint8_t *v,
                           size_t len)
{
    struct prosec_pgk p;
    uint32_t group_id;
    const char *name;
    prosec_err err = PROSEC_ERR_KS_BODY;

    memset(&p, 0, sizeof(p));
    if (len != PGK_VAL_LEN) {
        goto out;
    }
    group_id = (uint32_t)load_be(v, 3);
    p.pgk_id = v[3];
    memcpy(p.key, v + 4, PROSEC_PGK_LEN);
    p.activation = (int64_t)load_be(v + 36, 8);
    p.expiry = (int64_t)load_be(v + 44, 8);
    p.alg = v[52];
    if (v[53] > PROSEC_PROFILE_INTEGRITY) {
        goto out;
    }
    p.profile = v[53] == 0 ? PROSEC_PROFILE_TS33303 : PROSEC_PROFILE_INTEGRITY;
    p.bearer = v[54];
    p.member_id = (uint32_t)load_be(v + 55, 3);

    /* the group comes first; a PGK ID appears once */
    if (prosec_keystore_group_name(ks, group_id, &name) != PROSEC_OK ||
        prosec__ks_pgk_held(ks, group_id, p.pgk_id)) {
        goto out;
    }
    err = body_err(prosec_keystore_pgk_put(ks, group_id, &p));

out:
    prosec_wipe(&p, sizeof(p));
    return err;
}

static prosec_err read_reservation(struct prosec_keystore *ks, const uint8_t *v,
                                   size_t len)
{
    struct prosec__ks_reservation r;

    if (len != RES_VAL_LEN || ks->n_res == PROSEC_KS_RESERVATIONS_MAX) {
        return PROSEC_ERR_KS_BODY;
    }
    r.group_id = (uint32_t)load_be(v, 3);
    r.pgk_id = v[3];
    r.reserved = (uint16_t)load_be(v + 4, 2);
    for (size_t i = 0; i < ks->n_res; i++) {
        if (ks->res[i].group_id == r.group_id &&
            ks->res[i].pgk_id == r.pgk_id) {
            return PROSEC_ERR_KS_BODY;
        }
    }
    /* appended as read: the file keeps them oldest first */
    ks->res[ks->n_res++] = r;
    return PROSEC_OK;
}

static prosec_err read_replay(struct prosec_keystore *ks, const uint8_t *v,
                              size_t len)
{
    struct prosec__ks_replay r;

    if (len != REPLAY_VAL_LEN || ks->n_replay == PROSEC_KS_REPLAY_MAX) {
        return PROSEC_ERR_KS_BODY;
    }
    r.group_id = (uint32_t)load_be(v, 3);
    r.sender_id = (uint32_t)load_be(v + 3, 3);
    r.pgk_id = v[6];
    r.ptk_id = (uint16_t)load_be(v + 7, 2);
    r.sn = (uint16_t)load_be(v + 9, 2);
    for (size_t i = 0; i < ks->n_replay; i++) {
        const struct prosec__ks_replay *o = &ks->replay[i];

        if (o->group_id == r.group_id && o->sender_id == r.sender_id &&
            o->pgk_id == r.pgk_id) {
            return PROSEC_ERR_KS_BODY;
        }
    }
    ks->replay[ks->n_replay++] = r;
    return PROSEC_OK;
}

static prosec_err read_setting(struct prosec_keystore *ks, const uint8_t *v,
                               size_t len)
{
    char key[PROSEC_KS_SETTING_KEY_MAX + 1];
    const char *old;
    size_t klen, old_len;

    if (len < 2) {
        return PROSEC_ERR_KS_BODY;
    }
    klen = v[0];
    if (klen == 0 || klen > PROSEC_KS_SETTING_KEY_MAX || klen > len - 1 ||
        memchr(v + 1, 0, klen) != NULL) {
        return PROSEC_ERR_KS_BODY;
    }
    memcpy(key, v + 1, klen);
    key[klen] = 0;
    if (prosec_keystore_setting(ks, key, &old, &old_len) == PROSEC_OK) {
        return PROSEC_ERR_KS_BODY;
    }
    return body_err(
        prosec_keystore_setting_set(ks, key, v + 1 + klen, len - 1 - klen));
}

static prosec_err read_tlv(struct prosec_keystore *ks, uint8_t type,
                           const uint8_t *v, size_t len)
{
    struct prosec__ks_secrets *s = ks->sec;

    if (type >= T_CRED_FIRST && type <= T_CRED_LAST) {
        size_t i = (size_t)(type - T_CRED_FIRST);

        if (len == 0 || ks->cred[i].data != NULL) {
            return PROSEC_ERR_KS_BODY;
        }
        return body_err(
            prosec_keystore_set_cred(ks, (enum prosec_keystore_cred)i, v, len));
    }
    switch (type) {
    case T_PMK:
        if (len != PMK_VAL_LEN || s->has_pmk) {
            return PROSEC_ERR_KS_BODY;
        }
        return body_err(
            prosec_keystore_set_pmk(ks, v + 4, (uint32_t)load_be(v, 4)));
    case T_PRUK:
        if (len != PRUK_VAL_LEN || s->has_pruk) {
            return PROSEC_ERR_KS_BODY;
        }
        return body_err(prosec_keystore_set_pruk(ks, v + 8, load_be(v, 8)));
    case T_GROUP:
        return read_group(ks, v, len);
    case T_PGK:
        return read_pgk(ks, v, len);
    case T_RESERVATION:
        return read_reservation(ks, v, len);
    case T_REPLAY:
        return read_replay(ks, v, len);
    case T_SETTING:
        return read_setting(ks, v, len);
    default:
        /* unknown types are refused, never skipped: a save would drop
         * them silently */
        return PROSEC_ERR_KS_BODY;
    }
}

prosec_err prosec__ks_body_decode(struct prosec_keystore *ks,
                                  const uint8_t *body, size_t len)
{
    size_t off = 1;

    if (len < 1) {
        return PROSEC_ERR_KS_BODY;
    }
    if (body[0] != PROSEC__KS_BODY_VERSION) {
        return PROSEC_ERR_KS_VERSION;
    }
    while (off < len) {
        uint8_t type;
        uint64_t vlen;
        prosec_err err;

        if (len - off < TLV_HDR_LEN) {
            return PROSEC_ERR_KS_BODY;
        }
        type = body[off];
        vlen = load_be(body + off + 1, 4);
        off += TLV_HDR_LEN;
        if (vlen > len - off) {
            return PROSEC_ERR_KS_BODY;
        }
        err = read_tlv(ks, type, body + off, (size_t)vlen);
        if (err != PROSEC_OK) {
            return err;
        }
        off += (size_t)vlen;
    }
    return PROSEC_OK;
}
