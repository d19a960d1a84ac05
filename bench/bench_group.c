/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One-to-many PDUs per second through the data plane (struct prosec_sender
 * and struct prosec_receiver, as a device uses them: PGK selection, PTK ID
 * and SN allocation, cached PTK keys, replay window), for each algorithm
 * and profile at 64 and 1400 octets, beside the raw cost of the same
 * cipher (and MAC) over the same octets, measured in the same run:
 *
 * - EEA2/EIA2: OpenSSL EVP AES-128-CTR over data (+ MAC-I) and CMAC over
 *   header + data, keyed once, as a user of OpenSSL would;
 * - EEA1/EEA3 (and their EIAs): prosec_eea_keyed / prosec_eia_keyed on
 *   prepared keys, the primitive without the PDU machinery.
 *
 * The ratio ours/raw is what to read: absolute figures move with the
 * machine's load, ratios much less.  Ours and raw alternate, several
 * rounds, best of each kept.  The receiver's key derivations are counted
 * to show that none happens per PDU once a PTK is cached.
 *
 * usage: bench_group [--summary] [--rounds N]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "prosec/prosec.h"

enum {
    GROUP = 0x51e7a0,
    SENDER = 0x00a1b2,
    T_NOW = 1800000000,
    BATCH = 2048 /* PDUs protected ahead for the receive side */
};

static const size_t sizes[] = {64, 1400};
static uint8_t data[1400];
static uint8_t pdus[BATCH][PROSEC_PDU_MAX];
static size_t pdu_len[BATCH];
static volatile uint32_t sink;
static double excluded; /* seconds of set-up inside a timed loop */

static void die(const char *what, prosec_err e)
{
    fprintf(stderr, "bench_group: %s: %s\n", what, prosec_strerror(e));
    exit(1);
}

/* ---- persistence that costs nothing (the bench measures the data path;
 * reservations are saved once per `ahead` PTK IDs, not per PDU) ---------- */

static prosec_err save_none(void *ctx, uint32_t g, uint8_t id, uint16_t r)
{
    (void)ctx;
    (void)g;
    (void)id;
    (void)r;
    return PROSEC_OK;
}

static prosec_err load_none(void *ctx, uint32_t g, uint8_t id, uint16_t *r)
{
    (void)ctx;
    (void)g;
    (void)id;
    *r = 0;
    return PROSEC_OK;
}

/* ---- the set-up of one (algorithm, profile) ---------------------------- */

struct plane {
    struct prosec_pgk pgk;
    struct prosec_keyring *tx_ring, *rx_ring;
    struct prosec_sender *tx;
    struct prosec_receiver *rx;
    size_t len;  /* data octets per PDU */
    size_t next; /* next PDU of the batch to open */
    uint64_t derivations, opened, refills;
};

static void ring_new(struct prosec_keyring **kr, const struct prosec_pgk *p)
{
    prosec_err e = prosec_keyring_new(kr, GROUP, 0);

    if (e == PROSEC_OK) {
        e = prosec_keyring_add(*kr, p);
    }
    if (e != PROSEC_OK) {
        die("key ring", e);
    }
}

static void plane_init(struct plane *pl, uint8_t alg, enum prosec_profile prof)
{
    struct prosec_sender_config sc = {save_none, load_none, NULL, 0,
                                      PROSEC_BACKEND_AUTO};
    struct prosec_pgk *p = &pl->pgk;
    prosec_err e;

    memset(pl, 0, sizeof(*pl));
    for (size_t i = 0; i < sizeof(p->key); i++) {
        p->key[i] = (uint8_t)(i * 7 + alg);
    }
    p->pgk_id = 3;
    p->activation = T_NOW - 60;
    p->expiry = T_NOW + 3600;
    p->alg = alg;
    p->profile = prof;
    p->member_id = SENDER;
    ring_new(&pl->tx_ring, p);
    e = prosec_sender_new(&pl->tx, pl->tx_ring, &sc);
    if (e != PROSEC_OK) {
        die("sender", e);
    }
    ring_new(&pl->rx_ring, p);
}

static void plane_fini(struct plane *pl)
{
    prosec_receiver_free(pl->rx);
    prosec_sender_free(pl->tx);
    prosec_keyring_free(pl->tx_ring);
    prosec_keyring_free(pl->rx_ring);
    prosec_wipe(&pl->pgk, sizeof(pl->pgk));
}

/* A new receiver and a new batch of PDUs with fresh (PTK ID, SN)s. */
static void refill(struct plane *pl)
{
    struct prosec_receiver_config rc = {0, 0, PROSEC_BACKEND_AUTO};
    struct prosec_receiver_stats st;
    prosec_err e;

    if (pl->rx != NULL) {
        prosec_receiver_stats(pl->rx, &st);
        pl->derivations += st.key_derivations;
        pl->opened += st.accepted;
        pl->refills++;
        prosec_receiver_free(pl->rx);
    }
    e = prosec_receiver_new(&pl->rx, pl->rx_ring, &rc);
    if (e != PROSEC_OK) {
        die("receiver", e);
    }
    for (size_t i = 0; i < BATCH; i++) {
        e = prosec_sender_protect(pl->tx, T_NOW, PROSEC_SDU_NON_IP, data,
                                  pl->len, pdus[i], PROSEC_PDU_MAX,
                                  &pdu_len[i]);
        if (e != PROSEC_OK) {
            die("protect", e);
        }
    }
    pl->next = 0;
}

static double now(void);

/* ---- the operations timed ---------------------------------------------- */

typedef void (*run_fn)(void *arg);

static void run_protect(void *arg)
{
    struct plane *pl = arg;
    static uint8_t out[PROSEC_PDU_MAX];
    size_t n = 0;
    prosec_err e;

    e = prosec_sender_protect(pl->tx, T_NOW, PROSEC_SDU_NON_IP, data, pl->len,
                              out, sizeof(out), &n);
    if (e != PROSEC_OK) {
        die("protect", e);
    }
    sink ^= out[n - 1];
}

static void run_unprotect(void *arg)
{
    struct plane *pl = arg;
    static uint8_t out[PROSEC_PDU_MAX];
    size_t n = 0;
    prosec_err e;

    if (pl->next == BATCH) {
        /* making the next batch is not part of opening it */
        double t0 = now();

        refill(pl);
        excluded += now() - t0;
    }
    e = prosec_receiver_unprotect(pl->rx, T_NOW, SENDER, pdus[pl->next],
                                  pdu_len[pl->next], out, sizeof(out), &n,
                                  NULL);
    if (e != PROSEC_OK) {
        die("unprotect", e);
    }
    pl->next++;
    sink ^= out[0];
}

/* The same cipher and MAC work on the same octets, without the PDU. */
struct raw {
    uint8_t alg;
    bool mac;
    size_t len;
    struct prosec_alg_key *k;
    EVP_CIPHER_CTX *ctr;
    EVP_MAC_CTX *cmac;
    uint32_t count;
};

static void run_raw_ossl(void *arg)
{
    struct raw *r = arg;
    static uint8_t buf[PROSEC_PDU_MAX], out[PROSEC_PDU_MAX];
    uint8_t iv[16] = {0}, t[16];
    size_t hdr_data = PROSEC_PDU_HDR_LEN + r->len, tl = 0;
    int n = 0;

    memcpy(buf + PROSEC_PDU_HDR_LEN, data, r->len);
    r->count++;
    iv[0] = (uint8_t)(r->count >> 24);
    iv[3] = (uint8_t)r->count;
    if (r->mac) {
        /* EIA2's 8 octets of COUNT || BEARER || DIRECTION, then the
         * header and data */
        if (EVP_MAC_init(r->cmac, NULL, 0, NULL) != 1 ||
            EVP_MAC_update(r->cmac, iv, 8) != 1 ||
            EVP_MAC_update(r->cmac, buf, hdr_data) != 1 ||
            EVP_MAC_final(r->cmac, t, &tl, sizeof(t)) != 1) {
            exit(1);
        }
        memcpy(buf + hdr_data, t, PROSEC_MAC_LEN);
    }
    if (EVP_EncryptInit_ex2(r->ctr, NULL, NULL, iv, NULL) != 1 ||
        EVP_EncryptUpdate(r->ctr, out, &n, buf + PROSEC_PDU_HDR_LEN,
                          (int)(r->len + (r->mac ? PROSEC_MAC_LEN : 0))) != 1) {
        exit(1);
    }
    sink ^= out[0];
}

static void run_raw_prosec(void *arg)
{
    struct raw *r = arg;
    static uint8_t buf[PROSEC_PDU_MAX];
    size_t hdr_data = PROSEC_PDU_HDR_LEN + r->len;
    size_t body = r->len + (r->mac ? PROSEC_MAC_LEN : 0);
    prosec_err e = PROSEC_OK;

    memcpy(buf + PROSEC_PDU_HDR_LEN, data, r->len);
    r->count++;
    if (r->mac) {
        e = prosec_eia_keyed(r->k, r->alg, r->count, 0, 0, buf, hdr_data,
                             hdr_data * 8, buf + hdr_data);
    }
    if (e == PROSEC_OK) {
        e = prosec_eea_keyed(r->k, r->alg, r->count, 0, 0,
                             buf + PROSEC_PDU_HDR_LEN, body,
                             buf + PROSEC_PDU_HDR_LEN, body, body * 8);
    }
    if (e != PROSEC_OK) {
        die("raw", e);
    }
    sink ^= buf[5];
}

/* ---- timing -------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Operations per second over about 25 ms. */
static double measure(run_fn fn, void *arg)
{
    uint32_t iters = 16;
    double t0, dt;

    for (;;) {
        excluded = 0;
        t0 = now();
        for (uint32_t i = 0; i < iters; i++) {
            fn(arg);
        }
        dt = now() - t0 - excluded;
        if (dt > 0.025 || iters > (1u << 26)) {
            break;
        }
        iters *= dt > 0.002 ? (uint32_t)(0.03 / dt) + 1 : 8;
    }
    return (double)iters / dt;
}

static void best(double *ours, double *raw, run_fn f, void *a, run_fn fr,
                 void *ar, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        double o = measure(f, a), w = measure(fr, ar);

        *ours = o > *ours ? o : *ours;
        *raw = w > *raw ? w : *raw;
    }
}

struct row {
    uint8_t alg;
    enum prosec_profile prof;
    size_t len;
    double prot, unprot, raw;
};

struct counts {
    uint64_t derivations, opened, receivers;
};

static void bench_one(struct row *row, int rounds, EVP_CIPHER_CTX *ctr,
                      EVP_MAC_CTX *cmac, struct counts *c)
{
    struct plane pl;
    struct raw r = {row->alg, row->prof == PROSEC_PROFILE_INTEGRITY,
                    row->len, NULL,
                    ctr,      cmac,
                    0};
    run_fn raw_fn = row->alg == 2 ? run_raw_ossl : run_raw_prosec;
    double raw2 = 0;
    uint8_t k[16];
    prosec_err e;

    memset(k, 0x5a, sizeof(k));
    e = prosec_alg_key_new(&r.k, PROSEC_BACKEND_AUTO, k, sizeof(k));
    if (e != PROSEC_OK) {
        die("raw key", e);
    }
    plane_init(&pl, row->alg, row->prof);
    pl.len = row->len;
    refill(&pl);
    best(&row->prot, &row->raw, run_protect, &pl, raw_fn, &r, rounds);
    best(&row->unprot, &raw2, run_unprotect, &pl, raw_fn, &r, rounds);
    row->raw = raw2 > row->raw ? raw2 : row->raw;

    /* what the receiver derived, against what it opened */
    refill(&pl);
    c->derivations += pl.derivations;
    c->opened += pl.opened;
    c->receivers += pl.refills;
    prosec_alg_key_free(r.k);
    plane_fini(&pl);
}

int main(int argc, char **argv)
{
    static const uint8_t algs[] = {1, 2, 3};
    static const enum prosec_profile profs[] = {PROSEC_PROFILE_TS33303,
                                                PROSEC_PROFILE_INTEGRITY};
    uint8_t key[16] = {0x2b, 0xd6, 0x45, 0x9f, 0x82, 0xc5, 0xb3, 0x00,
                       0x95, 0x2c, 0x49, 0x10, 0x48, 0x81, 0xff, 0x48};
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM cp[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
        OSSL_PARAM_construct_end()};
    EVP_CIPHER_CTX *ctr = EVP_CIPHER_CTX_new();
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *cmac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    double ratio1400 = 0, pps64 = 0;
    struct counts c = {0, 0, 0};
    bool summary = false;
    int rounds = 5;

    EVP_MAC_free(mac);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--summary") == 0) {
            summary = true;
            rounds = 3;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            rounds = rounds < 1 ? 1 : rounds;
        } else {
            fprintf(stderr, "usage: bench_group [--summary] [--rounds N]\n");
            return 2;
        }
    }
    if (ctr == NULL || cmac == NULL ||
        EVP_EncryptInit_ex2(ctr, EVP_aes_128_ctr(), key, NULL, NULL) != 1 ||
        EVP_MAC_init(cmac, key, 16, cp) != 1) {
        fprintf(stderr, "bench_group: OpenSSL setup failed\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 31 + 1);
    }

    printf("prosec %s group benchmark: PDUs per second on one core, best "
           "of %d;\nraw = the same cipher (+ MAC) over the same octets "
           "without the PDU machinery\n(EEA2/EIA2: OpenSSL %s EVP "
           "CTR + CMAC; others: prosec_eea/eia_keyed)\n\n",
           prosec_version(), rounds, OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("%-5s %-9s %6s %11s %11s %11s %6s %6s\n", "alg", "profile", "octets",
           "protect/s", "open/s", "raw/s", "p/raw", "o/raw");
    for (size_t ai = 0; ai < sizeof(algs); ai++) {
        for (size_t pi = 0; pi < 2; pi++) {
            for (size_t si = 0; si < 2; si++) {
                struct row row = {algs[ai], profs[pi], sizes[si], 0, 0, 0};
                bool target_row =
                    algs[ai] == 2 && profs[pi] == PROSEC_PROFILE_INTEGRITY;

                if (summary && !target_row) {
                    continue;
                }
                bench_one(&row, rounds, ctr, cmac, &c);
                printf("EEA%u  %-9s %6zu %11.0f %11.0f %11.0f %6.2f %6.2f\n",
                       row.alg, prosec_profile_name(row.prof), row.len,
                       row.prot, row.unprot, row.raw, row.prot / row.raw,
                       row.unprot / row.raw);
                if (target_row && row.len == 1400) {
                    ratio1400 = row.prot / row.raw;
                }
                if (target_row && row.len == 64) {
                    pps64 = row.prot;
                }
            }
        }
    }

    printf("\ntargets (EEA2 + EIA2, integrity profile):\n");
    printf("  protect at 1400 octets vs raw CTR + CMAC   %5.2f  (target >= "
           "0.85) %s\n",
           ratio1400, ratio1400 >= 0.85 ? "met" : "MISSED");
    printf("  protects per second at 64 octets    %11.0f  (target >= "
           "1000000) %s\n",
           pps64, pps64 >= 1e6 ? "met" : "MISSED");
    /* Each receiver derives once per (sender, PGK, PTK ID) it sees; the
     * sender moves to a new PTK ID only when its 16-bit SN wraps. */
    printf("  receiver key derivations: %llu for %llu PDUs opened by %llu "
           "receivers (%.5f per PDU)\n",
           (unsigned long long)c.derivations, (unsigned long long)c.opened,
           (unsigned long long)c.receivers,
           c.opened ? (double)c.derivations / (double)c.opened : 0.0);
    EVP_CIPHER_CTX_free(ctr);
    EVP_MAC_CTX_free(cmac);
    return 0;
}
