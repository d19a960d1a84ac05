/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plumbing shared by the relay signalling codec (pc5sig.c) and the link
 * (pc5link.c).  Nothing here is part of the public API.
 */
#ifndef PROSEC_WIRE_PC5SIG_INTERNAL_H
#define PROSEC_WIRE_PC5SIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "prosec/relay.h"

/* Writes the 4-octet header of a message of this type and body length. */
void prosec__pc5sig_put_hdr(uint8_t out[PROSEC_PC5SIG_HDR_LEN], uint8_t type,
                            size_t body_len);

/*
 * Checks that msg (len octets) is exactly one message of type want and
 * sets *body to its body, which is len - PROSEC_PC5SIG_HDR_LEN octets.
 * Errors: those of the decoders (relay.h).
 */
prosec_err prosec__pc5sig_open(const uint8_t *msg, size_t len, uint8_t want,
                               const uint8_t **body);

/*
 * Sets the last COUNT sent and the last accepted of l, so that tests and
 * the fuzzer can reach the edges of the COUNT space (0xFFFFFFFF) and
 * rebuild a message at a given COUNT.  Never used by the library.
 */
void prosec__link_set_counts(struct prosec_link *l, uint32_t sent,
                             uint32_t accepted);

#endif
