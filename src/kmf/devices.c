/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Devices: enrolment (a certificate from the KMF's CA and the bundle that
 * carries it to the device), revocation, and the device's own messages:
 * the key request (TS 33.303 6.2.3.3, PC8), which tells the KMF where the
 * device takes pushes and which PGKs it holds, and the key release.
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "kmf.h"

/* ---- who is calling ------------------------------------------------------ */

prosec_err kmf_caller_of(struct kmf *k, const char *serial,
                         struct kmf_caller *out)
{
    sqlite3_stmt *s;
    bool row = false;
    prosec_err err;

    memset(out, 0, sizeof(*out));
    if (k->admin_serial[0] != '\0' && strcmp(serial, k->admin_serial) == 0) {
        out->admin = true;
        (void)prosec__fmt(out->name, sizeof(out->name), "admin");
        return PROSEC_OK;
    }
    s = kmf_stmt(&k->st, "SELECT id, name, revoked IS NOT NULL FROM devices "
                         "WHERE cert_serial = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!row) {
        return prosec__fail(PROSEC_ERR_DENIED,
                            "certificate %s is not a device's", serial);
    }
    if (sqlite3_column_int(s, 2) != 0) {
        return prosec__fail(PROSEC_ERR_DENIED, "device '%s' is revoked",
                            (const char *)sqlite3_column_text(s, 1));
    }
    out->device_row = sqlite3_column_int64(s, 0);
    (void)prosec__fmt(out->name, sizeof(out->name), "%s",
                      (const char *)sqlite3_column_text(s, 1));
    return PROSEC_OK;
}

/* ---- enrolment --------------------------------------------------------- */

/* The sealing label of a device's PRUK. */
static void pruk_aad(char *out, size_t cap, const char *name)
{
    (void)prosec__fmt(out, cap, "pruk %s", name);
}

static int64_t pruk_id_int(const uint8_t id[8])
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | id[i];
    }
    return (int64_t)v;
}

static prosec_err do_device_add(struct kmf *k, const struct kmf_caller *who,
                                json_t *req, json_t **resp)
{
    json_t *v = json_object_get(req, "name");
    json_t *rv = json_object_get(req, "relay");
    const char *name = json_string_value(v);
    struct kmf_cert cert = {NULL, NULL, {0}};
    char uri[KMF_URI_MAX + 1], aad[96];
    uint8_t pruk[32], pruk_id[8], sealed[32 + KMF_SEAL_OVERHEAD];
    char pruk_hex[65], id_hex[17];
    sqlite3_stmt *s;
    bool row = false;
    prosec_err err;

    if (rv != NULL && !json_is_boolean(rv)) {
        return prosec__fail(PROSEC_ERR_ARG, "'relay' must be true or false");
    }
    if (name == NULL || !kmf_name_ok(name)) {
        return prosec__fail(PROSEC_ERR_ARG,
                            "device name: 1 to 64 letters, digits, '-', "
                            "'_' or '.'");
    }
    s = kmf_stmt(&k->st, "SELECT 1 FROM devices WHERE name = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    err = kmf_step(&k->st, s, &row);
    if (err == PROSEC_OK && row) {
        return prosec__fail(PROSEC_ERR_EXISTS,
                            "a device '%s' is enrolled already", name);
    }
    (void)prosec__fmt(uri, sizeof(uri), "urn:prosec:device:%s", name);
    err = kmf_ca_issue(k->ca_pem, k->ca_key_pem, KMF_CERT_DEVICE, name, uri,
                       NULL, 0, &cert);
    if (err != PROSEC_OK) {
        return err;
    }
    /* its relay user key (TS 33.303 6.7): in the bundle, so that a device
     * never in coverage can still prove itself to a relay */
    err = prosec__random(pruk, sizeof(pruk));
    if (err == PROSEC_OK) {
        err = prosec__random(pruk_id, sizeof(pruk_id));
    }
    pruk_aad(aad, sizeof(aad), name);
    if (err == PROSEC_OK) {
        err = kmf_seal(k->st.master, aad, pruk, sizeof(pruk), sealed);
    }
    s = err == PROSEC_OK
            ? kmf_stmt(&k->st, "INSERT INTO devices (name, uri, cert_serial, "
                               "created, pruk_id, pruk, relay) VALUES (?, ?, "
                               "?, ?, ?, ?, ?)")
            : NULL;
    if (err == PROSEC_OK) {
        err = PROSEC_ERR_DB;
    }
    if (s != NULL) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, uri, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, cert.serial, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, prosec__unix_now());
        sqlite3_bind_int64(s, 5, pruk_id_int(pruk_id));
        sqlite3_bind_blob(s, 6, sealed, sizeof(sealed), SQLITE_STATIC);
        sqlite3_bind_int(s, 7, json_is_true(rv));
        err = kmf_step(&k->st, s, NULL);
    }
    prosec__hex(pruk_hex, pruk, sizeof(pruk));
    prosec__hex(id_hex, pruk_id, sizeof(pruk_id));
    prosec_wipe(pruk, sizeof(pruk));
    if (err == PROSEC_OK) {
        char detail[96];

        (void)prosec__fmt(detail, sizeof(detail), "%s%s", cert.serial,
                          json_is_true(rv) ? " relay" : "");
        err = kmf_audit(&k->st, who->name, "device-add", name, detail);
    }
    if (err == PROSEC_OK) {
        /* the bundle: everything the device needs to reach us */
        *resp = json_pack("{s:{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                          "s:s, s:s}}",
                          "bundle", "format", "prosec-enrolment-bundle",
                          "version", 1, "device", name, "device_uri", uri,
                          "kmf_uri", k->uri, "kmf_address", k->conf.address,
                          "ca_cert", k->ca_pem, "cert", cert.pem, "key",
                          cert.key_pem, "pruk", pruk_hex, "pruk_id", id_hex);
        err = *resp != NULL ? PROSEC_OK : PROSEC_ERR_NOMEM;
    }
    prosec_wipe(pruk_hex, sizeof(pruk_hex));
    prosec_wipe(sealed, sizeof(sealed));
    kmf_cert_free(&cert);
    return err;
}

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

prosec_err kmf_op_device_add(struct kmf *k, const struct kmf_caller *who,
                             json_t *req, json_t **resp)
{
    prosec_err err;

    TX(k, do_device_add(k, who, req, resp));
    return err;
}

static prosec_err do_device_revoke(struct kmf *k, const struct kmf_caller *who,
                                   json_t *req, json_t **resp)
{
    const char *name = json_string_value(json_object_get(req, "name"));
    sqlite3_stmt *s;
    int64_t dev;
    bool row = false;
    int groups = 0;
    char detail[64];
    prosec_err err;

    if (name == NULL) {
        return prosec__fail(PROSEC_ERR_ARG, "'name' is missing");
    }
    s = kmf_stmt(&k->st, "SELECT id, revoked IS NOT NULL FROM devices WHERE "
                         "name = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!row) {
        return prosec__fail(PROSEC_ERR_NOT_FOUND,
                            "no device '%.64s' is enrolled", name);
    }
    if (sqlite3_column_int(s, 1) != 0) {
        return prosec__fail(PROSEC_ERR_EXISTS,
                            "device '%s' is revoked "
                            "already",
                            name);
    }
    dev = sqlite3_column_int64(s, 0);
    /* out of every group first (its keys replaced for the others), then
     * no TLS, no pushes, no key for it any more */
    err = kmf_remove_everywhere(k, dev, &groups);
    if (err != PROSEC_OK) {
        return err;
    }
    s = kmf_stmt(&k->st, "UPDATE devices SET revoked = ?, pmk = NULL, "
                         "pmk_id = NULL, pruk = NULL, pruk_id = NULL "
                         "WHERE id = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, prosec__unix_now());
    sqlite3_bind_int64(s, 2, dev);
    err = kmf_step(&k->st, s, NULL);
    if (err == PROSEC_OK) {
        s = kmf_stmt(&k->st, "UPDATE deliveries SET state = 'cancelled' "
                             "WHERE device_ref = ? AND state = 'pending'");
        err = s != NULL ? PROSEC_OK : PROSEC_ERR_DB;
        if (err == PROSEC_OK) {
            sqlite3_bind_int64(s, 1, dev);
            err = kmf_step(&k->st, s, NULL);
        }
    }
    (void)prosec__fmt(detail, sizeof(detail), "removed from %d groups", groups);
    if (err == PROSEC_OK) {
        err = kmf_audit(&k->st, who->name, "device-revoke", name, detail);
    }
    if (err == PROSEC_OK) {
        *resp = json_pack("{s:s, s:s, s:i}", "result", "revoked", "name", name,
                          "groups", groups);
    }
    return err;
}

prosec_err kmf_op_device_revoke(struct kmf *k, const struct kmf_caller *who,
                                json_t *req, json_t **resp)
{
    prosec_err err;

    TX(k, do_device_revoke(k, who, req, resp));
    return err;
}

prosec_err kmf_op_device_list(struct kmf *k, const struct kmf_caller *who,
                              json_t *req, json_t **resp)
{
    sqlite3_stmt *s;
    json_t *out;
    bool row = true;
    prosec_err err = PROSEC_OK;

    (void)who;
    (void)req;
    s = kmf_stmt(&k->st,
                 "SELECT d.name, d.uri, d.created, d.revoked, d.mikey_addr, "
                 "d.last_seen, d.pmk_id IS NOT NULL, "
                 "(SELECT group_concat(g.name) FROM members m JOIN groups g "
                 " ON g.id = m.group_ref WHERE m.device_ref = d.id), "
                 "d.cert_serial, d.released, d.pruk_id, d.relay FROM devices d "
                 "ORDER BY d.name");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    out = json_array();
    while (err == PROSEC_OK) {
        const char *groups;
        char pruk_id[17] = "";
        json_t *d;

        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        groups = (const char *)sqlite3_column_text(s, 7);
        if (sqlite3_column_type(s, 10) != SQLITE_NULL) {
            (void)prosec__fmt(pruk_id, sizeof(pruk_id), "%016llx",
                              (unsigned long long)sqlite3_column_int64(s, 10));
        }
        d = json_pack(
            "{s:s, s:s, s:I, s:o, s:o, s:o, s:b, s:s, s:s, s:b}", "name",
            (const char *)sqlite3_column_text(s, 0), "uri",
            (const char *)sqlite3_column_text(s, 1), "created",
            (json_int_t)sqlite3_column_int64(s, 2), "revoked",
            sqlite3_column_type(s, 3) == SQLITE_NULL
                ? json_null()
                : json_integer(sqlite3_column_int64(s, 3)),
            "mikey_address",
            sqlite3_column_type(s, 4) == SQLITE_NULL
                ? json_null()
                : json_string((const char *)sqlite3_column_text(s, 4)),
            "last_seen",
            sqlite3_column_type(s, 5) == SQLITE_NULL
                ? json_null()
                : json_integer(sqlite3_column_int64(s, 5)),
            "has_pmk", sqlite3_column_int(s, 6) != 0, "groups",
            groups != NULL ? groups : "", "cert_serial",
            (const char *)sqlite3_column_text(s, 8), "released",
            sqlite3_column_int(s, 9) != 0);
        /* the PRUK ID is no secret: remote devices send it in clear */
        json_object_set_new(d, "pruk_id", json_string(pruk_id));
        json_object_set_new(d, "relay",
                            json_boolean(sqlite3_column_int(s, 11) != 0));
        json_array_append_new(out, d);
    }
    if (err != PROSEC_OK) {
        json_decref(out);
        return err;
    }
    *resp = out;
    return PROSEC_OK;
}

/* ---- the key request ------------------------------------------------------
 */

/* Brings (device, group) deliveries in line with what the device holds. */
static prosec_err reconcile(struct kmf *k, int64_t dev,
                            const struct kmf_group *g, const uint8_t *held,
                            size_t n_held)
{
    int64_t now = prosec__unix_now();
    bool holds[256] = {false};
    sqlite3_stmt *s;
    int64_t rows[64];
    int ids[64];
    bool revoked[64];
    size_t n = 0;
    bool row = true;
    prosec_err err = PROSEC_OK;

    for (size_t i = 0; i < n_held; i++) {
        holds[held[i]] = true;
    }
    /* the valid PGKs, and the last 32 revoked ones */
    s = kmf_stmt(&k->st, "SELECT id, pgk_id, state = 'revoked' FROM pgks "
                         "WHERE group_ref = ?1 AND ((state = 'valid' AND "
                         "expiry > ?2) OR id IN (SELECT id FROM pgks WHERE "
                         "group_ref = ?1 AND state = 'revoked' AND expiry > "
                         "?2 ORDER BY id DESC LIMIT 32)) LIMIT 64");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int64(s, 2, now);
    while (n < 64) {
        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        rows[n] = sqlite3_column_int64(s, 0);
        ids[n] = sqlite3_column_int(s, 1);
        revoked[n] = sqlite3_column_int(s, 2) != 0;
        n++;
    }
    for (size_t i = 0; err == PROSEC_OK && i < n; i++) {
        const char *sql;

        if (!revoked[i] && holds[ids[i]]) {
            /* it has it: nothing to push */
            sql = "UPDATE deliveries SET state = 'done', done = ?3 WHERE "
                  "pgk_ref = ?1 AND device_ref = ?2 AND kind = 'push' AND "
                  "state = 'pending'";
        } else if (!revoked[i]) {
            /* it lacks it (new, or lost): push again */
            sql = "INSERT INTO deliveries (pgk_ref, device_ref, kind, state, "
                  "created) VALUES (?1, ?2, 'push', 'pending', ?3) ON "
                  "CONFLICT DO UPDATE SET state = 'pending', attempts = 0";
        } else if (holds[ids[i]]) {
            /* it still holds a revoked one: tell it again */
            sql = "INSERT INTO deliveries (pgk_ref, device_ref, kind, state, "
                  "created) VALUES (?1, ?2, 'revoke', 'pending', ?3) ON "
                  "CONFLICT DO UPDATE SET state = 'pending', attempts = 0";
        } else {
            continue;
        }
        s = kmf_stmt(&k->st, sql);
        if (s == NULL) {
            return PROSEC_ERR_DB;
        }
        sqlite3_bind_int64(s, 1, rows[i]);
        sqlite3_bind_int64(s, 2, dev);
        sqlite3_bind_int64(s, 3, now);
        err = kmf_step(&k->st, s, NULL);
    }
    return err;
}

/* The member ID of dev in g, or 0 when it is not a member. */
static prosec_err member_id(struct kmf *k, int64_t dev,
                            const struct kmf_group *g, uint32_t *out)
{
    sqlite3_stmt *s = kmf_stmt(&k->st, "SELECT member_id FROM members WHERE "
                                       "group_ref = ? AND device_ref = ?");
    bool row = false;
    prosec_err err;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int64(s, 2, dev);
    err = kmf_step(&k->st, s, &row);
    *out = row ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
    return err;
}

static prosec_err unrelease(struct kmf *k, int64_t dev,
                            const struct kmf_group *g)
{
    sqlite3_stmt *s = kmf_stmt(&k->st, "UPDATE members SET released = 0 "
                                       "WHERE group_ref = ? AND device_ref = "
                                       "? AND released != 0");

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, g->row);
    sqlite3_bind_int64(s, 2, dev);
    return kmf_step(&k->st, s, NULL);
}

static prosec_err answer_group(struct kmf *k, int64_t dev, uint8_t algs,
                               const struct prosec_keyreq_group *q,
                               struct prosec_keyresp_group *a)
{
    struct kmf_group g;
    prosec_err err;

    memset(a, 0, sizeof(*a));
    if (q->name[0] != '\0') {
        (void)prosec__fmt(a->name, sizeof(a->name), "%s", q->name);
        err = kmf_group_find(k, q->name, &g);
    } else {
        char hex[8];

        a->has_group_id = true;
        a->group_id = q->group_id;
        (void)prosec__fmt(hex, sizeof(hex), "%06x", q->group_id);
        err = kmf_group_find(k, hex, &g);
    }
    if (err == PROSEC_ERR_NOT_FOUND) {
        a->error = PROSEC_KEYRESP_UNKNOWN_GROUP;
        return PROSEC_OK;
    }
    if (err == PROSEC_OK) {
        err = member_id(k, dev, &g, &a->member_id);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    a->has_group_id = true;
    a->group_id = g.group_id;
    (void)prosec__fmt(a->name, sizeof(a->name), "%s", g.name);
    if (a->member_id == 0) {
        a->error = PROSEC_KEYRESP_NOT_MEMBER;
        return PROSEC_OK;
    }
    /* it asks for the group: a release of it ends here */
    err = unrelease(k, dev, &g);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!(algs >> g.alg & 1)) {
        a->error = PROSEC_KEYRESP_NO_COMMON_ALG;
        a->member_id = 0;
        return PROSEC_OK;
    }
    a->alg = (uint8_t)g.alg;
    a->profile = (uint8_t)g.profile;
    a->bearer = (uint8_t)g.bearer;
    return reconcile(k, dev, &g, q->pgk_ids, q->n_pgk_ids);
}

/* The groups dev is a member of, as request entries by name. */
static prosec_err all_groups(struct kmf *k, int64_t dev,
                             struct prosec_key_request *r)
{
    sqlite3_stmt *s = kmf_stmt(&k->st, "SELECT g.name FROM members m JOIN "
                                       "groups g ON g.id = m.group_ref WHERE "
                                       "m.device_ref = ? ORDER BY g.name");
    bool row = true;
    prosec_err err = PROSEC_OK;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, dev);
    while (r->n_groups < PROSEC_KEYREQ_GROUPS_MAX) {
        struct prosec_keyreq_group *q = &r->groups[r->n_groups];

        err = kmf_step(&k->st, s, &row);
        if (err != PROSEC_OK || !row) {
            break;
        }
        memset(q, 0, sizeof(*q));
        (void)prosec__fmt(q->name, sizeof(q->name), "%s",
                          (const char *)sqlite3_column_text(s, 0));
        r->n_groups++;
    }
    return err;
}

/* The device's PRUK and PRUK ID go with every new PMK (TS 33.303 6.7.2:
 * the PRUK comes with the keys). */
static prosec_err pruk_for(struct kmf *k, const struct kmf_caller *who,
                           struct prosec_key_response *a)
{
    sqlite3_stmt *s = kmf_stmt(&k->st, "SELECT pruk_id, pruk FROM devices "
                                       "WHERE id = ? AND pruk IS NOT NULL");
    char aad[96];
    bool row = false;
    prosec_err err;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, who->device_row);
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK || !row) {
        return err;
    }
    pruk_aad(aad, sizeof(aad), who->name);
    err = kmf_unseal(k->st.master, aad, sqlite3_column_blob(s, 1),
                     (size_t)sqlite3_column_bytes(s, 1), a->pruk);
    if (err == PROSEC_OK) {
        uint64_t id = (uint64_t)sqlite3_column_int64(s, 0);

        for (int i = 7; i >= 0; i--) {
            a->pruk_id[i] = (uint8_t)id;
            id >>= 8;
        }
        a->has_pruk = true;
    }
    return err;
}

/* A fresh PMK when the device has none, another, or an old one. */
static prosec_err pmk_for(struct kmf *k, const struct kmf_caller *who,
                          const struct prosec_key_request *r,
                          struct prosec_key_response *a)
{
    sqlite3_stmt *s = kmf_stmt(&k->st, "SELECT pmk_id, pmk_created FROM "
                                       "devices WHERE id = ? AND pmk IS NOT "
                                       "NULL");
    uint8_t sealed[PROSEC_KEYREQ_KEY_LEN + KMF_SEAL_OVERHEAD];
    int64_t now = prosec__unix_now();
    uint32_t old = 0;
    char aad[128];
    bool row = false;
    prosec_err err;

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, who->device_row);
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK) {
        return err;
    }
    if (row) {
        old = (uint32_t)sqlite3_column_int64(s, 0);
        if (r->has_pmk_id && r->pmk_id == old &&
            sqlite3_column_int64(s, 1) + k->conf.pmk_lifetime > now) {
            return PROSEC_OK; /* it holds the current one */
        }
    }
    do {
        err = prosec__random(&a->pmk_id, sizeof(a->pmk_id));
    } while (err == PROSEC_OK && (a->pmk_id == 0 || a->pmk_id == old));
    if (err == PROSEC_OK) {
        err = prosec__random(a->pmk, sizeof(a->pmk));
    }
    (void)prosec__fmt(aad, sizeof(aad), "pmk %s %u", who->name, a->pmk_id);
    if (err == PROSEC_OK) {
        err = kmf_seal(k->st.master, aad, a->pmk, sizeof(a->pmk), sealed);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    s = kmf_stmt(&k->st, "UPDATE devices SET pmk = ?, pmk_id = ?, "
                         "pmk_created = ? WHERE id = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_blob(s, 1, sealed, sizeof(sealed), SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, a->pmk_id);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, who->device_row);
    err = kmf_step(&k->st, s, NULL);
    if (err == PROSEC_OK) {
        a->has_pmk = true;
        (void)prosec__fmt(aad, sizeof(aad), "pmk_id=%08x", a->pmk_id);
        err = kmf_audit(&k->st, who->name, "pmk-issue", who->name, aad);
    }
    if (err == PROSEC_OK) {
        err = pruk_for(k, who, a);
    }
    return err;
}

static prosec_err do_key_request(struct kmf *k, const struct kmf_caller *who,
                                 struct prosec_key_request *r,
                                 struct prosec_key_response *a)
{
    sqlite3_stmt *s;
    char detail[160];
    prosec_err err = PROSEC_OK;

    a->transaction_id = r->transaction_id;
    if (r->n_groups == 0) {
        /* no group named: every group the device is a member of */
        err = all_groups(k, who->device_row, r);
    }
    for (size_t i = 0; err == PROSEC_OK && i < r->n_groups; i++) {
        err = answer_group(k, who->device_row, r->algorithms, &r->groups[i],
                           &a->groups[i]);
        a->n_groups = i + 1;
    }
    if (err == PROSEC_OK) {
        err = pmk_for(k, who, r, a);
    }
    s = kmf_stmt(&k->st, "UPDATE devices SET mikey_addr = ?, released = 0, "
                         "algs = ?, last_seen = ? WHERE id = ?");
    if (err == PROSEC_OK && s == NULL) {
        err = PROSEC_ERR_DB;
    }
    if (err == PROSEC_OK) {
        sqlite3_bind_text(s, 1, r->mikey_address, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, r->algorithms);
        sqlite3_bind_int64(s, 3, prosec__unix_now());
        sqlite3_bind_int64(s, 4, who->device_row);
        err = kmf_step(&k->st, s, NULL);
    }
    (void)prosec__fmt(detail, sizeof(detail), "groups=%zu mikey=%s%s",
                      r->n_groups, r->mikey_address,
                      a->has_pmk ? " new-pmk" : "");
    if (err == PROSEC_OK) {
        err = kmf_audit(&k->st, who->name, "key-request", who->name, detail);
    }
    return err;
}

/* ---- pacing ------------------------------------------------------------ */

enum { PACE_BURST = 10, RELAY_KD_FACTOR = 10 };

static int cmp_pace(const void *a, const void *b)
{
    int64_t x = ((const struct kmf_pace *)a)->device_row;
    int64_t y = ((const struct kmf_pace *)b)->device_row;

    return (x > y) - (x < y);
}

/* The pace of device row dev (its negative: that relay's KD requests),
 * made when new; NULL when out of memory. */
static struct kmf_pace *pace_of(struct kmf *k, int64_t dev)
{
    struct kmf_paces *p = &k->paces;
    struct kmf_pace key, *e;
    size_t i = 0;

    key.device_row = dev;
    e = p->n > 0 ? bsearch(&key, p->v, p->n, sizeof(key), cmp_pace) : NULL;
    if (e != NULL) {
        return e;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap > 0 ? 2 * p->cap : 64;
        struct kmf_pace *v = realloc(p->v, cap * sizeof(*v));

        if (v == NULL) {
            return NULL;
        }
        p->v = v;
        p->cap = cap;
    }
    while (i < p->n && p->v[i].device_row < dev) {
        i++;
    }
    memmove(&p->v[i + 1], &p->v[i], (p->n - i) * sizeof(p->v[0]));
    p->n++;
    memset(&p->v[i], 0, sizeof(p->v[i]));
    p->v[i].device_row = dev;
    p->v[i].rl.interval_ms = 60000 / k->conf.device_requests_per_minute;
    p->v[i].rl.burst = PACE_BURST;
    if (dev < 0) {
        /* a relay asks for every remote device it serves: a budget of
         * its own, RELAY_KD_FACTOR times a device's */
        p->v[i].rl.interval_ms /= RELAY_KD_FACTOR;
        p->v[i].rl.burst *= RELAY_KD_FACTOR;
    }
    return &p->v[i];
}

/*
 * Every key request is a durable transaction with two audit rows, and
 * mints a PMK when the device names none or another: unpaced, one device
 * could fill the disk and keep the store busy.  A token bucket per
 * device: PACE_BURST at once, then device_requests_per_minute.  A
 * relay's KD requests (kd true) have a bucket of their own, larger.
 */
static prosec_err paced(struct kmf *k, const struct kmf_caller *who, bool kd)
{
    struct kmf_pace *e;

    if (k->conf.device_requests_per_minute == 0) {
        return PROSEC_OK;
    }
    e = pace_of(k, kd ? -who->device_row : who->device_row);
    if (e == NULL || prosec__ratelimit(&e->rl, prosec__mono_ms())) {
        return PROSEC_OK;
    }
    return prosec__fail(PROSEC_ERR_BUSY,
                        "device '%s': more than %lld requests a minute; "
                        "try again later",
                        who->name,
                        (long long)k->conf.device_requests_per_minute);
}

/* The IPv4 address of sa (also when IPv4-mapped); false for IPv6. */
static bool ipv4_of(const struct sockaddr_storage *sa, uint8_t out[4])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};

    if (sa->ss_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

        if (memcmp(a, mapped, sizeof(mapped)) == 0) {
            memcpy(out, a + 12, 4);
            return true;
        }
    }
    return false;
}

static bool is_loopback(const struct sockaddr_storage *sa)
{
    uint8_t v4[4];

    if (ipv4_of(sa, v4)) {
        return v4[0] == 127;
    }
    return sa->ss_family == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/*
 * Where a device may have its pushes sent: not a multicast, broadcast or
 * unspecified address (this host, to the kernel), and the loopback only
 * when the device itself connects from it, so that a device cannot aim
 * the KMF's pushes at a group of hosts or at services of the KMF's host.
 */
static prosec_err mikey_addr_ok(const struct kmf_caller *who, const char *s)
{
    struct sockaddr_storage ss;
    unsigned len = 0;
    uint8_t v4[4];
    bool bad;

    if (!prosec__parse_addr(s, false, &ss, &len)) {
        return prosec__fail(PROSEC_ERR_ARG, "mikey_address '%.64s'", s);
    }
    if (ipv4_of(&ss, v4)) {
        bad = v4[0] == 0 || v4[0] >= 224; /* this net, class D and E */
    } else {
        const struct in6_addr *a =
            &((const struct sockaddr_in6 *)&ss)->sin6_addr;

        bad = IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_MULTICAST(a);
    }
    if (bad) {
        return prosec__fail(PROSEC_ERR_DENIED,
                            "mikey_address '%.64s' is not a unicast address",
                            s);
    }
    if (is_loopback(&ss) && !is_loopback(&who->peer)) {
        return prosec__fail(PROSEC_ERR_DENIED,
                            "mikey_address '%.64s' is on the loopback, and "
                            "the device is not",
                            s);
    }
    return PROSEC_OK;
}

prosec_err kmf_key_request(struct kmf *k, const struct kmf_caller *who,
                           const char *body, size_t len, char **resp_text)
{
    struct prosec_key_request *r = calloc(1, sizeof(*r));
    struct prosec_key_response *a = calloc(1, sizeof(*a));
    prosec_err err = PROSEC_ERR_NOMEM;

    if (r == NULL || a == NULL) {
        goto out;
    }
    if (who->admin) {
        err = prosec__fail(PROSEC_ERR_DENIED,
                           "the admin credential is not a device's");
        goto out;
    }
    err = paced(k, who, false);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec_key_request_parse(body, len, r);
    if (err != PROSEC_OK) {
        err = prosec__fail(err, "key request: %s", prosec_strerror(err));
        goto out;
    }
    err = mikey_addr_ok(who, r->mikey_address);
    if (err != PROSEC_OK) {
        goto out;
    }
    TX(k, do_key_request(k, who, r, a));
    if (err == PROSEC_OK) {
        err = prosec_key_response_encode(a, resp_text);
    }

out:
    if (a != NULL) {
        prosec_key_response_wipe(a);
    }
    free(a);
    free(r);
    return err;
}

static prosec_err do_key_release(struct kmf *k, const struct kmf_caller *who,
                                 const struct prosec_key_release *r)
{
    sqlite3_stmt *s;
    char detail[64];
    prosec_err err = PROSEC_OK;

    if (r->all) {
        s = kmf_stmt(&k->st, "UPDATE devices SET released = 1 WHERE id = ?");
        err = s != NULL ? PROSEC_OK : PROSEC_ERR_DB;
        if (err == PROSEC_OK) {
            sqlite3_bind_int64(s, 1, who->device_row);
            err = kmf_step(&k->st, s, NULL);
        }
    }
    /* each group named stays released until a key request asks for it
     * (push.c sends nothing of it meanwhile); one the device is not a
     * member of changes nothing */
    for (size_t i = 0; err == PROSEC_OK && !r->all && i < r->n_groups; i++) {
        s = kmf_stmt(&k->st, "UPDATE members SET released = 1 WHERE "
                             "device_ref = ? AND group_ref = (SELECT id FROM "
                             "groups WHERE group_id = ?)");
        if (s == NULL) {
            return PROSEC_ERR_DB;
        }
        sqlite3_bind_int64(s, 1, who->device_row);
        sqlite3_bind_int64(s, 2, (int64_t)r->group_ids[i]);
        err = kmf_step(&k->st, s, NULL);
    }
    /* pending deliveries of the groups named (or all) end here */
    for (size_t i = 0; err == PROSEC_OK && i < (r->all ? 1 : r->n_groups);
         i++) {
        s = kmf_stmt(&k->st, "UPDATE deliveries SET state = 'cancelled' "
                             "WHERE device_ref = ?1 AND state = 'pending' "
                             "AND (?2 < 0 OR pgk_ref IN (SELECT p.id FROM "
                             "pgks p JOIN groups g ON g.id = p.group_ref "
                             "WHERE g.group_id = ?2))");
        if (s == NULL) {
            return PROSEC_ERR_DB;
        }
        sqlite3_bind_int64(s, 1, who->device_row);
        sqlite3_bind_int64(s, 2, r->all ? -1 : (int64_t)r->group_ids[i]);
        err = kmf_step(&k->st, s, NULL);
    }
    (void)prosec__fmt(detail, sizeof(detail), "%s",
                      r->all ? "all groups" : "some groups");
    if (err == PROSEC_OK) {
        err = kmf_audit(&k->st, who->name, "key-release", who->name, detail);
    }
    return err;
}

prosec_err kmf_key_release(struct kmf *k, const struct kmf_caller *who,
                           const char *body, size_t len, char **resp_text)
{
    struct prosec_key_release r;
    prosec_err err;

    if (who->admin) {
        return prosec__fail(PROSEC_ERR_DENIED,
                            "the admin credential is not a device's");
    }
    err = paced(k, who, false);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec_key_release_parse(body, len, &r);
    if (err != PROSEC_OK) {
        return prosec__fail(err, "key release: %s", prosec_strerror(err));
    }
    TX(k, do_key_release(k, who, &r));
    if (err == PROSEC_OK) {
        char buf[64];

        (void)prosec__fmt(buf, sizeof(buf),
                          "{\"result\":\"released\",\"transaction_id\":%u}",
                          r.transaction_id);
        *resp_text = strdup(buf);
        err = *resp_text != NULL ? PROSEC_OK : PROSEC_ERR_NOMEM;
    }
    return err;
}

prosec_err kmf_op_status(struct kmf *k, const struct kmf_caller *who,
                         json_t *req, json_t **resp)
{
    sqlite3_stmt *s;
    bool row = false;
    prosec_err err;

    (void)who;
    (void)req;
    s = kmf_stmt(&k->st,
                 "SELECT (SELECT count(*) FROM devices WHERE revoked IS "
                 "NULL), (SELECT count(*) FROM groups), (SELECT count(*) "
                 "FROM deliveries WHERE state = 'pending')");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK || !row) {
        return err != PROSEC_OK ? err : PROSEC_ERR_DB;
    }
    *resp = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}, "
        "s:{s:I, s:I, s:I, s:I}}",
        "name", k->conf.name, "uri", k->uri, "version", prosec_version(),
        "devices", (json_int_t)sqlite3_column_int64(s, 0), "groups",
        (json_int_t)sqlite3_column_int64(s, 1), "pending_deliveries",
        (json_int_t)sqlite3_column_int64(s, 2), "push", "sent",
        (json_int_t)k->push.sent, "answered", (json_int_t)k->push.answered,
        "in_flight", (json_int_t)k->push.n, "bytes_out",
        (json_int_t)k->push.bytes_out, "bytes_in", (json_int_t)k->push.bytes_in,
        "tls", "full_handshakes", (json_int_t)k->tls_full, "resumed",
        (json_int_t)k->tls_resumed, "connections", (json_int_t)k->conns.n,
        "connections_shed", (json_int_t)k->conns.shed_total);
    return *resp != NULL ? PROSEC_OK : PROSEC_ERR_NOMEM;
}

/* ---- a relay asks for a remote device's KD (TS 33.303 6.7.3) ------------ */

/* *result gets the answer; the return value is the transaction's, so a
 * refusal is audited (committed) too. */
static prosec_err do_relay_kd(struct kmf *k, const struct kmf_caller *who,
                              const uint8_t pruk_id[8], const uint8_t fresh[16],
                              uint8_t kd[32], char *name, size_t cap, char *uri,
                              size_t ucap, prosec_err *result)
{
    sqlite3_stmt *s;
    uint8_t pruk[32];
    char aad[96], detail[160];
    bool row = false;
    prosec_err err;

    s = kmf_stmt(&k->st, "SELECT relay FROM devices WHERE id = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, who->device_row);
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!row || sqlite3_column_int(s, 0) == 0) {
        err = prosec__fail(PROSEC_ERR_DENIED,
                           "device '%s' is not allowed to relay (prosec kmf "
                           "device add NAME --relay)",
                           who->name);
        goto audit;
    }
    s = kmf_stmt(&k->st, "SELECT name, uri, pruk, revoked IS NOT NULL FROM "
                         "devices WHERE pruk_id = ?");
    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, pruk_id_int(pruk_id));
    err = kmf_step(&k->st, s, &row);
    if (err != PROSEC_OK) {
        return err;
    }
    if (!row) {
        err = prosec__fail(PROSEC_ERR_NOT_FOUND, "no device has this PRUK ID");
        goto audit;
    }
    (void)prosec__fmt(name, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    (void)prosec__fmt(uri, ucap, "%s", (const char *)sqlite3_column_text(s, 1));
    if (sqlite3_column_int(s, 3) != 0 ||
        sqlite3_column_type(s, 2) == SQLITE_NULL) {
        err = prosec__fail(PROSEC_ERR_DENIED, "device '%s' is revoked", name);
        goto audit;
    }
    pruk_aad(aad, sizeof(aad), name);
    err = kmf_unseal(k->st.master, aad, sqlite3_column_blob(s, 2),
                     (size_t)sqlite3_column_bytes(s, 2), pruk);
    if (err == PROSEC_OK) {
        err = prosec_kd_derive(kd, pruk, fresh);
    }
    prosec_wipe(pruk, sizeof(pruk));

audit:
    *result = err;
    if (err == PROSEC_ERR_DB) {
        return err;
    }
    (void)prosec__fmt(detail, sizeof(detail), "pruk_id=%016llx %s",
                      (unsigned long long)pruk_id_int(pruk_id),
                      err == PROSEC_OK ? "granted" : prosec_err_name(err));
    {
        char keep[PROSEC__LOG_MAX];
        prosec_err a;

        (void)prosec__fmt(keep, sizeof(keep), "%s", prosec_error_detail());
        /* the target: the remote device the relay asked for */
        a = kmf_audit(&k->st, who->name, "relay-kd", name[0] ? name : "?",
                      detail);
        if (a == PROSEC_OK && err != PROSEC_OK) {
            (void)prosec__fail(err, "%s", keep);
        }
        return a;
    }
}

prosec_err kmf_relay_kd(struct kmf *k, const struct kmf_caller *who,
                        const char *body, size_t len, char **resp_text)
{
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    const char *msg = json_string_value(json_object_get(j, "message"));
    const char *id_hex = json_string_value(json_object_get(j, "pruk_id"));
    const char *fr_hex = json_string_value(json_object_get(j, "kd_freshness"));
    uint8_t id[8], fresh[16], kd[32];
    char name[KMF_NAME_MAX + 1] = "", uri[KMF_URI_MAX + 1] = "";
    char kd_hex[65];
    json_t *out;
    prosec_err err;

    if (who->admin) {
        json_decref(j);
        return prosec__fail(PROSEC_ERR_DENIED,
                            "the admin credential is not a relay's");
    }
    if (!json_is_object(j) || msg == NULL || strcmp(msg, "KD_REQUEST") != 0 ||
        json_integer_value(json_object_get(j, "version")) != 1 ||
        json_object_size(j) != 4 || !prosec__unhex(id, 8, id_hex) ||
        !prosec__unhex(fresh, 16, fr_hex)) {
        json_decref(j);
        return prosec__fail(PROSEC_ERR_ARG,
                            "a KD request is {message: KD_REQUEST, version: "
                            "1, pruk_id: 16 hex digits, kd_freshness: 32}");
    }
    json_decref(j);
    err = paced(k, who, true);
    if (err != PROSEC_OK) {
        return err;
    }
    {
        prosec_err result = PROSEC_ERR_INTERNAL;

        TX(k, do_relay_kd(k, who, id, fresh, kd, name, sizeof(name), uri,
                          sizeof(uri), &result));
        if (err == PROSEC_OK) {
            err = result;
        }
    }
    if (err != PROSEC_OK) {
        prosec_wipe(kd, sizeof(kd));
        return err;
    }
    prosec__hex(kd_hex, kd, sizeof(kd));
    prosec_wipe(kd, sizeof(kd));
    out = json_pack("{s:s, s:i, s:s, s:s, s:s}", "message", "KD_RESPONSE",
                    "version", 1, "kd", kd_hex, "device", name, "device_uri",
                    uri);
    *resp_text = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    prosec_wipe(kd_hex, sizeof(kd_hex));
    return *resp_text != NULL ? PROSEC_OK : PROSEC_ERR_NOMEM;
}
