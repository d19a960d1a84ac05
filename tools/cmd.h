/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command groups of the prosec tool.  Each takes its arguments after
 * the group's name (argv[0] is the subcommand), writes to out and err, and
 * returns an exit status (cli.h); none calls exit(), so a test or fuzzer
 * can call them in-process.
 */
#ifndef PROSEC_TOOLS_CMD_H
#define PROSEC_TOOLS_CMD_H

#include <stdio.h>

#include "cli.h"

int prosec_cmd_crypto(FILE *out, FILE *err, int argc, char **argv);
int prosec_cmd_pdu(FILE *out, FILE *err, int argc, char **argv);
int prosec_cmd_kmf(FILE *out, FILE *err, int argc, char **argv);
int prosec_cmd_device(FILE *out, FILE *err, int argc, char **argv);
int prosec_cmd_relay(FILE *out, FILE *err, int argc, char **argv);

/* `prosec crypto selftest`: known-answer tests on every backend. */
int prosec_cmd_selftest(const struct cli *c, int argc, char **argv);

/* The whole tool, argv[0] being the group name ("crypto", ...). */
int prosec_main(FILE *out, FILE *err, int argc, char **argv);

#endif
