/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `prosec crypto`: the 3GPP algorithms and key derivations from the command
 * line, one line of lower-case hex per call, and the self-check.  The
 * syntax is fixed (it is used from outside); see docs/prosec.1.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "prosec/prosec.h"

enum { MAX_IN = 65536, MAX_KDF_KEY = 4096 };

static const char usage[] =
    "usage: prosec crypto COMMAND [OPTIONS]\n"
    "\n"
    "  eea --alg 0..3 --key HEX32 --count HEX8 --bearer 0..31\n"
    "      --direction 0|1 --length BITS --in HEX [--backend NAME]\n"
    "        cipher (or decipher) BITS bits with 128-EEA<alg>; prints the\n"
    "        ceil(BITS/8) output octets, unused trailing bits zero\n"
    "  eia --alg 1..3 (other options as eea)\n"
    "        prints the 32-bit MAC-I of 128-EIA<alg> as 8 hex digits\n"
    "  kdf --key HEX --fc HEX2 [--param HEX]...\n"
    "        TS 33.220 Annex B KDF: HMAC-SHA-256(key, FC || P0 || L0 ...)\n"
    "  ptk --pgk HEX64 --member HEX6 --ptk-id 1..65535 --group HEX6\n"
    "        PTK from PGK (TS 33.303 A.3, FC 0x4A)\n"
    "  pek --ptk HEX64 --alg 0..3     PEK from PTK (FC 0x4B, P0 0x00)\n"
    "  pik --ptk HEX64 --alg 1..3     PIK from PTK (FC 0x4B, P0 0x01)\n"
    "  selftest                       known-answer tests on every backend\n"
    "\n"
    "--in holds exactly ceil(BITS/8) octets; --backend is portable or\n"
    "ipsecmb (default: PROSEC_BACKEND, else the fastest available).\n"
    "Exit status: 0 success, 1 failure, 2 bad input.\n";

/* ---- eea / eia -------------------------------------------------------- */

enum { A_ALG, A_KEY, A_COUNT, A_BEARER, A_DIR, A_LENGTH, A_IN, A_BACKEND, A_N };

static const struct cli_opt alg_opts[A_N] = {
    {"alg", false, false, false},       {"key", false, true, false},
    {"count", false, false, false},     {"bearer", false, false, false},
    {"direction", false, false, false}, {"length", false, false, false},
    {"in", false, true, false},         {"backend", false, false, false},
};

static int run_alg(const struct cli *c, int argc, char **argv, bool mac)
{
    struct cli_val v[A_N] = {{{0}, 0}};
    const char *s[A_N];
    unsigned long long alg, bearer, dir, bits;
    uint32_t count;
    uint8_t key[PROSEC_ALG_KEY_LEN], tag[PROSEC_MAC_LEN];
    uint8_t *in = NULL, *out = NULL;
    size_t key_len = 0, in_len = 0;
    struct prosec_alg_input p;
    enum prosec_backend backend = PROSEC_BACKEND_AUTO;
    prosec_err err;
    bool done;
    int rc = cli_args(c, argc, argv, alg_opts, A_N, v, usage, &done);

    if (done) {
        return rc;
    }
    for (size_t i = 0; i < A_N; i++) {
        s[i] = v[i].n > 0 ? v[i].v[0] : NULL;
        if (s[i] == NULL && i != A_BACKEND) {
            return cli_usage_error(c, "missing option --%s", alg_opts[i].name);
        }
    }
    rc = CLI_USAGE;
    in = malloc(MAX_IN);
    out = malloc(MAX_IN);
    if (in == NULL || out == NULL) {
        rc = cli_fail(c, "out of memory");
        goto out;
    }
    if (!cli_dec(c, "alg", s[A_ALG], mac ? PROSEC_EIA_MIN : 0,
                 mac ? PROSEC_EIA_MAX : PROSEC_EEA_MAX, &alg) ||
        !cli_hex(c, &alg_opts[A_KEY], s[A_KEY], key, sizeof(key),
                 PROSEC_ALG_KEY_LEN, &key_len) ||
        !cli_hex_num(c, "count", s[A_COUNT], 8, &count) ||
        !cli_dec(c, "bearer", s[A_BEARER], 0, PROSEC_BEARER_MAX, &bearer) ||
        !cli_dec(c, "direction", s[A_DIR], 0, PROSEC_DIRECTION_MAX, &dir) ||
        !cli_dec(c, "length", s[A_LENGTH], 0, 8ull * MAX_IN, &bits) ||
        !cli_hex(c, &alg_opts[A_IN], s[A_IN], in, MAX_IN, -1, &in_len)) {
        goto out;
    }
    if (in_len != bits / 8 + (bits % 8 != 0)) {
        cli_usage_error(c, "--in has %zu octets but --length %llu needs %llu",
                        in_len, bits, bits / 8 + (bits % 8 != 0));
        goto out;
    }
    if (s[A_BACKEND] != NULL &&
        (prosec_backend_parse(s[A_BACKEND], &backend) != PROSEC_OK ||
         backend == PROSEC_BACKEND_AUTO)) {
        cli_usage_error(c, "--backend: '%.40s' is not portable or ipsecmb",
                        s[A_BACKEND]);
        goto out;
    }

    p = (struct prosec_alg_input){key,          key_len, count, (uint8_t)bearer,
                                  (uint8_t)dir, backend};
    if (mac) {
        err = prosec_eia((unsigned)alg, &p, in, in_len, (size_t)bits, tag);
    } else {
        err = prosec_eea((unsigned)alg, &p, in, in_len, out, in_len,
                         (size_t)bits);
    }
    if (err == PROSEC_ERR_BACKEND_UNKNOWN) {
        rc = cli_usage_error(c, "%s (PROSEC_BACKEND)", prosec_strerror(err));
        goto out;
    }
    if (err != PROSEC_OK) {
        rc = cli_fail(c, "%s", prosec_strerror(err));
        goto out;
    }
    if (mac) {
        cli_print_hex(c->out, tag, sizeof(tag));
    } else {
        cli_print_hex(c->out, out, in_len);
    }
    rc = CLI_OK;

out:
    prosec_wipe(key, sizeof(key));
    if (in != NULL) {
        prosec_wipe(in, MAX_IN);
    }
    if (out != NULL) {
        prosec_wipe(out, MAX_IN);
    }
    free(in);
    free(out);
    return rc;
}

/* ---- kdf --------------------------------------------------------------- */

enum { K_KEY, K_FC, K_PARAM, K_N };

static const struct cli_opt kdf_opts[K_N] = {{"key", false, true, false},
                                             {"fc", false, false, false},
                                             {"param", true, false, false}};

static int run_kdf(const struct cli *c, int argc, char **argv)
{
    struct cli_val v[K_N] = {{{0}, 0}};
    struct prosec_kdf_param params[PROSEC_KDF_MAX_PARAMS];
    uint8_t *key = NULL, *pbuf = NULL, outk[PROSEC_KDF_OUT_LEN];
    const char *ks, *fcs;
    size_t key_len = 0, used = 0;
    uint32_t fc;
    prosec_err err;
    bool done;
    int rc = cli_args(c, argc, argv, kdf_opts, K_N, v, usage, &done);

    if (done) {
        return rc;
    }
    ks = cli_need(c, kdf_opts, v, K_KEY);
    fcs = ks != NULL ? cli_need(c, kdf_opts, v, K_FC) : NULL;
    if (fcs == NULL) {
        return CLI_USAGE;
    }
    if (v[K_PARAM].n > PROSEC_KDF_MAX_PARAMS) {
        return cli_usage_error(c, "at most %d --param options",
                               PROSEC_KDF_MAX_PARAMS);
    }
    rc = CLI_USAGE;
    key = malloc(MAX_KDF_KEY);
    pbuf = malloc(MAX_IN);
    if (key == NULL || pbuf == NULL) {
        rc = cli_fail(c, "out of memory");
        goto out;
    }
    if (!cli_hex(c, &kdf_opts[K_KEY], ks, key, MAX_KDF_KEY, -1, &key_len) ||
        !cli_hex_num(c, "fc", fcs, 2, &fc)) {
        goto out;
    }
    if (key_len == 0) {
        cli_usage_error(c, "--key is empty");
        goto out;
    }
    for (size_t i = 0; i < v[K_PARAM].n; i++) {
        size_t n = 0;

        if (!cli_hex(c, &kdf_opts[K_PARAM], v[K_PARAM].v[i], pbuf + used,
                     MAX_IN - used, -1, &n)) {
            goto out;
        }
        params[i] = (struct prosec_kdf_param){pbuf + used, n};
        used += n;
    }
    err = prosec_kdf(outk, key, key_len, (uint8_t)fc, params, v[K_PARAM].n);
    if (err != PROSEC_OK) {
        rc = cli_fail(c, "%s", prosec_strerror(err));
        goto out;
    }
    cli_print_hex(c->out, outk, sizeof(outk));
    rc = CLI_OK;

out:
    if (key != NULL) {
        prosec_wipe(key, MAX_KDF_KEY);
    }
    prosec_wipe(outk, sizeof(outk));
    free(key);
    free(pbuf);
    return rc;
}

/* ---- ptk / pek / pik ----------------------------------------------------- */

enum { P_PGK, P_MEMBER, P_PTKID, P_GROUP, P_N };

static const struct cli_opt ptk_opts[P_N] = {{"pgk", false, true, false},
                                             {"member", false, false, false},
                                             {"ptk-id", false, false, false},
                                             {"group", false, false, false}};

static int run_ptk(const struct cli *c, int argc, char **argv)
{
    struct cli_val v[P_N] = {{{0}, 0}};
    uint8_t pgk[PROSEC_PGK_LEN], ptk[PROSEC_PTK_LEN];
    const char *s[P_N];
    size_t pgk_len = 0;
    uint32_t member, group;
    unsigned long long ptk_id;
    prosec_err err;
    bool done;
    int rc = cli_args(c, argc, argv, ptk_opts, P_N, v, usage, &done);

    if (done) {
        return rc;
    }
    for (size_t i = 0; i < P_N; i++) {
        s[i] = cli_need(c, ptk_opts, v, i);
        if (s[i] == NULL) {
            return CLI_USAGE;
        }
    }
    rc = CLI_USAGE;
    /* PTK ID 0 marks an unprotected PDU (TS 33.303 6.2.3.4): no PTK. */
    if (!cli_hex(c, &ptk_opts[P_PGK], s[P_PGK], pgk, sizeof(pgk),
                 PROSEC_PGK_LEN, &pgk_len) ||
        !cli_hex_num(c, "member", s[P_MEMBER], 6, &member) ||
        !cli_dec(c, "ptk-id", s[P_PTKID], 1, 0xFFFF, &ptk_id) ||
        !cli_hex_num(c, "group", s[P_GROUP], 6, &group)) {
        goto out;
    }
    err = prosec_ptk_derive(ptk, pgk, member, (uint16_t)ptk_id, group);
    if (err != PROSEC_OK) {
        rc = cli_fail(c, "%s", prosec_strerror(err));
        goto out;
    }
    cli_print_hex(c->out, ptk, sizeof(ptk));
    rc = CLI_OK;

out:
    prosec_wipe(pgk, sizeof(pgk));
    prosec_wipe(ptk, sizeof(ptk));
    return rc;
}

enum { E_PTK, E_ALG, E_N };

static const struct cli_opt pek_opts[E_N] = {{"ptk", false, true, false},
                                             {"alg", false, false, false}};

static int run_alg_key(const struct cli *c, int argc, char **argv,
                       bool integrity)
{
    struct cli_val v[E_N] = {{{0}, 0}};
    uint8_t ptk[PROSEC_PTK_LEN], key[PROSEC_ALG_KEY_LEN];
    const char *ps, *as;
    size_t ptk_len = 0;
    unsigned long long alg;
    prosec_err err;
    bool done;
    int rc = cli_args(c, argc, argv, pek_opts, E_N, v, usage, &done);

    if (done) {
        return rc;
    }
    ps = cli_need(c, pek_opts, v, E_PTK);
    as = ps != NULL ? cli_need(c, pek_opts, v, E_ALG) : NULL;
    if (as == NULL) {
        return CLI_USAGE;
    }
    rc = CLI_USAGE;
    if (!cli_hex(c, &pek_opts[E_PTK], ps, ptk, sizeof(ptk), PROSEC_PTK_LEN,
                 &ptk_len) ||
        !cli_dec(c, "alg", as, integrity ? PROSEC_EIA_MIN : 0,
                 integrity ? PROSEC_EIA_MAX : PROSEC_EEA_MAX, &alg)) {
        goto out;
    }
    err = integrity ? prosec_pik_derive(key, ptk, (unsigned)alg)
                    : prosec_pek_derive(key, ptk, (unsigned)alg);
    if (err != PROSEC_OK) {
        rc = cli_fail(c, "%s", prosec_strerror(err));
        goto out;
    }
    cli_print_hex(c->out, key, sizeof(key));
    rc = CLI_OK;

out:
    prosec_wipe(ptk, sizeof(ptk));
    prosec_wipe(key, sizeof(key));
    return rc;
}

/* ---- dispatch --------------------------------------------------------------
 */

int prosec_cmd_crypto(FILE *out, FILE *err, int argc, char **argv)
{
    char prog[64];
    struct cli c = {out, err, prog};
    const char *sub;

    if (argc < 1) {
        fputs(usage, err);
        return CLI_USAGE;
    }
    sub = argv[0];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
        strcmp(sub, "help") == 0) {
        fputs(usage, out);
        return CLI_OK;
    }
    snprintf(prog, sizeof(prog), "prosec crypto %.20s", sub);
    argc--;
    argv++;
    if (strcmp(sub, "eea") == 0) {
        return run_alg(&c, argc, argv, false);
    }
    if (strcmp(sub, "eia") == 0) {
        return run_alg(&c, argc, argv, true);
    }
    if (strcmp(sub, "kdf") == 0) {
        return run_kdf(&c, argc, argv);
    }
    if (strcmp(sub, "ptk") == 0) {
        return run_ptk(&c, argc, argv);
    }
    if (strcmp(sub, "pek") == 0) {
        return run_alg_key(&c, argc, argv, false);
    }
    if (strcmp(sub, "pik") == 0) {
        return run_alg_key(&c, argc, argv, true);
    }
    if (strcmp(sub, "selftest") == 0) {
        return prosec_cmd_selftest(&c, argc, argv);
    }
    c.prog = "prosec crypto";
    cli_usage_error(&c, "unknown command '%.40s' (try --help)", sub);
    return CLI_USAGE;
}
