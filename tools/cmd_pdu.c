/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `prosec pdu`: protect, unprotect and inspect one one-to-many PDU with
 * explicit keys and counters, no state.  The syntax is fixed (it is used
 * from outside); see docs/prosec.1.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "prosec/prosec.h"

static const char usage[] =
    "usage: prosec pdu COMMAND [OPTIONS]\n"
    "\n"
    "  protect   --pgk HEX64 --pgk-id 0..255 --group HEX6 --member HEX6\n"
    "            --alg 0..3 --profile ts33303|integrity --ptk-id 1..65535\n"
    "            --sn 0..65535 [--sdu-type 0..3] [--bearer 0..31] --in HEX\n"
    "        prints the protected PDU\n"
    "  unprotect --pgk HEX64 --pgk-id N --group HEX6 --member HEX6 --alg A\n"
    "            --profile ts33303|integrity [--bearer N] --in HEX\n"
    "        prints the data, or the error's name on stderr (exit 1)\n"
    "  inspect   --in HEX\n"
    "        prints the header fields, one per line, as `name: value`\n"
    "\n"
    "--member is the sender's Group Member ID.  With --profile integrity\n"
    "the MAC-I algorithm is the EIA of the --alg number (so 1..3).\n"
    "Exit status: 0 success, 1 the PDU was refused, 2 bad arguments.\n";

enum {
    O_PGK,
    O_PGKID,
    O_GROUP,
    O_MEMBER,
    O_ALG,
    O_PROFILE,
    O_PTKID,
    O_SN,
    O_SDU,
    O_BEARER,
    O_IN,
    O_N
};

static const struct cli_opt opts[O_N] = {
    {"pgk", false, true, false},       {"pgk-id", false, false, false},
    {"group", false, false, false},    {"member", false, false, false},
    {"alg", false, false, false},      {"profile", false, false, false},
    {"ptk-id", false, false, false},   {"sn", false, false, false},
    {"sdu-type", false, false, false}, {"bearer", false, false, false},
    {"in", false, true, false},
};

/* What protect and unprotect share. */
struct pdu_args {
    struct prosec_pgk pgk;
    uint32_t group;
    uint8_t *in;
    size_t in_len;
};

static bool need_all(const struct cli *c, const struct cli_val *v,
                     const int *which, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[which[i]].n == 0) {
            cli_usage_error(c, "missing option --%s", opts[which[i]].name);
            return false;
        }
    }
    return true;
}

/* Reads the options common to protect and unprotect. */
static bool common(const struct cli *c, const struct cli_val *v,
                   struct pdu_args *a)
{
    static const int req[] = {O_PGK, O_PGKID,   O_GROUP, O_MEMBER,
                              O_ALG, O_PROFILE, O_IN};
    unsigned long long pgk_id, alg, bearer = 0;
    size_t key_len = 0;

    if (!need_all(c, v, req, sizeof(req) / sizeof(req[0]))) {
        return false;
    }
    if (!cli_hex(c, &opts[O_PGK], v[O_PGK].v[0], a->pgk.key, PROSEC_PGK_LEN,
                 PROSEC_PGK_LEN, &key_len) ||
        !cli_dec(c, "pgk-id", v[O_PGKID].v[0], 0, 255, &pgk_id) ||
        !cli_hex_num(c, "group", v[O_GROUP].v[0], 6, &a->group) ||
        !cli_hex_num(c, "member", v[O_MEMBER].v[0], 6, &a->pgk.member_id) ||
        !cli_dec(c, "alg", v[O_ALG].v[0], 0, PROSEC_EEA_MAX, &alg) ||
        (v[O_BEARER].n > 0 && !cli_dec(c, "bearer", v[O_BEARER].v[0], 0,
                                       PROSEC_BEARER_MAX, &bearer)) ||
        !cli_hex(c, &opts[O_IN], v[O_IN].v[0], a->in, PROSEC_PDU_MAX, -1,
                 &a->in_len)) {
        return false;
    }
    if (prosec_profile_parse(v[O_PROFILE].v[0], &a->pgk.profile) != PROSEC_OK) {
        cli_usage_error(c, "--profile: '%.40s' is not ts33303 or integrity",
                        v[O_PROFILE].v[0]);
        return false;
    }
    if (a->pgk.profile == PROSEC_PROFILE_INTEGRITY && alg == 0) {
        cli_usage_error(c, "--profile integrity needs --alg 1..3 (the MAC-I "
                           "is EIA of the same number)");
        return false;
    }
    a->pgk.pgk_id = (uint8_t)pgk_id;
    a->pgk.alg = (uint8_t)alg;
    a->pgk.bearer = (uint8_t)bearer;
    a->pgk.activation = 0;
    a->pgk.expiry = 1;
    return true;
}

static int run_protect(const struct cli *c, const struct cli_val *v,
                       struct pdu_args *a, uint8_t *out)
{
    static const int req[] = {O_PTKID, O_SN};
    unsigned long long ptk_id, sn, sdu = PROSEC_SDU_IP;
    struct prosec_ptk_keys *k = NULL;
    struct prosec_pdu_hdr h;
    size_t out_len = 0;
    prosec_err err;

    if (!common(c, v, a) || !need_all(c, v, req, 2) ||
        !cli_dec(c, "ptk-id", v[O_PTKID].v[0], 1, 0xFFFF, &ptk_id) ||
        !cli_dec(c, "sn", v[O_SN].v[0], 0, PROSEC_SN_MAX, &sn) ||
        (v[O_SDU].n > 0 && !cli_dec(c, "sdu-type", v[O_SDU].v[0], 0,
                                    PROSEC_SDU_TYPE_MAX, &sdu))) {
        return CLI_USAGE;
    }
    if (a->in_len > PROSEC_PDU_DATA_MAX) {
        return cli_usage_error(c, "--in: %zu octets, at most %d", a->in_len,
                               PROSEC_PDU_DATA_MAX);
    }
    h = (struct prosec_pdu_hdr){(uint8_t)sdu,
                                a->pgk.pgk_id & PROSEC_PGK_INDEX_MASK,
                                (uint16_t)ptk_id, (uint16_t)sn};
    err = prosec_ptk_keys_new(&k, &a->pgk, a->group, a->pgk.member_id, h.ptk_id,
                              PROSEC_BACKEND_AUTO);
    if (err == PROSEC_OK) {
        err = prosec_pdu_protect(k, &h, a->in, a->in_len, out, PROSEC_PDU_MAX,
                                 &out_len);
    }
    prosec_ptk_keys_free(k);
    if (err != PROSEC_OK) {
        return cli_fail(c, "%s", prosec_err_name(err));
    }
    cli_print_hex(c->out, out, out_len);
    return CLI_OK;
}

static int run_unprotect(const struct cli *c, const struct cli_val *v,
                         struct pdu_args *a, uint8_t *out)
{
    struct prosec_ptk_keys *k = NULL;
    struct prosec_pdu_hdr h;
    const uint8_t *payload;
    size_t plen, out_len = 0;
    prosec_err err;

    if (v[O_PTKID].n > 0 || v[O_SN].n > 0 || v[O_SDU].n > 0) {
        return cli_usage_error(c, "--ptk-id, --sn and --sdu-type come from "
                                  "the PDU; do not give them");
    }
    if (!common(c, v, a)) {
        return CLI_USAGE;
    }
    /* The PDU says which PTK ID; its index must be this PGK's. */
    err = prosec_pdu_decode(a->in, a->in_len, &h, &payload, &plen);
    if (err == PROSEC_OK && h.ptk_id == 0) {
        err = PROSEC_ERR_UNPROTECTED;
    }
    if (err == PROSEC_OK &&
        h.pgk_index != (a->pgk.pgk_id & PROSEC_PGK_INDEX_MASK)) {
        err = PROSEC_ERR_PGK_UNKNOWN;
    }
    if (err == PROSEC_OK) {
        err = prosec_ptk_keys_new(&k, &a->pgk, a->group, a->pgk.member_id,
                                  h.ptk_id, PROSEC_BACKEND_AUTO);
    }
    if (err == PROSEC_OK) {
        err = prosec_pdu_unprotect(k, a->in, a->in_len, &h, out, PROSEC_PDU_MAX,
                                   &out_len);
    }
    prosec_ptk_keys_free(k);
    if (err != PROSEC_OK) {
        fprintf(c->err, "%s\n", prosec_err_name(err));
        return CLI_FAIL;
    }
    cli_print_hex(c->out, out, out_len);
    return CLI_OK;
}

static const char *const sdu_names[] = {"ip", "arp", "pc5-signalling",
                                        "non-ip"};

static int run_inspect(const struct cli *c, const struct cli_val *v,
                       struct pdu_args *a)
{
    struct prosec_pdu_hdr h;
    const uint8_t *payload;
    size_t plen;
    prosec_err err;

    for (size_t i = 0; i < O_N; i++) {
        if (i != O_IN && v[i].n > 0) {
            return cli_usage_error(c, "inspect takes only --in");
        }
    }
    if (v[O_IN].n == 0) {
        return cli_usage_error(c, "missing option --in");
    }
    if (!cli_hex(c, &opts[O_IN], v[O_IN].v[0], a->in, PROSEC_PDU_MAX, -1,
                 &a->in_len)) {
        return CLI_USAGE;
    }
    err = prosec_pdu_decode(a->in, a->in_len, &h, &payload, &plen);
    if (err != PROSEC_OK) {
        fprintf(c->err, "%s\n", prosec_err_name(err));
        return CLI_FAIL;
    }
    fprintf(c->out, "sdu_type: %u\n", h.sdu_type);
    fprintf(c->out, "sdu_type_name: %s\n", sdu_names[h.sdu_type]);
    fprintf(c->out, "pgk_index: %u\n", h.pgk_index);
    fprintf(c->out, "ptk_id: %u\n", h.ptk_id);
    fprintf(c->out, "sn: %u\n", h.sn);
    fprintf(c->out, "count: %08x\n", (unsigned)h.ptk_id << 16 | h.sn);
    fprintf(c->out, "protected: %s\n", h.ptk_id != 0 ? "yes" : "no");
    fprintf(c->out, "payload_octets: %zu\n", plen);
    return CLI_OK;
}

int prosec_cmd_pdu(FILE *out, FILE *err, int argc, char **argv)
{
    char prog[64];
    struct cli c = {out, err, prog};
    struct cli_val v[O_N];
    struct pdu_args a;
    uint8_t *obuf = NULL;
    const char *sub;
    bool done;
    int rc;

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
    snprintf(prog, sizeof(prog), "prosec pdu %.20s", sub);
    if (strcmp(sub, "protect") != 0 && strcmp(sub, "unprotect") != 0 &&
        strcmp(sub, "inspect") != 0) {
        c.prog = "prosec pdu";
        return cli_usage_error(&c, "unknown command '%.40s' (try --help)", sub);
    }
    memset(v, 0, sizeof(v));
    rc = cli_args(&c, argc - 1, argv + 1, opts, O_N, v, usage, &done);
    if (done) {
        return rc;
    }
    memset(&a, 0, sizeof(a));
    a.in = malloc(PROSEC_PDU_MAX);
    obuf = malloc(PROSEC_PDU_MAX);
    if (a.in == NULL || obuf == NULL) {
        rc = cli_fail(&c, "out of memory");
    } else if (strcmp(sub, "protect") == 0) {
        rc = run_protect(&c, v, &a, obuf);
    } else if (strcmp(sub, "unprotect") == 0) {
        rc = run_unprotect(&c, v, &a, obuf);
    } else {
        rc = run_inspect(&c, v, &a);
    }
    prosec_wipe(&a.pgk, sizeof(a.pgk));
    if (a.in != NULL) {
        prosec_wipe(a.in, PROSEC_PDU_MAX);
    }
    if (obuf != NULL) {
        prosec_wipe(obuf, PROSEC_PDU_MAX);
    }
    free(a.in);
    free(obuf);
    return rc;
}
