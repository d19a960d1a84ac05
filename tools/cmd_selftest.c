/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `prosec crypto selftest`: one official known answer per algorithm on
 * every backend that runs here, plus the KDF and the ProSe derivations.
 * The full official sets run in the test suite (tests/vectors); this is
 * the quick check an operator runs on a device.  It also shows where AUTO
 * runs each algorithm, which depends on the machine.
 */
#include <stdint.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "prosec/prosec.h"

struct kat {
    const char *name;
    bool mac;
    unsigned alg;
    const char *key, *count;
    uint8_t bearer, dir;
    size_t bits;
    const char *in, *want;
};

/* TS 33.401 Annex C test set 1 of each algorithm; EEA3/EIA3 Document 3. */
static const struct kat kats[] = {
    {"EEA1", false, 1, "d3c5d592327fb11c4035c6680af8c6d1", "398a59b4", 0x15, 1,
     253, "981ba6824c1bfb1ab485472029b71d808ce33e2cc3c0b5fc1f3de8a6dc66b1f0",
     "5d5bfe75eb04f68ce0a12377ea00b37d47c6a0ba06309155086a859c4341b378"},
    {"EEA2", false, 2, "d3c5d592327fb11c4035c6680af8c6d1", "398a59b4", 0x15, 1,
     253, "981ba6824c1bfb1ab485472029b71d808ce33e2cc3c0b5fc1f3de8a6dc66b1f0",
     "e9fed8a63d155304d71df20bf3e82214b20ed7dad2f233dc3c22d7bdeeed8e78"},
    {"EEA3", false, 3, "173d14ba5003731d7a60049470f00a29", "66035492", 0x0f, 0,
     193, "6cf65340735552ab0c9752fa6f9025fe0bd675d9005875b200",
     "a6c85fc66afb8533aafc2518dfe784940ee1e4b030238cc800"},
    {"EIA1", true, 1, "2bd6459f82c5b300952c49104881ff48", "38a6f056", 0x1f, 0,
     88, "3332346263393861373479", "731f1165"},
    {"EIA2", true, 2, "2bd6459f82c5b300952c49104881ff48", "38a6f056", 0x18, 0,
     58, "3332346263393840", "118c6eb8"},
    {"EIA3", true, 3, "00000000000000000000000000000000", "00000000", 0, 0, 1,
     "00", "c8a9595e"},
};

static size_t unhex(uint8_t *out, size_t cap, const char *s)
{
    size_t n = strlen(s) / 2;

    for (size_t i = 0; i < n && i < cap; i++) {
        unsigned v = 0;

        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n < cap ? n : cap;
}

static bool run_kat(const struct kat *k, enum prosec_backend b)
{
    uint8_t key[16], cnt[4], in[64], want[64], out[64];
    size_t n = unhex(in, sizeof(in), k->in);
    size_t wn = unhex(want, sizeof(want), k->want);
    struct prosec_alg_input p;

    unhex(key, sizeof(key), k->key);
    unhex(cnt, sizeof(cnt), k->count);
    p = (struct prosec_alg_input){key,
                                  16,
                                  (uint32_t)cnt[0] << 24 |
                                      (uint32_t)cnt[1] << 16 |
                                      (uint32_t)cnt[2] << 8 | cnt[3],
                                  k->bearer,
                                  k->dir,
                                  b};
    if (k->mac) {
        return prosec_eia(k->alg, &p, in, n, k->bits, out) == PROSEC_OK &&
               memcmp(out, want, 4) == 0;
    }
    return prosec_eea(k->alg, &p, in, n, out, n, k->bits) == PROSEC_OK &&
           wn == n && memcmp(out, want, n) == 0;
}

/* TS 33.220 KDF (srsRAN KDF-3 data) and the project's PTK/PEK values. */
static bool run_kdf_kat(void)
{
    uint8_t key[32], out[32], want[32], pek[16], wpek[16];
    uint8_t p0 = 0x02, p1 = 0x01;
    struct prosec_kdf_param params[2] = {{&p0, 1}, {&p1, 1}};

    unhex(key, 32,
          "d5ef4d8f33266902295d42f322a2f2cf"
          "11fb2ccc124c09b4d88d361597037990");
    unhex(want, 32,
          "b855871d17d4a717e931d9a6069c6e54"
          "b79408e243dd367dc8c6392295b3b451");
    if (prosec_kdf(out, key, 32, 0x15, params, 2) != PROSEC_OK ||
        memcmp(out, want, 32) != 0) {
        return false;
    }
    unhex(key, 32,
          "000102030405060708090a0b0c0d0e0f"
          "101112131415161718191a1b1c1d1e1f");
    unhex(want, 32,
          "b1f948b3bd2eeecf41cf4939ba67f748"
          "5b5cb73cb83704d17337cdb7a8d98068");
    unhex(wpek, 16, "44b3cae35e3dbed0357082eb8cc5e5a6");
    return prosec_ptk_derive(out, key, 0xa1b2c3, 1, 0xd4e5f6) == PROSEC_OK &&
           memcmp(out, want, 32) == 0 &&
           prosec_pek_derive(pek, out, 2) == PROSEC_OK &&
           memcmp(pek, wpek, 16) == 0;
}

/* One algorithm's AUTO backend: "portable", or with a change at some
 * length, "portable (ipsecmb above 1600 octets)". */
static bool print_auto_alg(const struct cli *c, const struct kat *k)
{
    enum prosec_alg_type type =
        k->mac ? PROSEC_ALG_TYPE_PIK : PROSEC_ALG_TYPE_PEK;
    enum prosec_backend b;
    size_t upto = 0;

    if (prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO, type, k->alg, 0, &b,
                                   &upto) != PROSEC_OK) {
        return false;
    }
    fprintf(c->out, "%s %s", k->name, prosec_backend_name(b));
    while (upto != SIZE_MAX) {
        size_t from = upto;

        if (prosec_backend_resolve_alg(PROSEC_BACKEND_AUTO, type, k->alg,
                                       from + 1, &b, &upto) != PROSEC_OK) {
            return false;
        }
        if (from % 8 == 0) {
            fprintf(c->out, " (%s above %zu octets)", prosec_backend_name(b),
                    from / 8);
        } else {
            fprintf(c->out, " (%s above %zu bits)", prosec_backend_name(b),
                    from);
        }
    }
    return true;
}

int prosec_cmd_selftest(const struct cli *c, int argc, char **argv)
{
    static const enum prosec_backend all[] = {
        PROSEC_BACKEND_PORTABLE, PROSEC_BACKEND_IPSECMB, PROSEC_BACKEND_AUTO};
    const size_t n_kats = sizeof(kats) / sizeof(kats[0]);
    enum prosec_backend dflt = PROSEC_BACKEND_PORTABLE;
    bool ok = true;

    (void)argv;
    if (argc > 0) {
        return cli_usage_error(c, "takes no arguments");
    }
    if (prosec_backend_resolve(PROSEC_BACKEND_AUTO, &dflt) != PROSEC_OK) {
        return cli_fail(c, "PROSEC_BACKEND names no usable backend");
    }
    fprintf(c->out, "prosec %s crypto self-check (default backend: %s)\n",
            prosec_version(), prosec_backend_name(dflt));
    fprintf(c->out, "  %-9s", "backend");
    for (size_t i = 0; i < n_kats; i++) {
        fprintf(c->out, " %-5s", kats[i].name);
    }
    fputc('\n', c->out);
    for (size_t bi = 0; bi < sizeof(all) / sizeof(all[0]); bi++) {
        fprintf(c->out, "  %-9s", prosec_backend_name(all[bi]));
        if (!prosec_backend_available(all[bi])) {
            fprintf(c->out, " (not available here)\n");
            continue;
        }
        for (size_t i = 0; i < n_kats; i++) {
            bool pass = run_kat(&kats[i], all[bi]);

            ok = ok && pass;
            fprintf(c->out, " %-5s", pass ? "ok" : "FAIL");
        }
        fputc('\n', c->out);
    }
    fprintf(c->out, "  auto:");
    for (size_t i = 0; i < n_kats; i++) {
        fputs(i > 0 ? ", " : " ", c->out);
        if (!print_auto_alg(c, &kats[i])) {
            fputs("FAIL", c->out);
            ok = false;
        }
    }
    fputc('\n', c->out);
    if (run_kdf_kat()) {
        fprintf(c->out, "  KDF (TS 33.220), PTK and PEK (TS 33.303): ok\n");
    } else {
        fprintf(c->out, "  KDF (TS 33.220), PTK and PEK (TS 33.303): FAIL\n");
        ok = false;
    }
    fprintf(c->out, "%s\n", ok ? "self-check passed" : "self-check FAILED");
    return ok ? CLI_OK : CLI_FAIL;
}
