/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key request, response and release JSON: round trips of each message,
 * the exact text the encoders write (the field names of docs/wire.md), a
 * table of malformed messages with the error each must give, the size and
 * entry limits, and the wiping allocator of prosec_key_json_harden.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>
#include <jansson.h>

#include "prosec/prosec.h"

static struct prosec_key_request make_request(void)
{
    struct prosec_key_request r;

    memset(&r, 0, sizeof(r));
    r.transaction_id = 17;
    r.n_groups = 2;
    r.groups[0].group_id = 0xD4E5F6;
    r.groups[0].n_pgk_ids = 2;
    r.groups[0].pgk_ids[0] = 0x21;
    r.groups[0].pgk_ids[1] = 0x22;
    strcpy(r.groups[1].name, "fire-brigade.north");
    r.algorithms = 0xE; /* EEA1, EEA2, EEA3 */
    strcpy(r.mikey_address, "192.0.2.7:5304");
    r.has_pmk_id = true;
    r.pmk_id = 0x0BADF00D;
    return r;
}

static struct prosec_key_response make_response(void)
{
    struct prosec_key_response r;

    memset(&r, 0, sizeof(r));
    r.transaction_id = 17;
    r.n_groups = 2;
    r.groups[0].has_group_id = true;
    r.groups[0].group_id = 0xD4E5F6;
    r.groups[0].member_id = 0xA1B2C3;
    r.groups[0].alg = 2;
    r.groups[0].profile = 1;
    r.groups[0].bearer = 0;
    strcpy(r.groups[1].name, "fire-brigade.north");
    r.groups[1].error = PROSEC_KEYRESP_UNKNOWN_GROUP;
    r.has_pmk = true;
    for (int i = 0; i < 32; i++) {
        r.pmk[i] = (uint8_t)(0xC0 + i);
    }
    r.pmk_id = 0x0BADF00E;
    return r;
}

/* ---- round trips and exact text ----------------------------------------- */

static void test_request(void **state)
{
    struct prosec_key_request r = make_request(), back;
    char *s = NULL;

    (void)state;
    assert_int_equal(prosec_key_request_encode(&r, &s), PROSEC_OK);
    assert_string_equal(
        s, "{\"message\":\"KEY_REQUEST\",\"version\":1,\"transaction_id\":17,"
           "\"groups\":[{\"group_id\":\"d4e5f6\",\"pgk_ids\":[33,34]},"
           "{\"group_name\":\"fire-brigade.north\",\"pgk_ids\":[]}],"
           "\"supported_algorithms\":[1,2,3],"
           "\"mikey_address\":\"192.0.2.7:5304\",\"pmk_id\":\"0badf00d\"}");
    memset(&back, 0x55, sizeof(back));
    assert_int_equal(prosec_key_request_parse(s, strlen(s), &back), PROSEC_OK);
    assert_int_equal(back.transaction_id, 17);
    assert_int_equal(back.n_groups, 2);
    assert_int_equal(back.groups[0].group_id, 0xD4E5F6);
    assert_string_equal(back.groups[0].name, "");
    assert_int_equal(back.groups[0].n_pgk_ids, 2);
    assert_memory_equal(back.groups[0].pgk_ids, r.groups[0].pgk_ids, 2);
    assert_string_equal(back.groups[1].name, "fire-brigade.north");
    assert_int_equal(back.groups[1].n_pgk_ids, 0);
    assert_int_equal(back.algorithms, 0xE);
    assert_string_equal(back.mikey_address, "192.0.2.7:5304");
    assert_true(back.has_pmk_id);
    assert_int_equal(back.pmk_id, 0x0BADF00D);
    prosec_key_json_free(s);

    /* an IPv6 address, no PMK yet, no group, EEA0 only */
    r.n_groups = 0;
    r.has_pmk_id = false;
    r.algorithms = 0x1;
    strcpy(r.mikey_address, "[2001:db8::7]:65535");
    assert_int_equal(prosec_key_request_encode(&r, &s), PROSEC_OK);
    assert_int_equal(prosec_key_request_parse(s, strlen(s), &back), PROSEC_OK);
    assert_int_equal(back.n_groups, 0);
    assert_false(back.has_pmk_id);
    assert_int_equal(back.algorithms, 0x1);
    assert_string_equal(back.mikey_address, "[2001:db8::7]:65535");
    prosec_key_json_free(s);
}

static void test_response(void **state)
{
    struct prosec_key_response r = make_response(), back;
    char *s = NULL;

    (void)state;
    assert_int_equal(prosec_key_response_encode(&r, &s), PROSEC_OK);
    assert_string_equal(
        s, "{\"message\":\"KEY_RESPONSE\",\"version\":1,\"transaction_id\":17,"
           "\"groups\":[{\"group_id\":\"d4e5f6\",\"group_member_id\":"
           "\"a1b2c3\",\"algorithm_info\":2,\"profile\":\"integrity\","
           "\"bearer\":0},{\"group_name\":\"fire-brigade.north\","
           "\"error_code\":\"unknown_group\"}],"
           "\"pmk\":\"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadb"
           "dcdddedf\",\"pmk_id\":\"0badf00e\"}");
    memset(&back, 0x55, sizeof(back));
    assert_int_equal(prosec_key_response_parse(s, strlen(s), &back), PROSEC_OK);
    assert_int_equal(back.transaction_id, 17);
    assert_int_equal(back.n_groups, 2);
    assert_true(back.groups[0].has_group_id);
    assert_int_equal(back.groups[0].group_id, 0xD4E5F6);
    assert_int_equal(back.groups[0].error, PROSEC_KEYRESP_OK);
    assert_int_equal(back.groups[0].member_id, 0xA1B2C3);
    assert_int_equal(back.groups[0].alg, 2);
    assert_int_equal(back.groups[0].profile, 1);
    assert_int_equal(back.groups[0].bearer, 0);
    assert_false(back.groups[1].has_group_id);
    assert_string_equal(back.groups[1].name, "fire-brigade.north");
    assert_int_equal(back.groups[1].error, PROSEC_KEYRESP_UNKNOWN_GROUP);
    assert_int_equal(back.groups[1].member_id, 0);
    assert_true(back.has_pmk);
    assert_memory_equal(back.pmk, r.pmk, 32);
    assert_int_equal(back.pmk_id, 0x0BADF00E);
    assert_false(back.has_pruk);
    prosec_key_json_free(s);

    /* every error code, a named grant, the PRUK, no PMK */
    r.n_groups = 4;
    r.groups[0].error = PROSEC_KEYRESP_NOT_MEMBER;
    r.groups[1].error = PROSEC_KEYRESP_NO_COMMON_ALG;
    r.groups[2] = r.groups[0];
    r.groups[2].group_id = 0x000001;
    r.groups[2].error = PROSEC_KEYRESP_UNKNOWN_GROUP;
    memset(&r.groups[3], 0, sizeof(r.groups[3]));
    r.groups[3].has_group_id = true;
    r.groups[3].group_id = 0xFFFFFF;
    strcpy(r.groups[3].name, "ops");
    r.groups[3].member_id = 0xFFFFFF;
    r.groups[3].alg = 3;
    r.groups[3].bearer = 31;
    r.has_pmk = false;
    r.has_pruk = true;
    memset(r.pruk, 0xAB, 32);
    memset(r.pruk_id, 0x01, 8);
    assert_int_equal(prosec_key_response_encode(&r, &s), PROSEC_OK);
    assert_non_null(strstr(s, "\"pruk_id\":\"0101010101010101\""));
    assert_null(strstr(s, "\"pmk\""));
    assert_int_equal(prosec_key_response_parse(s, strlen(s), &back), PROSEC_OK);
    assert_int_equal(back.groups[0].error, PROSEC_KEYRESP_NOT_MEMBER);
    assert_int_equal(back.groups[1].error, PROSEC_KEYRESP_NO_COMMON_ALG);
    assert_int_equal(back.groups[2].error, PROSEC_KEYRESP_UNKNOWN_GROUP);
    assert_string_equal(back.groups[3].name, "ops");
    assert_int_equal(back.groups[3].group_id, 0xFFFFFF);
    assert_int_equal(back.groups[3].profile, 0);
    assert_int_equal(back.groups[3].bearer, 31);
    assert_false(back.has_pmk);
    assert_true(back.has_pruk);
    assert_memory_equal(back.pruk, r.pruk, 32);
    assert_memory_equal(back.pruk_id, r.pruk_id, 8);
    prosec_key_json_free(s);
    prosec_key_response_wipe(&back);
    assert_false(back.has_pruk);
    assert_int_equal(back.pruk[0], 0);
}

static void test_release(void **state)
{
    struct prosec_key_release r, back;
    char *s = NULL;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.transaction_id = 18;
    r.n_groups = 2;
    r.group_ids[0] = 0xD4E5F6;
    r.group_ids[1] = 0x000102;
    assert_int_equal(prosec_key_release_encode(&r, &s), PROSEC_OK);
    assert_string_equal(s, "{\"message\":\"KEY_RELEASE\",\"version\":1,"
                           "\"transaction_id\":18,"
                           "\"groups\":[\"d4e5f6\",\"000102\"]}");
    assert_int_equal(prosec_key_release_parse(s, strlen(s), &back), PROSEC_OK);
    assert_false(back.all);
    assert_int_equal(back.n_groups, 2);
    assert_int_equal(back.group_ids[0], 0xD4E5F6);
    assert_int_equal(back.group_ids[1], 0x000102);
    prosec_key_json_free(s);

    memset(&r, 0, sizeof(r));
    r.all = true;
    assert_int_equal(prosec_key_release_encode(&r, &s), PROSEC_OK);
    assert_string_equal(s, "{\"message\":\"KEY_RELEASE\",\"version\":1,"
                           "\"transaction_id\":0,\"all\":true}");
    assert_int_equal(prosec_key_release_parse(s, strlen(s), &back), PROSEC_OK);
    assert_true(back.all);
    assert_int_equal(back.n_groups, 0);
    prosec_key_json_free(s);
    prosec_key_json_free(NULL);
}

/* ---- malformed messages ----------------------------------------------------
 */

enum which { REQ, RESP, REL };

struct bad_case {
    enum which parser;
    const char *json;
    prosec_err want;
};

#define REQ_HEAD                                                               \
    "{\"message\":\"KEY_REQUEST\",\"version\":1,\"transaction_id\":7,"
#define REQ_GROUPS "\"groups\":[{\"group_id\":\"d4e5f6\",\"pgk_ids\":[1]}],"
#define REQ_ALGS   "\"supported_algorithms\":[1,2],"
#define REQ_ADDR   "\"mikey_address\":\"192.0.2.7:5304\""
#define REQ_OK     REQ_HEAD REQ_GROUPS REQ_ALGS REQ_ADDR "}"
#define REQ_G(g)   REQ_HEAD "\"groups\":[" g "]," REQ_ALGS REQ_ADDR "}"
#define REQ_A(a)                                                               \
    REQ_HEAD REQ_GROUPS "\"supported_algorithms\":" a "," REQ_ADDR "}"
#define REQ_M(m) REQ_HEAD REQ_GROUPS REQ_ALGS "\"mikey_address\":" m "}"

#define RESP_HEAD                                                              \
    "{\"message\":\"KEY_RESPONSE\",\"version\":1,\"transaction_id\":7,"
#define GRANT                                                                  \
    "{\"group_id\":\"d4e5f6\",\"group_member_id\":\"a1b2c3\","                 \
    "\"algorithm_info\":2,\"profile\":\"integrity\",\"bearer\":0}"
#define PMK64                                                                  \
    "\"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf\""
#define RESP_G(g) RESP_HEAD "\"groups\":[" g "]}"
#define RESP_K(k) RESP_HEAD "\"groups\":[]," k "}"

#define TEN    "0000000000"
#define ZERO60 TEN TEN TEN TEN TEN TEN
#define NAME64 "aaaa" ZERO60

#define REL_HEAD                                                               \
    "{\"message\":\"KEY_RELEASE\",\"version\":1,\"transaction_id\":7,"

static const struct bad_case bad_cases[] = {
    /* the baselines parse */
    {REQ, REQ_OK, PROSEC_OK},
    {RESP, RESP_G(GRANT), PROSEC_OK},
    {REL, REL_HEAD "\"all\":true}", PROSEC_OK},
    {REQ, " \n\t" REQ_OK " \r\n", PROSEC_OK},
    {REQ, REQ_M("\"[::1]:1\""), PROSEC_OK},
    {REQ, REQ_G("{\"group_id\":\"D4E5F6\",\"pgk_ids\":[]}"), PROSEC_OK},

    /* not JSON, or not the JSON we take */
    {REQ, "", PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ, "{", PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ, "null", PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ, "\"KEY_REQUEST\"", PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ, REQ_OK "x", PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ, REQ_OK REQ_OK, PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ, REQ_HEAD "\"transaction_id\":8," REQ_GROUPS REQ_ALGS REQ_ADDR "}",
     PROSEC_ERR_KEYREQ_SYNTAX}, /* duplicate key */
    {REQ, REQ_M("\"192.0.2.7:5304\\u0000\""), PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ, REQ_M("\"192.0.2.7:5304\xff\""), PROSEC_ERR_KEYREQ_SYNTAX},
    {REQ,
     REQ_HEAD REQ_GROUPS REQ_ALGS REQ_ADDR ",\"pmk_id\":"
                                           "123456789012345678901234567890}",
     PROSEC_ERR_KEYREQ_SYNTAX}, /* integer too big for Jansson */
    {REQ, "[]", PROSEC_ERR_KEYREQ_FIELD},
    {REQ, "{}", PROSEC_ERR_KEYREQ_FIELD},

    /* message type and version */
    {REQ, RESP_G(GRANT), PROSEC_ERR_KEYREQ_VERSION},
    {RESP, REQ_OK, PROSEC_ERR_KEYREQ_VERSION},
    {REL, REQ_OK, PROSEC_ERR_KEYREQ_VERSION},
    {REQ, "{\"message\":\"KEY_REQUEST\",\"version\":2}",
     PROSEC_ERR_KEYREQ_VERSION},
    {REQ, "{\"message\":\"KEY_REQUEST\",\"version\":0}",
     PROSEC_ERR_KEYREQ_VERSION},
    {REQ, "{\"message\":\"key_request\",\"version\":1}",
     PROSEC_ERR_KEYREQ_VERSION},
    {REQ, "{\"message\":\"KEY_REQUEST\",\"version\":\"1\"}",
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, "{\"message\":\"KEY_REQUEST\",\"version\":1.0}",
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, "{\"version\":1}", PROSEC_ERR_KEYREQ_FIELD},

    /* key request: fields */
    {REQ, REQ_HEAD REQ_GROUPS REQ_ALGS REQ_ADDR ",\"imsi\":\"001010123\"}",
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ,
     "{\"message\":\"KEY_REQUEST\",\"version\":1," REQ_GROUPS REQ_ALGS REQ_ADDR
     "}",
     PROSEC_ERR_KEYREQ_FIELD}, /* no transaction_id */
    {REQ,
     "{\"message\":\"KEY_REQUEST\",\"version\":1,\"transaction_id\":"
     "256," REQ_GROUPS REQ_ALGS REQ_ADDR "}",
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ,
     "{\"message\":\"KEY_REQUEST\",\"version\":1,\"transaction_id\":-"
     "1," REQ_GROUPS REQ_ALGS REQ_ADDR "}",
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ,
     "{\"message\":\"KEY_REQUEST\",\"version\":1,\"transaction_id\":"
     "\"7\"," REQ_GROUPS REQ_ALGS REQ_ADDR "}",
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_HEAD REQ_ALGS REQ_ADDR "}", PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_HEAD "\"groups\":{}," REQ_ALGS REQ_ADDR "}",
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_G("\"d4e5f6\""), PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_G("{\"pgk_ids\":[]}"), PROSEC_ERR_KEYREQ_FIELD},
    {REQ,
     REQ_G("{\"group_id\":\"d4e5f6\",\"group_name\":\"a\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_G("{\"group_id\":\"d4e5f6\"}"), PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_G("{\"group_id\":\"d4e5f6\",\"pgk_ids\":[],\"x\":0}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_G("{\"group_id\":13952502,\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_G("{\"group_id\":\"d4e5f\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_id\":\"0d4e5f6\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_id\":\"d4e5fg\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_name\":\"\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_name\":\"fire brigade\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_name\":\"" NAME64 "\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE}, /* 64 characters */
    {REQ, REQ_G("{\"group_id\":\"d4e5f6\",\"pgk_ids\":[256]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_id\":\"d4e5f6\",\"pgk_ids\":[-1]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_id\":\"d4e5f6\",\"pgk_ids\":[\"1\"]}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_G("{\"group_id\":\"d4e5f6\",\"pgk_ids\":[1,2,1]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_G("{\"group_id\":\"d4e5f6\",\"pgk_ids\":1}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {REQ,
     REQ_G("{\"group_id\":\"d4e5f6\",\"pgk_ids\":[]},"
           "{\"group_id\":\"D4E5F6\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE}, /* the same group twice */
    {REQ,
     REQ_G("{\"group_name\":\"ops\",\"pgk_ids\":[]},"
           "{\"group_name\":\"ops\",\"pgk_ids\":[]}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_A("[]"), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_A("[4]"), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_A("[2,2]"), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_A("[0,1,2,3,0]"), PROSEC_ERR_KEYREQ_LIMIT},
    {REQ, REQ_A("[true]"), PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_A("2"), PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_M("5304"), PROSEC_ERR_KEYREQ_FIELD},
    {REQ, REQ_M("\"192.0.2.7\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"192.0.2.7:\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"192.0.2.7:0\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"192.0.2.7:65536\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"192.0.2.7:+53\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"192.0.2:5304\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"kmf.example.org:5304\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\":5304\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"::1:5304\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"[::1]5304\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"[192.0.2.7]:5304\""), PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_M("\"[" ZERO60 "]:1\""),
     PROSEC_ERR_KEYREQ_RANGE}, /* longer than the field */
    {REQ, REQ_HEAD REQ_GROUPS REQ_ALGS REQ_ADDR ",\"pmk_id\":\"0badf00\"}",
     PROSEC_ERR_KEYREQ_RANGE},
    {REQ, REQ_HEAD REQ_GROUPS REQ_ALGS REQ_ADDR ",\"pmk_id\":195948557}",
     PROSEC_ERR_KEYREQ_FIELD},

    /* key response */
    {RESP, RESP_G("{\"group_id\":\"d4e5f6\",\"error_code\":\"not_member\"}"),
     PROSEC_OK},
    {RESP, RESP_G("{\"group_id\":\"d4e5f6\",\"error_code\":\"forbidden\"}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP, RESP_G("{\"group_id\":\"d4e5f6\",\"error_code\":1}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {RESP,
     RESP_G("{\"group_id\":\"d4e5f6\",\"error_code\":\"not_member\","
            "\"bearer\":0}"),
     PROSEC_ERR_KEYREQ_FIELD}, /* a failed group carries nothing else */
    {RESP, RESP_G("{\"error_code\":\"unknown_group\"}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {RESP,
     RESP_G("{\"group_name\":\"ops\",\"group_member_id\":\"a1b2c3\","
            "\"algorithm_info\":2,\"profile\":\"integrity\",\"bearer\":0}"),
     PROSEC_ERR_KEYREQ_FIELD}, /* a grant needs the Group ID */
    {RESP,
     RESP_G("{\"group_id\":\"d4e5f6\",\"group_member_id\":\"a1b2c3\","
            "\"algorithm_info\":2,\"profile\":\"integrity\"}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {RESP,
     RESP_G("{\"group_id\":\"d4e5f6\",\"group_member_id\":\"a1b2c3\","
            "\"algorithm_info\":4,\"profile\":\"integrity\",\"bearer\":0}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP,
     RESP_G("{\"group_id\":\"d4e5f6\",\"group_member_id\":\"a1b2c3\","
            "\"algorithm_info\":2,\"profile\":\"ts33.303\",\"bearer\":0}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP,
     RESP_G("{\"group_id\":\"d4e5f6\",\"group_member_id\":\"a1b2c3\","
            "\"algorithm_info\":2,\"profile\":1,\"bearer\":0}"),
     PROSEC_ERR_KEYREQ_FIELD},
    {RESP,
     RESP_G("{\"group_id\":\"d4e5f6\",\"group_member_id\":\"a1b2c3\","
            "\"algorithm_info\":2,\"profile\":\"integrity\",\"bearer\":32}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP,
     RESP_G("{\"group_id\":\"d4e5f6\",\"group_member_id\":\"1a1b2c3\","
            "\"algorithm_info\":2,\"profile\":\"integrity\",\"bearer\":0}"),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP, RESP_G(GRANT "," GRANT), PROSEC_ERR_KEYREQ_RANGE},
    {RESP, RESP_K("\"pmk\":" PMK64 ",\"pmk_id\":\"00000001\""), PROSEC_OK},
    {RESP, RESP_K("\"pmk\":" PMK64), PROSEC_ERR_KEYREQ_FIELD},
    {RESP, RESP_K("\"pmk_id\":\"00000001\""), PROSEC_ERR_KEYREQ_FIELD},
    {RESP, RESP_K("\"pmk\":\"c0c1\",\"pmk_id\":\"00000001\""),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP,
     RESP_K("\"pmk\":\"x0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadb"
            "dcdddedf\",\"pmk_id\":\"00000001\""),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP, RESP_K("\"pmk\":[1],\"pmk_id\":\"00000001\""),
     PROSEC_ERR_KEYREQ_FIELD},
    {RESP, RESP_K("\"pruk\":" PMK64 ",\"pruk_id\":\"0102030405060708\""),
     PROSEC_OK},
    {RESP, RESP_K("\"pruk\":" PMK64 ",\"pruk_id\":\"01020304\""),
     PROSEC_ERR_KEYREQ_RANGE},
    {RESP, RESP_K("\"pruk_id\":\"0102030405060708\""), PROSEC_ERR_KEYREQ_FIELD},
    {RESP, RESP_HEAD "\"groups\":[],\"pmk_idx\":0}", PROSEC_ERR_KEYREQ_FIELD},

    /* key release */
    {REL, REL_HEAD "\"groups\":[\"d4e5f6\"]}", PROSEC_OK},
    {REL, REL_HEAD "\"groups\":[\"d4e5f6\"],\"all\":true}",
     PROSEC_ERR_KEYREQ_FIELD},
    {REL, REL_HEAD "\"x\":1}", PROSEC_ERR_KEYREQ_FIELD},
    {REL, "{\"message\":\"KEY_RELEASE\",\"version\":1,\"transaction_id\":7}",
     PROSEC_ERR_KEYREQ_FIELD},
    {REL, REL_HEAD "\"all\":false}", PROSEC_ERR_KEYREQ_RANGE},
    {REL, REL_HEAD "\"all\":1}", PROSEC_ERR_KEYREQ_FIELD},
    {REL, REL_HEAD "\"groups\":[]}", PROSEC_ERR_KEYREQ_RANGE},
    {REL, REL_HEAD "\"groups\":[13952502]}", PROSEC_ERR_KEYREQ_FIELD},
    {REL, REL_HEAD "\"groups\":[\"d4e5f6\",\"d4e5f6\"]}",
     PROSEC_ERR_KEYREQ_RANGE},
    {REL, REL_HEAD "\"groups\":[\"d4e5f67\"]}", PROSEC_ERR_KEYREQ_RANGE},
    {REL, REL_HEAD "\"groups\":\"all\"}", PROSEC_ERR_KEYREQ_FIELD},
};

static prosec_err parse(enum which p, const char *json, size_t len)
{
    struct prosec_key_request req;
    struct prosec_key_response resp;
    struct prosec_key_release rel;
    prosec_err err;

    /* out-parameters stay untouched on failure */
    memset(&req, 0x5A, sizeof(req));
    memset(&resp, 0x5A, sizeof(resp));
    memset(&rel, 0x5A, sizeof(rel));
    switch (p) {
    case REQ:
        err = prosec_key_request_parse(json, len, &req);
        assert_true(err == PROSEC_OK || req.transaction_id == 0x5A);
        return err;
    case RESP:
        err = prosec_key_response_parse(json, len, &resp);
        assert_true(err == PROSEC_OK || resp.transaction_id == 0x5A);
        prosec_key_response_wipe(&resp);
        return err;
    case REL:
        err = prosec_key_release_parse(json, len, &rel);
        assert_true(err == PROSEC_OK || rel.transaction_id == 0x5A);
        return err;
    }
    return PROSEC_ERR_INTERNAL;
}

static void test_bad_table(void **state)
{
    size_t failed = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        prosec_err got = parse(c->parser, c->json, strlen(c->json));

        if (got != c->want) {
            print_error("case %zu (%s): got %s, want %s\n", i, c->json,
                        prosec_err_name(got), prosec_err_name(c->want));
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* ---- sizes and limits -------------------------------------------------------
 */

/* A request with n groups of m PGK IDs each. */
static char *many(size_t n, size_t m)
{
    char *s = malloc(64 + n * (40 + 4 * m) + 128);
    size_t len = 0;

    len += (size_t)sprintf(s + len, REQ_HEAD "\"groups\":[");
    for (size_t i = 0; i < n; i++) {
        len +=
            (size_t)sprintf(s + len, "%s{\"group_id\":\"%06zx\",\"pgk_ids\":[",
                            i > 0 ? "," : "", i);
        for (size_t j = 0; j < m; j++) {
            len += (size_t)sprintf(s + len, "%s%zu", j > 0 ? "," : "", j);
        }
        len += (size_t)sprintf(s + len, "]}");
    }
    sprintf(s + len, "]," REQ_ALGS REQ_ADDR "}");
    return s;
}

static void test_limits(void **state)
{
    struct prosec_key_request r;
    char *s, *big;
    size_t len;

    (void)state;
    s = many(PROSEC_KEYREQ_GROUPS_MAX, PROSEC_KEYREQ_PGK_IDS_MAX);
    assert_int_equal(prosec_key_request_parse(s, strlen(s), &r), PROSEC_OK);
    assert_int_equal(r.n_groups, 32);
    assert_int_equal(r.groups[31].n_pgk_ids, 32);
    free(s);
    s = many(PROSEC_KEYREQ_GROUPS_MAX + 1, 0);
    assert_int_equal(prosec_key_request_parse(s, strlen(s), &r),
                     PROSEC_ERR_KEYREQ_LIMIT);
    free(s);
    s = many(1, PROSEC_KEYREQ_PGK_IDS_MAX + 1);
    assert_int_equal(prosec_key_request_parse(s, strlen(s), &r),
                     PROSEC_ERR_KEYREQ_LIMIT);
    free(s);

    /* exactly the limit parses; one octet more does not */
    big = malloc(PROSEC_KEYREQ_JSON_MAX + 1);
    len = strlen(REQ_OK);
    memset(big, ' ', PROSEC_KEYREQ_JSON_MAX + 1);
    memcpy(big, REQ_OK, len);
    assert_int_equal(prosec_key_request_parse(big, PROSEC_KEYREQ_JSON_MAX, &r),
                     PROSEC_OK);
    assert_int_equal(
        prosec_key_request_parse(big, PROSEC_KEYREQ_JSON_MAX + 1, &r),
        PROSEC_ERR_KEYREQ_TOO_LARGE);

    /* deep nesting within the limit: an error, not a crash */
    memset(big, '[', 30000);
    memset(big + 30000, ']', 30000);
    assert_int_equal(prosec_key_request_parse(big, 60000, &r),
                     PROSEC_ERR_KEYREQ_SYNTAX);
    free(big);

    /* not NUL-terminated: only len octets are read */
    assert_int_equal(
        prosec_key_request_parse(REQ_OK "garbage", strlen(REQ_OK), &r),
        PROSEC_OK);
    assert_int_equal(prosec_key_request_parse(NULL, 0, &r), PROSEC_ERR_NULL);
    assert_int_equal(prosec_key_request_parse("{}", 2, NULL), PROSEC_ERR_NULL);
}

/* ---- the encoders' checks
 * ----------------------------------------------------- */

static void test_encode_rules(void **state)
{
    struct prosec_key_request q;
    struct prosec_key_response p;
    struct prosec_key_release l;
    char unchanged[] = "unchanged", *s = unchanged;

    (void)state;
#define REQ_BAD(stmt)                                                          \
    do {                                                                       \
        q = make_request();                                                    \
        stmt;                                                                  \
        assert_int_equal(prosec_key_request_encode(&q, &s), PROSEC_ERR_ARG);   \
    } while (0)
    REQ_BAD(q.n_groups = 33);
    REQ_BAD(q.algorithms = 0);
    REQ_BAD(q.algorithms = 0x10);
    REQ_BAD(strcpy(q.mikey_address, "192.0.2.7"));
    REQ_BAD(q.groups[0].group_id = 0x1000000);
    REQ_BAD(strcpy(q.groups[1].name, "a b"));
    REQ_BAD(q.groups[0].n_pgk_ids = 33);
    REQ_BAD(q.groups[0].pgk_ids[1] = q.groups[0].pgk_ids[0]);
    REQ_BAD(strcpy(q.groups[0].name, q.groups[1].name));
#undef REQ_BAD

#define RESP_BAD(stmt)                                                         \
    do {                                                                       \
        p = make_response();                                                   \
        stmt;                                                                  \
        assert_int_equal(prosec_key_response_encode(&p, &s), PROSEC_ERR_ARG);  \
    } while (0)
    RESP_BAD(p.n_groups = 33);
    RESP_BAD(p.groups[0].has_group_id = false);
    RESP_BAD(p.groups[0].member_id = 0x1000000);
    RESP_BAD(p.groups[0].alg = 4);
    RESP_BAD(p.groups[0].profile = 2);
    RESP_BAD(p.groups[0].bearer = 32);
    RESP_BAD(p.groups[1].error = (enum prosec_keyresp_error)4);
    RESP_BAD(p.groups[1].name[0] = '\0');
    RESP_BAD(p.groups[1] = p.groups[0]);
#undef RESP_BAD

    memset(&l, 0, sizeof(l));
    assert_int_equal(prosec_key_release_encode(&l, &s), PROSEC_ERR_ARG);
    l.all = true;
    l.n_groups = 1;
    assert_int_equal(prosec_key_release_encode(&l, &s), PROSEC_ERR_ARG);
    l.all = false;
    l.group_ids[0] = 0x1000000;
    assert_int_equal(prosec_key_release_encode(&l, &s), PROSEC_ERR_ARG);
    l.n_groups = 2;
    l.group_ids[0] = l.group_ids[1] = 5;
    assert_int_equal(prosec_key_release_encode(&l, &s), PROSEC_ERR_ARG);
    assert_string_equal(s, "unchanged");
    assert_int_equal(prosec_key_release_encode(NULL, &s), PROSEC_ERR_NULL);
    assert_int_equal(prosec_key_request_encode(&q, NULL), PROSEC_ERR_NULL);
}

/* ---- the examples of docs/wire.md (fuzz/corpus/keyreq) ------------------ */

static void test_examples(void **state)
{
    static const struct {
        const char *file;
        enum which parser;
        prosec_err want;
    } cases[] = {
        {"request.json", REQ, PROSEC_OK},
        {"request_v6.json", REQ, PROSEC_OK},
        {"response.json", RESP, PROSEC_OK},
        {"response_errors.json", RESP, PROSEC_OK},
        {"release.json", REL, PROSEC_OK},
        {"release_all.json", REL, PROSEC_OK},
        {"request_version2.json", REQ, PROSEC_ERR_KEYREQ_VERSION},
        {"request_bad.json", REQ, PROSEC_ERR_KEYREQ_RANGE},
    };
    struct prosec_key_response resp;
    char text[4096], path[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/%s", PROSEC_KEYREQ_EXAMPLES,
                 cases[i].file);
        f = fopen(path, "rb");
        assert_non_null(f);
        n = fread(text, 1, sizeof(text), f);
        fclose(f);
        if (parse(cases[i].parser, text, n) != cases[i].want) {
            print_error("%s: not %s\n", path, prosec_err_name(cases[i].want));
            fail();
        }
    }

    /* the response example says what docs/wire.md says it does */
    snprintf(path, sizeof(path), "%s/response.json", PROSEC_KEYREQ_EXAMPLES);
    {
        FILE *f = fopen(path, "rb");
        size_t n = fread(text, 1, sizeof(text), f);

        fclose(f);
        assert_int_equal(prosec_key_response_parse(text, n, &resp), PROSEC_OK);
    }
    assert_int_equal(resp.groups[0].member_id, 0xA1B2C3);
    assert_int_equal(resp.groups[1].error, PROSEC_KEYRESP_UNKNOWN_GROUP);
    assert_int_equal(resp.pmk[31], 0xDF);
    prosec_key_response_wipe(&resp);
}

/* ---- the wiping allocator
 * ------------------------------------------------------ */

static size_t custom_frees;

static void *custom_malloc(size_t n)
{
    return malloc(n);
}

static void custom_free(void *p)
{
    custom_frees += p != NULL;
    free(p);
}

static void test_harden(void **state)
{
    struct prosec_key_response r = make_response(), back;
    json_malloc_t m;
    json_free_t f;
    char *s = NULL;

    (void)state;
    /* an application's own allocator is left alone */
    json_set_alloc_funcs(custom_malloc, custom_free);
    assert_int_equal(prosec_key_json_harden(), PROSEC_ERR_ARG);
    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(f, custom_free);
    assert_int_equal(prosec_key_response_encode(&r, &s), PROSEC_OK);
    assert_int_equal(prosec_key_response_parse(s, strlen(s), &back), PROSEC_OK);
    assert_true(custom_frees > 0); /* Jansson's blocks went through it */
    prosec_key_json_free(s);

    /* with Jansson's defaults it installs the wiping free, once */
    json_set_alloc_funcs(malloc, free);
    assert_int_equal(prosec_key_json_harden(), PROSEC_OK);
    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(m, malloc);
    assert_ptr_not_equal(f, free);
    assert_int_equal(prosec_key_json_harden(), PROSEC_OK);
    assert_int_equal(prosec_key_response_encode(&r, &s), PROSEC_OK);
    assert_int_equal(prosec_key_response_parse(s, strlen(s), &back), PROSEC_OK);
    assert_memory_equal(back.pmk, r.pmk, 32);
    prosec_key_json_free(s);
    prosec_key_response_wipe(&back);
    json_set_alloc_funcs(malloc, free);
}

/* A Jansson free that counts the blocks still holding the PMK's hex. */
static const char pmk_hex[] =
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
static size_t blocks_with_key;

static bool holds_key(const uint8_t *p, size_t n)
{
    size_t k = sizeof(pmk_hex) - 1;

    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(p + i, pmk_hex, k) == 0) {
            return true;
        }
    }
    return false;
}

static void scanning_free(void *p)
{
    if (p != NULL && holds_key(p, malloc_usable_size(p))) {
        blocks_with_key++;
    }
    free(p);
}

static void test_jansson_copy_wiped(void **state)
{
    static const struct {
        const char *json;
        prosec_err want;
    } cases[] = {
        {RESP_K("\"pmk\":" PMK64 ",\"pmk_id\":\"00000001\""), PROSEC_OK},
        {RESP_K("\"pmk\":" PMK64 ",\"pmk_id\":\"00000001\",\"x\":0"),
         PROSEC_ERR_KEYREQ_FIELD}, /* refused for its shape */
        {"{\"message\":\"KEY_RESPONSE\",\"version\":2,\"pmk\":" PMK64
         ",\"groups\":[]}",
         PROSEC_ERR_KEYREQ_VERSION},
        {RESP_K("\"pmk\":" PMK64 ",\"pruk\":\"00\""),
         PROSEC_ERR_KEYREQ_FIELD}, /* refused while reading the keys */
        {RESP_HEAD "\"pmk\":" PMK64 ",\"pmk_id\":\"00000001\"}",
         PROSEC_ERR_KEYREQ_FIELD}, /* refused after the keys */
    };
    struct prosec_key_response r;

    (void)state;
    json_set_alloc_funcs(malloc, scanning_free);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        blocks_with_key = 0;
        assert_int_equal(
            prosec_key_response_parse(cases[i].json, strlen(cases[i].json), &r),
            cases[i].want);
        /* Jansson's string value is wiped; its lexer's buffer, by now
         * overwritten by the tokens after the key, holds no whole copy */
        if (blocks_with_key != 0) {
            print_error("case %zu: %zu freed blocks held the key\n", i,
                        blocks_with_key);
            fail();
        }
    }
    json_set_alloc_funcs(malloc, free);
    prosec_key_response_wipe(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_bad_table),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_encode_rules),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_harden),
        cmocka_unit_test(test_jansson_copy_wiped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
