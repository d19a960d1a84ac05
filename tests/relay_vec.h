/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The records of tests/vectors/relay.txt (RELAY-*), checked against the
 * library: shared by test_vectors (every vector file, every backend) and
 * test_relay_sig.
 */
#ifndef PROSEC_TESTS_RELAY_VEC_H
#define PROSEC_TESTS_RELAY_VEC_H

#include "prosec/prosec.h"
#include "vecfile.h"

/*
 * Checks one RELAY-* record with the algorithms on backend b; returns the
 * number of failures, each reported on stderr with the record's file:line.
 */
int relay_vec_check(const struct vec_record *r, enum prosec_backend b);

#endif
