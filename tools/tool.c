/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dispatch of `prosec GROUP ...` to the command groups, and the top-level
 * help.  One entry per group, as wg's command table.
 */
#include <string.h>

#include "cmd.h"
#include "prosec/prosec.h"

static const char usage[] =
    "usage: prosec COMMAND [ARGS]\n"
    "\n"
    "Security for 3GPP ProSe one-to-many (group) communication.\n"
    "\n"
    "commands:\n"
    "  crypto     the 3GPP algorithms, key derivations and self-check\n"
    "             (prosec crypto --help)\n"
    "  pdu        protect, unprotect and inspect one-to-many PDUs\n"
    "             (prosec pdu --help)\n"
    "  kmf        the Key Management Function: make it, run it, manage\n"
    "             devices and groups (prosec kmf --help)\n"
    "  device     a device: enrol it, run its agent, send and listen\n"
    "             (prosec device --help)\n"
    "  relay      run a device as a relay for devices out of coverage\n"
    "             (prosec relay --help)\n"
    "\n"
    "  --help     this text      --version   the version\n"
    "\n"
    "Environment: PROSEC_BACKEND=portable|ipsecmb forces a crypto backend.\n"
    "See prosec(1).\n";

static const struct {
    const char *name;
    int (*run)(FILE *out, FILE *err, int argc, char **argv);
} groups[] = {
    {"crypto", prosec_cmd_crypto}, {"pdu", prosec_cmd_pdu},
    {"kmf", prosec_cmd_kmf},       {"device", prosec_cmd_device},
    {"relay", prosec_cmd_relay},
};

int prosec_main(FILE *out, FILE *err, int argc, char **argv)
{
    if (argc < 1) {
        fputs(usage, err);
        return CLI_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        fputs(usage, out);
        return CLI_OK;
    }
    if (strcmp(argv[0], "--version") == 0) {
        fprintf(out, "prosec %s\n", prosec_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (strcmp(argv[0], groups[i].name) == 0) {
            return groups[i].run(out, err, argc - 1, argv + 1);
        }
    }
    fprintf(err, "prosec: unknown command '%.40s' (try prosec --help)\n",
            argv[0]);
    return CLI_USAGE;
}
