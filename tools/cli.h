/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every command of the prosec tool shares: option parsing without
 * global state (so a fuzzer can run a command many times in one process),
 * strict hex and number parsing with errors that name the option, and the
 * exit codes.  Errors never quote a secret value, only its shape.
 */
#ifndef PROSEC_TOOLS_CLI_H
#define PROSEC_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "prosec/attr.h"

enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1, /* the operation failed */
    CLI_USAGE = 2 /* the input was bad */
};

/* One option a command accepts. */
struct cli_opt {
    const char *name; /* "key", matched as --key or --key=value */
    bool repeat;      /* may be given more than once */
    bool secret;      /* never quote its value in an error */
    bool flag;        /* takes no value (--json); v[] gets "" */
};

enum { CLI_MAX_VALUES = 32 };

/* What was given for one option. */
struct cli_val {
    const char *v[CLI_MAX_VALUES];
    size_t n;
};

/* The output and error streams and the command's name for messages. */
struct cli {
    FILE *out;
    FILE *err;
    const char *prog; /* "prosec crypto eea" */
};

/* Prints "prog: message" and a newline to err; returns CLI_USAGE. */
int cli_usage_error(const struct cli *c, const char *fmt, ...)
    PROSEC_PRINTF(2, 3);
/* The same, returning CLI_FAIL. */
int cli_fail(const struct cli *c, const char *fmt, ...) PROSEC_PRINTF(2, 3);

/*
 * Parses argv[0..argc) against opts (n_opts entries) into vals (one per
 * option, zeroed by the caller).  Returns CLI_OK, CLI_USAGE after printing
 * the problem, or -1 when --help was given.
 */
int cli_parse(const struct cli *c, int argc, char **argv,
              const struct cli_opt *opts, size_t n_opts, struct cli_val *vals);

/*
 * cli_parse that also takes up to max_pos arguments that are not options
 * (NAME, DEVICE), in order, into pos; *n_pos gets their count.  "--"
 * ends the options.  More than max_pos is an error.
 */
int cli_parse_pos(const struct cli *c, int argc, char **argv,
                  const struct cli_opt *opts, size_t n_opts,
                  struct cli_val *vals, const char **pos, size_t max_pos,
                  size_t *n_pos);

/*
 * cli_parse, with --help answered: prints usage to out and sets *done with
 * CLI_OK returned.  Otherwise returns what cli_parse returned (an error
 * sets *done too).
 */
int cli_args(const struct cli *c, int argc, char **argv,
             const struct cli_opt *opts, size_t n_opts, struct cli_val *vals,
             const char *usage, bool *done);

/* The single value of option i, or NULL (an error is printed) when it is
 * missing. */
const char *cli_need(const struct cli *c, const struct cli_opt *opts,
                     const struct cli_val *vals, size_t i);

/*
 * Decodes hex (upper or lower case) of opt into out (capacity cap); want
 * is the exact octet count required, or -1 for any up to cap.  *len gets
 * the count.  Prints the problem and returns false on failure.
 */
bool cli_hex(const struct cli *c, const struct cli_opt *opt, const char *s,
             uint8_t *out, size_t cap, long want, size_t *len);

/* Parses exactly `digits` hex digits into *v. */
bool cli_hex_num(const struct cli *c, const char *opt, const char *s,
                 unsigned digits, uint32_t *v);

/* Parses a decimal number in [lo, hi] into *v. */
bool cli_dec(const struct cli *c, const char *opt, const char *s,
             unsigned long long lo, unsigned long long hi,
             unsigned long long *v);

/* Prints len octets as lower-case hex and a newline. */
void cli_print_hex(FILE *f, const uint8_t *p, size_t len);

#endif
