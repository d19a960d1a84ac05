/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the prosec command line: the input, split at NUL
 * octets, is the argument vector.  Covers option parsing, hex and number
 * parsing and every crypto subcommand.  Any crash, leak, overflow or
 * undefined behaviour is a finding; output goes to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

enum { MAX_ARGS = 40 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    char *buf = malloc(size + 1);
    char *argv[MAX_ARGS + 1];
    int argc = 0;

    if (sink == NULL) {
        sink = fopen("/dev/null", "w");
    }
    if (buf == NULL || sink == NULL) {
        free(buf);
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (size_t i = 0; i <= size && argc < MAX_ARGS;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    (void)prosec_main(sink, sink, argc, argv);
    free(buf);
    return 0;
}
