/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KMF under abuse: what a review tried to break, one test per problem
 * found.  Two harnesses: the KMF's logic in this process (struct kmf with
 * its store, no sockets, the admin as caller), for what needs thousands
 * of operations; and the real daemon (kmfutil), for sockets and time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../src/kmf/kmf.h"
#include "kmfutil.h"

/* ---- the logic in this process ------------------------------------------ */

struct lk {
    char dir[128];
    struct kmf k;
    struct kmf_caller admin;
};

static void lk_open(struct lk *l, const char *tag)
{
    struct kmf_cert ca = {0};
    uint8_t mk[KMF_MASTER_LEN];
    char path[256];

    memset(l, 0, sizeof(*l));
    snprintf(l->dir, sizeof(l->dir), "/tmp/prosec-test-%s-%ld", tag,
             (long)getpid());
    assert_int_equal(mkdir(l->dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/kmf.db", l->dir);
    assert_int_equal(prosec__random(mk, sizeof(mk)), PROSEC_OK);
    assert_int_equal(kmf_store_open(&l->k.st, path, mk), PROSEC_OK);
    assert_int_equal(kmf_ca_create("abuse", &ca), PROSEC_OK);
    l->k.ca_pem = ca.pem;
    l->k.ca_key_pem = ca.key_pem;
    l->k.udp_fd = -1; /* no sockets: the push engine stays still */
    kmf_conf_default(&l->k.conf);
    snprintf(l->k.uri, sizeof(l->k.uri), "urn:prosec:kmf:abuse");
    l->admin.admin = true;
    snprintf(l->admin.name, sizeof(l->admin.name), "admin");
}

static void lk_close(struct lk *l)
{
    char cmd[200];

    kmf_store_close(&l->k.st);
    free(l->k.ca_pem);
    free(l->k.ca_key_pem);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", l->dir);
    assert_int_equal(system(cmd), 0);
}

/* An admin operation; its error, the answer dropped. */
static prosec_err lk_op(struct lk *l, kmf_op_fn fn, json_t *req)
{
    json_t *resp = NULL;
    prosec_err err = fn(&l->k, &l->admin, req, &resp);

    if (err != PROSEC_OK) {
        print_message("      refused: %s\n", prosec_error_detail());
    }
    json_decref(req);
    json_decref(resp);
    return err;
}

static void lk_device(struct lk *l, const char *name)
{
    assert_int_equal(
        lk_op(l, kmf_op_device_add, json_pack("{s:s}", "name", name)),
        PROSEC_OK);
}

static void lk_group(struct lk *l, const char *name, int gid, int lifetime,
                     int ahead)
{
    assert_int_equal(
        lk_op(l, kmf_op_group_create,
              json_pack("{s:s, s:i, s:i, s:i}", "name", name, "group_id", gid,
                        "lifetime", lifetime, "ahead", ahead)),
        PROSEC_OK);
}

static prosec_err lk_member(struct lk *l, kmf_op_fn fn, const char *g,
                            const char *d)
{
    return lk_op(l, fn, json_pack("{s:s, s:s}", "group", g, "device", d));
}

/* The first column of the first row of sql, an integer. */
static int64_t lk_int(struct lk *l, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(l->k.st.db, sql, -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* No two valid PGKs of a group whose periods overlap share an index, and
 * no valid PGK has the ID of a revoked one that may still be held. */
static void lk_pgk_invariants(struct lk *l)
{
    assert_int_equal(
        lk_int(l, "SELECT count(*) FROM pgks a JOIN pgks b ON "
                  "a.group_ref = b.group_ref AND a.id < b.id WHERE "
                  "a.state = 'valid' AND b.state = 'valid' AND "
                  "a.pgk_id % 32 = b.pgk_id % 32 AND "
                  "a.activation < b.expiry AND b.activation < a.expiry"),
        0);
    assert_int_equal(
        lk_int(l, "SELECT count(*) FROM pgks a JOIN pgks b ON "
                  "a.group_ref = b.group_ref AND a.id != b.id WHERE "
                  "a.state = 'valid' AND b.state = 'revoked' AND "
                  "a.pgk_id = b.pgk_id AND b.expiry > strftime('%s')"),
        0);
}

/* ---- PGK indices run out ------------------------------------------------ */

/*
 * Every rekey, compromise or removal leaves revoked PGKs whose periods
 * still overlap the new ones; with 32 indices, the 32nd replacement
 * within a key's period found no index, and from then on a member could
 * not be removed nor a compromised device revoked.
 */
static void test_index_exhaustion(void **state)
{
    struct lk l;

    (void)state;
    lk_open(&l, "index");
    lk_device(&l, "a");
    lk_device(&l, "b");
    lk_device(&l, "c");
    lk_group(&l, "g", 0x00dd01, 3600, 2);
    assert_int_equal(lk_member(&l, kmf_op_group_add_member, "g", "a"),
                     PROSEC_OK);
    assert_int_equal(lk_member(&l, kmf_op_group_add_member, "g", "b"),
                     PROSEC_OK);
    assert_int_equal(lk_member(&l, kmf_op_group_add_member, "g", "c"),
                     PROSEC_OK);
    for (int i = 0; i < 60; i++) {
        assert_int_equal(
            lk_op(&l, kmf_op_group_rekey, json_pack("{s:s}", "group", "g")),
            PROSEC_OK);
        lk_pgk_invariants(&l);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(lk_op(&l, kmf_op_group_compromise,
                               json_pack("{s:s}", "group", "g")),
                         PROSEC_OK);
        lk_pgk_invariants(&l);
    }
    assert_int_equal(lk_member(&l, kmf_op_group_remove_member, "g", "b"),
                     PROSEC_OK);
    lk_pgk_invariants(&l);
    /* the one that matters most: a compromised device can be revoked */
    assert_int_equal(
        lk_op(&l, kmf_op_device_revoke, json_pack("{s:s}", "name", "a")),
        PROSEC_OK);
    lk_pgk_invariants(&l);
    assert_int_equal(lk_int(&l, "SELECT count(*) FROM members"), 1);
    /* and the chain is whole: a PGK now and two ahead */
    assert_int_equal(
        lk_int(&l, "SELECT count(*) FROM pgks WHERE state = 'valid'"), 3);
    lk_close(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_exhaustion),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
