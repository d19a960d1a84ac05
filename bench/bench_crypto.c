/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of EEA1/2/3 and EIA1/2/3 through prosec's API (a prepared key,
 * one call per message, as the data plane uses it) on each backend and on
 * AUTO (with the backend AUTO runs at that length after the row), beside
 * raw baselines measured in the same run: OpenSSL EVP AES-128-CTR and CMAC
 * for EEA2/EIA2, intel-ipsec-mb's own single-buffer SNOW 3G and ZUC calls
 * for the others.  The ratio ours/raw is what to read: these machines are
 * noisy, so absolute figures move, ratios much less.  Ours and raw are
 * measured alternately, several rounds, best of each kept.
 *
 * usage: bench_crypto [--summary] [--rounds N]
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

#ifdef PROSEC_HAVE_IPSECMB
#include <intel-ipsec-mb.h>
#endif

#include "prosec/prosec.h"

enum { MAX_LEN = 16384 };

static const size_t sizes[] = {64, 1400, 16384};
static uint8_t key[16] = {0x2b, 0xd6, 0x45, 0x9f, 0x82, 0xc5, 0xb3, 0x00,
                          0x95, 0x2c, 0x49, 0x10, 0x48, 0x81, 0xff, 0x48};
static uint8_t in[MAX_LEN + 16], out[MAX_LEN + 16];
static volatile uint32_t sink;

struct op {
    unsigned alg;
    bool mac;
};

/* ---- the operations timed ------------------------------------------------ */

struct ours {
    struct prosec_alg_key *k;
    struct op op;
};

static void run_ours(void *arg, size_t len, uint32_t i)
{
    struct ours *o = arg;
    uint8_t mac[4];
    prosec_err e;

    if (o->op.mac) {
        e = prosec_eia_keyed(o->k, o->op.alg, i, 5, 1, in, len, len * 8, mac);
        sink ^= mac[0];
    } else {
        e = prosec_eea_keyed(o->k, o->op.alg, i, 5, 1, in, len, out, len,
                             len * 8);
        sink ^= out[0];
    }
    if (e != PROSEC_OK) {
        fprintf(stderr, "bench: %s\n", prosec_strerror(e));
        exit(1);
    }
}

struct ossl {
    EVP_CIPHER_CTX *ctr;
    EVP_MAC_CTX *cmac;
};

/* Raw OpenSSL, keyed once: a new IV per message, as a user would. */
static void run_ossl_ctr(void *arg, size_t len, uint32_t i)
{
    struct ossl *o = arg;
    uint8_t iv[16] = {0};
    int n = 0;

    iv[0] = (uint8_t)(i >> 24);
    iv[3] = (uint8_t)i;
    if (EVP_EncryptInit_ex2(o->ctr, NULL, NULL, iv, NULL) != 1 ||
        EVP_EncryptUpdate(o->ctr, out, &n, in, (int)len) != 1) {
        exit(1);
    }
    sink ^= out[0];
}

/* Raw OpenSSL CMAC over the same 8 + len octets EIA2 authenticates. */
static void run_ossl_cmac(void *arg, size_t len, uint32_t i)
{
    struct ossl *o = arg;
    uint8_t pre[8] = {0}, t[16];
    size_t tl = 0;

    pre[3] = (uint8_t)i;
    if (EVP_MAC_init(o->cmac, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(o->cmac, pre, 8) != 1 ||
        EVP_MAC_update(o->cmac, in, len) != 1 ||
        EVP_MAC_final(o->cmac, t, &tl, sizeof(t)) != 1) {
        exit(1);
    }
    sink ^= t[0];
}

#ifdef PROSEC_HAVE_IPSECMB
struct imb {
    IMB_MGR *m;
    snow3g_key_schedule_t ks;
    unsigned alg;
    bool mac;
};

/* intel-ipsec-mb reports refusals only in errno: a refused call must not
 * pass for a fast one. */
static void run_imb(void *arg, size_t len, uint32_t i)
{
    struct imb *b = arg;
    uint8_t iv[16] = {0};
    uint32_t tag = 0;

    iv[3] = (uint8_t)i;
    iv[11] = (uint8_t)i;
    if (b->alg == 1 && !b->mac) {
        IMB_SNOW3G_F8_1_BUFFER(b->m, &b->ks, iv, in, out, (uint32_t)len);
        tag = out[0];
    } else if (b->alg == 1) {
        IMB_SNOW3G_F9_1_BUFFER(b->m, &b->ks, iv, in, len * 8, &tag);
    } else if (!b->mac) {
        IMB_ZUC_EEA3_1_BUFFER(b->m, key, iv, in, out, (uint32_t)len);
        tag = out[0];
    } else {
        IMB_ZUC_EIA3_1_BUFFER(b->m, key, iv, in, (uint32_t)(len * 8), &tag);
    }
    if (imb_get_errno(b->m) != 0) {
        fprintf(stderr, "bench: intel-ipsec-mb refused %zu octets\n", len);
        exit(1);
    }
    sink ^= tag;
}
#endif

/* ---- timing -----------------------------------------------------------------
 */

typedef void (*run_fn)(void *arg, size_t len, uint32_t i);

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* MB/s (10^6 octets per second) over about 25 ms. */
static double measure(run_fn fn, void *arg, size_t len)
{
    uint32_t iters = 16;
    double t0, dt;

    for (;;) {
        t0 = now();
        for (uint32_t i = 0; i < iters; i++) {
            fn(arg, len, i);
        }
        dt = now() - t0;
        if (dt > 0.025 || iters > (1u << 28)) {
            break;
        }
        iters *= dt > 0.002 ? (uint32_t)(0.03 / dt) + 1 : 8;
    }
    return (double)iters * (double)len / dt / 1e6;
}

struct result {
    double ours, raw;
};

static struct result compare(run_fn f_ours, void *a_ours, run_fn f_raw,
                             void *a_raw, size_t len, int rounds)
{
    struct result r = {0, 0};

    for (int i = 0; i < rounds; i++) {
        double o = measure(f_ours, a_ours, len);
        double w = f_raw != NULL ? measure(f_raw, a_raw, len) : 0;

        r.ours = o > r.ours ? o : r.ours;
        r.raw = w > r.raw ? w : r.raw;
    }
    return r;
}

/* ---- the table --------------------------------------------------------------
 */

/* After an AUTO row, the backend AUTO ran; a newline in any case. */
static void print_auto_choice(enum prosec_backend b, struct op op, size_t len)
{
    enum prosec_backend got;

    if (b == PROSEC_BACKEND_AUTO &&
        prosec_backend_resolve_alg(
            b, op.mac ? PROSEC_ALG_TYPE_PIK : PROSEC_ALG_TYPE_PEK, op.alg,
            len * 8, &got, NULL) == PROSEC_OK) {
        printf("  = %s", prosec_backend_name(got));
    }
    printf("\n");
}

struct target {
    const char *what;
    double ratio, want;
    bool have;
};

int main(int argc, char **argv)
{
    static const struct op ops[] = {{1, false}, {2, false}, {3, false},
                                    {1, true},  {2, true},  {3, true}};
    static const enum prosec_backend bes[] = {
        PROSEC_BACKEND_PORTABLE, PROSEC_BACKEND_IPSECMB, PROSEC_BACKEND_AUTO};
    bool summary = false;
    int rounds = 5;
    struct ossl o = {NULL, NULL};
    struct target targets[6];
    size_t nt = 0;
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM cp[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
        OSSL_PARAM_construct_end()};
    EVP_MAC *mac;
#ifdef PROSEC_HAVE_IPSECMB
    struct imb ib;
    IMB_ARCH arch;
#endif

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--summary") == 0) {
            summary = true;
            rounds = 3;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            rounds = rounds < 1 ? 1 : rounds;
        } else {
            fprintf(stderr, "usage: bench_crypto [--summary] [--rounds N]\n");
            return 2;
        }
    }
    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t)(i * 131 + 7);
    }

    o.ctr = EVP_CIPHER_CTX_new();
    mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    o.cmac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    if (o.ctr == NULL || o.cmac == NULL ||
        EVP_EncryptInit_ex2(o.ctr, EVP_aes_128_ctr(), key, NULL, NULL) != 1 ||
        EVP_MAC_init(o.cmac, key, 16, cp) != 1) {
        fprintf(stderr, "bench: OpenSSL setup failed\n");
        return 1;
    }
#ifdef PROSEC_HAVE_IPSECMB
    ib.m = alloc_mb_mgr(0);
    if (ib.m != NULL) {
        init_mb_mgr_auto(ib.m, &arch);
        IMB_SNOW3G_INIT_KEY_SCHED(ib.m, key, &ib.ks);
    }
#endif

    printf("prosec %s crypto benchmark: MB/s (10^6 octets/s), best of %d, "
           "ours / raw in the same run\n",
           prosec_version(), rounds);
    printf("raw: EEA2/EIA2 = OpenSSL %s EVP AES-128-CTR / CMAC; "
           "EEA1/EIA1/EEA3/EIA3 = intel-ipsec-mb single-buffer calls\n\n",
           OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("%-5s %-9s %7s %10s %10s %7s\n", "alg", "backend", "octets", "ours",
           "raw", "ratio");

    for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++) {
        for (size_t bi = 0; bi < sizeof(bes) / sizeof(bes[0]); bi++) {
            struct ours ours = {NULL, ops[oi]};
            run_fn f_raw = NULL;
            void *a_raw = NULL;

            if (prosec_alg_key_new(&ours.k, bes[bi], key, 16) != PROSEC_OK) {
                printf("%-5s %-9s  (backend not available)\n", "",
                       prosec_backend_name(bes[bi]));
                continue;
            }
            if (ops[oi].alg == 2) {
                f_raw = ops[oi].mac ? run_ossl_cmac : run_ossl_ctr;
                a_raw = &o;
            }
#ifdef PROSEC_HAVE_IPSECMB
            else if (ib.m != NULL) {
                ib.alg = ops[oi].alg;
                ib.mac = ops[oi].mac;
                f_raw = run_imb;
                a_raw = &ib;
            }
#endif
            for (size_t si = 0; si < 3; si++) {
                struct result r;
                char name[8];
                run_fn raw = f_raw;

                if (summary && sizes[si] != 1400) {
                    continue;
                }
                /* intel-ipsec-mb 1.3 takes at most 8188 octets of ZUC */
                if (ops[oi].alg == 3 && sizes[si] > 8188) {
                    raw = NULL;
                }
                r = compare(run_ours, &ours, raw, a_raw, sizes[si], rounds);
                snprintf(name, sizeof(name), "%s%u",
                         ops[oi].mac ? "EIA" : "EEA", ops[oi].alg);
                if (raw != NULL) {
                    printf("%-5s %-9s %7zu %10.1f %10.1f %7.2f", name,
                           prosec_backend_name(bes[bi]), sizes[si], r.ours,
                           r.raw, r.ours / r.raw);
                } else {
                    printf("%-5s %-9s %7zu %10.1f %10s %7s", name,
                           prosec_backend_name(bes[bi]), sizes[si], r.ours,
                           "n/a", "n/a");
                }
                print_auto_choice(bes[bi], ops[oi], sizes[si]);
                if (sizes[si] == 1400 && bes[bi] == PROSEC_BACKEND_PORTABLE &&
                    nt < 6) {
                    static char what[6][64];

                    snprintf(what[nt], sizeof(what[nt]), "%s portable vs %s",
                             name,
                             ops[oi].alg == 2 ? "OpenSSL" : "intel-ipsec-mb");
                    targets[nt].what = what[nt];
                    targets[nt].ratio = f_raw ? r.ours / r.raw : 0;
                    targets[nt].want = ops[oi].alg == 2 ? 0.9 : 0.5;
                    targets[nt].have = f_raw != NULL;
                    nt++;
                }
            }
            prosec_alg_key_free(ours.k);
        }
    }

    printf("\ntargets at 1400 octets (ratio ours/raw):\n");
    for (size_t i = 0; i < nt; i++) {
        if (!targets[i].have) {
            printf("  %-40s  n/a (no baseline here)\n", targets[i].what);
            continue;
        }
        printf("  %-40s %5.2f  (target >= %.2f) %s\n", targets[i].what,
               targets[i].ratio, targets[i].want,
               targets[i].ratio >= targets[i].want ? "met" : "MISSED");
    }

    EVP_CIPHER_CTX_free(o.ctr);
    EVP_MAC_CTX_free(o.cmac);
#ifdef PROSEC_HAVE_IPSECMB
    free_mb_mgr(ib.m);
#endif
    return 0;
}
