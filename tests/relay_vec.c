/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks the RELAY-* records of tests/vectors/relay.txt.  Each derivation
 * record is checked twice: its S must give its output under plain
 * OpenSSL HMAC (the record agrees with itself), and the library must give
 * the same output from the inputs alone.  Message records carry the
 * prosec_err a receiver must return; positive ones must also be
 * reproduced octet for octet by the encoder.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../src/wire/pc5sig_internal.h"
#include "relay_vec.h"

enum { MAX = PROSEC_PC5SIG_MSG_MAX };

static int fail(const struct vec_record *r, const char *what)
{
    fprintf(stderr, "%s:%d [%s] %s\n", r->file, r->line, r->id, what);
    return 1;
}

static int differ(const struct vec_record *r, const char *what,
                  const uint8_t *want, const uint8_t *got, size_t len)
{
    if (memcmp(want, got, len) == 0) {
        return 0;
    }
    vec_report(r, what, want, got, len);
    return 1;
}

/* The field name as exactly n octets of hex into out. */
static bool hex_n(const struct vec_record *r, const char *name, uint8_t *out,
                  size_t n)
{
    return vec_hex(r, name, out, n) == (long)n;
}

/* The ERR field: the name of a prosec_err. */
static bool want_err(const struct vec_record *r, prosec_err *e)
{
    const char *v = vec_get(r, "ERR");

    for (int i = 0; v != NULL && i < PROSEC__ERR_COUNT; i++) {
        if (strcmp(v, prosec_err_name((prosec_err)i)) == 0) {
            *e = (prosec_err)i;
            return true;
        }
    }
    return false;
}

static int got_err(const struct vec_record *r, prosec_err want, prosec_err got)
{
    if (want == got) {
        return 0;
    }
    fprintf(stderr, "%s:%d [%s] got %s, want %s\n", r->file, r->line, r->id,
            prosec_err_name(got), prosec_err_name(want));
    return 1;
}

/* HMAC-SHA-256(key, S) must be the record's out_name. */
static int s_gives(const struct vec_record *r, const char *key_name,
                   const char *out_name)
{
    uint8_t key[32], s[256], want[32], got[32];
    unsigned int len = 0;
    long n = vec_hex(r, "S", s, sizeof(s));

    if (n < 0 || !hex_n(r, key_name, key, 32) ||
        !hex_n(r, out_name, want, 32)) {
        return 1;
    }
    if (HMAC(EVP_sha256(), key, 32, s, (size_t)n, got, &len) == NULL ||
        len != 32) {
        return fail(r, "OpenSSL HMAC failed");
    }
    return differ(r, "HMAC(key, S)", want, got, 32);
}

static int h_kd(const struct vec_record *r)
{
    uint8_t pruk[32], fresh[16], want[32], got[32];

    if (!hex_n(r, "PRUK", pruk, 32) || !hex_n(r, "KD_FRESHNESS", fresh, 16) ||
        !hex_n(r, "KD", want, 32)) {
        return 1;
    }
    if (prosec_kd_derive(got, pruk, fresh) != PROSEC_OK) {
        return fail(r, "prosec_kd_derive failed");
    }
    return s_gives(r, "PRUK", "KD") + differ(r, "KD", want, got, 32);
}

static int h_kd_sess(const struct vec_record *r)
{
    uint8_t kd[32], n1[16], n2[16], want[32], got[32];

    if (!hex_n(r, "KD", kd, 32) || !hex_n(r, "NONCE_1", n1, 16) ||
        !hex_n(r, "NONCE_2", n2, 16) || !hex_n(r, "KD_SESS", want, 32)) {
        return 1;
    }
    if (prosec_kd_sess_derive(got, kd, n1, n2) != PROSEC_OK) {
        return fail(r, "prosec_kd_sess_derive failed");
    }
    return s_gives(r, "KD", "KD_SESS") + differ(r, "KD_SESS", want, got, 32);
}

static int h_alg_key(const struct vec_record *r, bool pik)
{
    const char *name = pik ? "PIK" : "PEK";
    uint8_t kd_sess[32], want[16], got[16];
    long long alg = vec_num(r, "ALG", 10);
    prosec_err e;

    if (alg < 0 || !hex_n(r, "KD_SESS", kd_sess, 32) ||
        !hex_n(r, name, want, 16)) {
        return 1;
    }
    e = pik ? prosec_pik_derive(got, kd_sess, (unsigned)alg)
            : prosec_pek_derive(got, kd_sess, (unsigned)alg);
    if (e != PROSEC_OK) {
        return fail(r, "derivation failed");
    }
    return s_gives(r, "KD_SESS", "KDF_OUT") + differ(r, name, want, got, 16);
}

static int h_dsmc(const struct vec_record *r, enum prosec_backend b)
{
    uint8_t key[16], caps[2], msg[MAX], again[MAX];
    long n = vec_hex(r, "MESSAGE", msg, sizeof(msg));
    struct prosec_alg_key *pik = NULL;
    struct prosec_pc5sig_dsmc m;
    struct prosec_ue_sec_caps sent;
    prosec_err want = PROSEC_OK;
    size_t len = 0;
    int bad = 0;

    if (n < 0 || !hex_n(r, "PIK", key, 16) || !hex_n(r, "CAPS", caps, 2) ||
        !want_err(r, &want)) {
        return 1;
    }
    if (prosec_alg_key_new(&pik, b, key, 16) != PROSEC_OK) {
        return fail(r, "prosec_alg_key_new failed");
    }
    sent = (struct prosec_ue_sec_caps){caps[0], caps[1]};
    bad += got_err(r, want,
                   prosec_pc5sig_dsmc_verify(msg, (size_t)n, pik, &sent));
    if (want == PROSEC_OK) {
        bad += prosec_pc5sig_dsmc_decode(msg, (size_t)n, &m) != PROSEC_OK ||
               prosec_pc5sig_dsmc_encode(again, sizeof(again), &len, &m,
                                         pik) != PROSEC_OK ||
               len != (size_t)n;
        bad += len == (size_t)n && differ(r, "encoded", msg, again, len);
    }
    prosec_alg_key_free(pik);
    return bad;
}

static int h_complete(const struct vec_record *r, enum prosec_backend b)
{
    uint8_t key[16], dsmc[MAX], msg[MAX], again[MAX];
    long n = vec_hex(r, "MESSAGE", msg, sizeof(msg));
    long dn = vec_hex(r, "DSMC", dsmc, sizeof(dsmc));
    struct prosec_alg_key *pik = NULL;
    prosec_err want = PROSEC_OK;
    size_t len = 0;
    int bad = 0;

    if (n < 0 || dn < 0 || !hex_n(r, "PIK", key, 16) || !want_err(r, &want)) {
        return 1;
    }
    if (prosec_alg_key_new(&pik, b, key, 16) != PROSEC_OK) {
        return fail(r, "prosec_alg_key_new failed");
    }
    bad += got_err(r, want,
                   prosec_pc5sig_complete_check(msg, (size_t)n, dsmc,
                                                (size_t)dn, pik));
    if (want == PROSEC_OK) {
        bad += prosec_pc5sig_complete_encode(again, sizeof(again), &len, dsmc,
                                             (size_t)dn, pik) != PROSEC_OK ||
               len != (size_t)n;
        bad += len == (size_t)n && differ(r, "encoded", msg, again, len);
    }
    prosec_alg_key_free(pik);
    return bad;
}

static int h_link(const struct vec_record *r, enum prosec_backend b)
{
    static uint8_t pt[MAX], msg[MAX], got[MAX];
    uint8_t kd_sess[32];
    long n = vec_hex(r, "MESSAGE", msg, sizeof(msg));
    long pn = vec_hex(r, "PLAINTEXT", pt, sizeof(pt));
    long long eea = vec_num(r, "EEA", 10), eia = vec_num(r, "EIA", 10);
    long long count = vec_num(r, "COUNT", 16);
    const char *sender = vec_get(r, "SENDER");
    struct prosec_link *tx = NULL, *rx = NULL;
    enum prosec_link_role tx_role;
    prosec_err want = PROSEC_OK;
    size_t len = 0;
    int bad = 0;

    if (n < 0 || pn < 0 || eea < 0 || eia < 0 || count < 1 ||
        sender == NULL || !hex_n(r, "KD_SESS", kd_sess, 32) ||
        !want_err(r, &want)) {
        return 1;
    }
    tx_role = strcmp(sender, "relay") == 0 ? PROSEC_LINK_RELAY
                                           : PROSEC_LINK_REMOTE;
    if (prosec_link_new(&tx, kd_sess, (unsigned)eea, (unsigned)eia, tx_role,
                        b) != PROSEC_OK ||
        prosec_link_new(&rx, kd_sess, (unsigned)eea, (unsigned)eia,
                        tx_role == PROSEC_LINK_RELAY ? PROSEC_LINK_REMOTE
                                                     : PROSEC_LINK_RELAY,
                        b) != PROSEC_OK) {
        bad += fail(r, "prosec_link_new failed");
        goto out;
    }

    /* the sender reproduces the message at its COUNT */
    if (want == PROSEC_OK) {
        prosec__link_set_counts(tx, (uint32_t)count - 1, 0);
        bad += prosec_link_seal(tx, pt, (size_t)pn, got, sizeof(got), &len) !=
                   PROSEC_OK ||
               len != (size_t)n;
        bad += len == (size_t)n && differ(r, "sealed", msg, got, len);
    }
    bad += got_err(
        r, want, prosec_link_open(rx, msg, (size_t)n, got, sizeof(got), &len));
    if (want == PROSEC_OK) {
        bad += len != (size_t)pn || differ(r, "opened", pt, got, len);
    }

out:
    prosec_link_free(tx);
    prosec_link_free(rx);
    return bad;
}

int relay_vec_check(const struct vec_record *r, enum prosec_backend b)
{
    /* longest prefix first: RELAY-KD-SESS- before RELAY-KD- */
    if (strncmp(r->id, "RELAY-KD-SESS-", 14) == 0) {
        return h_kd_sess(r);
    }
    if (strncmp(r->id, "RELAY-KD-", 9) == 0) {
        return h_kd(r);
    }
    if (strncmp(r->id, "RELAY-PEK-", 10) == 0) {
        return h_alg_key(r, false);
    }
    if (strncmp(r->id, "RELAY-PIK-", 10) == 0) {
        return h_alg_key(r, true);
    }
    if (strncmp(r->id, "RELAY-DSMC-", 11) == 0) {
        return h_dsmc(r, b);
    }
    if (strncmp(r->id, "RELAY-COMPLETE-", 15) == 0) {
        return h_complete(r, b);
    }
    if (strncmp(r->id, "RELAY-LINK-", 11) == 0) {
        return h_link(r, b);
    }
    return fail(r, "no RELAY handler for this record");
}
