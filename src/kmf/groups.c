/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Groups, their members and their PGKs (DESIGN.md "Key lifecycle at the
 * KMF").  Every operation is one transaction: it changes the rows, writes
 * its audit row and queues the deliveries (pushes of new PGKs, revocations
 * of ended ones), which the push engine sends once the transaction has
 * committed.
 *
 * Invariants kept here:
 * - Group Member IDs are unique in a group and never reused (a counter);
 * - PGK IDs come from a counter modulo 256 and skip any ID still valid
 *   or revoked but possibly still held, so no PGK ID repeats within 256
 *   keys of a group and a late revocation never hits a newer key;
 * - no two valid PGKs of a group whose periods overlap share an index
 *   (5 low bits); revoked ones whose period overlaps are avoided too,
 *   since a member may learn of a revocation after the PGK that replaces
 *   it, as long as an index is left (else the device's rule, the
 *   KMF's newest word wins, settles it);
 * - a removed member gets nothing more; the others get revocations of
 *   every current and future PGK and a new chain of keys.
 */
#include <stdlib.h>
#include <string.h>

#include "kmf.h"

/* ---- JSON arguments ----------------------------------------------------- */

static prosec_err arg_str(json_t *req, const char *key, const char **out)
{
    json_t *v = json_object_get(req, key);

    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > KMF_URI_MAX) {
        return prosec__fail(PROSEC_ERR_ARG, "'%s' must be a non-empty string",
                            key);
    }
    *out = json_string_value(v);
    return PROSEC_OK;
}

/* An optional integer in [lo, hi]; *out keeps its default when absent. */
static prosec_err arg_int(json_t *req, const char *key, int64_t lo, int64_t hi,
                          int64_t *out)
{
    json_t *v = json_object_get(req, key);

    if (v == NULL || json_is_null(v)) {
        return PROSEC_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        return prosec__fail(PROSEC_ERR_ARG,
                            "'%s' must be an integer from %lld to %lld", key,
                            (long long)lo, (long long)hi);
    }
    *out = json_integer_value(v);
    return PROSEC_OK;
}

bool kmf_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > KMF_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

/* ---- lookups --------------------------------------------------------------
 */

static prosec_err load_group(struct kmf *k, sqlite3_stmt *s,
                             struct kmf_group *g)
{
    bool row = false;
    prosec_err err = kmf_step(&k->st, s, &row);

    if (err != PROSEC_OK) {
        return err;
    }
    if (!row) {
        return PROSEC_ERR_NOT_FOUND;
    }
    g->row = sqlite3_column_int64(s, 0);
    (void)prosec__fmt(g->name, sizeof(g->name), "%s",
                      (const char *)sqlite3_column_text(s, 1));
    g->group_id = (uint32_t)sqlite3_column_int64(s, 2);
    g->alg = sqlite3_column_int(s, 3);
    g->profile = sqlite3_column_int(s, 4);
    g->bearer = sqlite3_column_int(s, 5);
    g->lifetime = sqlite3_column_int64(s, 6);
    g->ahead = sqlite3_column_int(s, 7);
    g->next_pgk_id = sqlite3_column_int(s, 8);
    g->next_member_id = sqlite3_column_int64(s, 9);
    return PROSEC_OK;
}

#define GROUP_COLS                                                             \
    "id, name, group_id, alg, profile, bearer, lifetime, ahead, "              \
    "next_pgk_id, next_member_id"

/* The group named name, or whose Group ID is name in 6 hex digits. */
prosec_err kmf_group_find(struct kmf *k, const char *name, struct kmf_group *g)
{
    sqlite3_stmt *s = kmf_stmt(&k->st, "SELECT " GROUP_COLS " FROM groups "
                                       "WHERE name = ?");
    uint8_t id[3];
    prosec_err err;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    err = load_group(k, s, g);
    if (err != PROSEC_ERR_NOT_FOUND || !prosec__unhex(id, 3, name)) {
        goto out;
    }
    s = kmf_stmt(&k->st, "SELECT " GROUP_COLS " FROM groups "
                         "WHERE group_id = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, (int64_t)id[0] << 16 | id[1] << 8 | id[2]);
    err = load_group(k, s, g);

out:
    if (err == PROSEC_ERR_NOT_FOUND) {
        return prosec__fail(err, "no group '%.64s'", name);
    }
    return err;
}

static prosec_err find_device(struct kmf *k, const char *name, int64_t *row,
                              bool *revoked)
{
    sqlite3_stmt *s = kmf_stmt(&k->st, "SELECT id, revoked IS NOT NULL "
                                       "FROM devices WHERE name = ?");
    bool found = false;
    prosec_err err;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    err = kmf_step(&k->st, s, &found);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!found) {
        return prosec__fail(PROSEC_ERR_NOT_FOUND,
                            "no device '%.64s' is enrolled", name);
    }
    *row = sqlite3_column_int64(s, 0);
    if (revoked != NULL) {
        *revoked = sqlite3_column_int(s, 1) != 0;
    }
    return PROSEC_OK;
}

/* ---- PGKs ------------------------------------------------------------------
 */

/*
 * May pgk_id (index pgk_id & 31) be given to a PGK valid in [act, exp)?
 * Never the ID of a valid PGK, nor of a revoked one a member may still
 * hold (not expired, or its revocation not yet delivered): that
 * revocation, arriving late, would delete the new key.  Never the index
 * of a valid PGK whose period overlaps; and when strict, not that of an
 * overlapping revoked one either.
 */
static prosec_err pgk_id_free(struct kmf *k, const struct kmf_group *g,
                              int pgk_id, int64_t act, int64_t exp, bool strict,
                              bool *ok)
{
    sqlite3_stmt *s = kmf_stmt(
        &k->st,
        "SELECT 1 FROM pgks p WHERE p.group_ref = ?1 AND ("
        "  (p.pgk_id = ?2 AND (p.state = 'valid' OR (p.state = 'revoked'"
        "   AND (p.expiry > ?5 OR EXISTS (SELECT 1 FROM deliveries x"
        "   WHERE x.pgk_ref = p.id AND x.state = 'pending'))))) OR"
        "  (p.pgk_id % 32 = ?2 % 32 AND p.activation < ?4 AND"
        "   ?3 < p.expiry AND (p.state = 'valid' OR"
        "   (?6 AND p.state = 'revoked')))) LIMIT 1");
    bool row = false;
    prosec_err err;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int(s, 2, pgk_id);
    sqlite3_bind_int64(s, 3, act);
    sqlite3_bind_int64(s, 4, exp);
    sqlite3_bind_int64(s, 5, prosec__unix_now());
    sqlite3_bind_int(s, 6, strict);
    err = kmf_step(&k->st, s, &row);
    *ok = !row;
    return err;
}

/*
 * A new PGK of g valid in [act, exp): a fresh random key, sealed, and a
 * push delivery to every member.  *pgk_id_out gets its PGK ID.
 */
static prosec_err new_pgk(struct kmf *k, struct kmf_group *g, int64_t act,
                          int64_t exp, int *pgk_id_out)
{
    uint8_t key[PROSEC_PGK_LEN], sealed[PROSEC_PGK_LEN + KMF_SEAL_OVERHEAD];
    char aad[96];
    sqlite3_stmt *s;
    int pgk_id = -1;
    int64_t row, now = prosec__unix_now();
    prosec_err err = PROSEC_ERR_INTERNAL;

    /*
     * An index no overlapping revoked PGK has, if there is one.  After
     * many replacements within one key period (rekeys, compromises,
     * removals: 31 of them fill the 32 indices) there is none; then one
     * of a revoked PGK, which a member that missed its revocation drops
     * when the new PGK comes (the KMF's newest word wins), rather than
     * refusing the replacement, and with it every removal and device
     * revocation, until the revoked PGKs expire.
     */
    for (int pass = 0; pass < 2 && pgk_id < 0; pass++) {
        for (int t = 0; t < 256 && pgk_id < 0; t++) {
            int cand = (g->next_pgk_id + t) % 256;
            bool ok = false;

            err = pgk_id_free(k, g, cand, act, exp, pass == 0, &ok);
            if (err != PROSEC_OK) {
                goto out;
            }
            if (ok) {
                pgk_id = cand;
            }
        }
    }
    if (pgk_id < 0) {
        err = prosec__fail(PROSEC_ERR_FULL,
                           "group '%s': no free PGK ID or index", g->name);
        goto out;
    }
    g->next_pgk_id = (pgk_id + 1) % 256;

    err = prosec__random(key, sizeof(key));
    if (err != PROSEC_OK) {
        goto out;
    }
    (void)prosec__fmt(aad, sizeof(aad), "pgk %06x %d %lld", g->group_id, pgk_id,
                      (long long)act);
    err = kmf_seal(k->st.master, aad, key, sizeof(key), sealed);
    if (err != PROSEC_OK) {
        goto out;
    }
    s = kmf_stmt(&k->st, "INSERT INTO pgks (group_ref, pgk_id, key, "
                         "activation, expiry, state, created) "
                         "VALUES (?, ?, ?, ?, ?, 'valid', ?)");
    err = PROSEC_ERR_DB;
    if (s == NULL) {
        goto out;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int(s, 2, pgk_id);
    sqlite3_bind_blob(s, 3, sealed, sizeof(sealed), SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, act);
    sqlite3_bind_int64(s, 5, exp);
    sqlite3_bind_int64(s, 6, now);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        goto out;
    }
    row = sqlite3_last_insert_rowid(k->st.db);

    s = kmf_stmt(&k->st, "UPDATE groups SET next_pgk_id = ? WHERE id = ?");
    err = PROSEC_ERR_DB;
    if (s == NULL) {
        goto out;
    }
    sqlite3_bind_int(s, 1, g->next_pgk_id);
    sqlite3_bind_int64(s, 2, g->row);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        goto out;
    }

    s = kmf_stmt(&k->st, "INSERT INTO deliveries (pgk_ref, device_ref, kind, "
                         "state, created) SELECT ?1, m.device_ref, 'push', "
                         "'pending', ?2 FROM members m JOIN devices d ON "
                         "d.id = m.device_ref WHERE m.group_ref = ?3 AND "
                         "d.revoked IS NULL");
    err = PROSEC_ERR_DB;
    if (s == NULL) {
        goto out;
    }
    sqlite3_bind_int64(s, 1, row);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, g->row);
    err = kmf_step(&k->st, s, NULL);
    if (err == PROSEC_OK && pgk_id_out != NULL) {
        *pgk_id_out = pgk_id;
    }

out:
    prosec_wipe(key, sizeof(key));
    return err;
}

/*
 * Ends the valid PGKs of g (all, or only the one with PGK ID only when
 * only >= 0): revoked, key wiped, pending pushes of them cancelled, a
 * revocation queued for every member.  *n gets how many.
 */
static prosec_err revoke_valid(struct kmf *k, const struct kmf_group *g,
                               int only, int *n)
{
    int64_t now = prosec__unix_now();
    sqlite3_stmt *s;
    prosec_err err;

    /* cancel first: the PGKs are still 'valid' here */
    s = kmf_stmt(&k->st, "UPDATE deliveries SET state = 'cancelled' WHERE "
                         "state = 'pending' AND kind = 'push' AND pgk_ref IN "
                         "(SELECT id FROM pgks WHERE group_ref = ?1 AND "
                         "state = 'valid' AND (?2 < 0 OR pgk_id = ?2))");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int(s, 2, only);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        return err;
    }
    s = kmf_stmt(&k->st, "INSERT OR IGNORE INTO deliveries (pgk_ref, "
                         "device_ref, kind, state, created) SELECT p.id, "
                         "m.device_ref, 'revoke', 'pending', ?3 FROM pgks p "
                         "JOIN members m ON m.group_ref = p.group_ref JOIN "
                         "devices d ON d.id = m.device_ref WHERE "
                         "p.group_ref = ?1 AND p.state = 'valid' AND "
                         "(?2 < 0 OR p.pgk_id = ?2) AND d.revoked IS NULL");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int(s, 2, only);
    sqlite3_bind_int64(s, 3, now);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        return err;
    }
    s = kmf_stmt(&k->st, "UPDATE pgks SET state = 'revoked', key = NULL, "
                         "ended = ?3 WHERE group_ref = ?1 AND state = "
                         "'valid' AND (?2 < 0 OR pgk_id = ?2)");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int(s, 2, only);
    sqlite3_bind_int64(s, 3, now);
    err = kmf_step(&k->st, s, NULL);
    if (err == PROSEC_OK && n != NULL) {
        *n = sqlite3_changes(k->st.db);
    }
    return err;
}

/*
 * Keeps g's chain: a PGK valid now and `ahead` after it, each activated at
 * its predecessor's expiry.  *made counts the new ones.
 */
static prosec_err ensure_chain(struct kmf *k, struct kmf_group *g, int64_t now,
                               int *made)
{
    sqlite3_stmt *s;
    int64_t start = now;
    int have = 0;
    bool row = true, covered = false;
    prosec_err err;

    /* the valid PGKs not yet expired, in order */
    s = kmf_stmt(&k->st, "SELECT activation, expiry FROM pgks WHERE "
                         "group_ref = ? AND state = 'valid' AND expiry > ? "
                         "ORDER BY activation");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int64(s, 2, now);
    for (;;) {
        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK) {
            return err;
        }
        if (!row) {
            break;
        }
        if (sqlite3_column_int64(s, 0) <= now) {
            covered = true;
        }
        have++;
        if (sqlite3_column_int64(s, 1) > start) {
            start = sqlite3_column_int64(s, 1);
        }
    }
    if (!covered) {
        /* nothing valid now (a new group, or all revoked): a fresh
         * chain from now; later PGKs, if any, stay as they are */
        start = now;
        have = 0;
    }
    for (; have < g->ahead + 1; have++) {
        err = new_pgk(k, g, start, start + g->lifetime, NULL);
        if (err != PROSEC_OK) {
            return err;
        }
        start += g->lifetime;
        (*made)++;
    }
    return PROSEC_OK;
}

/* ---- the scheduler ----------------------------------------------------------
 */

size_t kmf_schedule(struct kmf *k)
{
    int64_t now = prosec__unix_now();
    sqlite3_stmt *s;
    struct kmf_group g;
    int64_t rows[256];
    size_t n_rows = 0, changed = 0;
    bool row = true;
    int made = 0, ended;
    prosec_err err = kmf_begin(&k->st);

    if (err != PROSEC_OK) {
        return 0;
    }
    /* expiry: the key is wiped; nothing of it is pushed any more */
    s = kmf_stmt(&k->st, "UPDATE deliveries SET state = 'cancelled' WHERE "
                         "state = 'pending' AND pgk_ref IN (SELECT id FROM "
                         "pgks WHERE state = 'valid' AND expiry <= ?)");
    err = s != NULL ? PROSEC_OK : PROSEC_ERR_DB;
    if (err == PROSEC_OK) {
        sqlite3_bind_int64(s, 1, now);
        err = kmf_step(&k->st, s, NULL);
    }
    s = err == PROSEC_OK
            ? kmf_stmt(&k->st, "UPDATE pgks SET state = 'expired', key = "
                               "NULL, ended = ?1 WHERE state = 'valid' AND "
                               "expiry <= ?1")
            : NULL;
    err = s != NULL ? PROSEC_OK : PROSEC_ERR_DB;
    if (err == PROSEC_OK) {
        sqlite3_bind_int64(s, 1, now);
        err = kmf_step(&k->st, s, NULL);
        ended = sqlite3_changes(k->st.db);
        changed += (size_t)ended;
    }

    /* the chains, group by group (in pages, to keep the array bounded) */
    for (int64_t after = 0; err == PROSEC_OK;) {
        s = kmf_stmt(&k->st, "SELECT id FROM groups WHERE id > ? ORDER BY id "
                             "LIMIT 256");
        if (s == NULL) {
            err = PROSEC_ERR_DB;
            break;
        }
        sqlite3_bind_int64(s, 1, after);
        for (n_rows = 0; err == PROSEC_OK;) {
            err = kmf_step(&k->st, s, &row);
            if (err != PROSEC_OK || !row) {
                break;
            }
            rows[n_rows++] = sqlite3_column_int64(s, 0);
        }
        for (size_t i = 0; err == PROSEC_OK && i < n_rows; i++) {
            s = kmf_stmt(&k->st, "SELECT " GROUP_COLS " FROM groups "
                                 "WHERE id = ?");
            if (s == NULL) {
                err = PROSEC_ERR_DB;
                break;
            }
            sqlite3_bind_int64(s, 1, rows[i]);
            err = load_group(k, s, &g);
            if (err == PROSEC_OK) {
                err = ensure_chain(k, &g, now, &made);
            }
        }
        if (n_rows < 256) {
            break;
        }
        after = rows[n_rows - 1];
    }
    if (err == PROSEC_OK && made > 0) {
        char detail[64];

        (void)prosec__fmt(detail, sizeof(detail), "%d new PGKs", made);
        err = kmf_audit(&k->st, "scheduler", "keys-ahead", "*", detail);
    }
    if (err == PROSEC_OK) {
        err = kmf_commit(&k->st);
    }
    if (err != PROSEC_OK) {
        kmf_rollback(&k->st);
        prosec__err("scheduler: %s: %s", prosec_strerror(err),
                    prosec_error_detail());
        return 0;
    }
    changed += (size_t)made;
    if (changed > 0) {
        kmf_push_kick(k);
    }
    return changed;
}

/* ---- the operations ------------------------------------------------------ */

/* Runs body in a transaction; kicks the push engine after a commit. */
#define TX(k, body)                                                            \
    do {                                                                       \
        err = kmf_begin(&(k)->st);                                             \
        if (err == PROSEC_OK) {                                                \
            err = (body);                                                      \
        }                                                                      \
        if (err == PROSEC_OK) {                                                \
            err = kmf_commit(&(k)->st);                                        \
        }                                                                      \
        if (err != PROSEC_OK) {                                                \
            kmf_rollback(&(k)->st);                                            \
        } else {                                                               \
            kmf_push_kick(k);                                                  \
        }                                                                      \
    } while (0)

static json_t *ok_json(const char *what, const char *name)
{
    return json_pack("{s:s, s:s}", "result", what, "name", name);
}

static prosec_err parse_duration(json_t *req, const char *key, int64_t *out)
{
    json_t *v = json_object_get(req, key);

    if (v == NULL || json_is_null(v)) {
        return PROSEC_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > 366LL * 86400) {
        return prosec__fail(PROSEC_ERR_ARG,
                            "'%s' must be seconds from 1 to 31622400", key);
    }
    *out = json_integer_value(v);
    return PROSEC_OK;
}

static prosec_err do_group_create(struct kmf *k, const struct kmf_caller *who,
                                  json_t *req, json_t **resp)
{
    const char *name = NULL;
    int64_t gid = -1, alg = PROSEC_EEA2, profile = PROSEC_PROFILE_INTEGRITY;
    int64_t lifetime = 86400, ahead = 2, bearer = 0, testing = 0;
    struct kmf_group g;
    sqlite3_stmt *s;
    char detail[128];
    int made = 0;
    prosec_err err;

    err = arg_str(req, "name", &name);
    if (err == PROSEC_OK && !kmf_name_ok(name)) {
        err = prosec__fail(PROSEC_ERR_ARG,
                           "group name '%.64s': 1 to 64 letters, digits, "
                           "'-', '_' or '.'",
                           name);
    }
    if (err == PROSEC_OK) {
        err = arg_int(req, "group_id", 0, PROSEC_L2_ID_MAX, &gid);
    }
    if (err == PROSEC_OK && gid < 0) {
        err = prosec__fail(PROSEC_ERR_ARG, "'group_id' is missing");
    }
    if (err == PROSEC_OK) {
        err = arg_int(req, "alg", 0, PROSEC_EEA_MAX, &alg);
    }
    if (err == PROSEC_OK) {
        err = arg_int(req, "profile", 0, 1, &profile);
    }
    if (err == PROSEC_OK) {
        err = arg_int(req, "bearer", 0, PROSEC_BEARER_MAX, &bearer);
    }
    if (err == PROSEC_OK) {
        err = arg_int(req, "ahead", 0, 8, &ahead);
    }
    if (err == PROSEC_OK) {
        err = arg_int(req, "testing", 0, 1, &testing);
    }
    if (err == PROSEC_OK) {
        err = parse_duration(req, "lifetime", &lifetime);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    if (alg == PROSEC_EEA0 && !testing) {
        return prosec__fail(PROSEC_ERR_ARG,
                            "EEA0 (no ciphering) is only for a group made "
                            "for testing");
    }
    if (alg == PROSEC_EEA0 && profile == PROSEC_PROFILE_INTEGRITY) {
        return prosec__fail(PROSEC_ERR_ARG,
                            "the integrity profile needs --alg 1, 2 or 3");
    }
    if (kmf_group_find(k, name, &g) == PROSEC_OK) {
        return prosec__fail(PROSEC_ERR_EXISTS, "a group '%s' exists", name);
    }
    s = kmf_stmt(&k->st, "SELECT name FROM groups WHERE group_id = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, gid);
    {
        bool row = false;

        err = kmf_step(&k->st, s, &row);
        if (err == PROSEC_OK && row) {
            return prosec__fail(PROSEC_ERR_EXISTS,
                                "Group ID %06llx is taken by group '%s'",
                                (long long)gid, sqlite3_column_text(s, 0));
        }
    }
    s = kmf_stmt(&k->st, "INSERT INTO groups (name, group_id, alg, profile, "
                         "bearer, lifetime, ahead, created) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, gid);
    sqlite3_bind_int64(s, 3, alg);
    sqlite3_bind_int64(s, 4, profile);
    sqlite3_bind_int64(s, 5, bearer);
    sqlite3_bind_int64(s, 6, lifetime);
    sqlite3_bind_int64(s, 7, ahead);
    sqlite3_bind_int64(s, 8, prosec__unix_now());
    err = kmf_step(&k->st, s, NULL);
    if (err == PROSEC_OK) {
        err = kmf_group_find(k, name, &g);
    }
    if (err == PROSEC_OK) {
        err = ensure_chain(k, &g, prosec__unix_now(), &made);
    }
    (void)prosec__fmt(detail, sizeof(detail),
                      "group_id=%06llx alg=%lld profile=%s lifetime=%llds "
                      "ahead=%lld",
                      (long long)gid, (long long)alg,
                      profile ? "integrity" : "ts33303", (long long)lifetime,
                      (long long)ahead);
    if (err == PROSEC_OK) {
        err = kmf_audit(&k->st, who->name, "group-create", name, detail);
    }
    if (err == PROSEC_OK) {
        *resp = ok_json("created", name);
    }
    return err;
}

prosec_err kmf_op_group_create(struct kmf *k, const struct kmf_caller *who,
                               json_t *req, json_t **resp)
{
    prosec_err err;

    TX(k, do_group_create(k, who, req, resp));
    return err;
}

static prosec_err group_and_device(struct kmf *k, json_t *req,
                                   struct kmf_group *g, int64_t *dev,
                                   const char **dev_name, bool *revoked)
{
    const char *gname = NULL;
    prosec_err err = arg_str(req, "group", &gname);

    if (err == PROSEC_OK) {
        err = arg_str(req, "device", dev_name);
    }
    if (err == PROSEC_OK) {
        err = kmf_group_find(k, gname, g);
    }
    if (err == PROSEC_OK) {
        err = find_device(k, *dev_name, dev, revoked);
    }
    return err;
}

static prosec_err do_add_member(struct kmf *k, const struct kmf_caller *who,
                                json_t *req, json_t **resp)
{
    const char *dname = NULL;
    struct kmf_group g;
    int64_t dev = 0, now = prosec__unix_now();
    bool revoked = false, row = false;
    sqlite3_stmt *s;
    char detail[64];
    prosec_err err;

    err = group_and_device(k, req, &g, &dev, &dname, &revoked);
    if (err != PROSEC_OK) {
        return err;
    }
    if (revoked) {
        return prosec__fail(PROSEC_ERR_DENIED, "device '%s' is revoked", dname);
    }
    s = kmf_stmt(&k->st, "SELECT member_id FROM members WHERE group_ref = ? "
                         "AND device_ref = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g.row);
    sqlite3_bind_int64(s, 2, dev);
    err = kmf_step(&k->st, s, &row);
    if (err == PROSEC_OK && row) {
        return prosec__fail(PROSEC_ERR_EXISTS,
                            "device '%s' is already a member of '%s'", dname,
                            g.name);
    }
    if (g.next_member_id > PROSEC_L2_ID_MAX) {
        return prosec__fail(PROSEC_ERR_FULL,
                            "group '%s' has used every Group Member ID",
                            g.name);
    }
    s = kmf_stmt(&k->st, "INSERT INTO members (group_ref, device_ref, "
                         "member_id, added) VALUES (?, ?, ?, ?)");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g.row);
    sqlite3_bind_int64(s, 2, dev);
    sqlite3_bind_int64(s, 3, g.next_member_id);
    sqlite3_bind_int64(s, 4, now);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        return err;
    }
    s = kmf_stmt(&k->st, "UPDATE groups SET next_member_id = ? WHERE id = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g.next_member_id + 1);
    sqlite3_bind_int64(s, 2, g.row);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        return err;
    }
    /* a new member gets the current and future PGKs */
    s = kmf_stmt(&k->st, "INSERT OR REPLACE INTO deliveries (pgk_ref, "
                         "device_ref, kind, state, created) SELECT id, ?2, "
                         "'push', 'pending', ?3 FROM pgks WHERE group_ref = "
                         "?1 AND state = 'valid' AND expiry > ?3");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g.row);
    sqlite3_bind_int64(s, 2, dev);
    sqlite3_bind_int64(s, 3, now);
    err = kmf_step(&k->st, s, NULL);
    (void)prosec__fmt(detail, sizeof(detail), "device=%s member_id=%06llx",
                      dname, (long long)g.next_member_id);
    if (err == PROSEC_OK) {
        err = kmf_audit(&k->st, who->name, "group-add-member", g.name, detail);
    }
    if (err == PROSEC_OK) {
        *resp = json_pack("{s:s, s:s, s:s, s:I}", "result", "added", "group",
                          g.name, "device", dname, "member_id",
                          (json_int_t)g.next_member_id);
    }
    return err;
}

prosec_err kmf_op_group_add_member(struct kmf *k, const struct kmf_caller *who,
                                   json_t *req, json_t **resp)
{
    prosec_err err;

    TX(k, do_add_member(k, who, req, resp));
    return err;
}

/*
 * Takes dev out of g, revokes every valid PGK toward the others and makes
 * a new chain.  The removed device gets nothing more, not even the
 * revocations: its pending deliveries of the group are cancelled.
 */
static prosec_err remove_member(struct kmf *k, struct kmf_group *g, int64_t dev,
                                int *revoked, int *made)
{
    sqlite3_stmt *s;
    prosec_err err;

    s = kmf_stmt(&k->st, "UPDATE deliveries SET state = 'cancelled' WHERE "
                         "device_ref = ?2 AND state = 'pending' AND pgk_ref "
                         "IN (SELECT id FROM pgks WHERE group_ref = ?1)");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int64(s, 2, dev);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        return err;
    }
    s = kmf_stmt(&k->st, "DELETE FROM members WHERE group_ref = ? AND "
                         "device_ref = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int64(s, 2, dev);
    err = kmf_step(&k->st, s, NULL);
    if (err != PROSEC_OK) {
        return err;
    }
    if (sqlite3_changes(k->st.db) == 0) {
        return PROSEC_ERR_NOT_FOUND;
    }
    err = revoke_valid(k, g, -1, revoked);
    if (err == PROSEC_OK) {
        err = ensure_chain(k, g, prosec__unix_now(), made);
    }
    return err;
}

static prosec_err do_remove_member(struct kmf *k, const struct kmf_caller *who,
                                   json_t *req, json_t **resp)
{
    const char *dname = NULL;
    struct kmf_group g;
    int64_t dev = 0;
    int revoked = 0, made = 0;
    char detail[128];
    prosec_err err;

    err = group_and_device(k, req, &g, &dev, &dname, NULL);
    if (err == PROSEC_OK) {
        err = remove_member(k, &g, dev, &revoked, &made);
        if (err == PROSEC_ERR_NOT_FOUND) {
            err = prosec__fail(err, "device '%s' is not a member of '%s'",
                               dname, g.name);
        }
    }
    (void)prosec__fmt(detail, sizeof(detail), "device=%s revoked=%d new=%d",
                      dname, revoked, made);
    if (err == PROSEC_OK) {
        err =
            kmf_audit(&k->st, who->name, "group-remove-member", g.name, detail);
    }
    if (err == PROSEC_OK) {
        *resp = json_pack("{s:s, s:s, s:s, s:i, s:i}", "result", "removed",
                          "group", g.name, "device", dname, "revoked", revoked,
                          "new_pgks", made);
    }
    return err;
}

prosec_err kmf_op_group_remove_member(struct kmf *k,
                                      const struct kmf_caller *who, json_t *req,
                                      json_t **resp)
{
    prosec_err err;

    TX(k, do_remove_member(k, who, req, resp));
    return err;
}

/* Removes a revoked device from every group it was in. */
prosec_err kmf_remove_everywhere(struct kmf *k, int64_t dev, int *groups)
{
    sqlite3_stmt *s;
    int64_t rows[1024];
    size_t n = 0;
    bool row = true;
    prosec_err err = PROSEC_OK;

    s = kmf_stmt(&k->st, "SELECT group_ref FROM members WHERE device_ref = ? "
                         "LIMIT 1024");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, dev);
    while (err == PROSEC_OK && n < 1024) {
        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        rows[n++] = sqlite3_column_int64(s, 0);
    }
    for (size_t i = 0; err == PROSEC_OK && i < n; i++) {
        struct kmf_group g;
        int revoked = 0, made = 0;

        s = kmf_stmt(&k->st, "SELECT " GROUP_COLS " FROM groups WHERE id = ?");
        if (s == NULL) {
            return PROSEC_ERR_DB;
        }
        sqlite3_bind_int64(s, 1, rows[i]);
        err = load_group(k, s, &g);
        if (err == PROSEC_OK) {
            err = remove_member(k, &g, dev, &revoked, &made);
        }
    }
    *groups = (int)n;
    return err;
}

static prosec_err do_rekey(struct kmf *k, const struct kmf_caller *who,
                           json_t *req, json_t **resp)
{
    const char *gname = NULL;
    struct kmf_group g;
    sqlite3_stmt *s;
    int64_t now = prosec__unix_now(), exp;
    int cur = -1, made = 0, revoked = 0, new_id = -1;
    bool row = false;
    char detail[96];
    prosec_err err;

    err = arg_str(req, "group", &gname);
    if (err == PROSEC_OK) {
        err = kmf_group_find(k, gname, &g);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    /*
     * The PGK in use now is replaced by a new one for the rest of its
     * period, so the chain after it (keys members out of coverage may
     * already hold) stays as it is.  The old one is revoked.
     */
    s = kmf_stmt(&k->st, "SELECT pgk_id, expiry FROM pgks WHERE group_ref = "
                         "? AND state = 'valid' AND activation <= ?2 AND "
                         "expiry > ?2 ORDER BY expiry LIMIT 1");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g.row);
    sqlite3_bind_int64(s, 2, now);
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK) {
        return err;
    }
    exp = now + g.lifetime;
    if (row) {
        cur = sqlite3_column_int(s, 0);
        exp = sqlite3_column_int64(s, 1);
        err = revoke_valid(k, &g, cur, &revoked);
    }
    if (err == PROSEC_OK) {
        err = new_pgk(k, &g, now, exp, &new_id);
    }
    if (err == PROSEC_OK) {
        err = ensure_chain(k, &g, now, &made);
    }
    (void)prosec__fmt(detail, sizeof(detail), "old=%d new=%d", cur, new_id);
    if (err == PROSEC_OK) {
        err = kmf_audit(&k->st, who->name, "group-rekey", g.name, detail);
    }
    if (err == PROSEC_OK) {
        *resp = json_pack("{s:s, s:s, s:i, s:i}", "result", "rekeyed", "group",
                          g.name, "old_pgk_id", cur, "new_pgk_id", new_id);
    }
    return err;
}

prosec_err kmf_op_group_rekey(struct kmf *k, const struct kmf_caller *who,
                              json_t *req, json_t **resp)
{
    prosec_err err;

    TX(k, do_rekey(k, who, req, resp));
    return err;
}

static prosec_err do_compromise(struct kmf *k, const struct kmf_caller *who,
                                json_t *req, json_t **resp)
{
    const char *gname = NULL;
    struct kmf_group g;
    int64_t pgk_id = -1;
    int revoked = 0, made = 0;
    char detail[96];
    prosec_err err;

    err = arg_str(req, "group", &gname);
    if (err == PROSEC_OK) {
        err = arg_int(req, "pgk_id", 0, 255, &pgk_id);
    }
    if (err == PROSEC_OK) {
        err = kmf_group_find(k, gname, &g);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    if (pgk_id >= 0) {
        sqlite3_stmt *s = kmf_stmt(&k->st, "SELECT 1 FROM pgks WHERE "
                                           "group_ref = ? AND pgk_id = ?");
        bool row = false;

        if (s == NULL) {
            return PROSEC_ERR_DB;
        }
        sqlite3_bind_int64(s, 1, g.row);
        sqlite3_bind_int64(s, 2, pgk_id);
        err = kmf_step(&k->st, s, &row);
        if (err == PROSEC_OK && !row) {
            return prosec__fail(PROSEC_ERR_NOT_FOUND,
                                "group '%s' never had PGK ID %lld", g.name,
                                (long long)pgk_id);
        }
    }
    /* one compromised key may mean more: every current and future PGK
     * goes, and a new chain starts now */
    err = revoke_valid(k, &g, -1, &revoked);
    if (err == PROSEC_OK) {
        err = ensure_chain(k, &g, prosec__unix_now(), &made);
    }
    (void)prosec__fmt(detail, sizeof(detail), "reported=%lld revoked=%d new=%d",
                      (long long)pgk_id, revoked, made);
    if (err == PROSEC_OK) {
        err = kmf_audit(&k->st, who->name, "group-compromise", g.name, detail);
    }
    if (err == PROSEC_OK) {
        *resp = json_pack("{s:s, s:s, s:i, s:i}", "result", "replaced", "group",
                          g.name, "revoked", revoked, "new_pgks", made);
    }
    return err;
}

prosec_err kmf_op_group_compromise(struct kmf *k, const struct kmf_caller *who,
                                   json_t *req, json_t **resp)
{
    prosec_err err;

    TX(k, do_compromise(k, who, req, resp));
    return err;
}

/* ---- read-only views ---------------------------------------------------- */

static const char *pgk_state(const char *db_state, int64_t act, int64_t exp,
                             int64_t now)
{
    if (strcmp(db_state, "valid") != 0) {
        return db_state;
    }
    if (now < act) {
        return "pending";
    }
    return now < exp ? "active" : "expired";
}

static prosec_err show_pgks(struct kmf *k, const struct kmf_group *g,
                            json_t *out)
{
    int64_t now = prosec__unix_now();
    sqlite3_stmt *s;
    bool row = true;
    prosec_err err = PROSEC_OK;

    /* the valid ones, and the 16 that ended last */
    s = kmf_stmt(
        &k->st,
        "SELECT p.id, p.pgk_id, p.activation, p.expiry, p.state, p.ended, "
        "(SELECT count(*) FROM deliveries d WHERE d.pgk_ref = p.id AND "
        " d.state = 'done' AND d.kind = 'push'), "
        "(SELECT count(*) FROM deliveries d WHERE d.pgk_ref = p.id AND "
        " d.state = 'pending') FROM pgks p WHERE p.group_ref = ?1 AND "
        "(p.state = 'valid' OR p.id IN (SELECT id FROM pgks WHERE "
        " group_ref = ?1 AND state != 'valid' ORDER BY ended DESC, id DESC "
        " LIMIT 16)) ORDER BY p.activation, p.id");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    while (err == PROSEC_OK) {
        int64_t act, exp;
        int id;

        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        id = sqlite3_column_int(s, 1);
        act = sqlite3_column_int64(s, 2);
        exp = sqlite3_column_int64(s, 3);
        json_array_append_new(
            out,
            json_pack("{s:i, s:i, s:I, s:I, s:s, s:o, s:I, s:I}", "pgk_id", id,
                      "index", id & PROSEC_PGK_INDEX_MASK, "activation",
                      (json_int_t)act, "expiry", (json_int_t)exp, "state",
                      pgk_state((const char *)sqlite3_column_text(s, 4), act,
                                exp, now),
                      "ended",
                      sqlite3_column_type(s, 5) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int64(s, 5)),
                      "delivered", (json_int_t)sqlite3_column_int64(s, 6),
                      "pending", (json_int_t)sqlite3_column_int64(s, 7)));
    }
    return err;
}

static prosec_err show_members(struct kmf *k, const struct kmf_group *g,
                               json_t *out)
{
    sqlite3_stmt *s;
    bool row = true;
    prosec_err err = PROSEC_OK;

    s = kmf_stmt(
        &k->st,
        "SELECT d.name, m.member_id, m.added, d.mikey_addr, "
        "d.released OR m.released, "
        "(SELECT group_concat(p.pgk_id) FROM deliveries x JOIN pgks p ON "
        " p.id = x.pgk_ref WHERE x.device_ref = d.id AND p.group_ref = ?1 "
        " AND p.state = 'valid' AND x.kind = 'push' AND x.state = 'done'), "
        "(SELECT count(*) FROM deliveries x JOIN pgks p ON p.id = x.pgk_ref "
        " WHERE x.device_ref = d.id AND p.group_ref = ?1 AND "
        " x.state = 'pending'), d.last_seen "
        "FROM members m JOIN devices d ON d.id = m.device_ref WHERE "
        "m.group_ref = ?1 ORDER BY m.member_id");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    while (err == PROSEC_OK) {
        const char *held, *state;
        int64_t pending;

        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        held = (const char *)sqlite3_column_text(s, 5);
        pending = sqlite3_column_int64(s, 6);
        if (sqlite3_column_type(s, 3) == SQLITE_NULL) {
            state = "never-synced";
        } else if (sqlite3_column_int(s, 4) != 0) {
            state = "released";
        } else {
            state = pending > 0 ? "pending" : "up-to-date";
        }
        json_array_append_new(
            out, json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:o}", "device",
                           (const char *)sqlite3_column_text(s, 0), "member_id",
                           (json_int_t)sqlite3_column_int64(s, 1), "added",
                           (json_int_t)sqlite3_column_int64(s, 2), "delivery",
                           state, "delivered_pgk_ids", held != NULL ? held : "",
                           "pending", (json_int_t)pending, "last_seen",
                           sqlite3_column_type(s, 7) == SQLITE_NULL
                               ? json_null()
                               : json_integer(sqlite3_column_int64(s, 7))));
    }
    return err;
}

prosec_err kmf_op_group_show(struct kmf *k, const struct kmf_caller *who,
                             json_t *req, json_t **resp)
{
    const char *gname = NULL;
    json_t *pgks = json_array(), *members = json_array();
    struct kmf_group g;
    char hex[8];
    prosec_err err;

    (void)who;
    err = arg_str(req, "group", &gname);
    if (err == PROSEC_OK) {
        err = kmf_group_find(k, gname, &g);
    }
    if (err == PROSEC_OK) {
        err = show_pgks(k, &g, pgks);
    }
    if (err == PROSEC_OK) {
        err = show_members(k, &g, members);
    }
    if (err != PROSEC_OK) {
        json_decref(pgks);
        json_decref(members);
        return err;
    }
    (void)prosec__fmt(hex, sizeof(hex), "%06x", g.group_id);
    *resp = json_pack("{s:s, s:s, s:i, s:s, s:i, s:I, s:i, s:I, s:o, s:o}",
                      "name", g.name, "group_id", hex, "alg", g.alg, "profile",
                      g.profile ? "integrity" : "ts33303", "bearer", g.bearer,
                      "lifetime", (json_int_t)g.lifetime, "ahead", g.ahead,
                      "now", (json_int_t)prosec__unix_now(), "pgks", pgks,
                      "members", members);
    return *resp != NULL ? PROSEC_OK : PROSEC_ERR_NOMEM;
}

prosec_err kmf_op_group_list(struct kmf *k, const struct kmf_caller *who,
                             json_t *req, json_t **resp)
{
    sqlite3_stmt *s;
    json_t *out = json_array();
    bool row = true;
    prosec_err err = PROSEC_OK;

    (void)who;
    (void)req;
    s = kmf_stmt(&k->st, "SELECT g.name, g.group_id, g.alg, g.profile, "
                         "(SELECT count(*) FROM members m WHERE m.group_ref "
                         "= g.id) FROM groups g ORDER BY g.name");
    if (s == NULL) {
        json_decref(out);
        return PROSEC_ERR_DB;
    }
    while (err == PROSEC_OK) {
        char hex[8];

        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        (void)prosec__fmt(hex, sizeof(hex), "%06x",
                          (unsigned)sqlite3_column_int64(s, 1));
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:i, s:s, s:I}", "name",
                           (const char *)sqlite3_column_text(s, 0), "group_id",
                           hex, "alg", sqlite3_column_int(s, 2), "profile",
                           sqlite3_column_int(s, 3) ? "integrity" : "ts33303",
                           "members", (json_int_t)sqlite3_column_int64(s, 4)));
    }
    if (err != PROSEC_OK) {
        json_decref(out);
        return err;
    }
    *resp = out;
    return PROSEC_OK;
}

prosec_err kmf_op_audit(struct kmf *k, const struct kmf_caller *who,
                        json_t *req, json_t **resp)
{
    int64_t since = 0;
    sqlite3_stmt *s;
    json_t *out;
    bool row = true;
    prosec_err err;

    (void)who;
    err = arg_int(req, "since", 0, INT64_MAX / 2, &since);
    if (err != PROSEC_OK) {
        return err;
    }
    s = kmf_stmt(&k->st, "SELECT id, at, actor, action, target, detail FROM "
                         "audit WHERE at >= ? ORDER BY id");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, since);
    out = json_array();
    while (err == PROSEC_OK) {
        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        json_array_append_new(
            out, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "id",
                           (json_int_t)sqlite3_column_int64(s, 0), "at",
                           (json_int_t)sqlite3_column_int64(s, 1), "actor",
                           (const char *)sqlite3_column_text(s, 2), "action",
                           (const char *)sqlite3_column_text(s, 3), "target",
                           (const char *)sqlite3_column_text(s, 4), "detail",
                           (const char *)sqlite3_column_text(s, 5)));
    }
    if (err != PROSEC_OK) {
        json_decref(out);
        return err;
    }
    *resp = out;
    return PROSEC_OK;
}
