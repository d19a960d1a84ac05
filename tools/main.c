/* SPDX-License-Identifier: Apache-2.0 */
/* The prosec command: a thin entry point over prosec_main (tool.c). */
#include <stdio.h>

#include "cmd.h"

int main(int argc, char **argv)
{
    return prosec_main(stdout, stderr, argc - 1, argv + 1);
}
