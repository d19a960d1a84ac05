/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmf.db: SQLite in WAL mode with foreign keys on, its schema versioned
 * by PRAGMA user_version and brought up to date by the migrations below,
 * each one transaction.  Keys (PGKs, PMKs) are stored sealed under the
 * master key (seal.c), so the database alone reveals none.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kmf.h"

/* Migration i takes the schema from version i to i + 1. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  uri TEXT NOT NULL UNIQUE,"
    "  cert_serial TEXT NOT NULL UNIQUE,"
    "  created INTEGER NOT NULL,"
    "  revoked INTEGER," /* time, or NULL */
    "  mikey_addr TEXT," /* where pushes go, from its request */
    "  released INTEGER NOT NULL DEFAULT 0," /* asked us to stop pushing */
    "  algs INTEGER NOT NULL DEFAULT 0,"     /* bit i: supports EEA i */
    "  pmk_id INTEGER,"
    "  pmk BLOB," /* sealed */
    "  pmk_created INTEGER,"
    "  pruk_id INTEGER,"
    "  pruk BLOB," /* sealed */
    "  last_seen INTEGER);"
    "CREATE TABLE groups ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  group_id INTEGER NOT NULL UNIQUE"
    "    CHECK (group_id BETWEEN 0 AND 16777215),"
    "  alg INTEGER NOT NULL CHECK (alg BETWEEN 0 AND 3),"
    "  profile INTEGER NOT NULL CHECK (profile IN (0, 1)),"
    "  bearer INTEGER NOT NULL DEFAULT 0 CHECK (bearer BETWEEN 0 AND 31),"
    "  lifetime INTEGER NOT NULL CHECK (lifetime > 0),"
    "  ahead INTEGER NOT NULL CHECK (ahead BETWEEN 0 AND 8),"
    "  next_pgk_id INTEGER NOT NULL DEFAULT 1,"
    "  next_member_id INTEGER NOT NULL DEFAULT 1,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE members ("
    "  group_ref INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
    "  device_ref INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  member_id INTEGER NOT NULL CHECK (member_id BETWEEN 1 AND 16777215),"
    "  added INTEGER NOT NULL,"
    "  PRIMARY KEY (group_ref, device_ref),"
    "  UNIQUE (group_ref, member_id));"
    /* state: valid (pending or active by its times), revoked, expired;
     * the key is wiped (NULL) once the PGK is no longer valid */
    "CREATE TABLE pgks ("
    "  id INTEGER PRIMARY KEY,"
    "  group_ref INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
    "  pgk_id INTEGER NOT NULL CHECK (pgk_id BETWEEN 0 AND 255),"
    "  key BLOB,"
    "  activation INTEGER NOT NULL,"
    "  expiry INTEGER NOT NULL CHECK (expiry > activation),"
    "  state TEXT NOT NULL CHECK (state IN ('valid', 'revoked', 'expired')),"
    "  created INTEGER NOT NULL,"
    "  ended INTEGER);"
    "CREATE INDEX pgks_by_group ON pgks (group_ref, state);"
    /* a push of a PGK to a member, or a revocation; done once the
     * member's verification message came back */
    "CREATE TABLE deliveries ("
    "  pgk_ref INTEGER NOT NULL REFERENCES pgks(id) ON DELETE CASCADE,"
    "  device_ref INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('push', 'revoke')),"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'cancelled')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  done INTEGER,"
    "  PRIMARY KEY (pgk_ref, device_ref, kind));"
    "CREATE INDEX deliveries_pending ON deliveries (state) "
    "  WHERE state = 'pending';"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '');",
    /* 1 -> 2: devices allowed to act as UE-to-network relays (they may
     * ask for the KD of a remote device) */
    "ALTER TABLE devices ADD COLUMN relay INTEGER NOT NULL DEFAULT 0;"
    "CREATE UNIQUE INDEX devices_by_pruk ON devices (pruk_id) "
    "  WHERE pruk_id IS NOT NULL;",
    /* 2 -> 3: a member that released the group (a key release naming
     * it): nothing of the group is pushed to it until it asks again */
    "ALTER TABLE members ADD COLUMN released INTEGER NOT NULL DEFAULT 0;",
};

enum { N_MIGRATIONS = sizeof(migrations) / sizeof(migrations[0]) };
_Static_assert((int)N_MIGRATIONS == (int)KMF_SCHEMA_VERSION,
               "one migration a version");

prosec_err kmf_exec(struct kmf_store *st, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        prosec_err e = prosec__fail(PROSEC_ERR_DB, "database: %s",
                                    msg != NULL ? msg : "error");

        prosec__err("database: %s", msg != NULL ? msg : "error");
        sqlite3_free(msg);
        return e;
    }
    return PROSEC_OK;
}

static prosec_err schema_version(struct kmf_store *st, int *out)
{
    sqlite3_stmt *s = NULL;
    prosec_err err = PROSEC_ERR_DB;

    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        err = PROSEC_OK;
    }
    sqlite3_finalize(s);
    return err;
}

static prosec_err migrate(struct kmf_store *st)
{
    char sql[64];
    int v = 0;
    prosec_err err;

    err = schema_version(st, &v);
    if (err != PROSEC_OK) {
        return prosec__fail(err, "database: cannot read the schema version");
    }
    if (v > KMF_SCHEMA_VERSION) {
        return prosec__fail(PROSEC_ERR_DB,
                            "database schema version %d is newer than this "
                            "prosec (%d): upgrade prosec",
                            v, KMF_SCHEMA_VERSION);
    }
    for (; v < KMF_SCHEMA_VERSION; v++) {
        err = kmf_begin(st);
        if (err == PROSEC_OK) {
            err = kmf_exec(st, migrations[v]);
        }
        if (err == PROSEC_OK) {
            (void)prosec__fmt(sql, sizeof(sql), "PRAGMA user_version = %d",
                              v + 1);
            err = kmf_exec(st, sql);
        }
        if (err == PROSEC_OK) {
            err = kmf_commit(st);
        }
        if (err != PROSEC_OK) {
            kmf_rollback(st);
            return err;
        }
        prosec__info("database: schema migrated to version %d", v + 1);
    }
    return PROSEC_OK;
}

prosec_err kmf_store_open(struct kmf_store *st, const char *path,
                          const uint8_t mk[KMF_MASTER_LEN])
{
    prosec_err err;

    memset(st, 0, sizeof(*st));
    memcpy(st->master, mk, KMF_MASTER_LEN);
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err = prosec__fail(PROSEC_ERR_DB, "cannot open %s: %s", path,
                           st->db != NULL ? sqlite3_errmsg(st->db)
                                          : "out of memory");
        kmf_store_close(st);
        return err;
    }
    sqlite3_busy_timeout(st->db, 5000);
    /* the folder is 0700 already; the file is kept private too (SQLite
     * gives its -wal and -shm files the database's mode) */
    if (chmod(path, 0600) != 0) {
        err = prosec__fail(PROSEC_ERR_IO, "cannot chmod %s", path);
        kmf_store_close(st);
        return err;
    }
    /* synchronous=FULL: a committed change survives a power cut, not
     * only a crash of the daemon */
    err = kmf_exec(st, "PRAGMA journal_mode = WAL;"
                       "PRAGMA synchronous = FULL;"
                       "PRAGMA foreign_keys = ON;"
                       "PRAGMA secure_delete = ON;");
    if (err == PROSEC_OK) {
        err = migrate(st);
    }
    if (err != PROSEC_OK) {
        kmf_store_close(st);
    }
    return err;
}

void kmf_store_close(struct kmf_store *st)
{
    for (size_t i = 0; i < sizeof(st->cache) / sizeof(st->cache[0]); i++) {
        sqlite3_finalize(st->cache[i]);
    }
    if (st->db != NULL) {
        sqlite3_close(st->db);
    }
    prosec_wipe(st, sizeof(*st));
}

sqlite3_stmt *kmf_stmt(struct kmf_store *st, const char *sql)
{
    size_t n = sizeof(st->cache) / sizeof(st->cache[0]), i;

    for (i = 0; i < n && st->cache_sql[i] != NULL; i++) {
        if (st->cache_sql[i] == sql) {
            sqlite3_reset(st->cache[i]);
            sqlite3_clear_bindings(st->cache[i]);
            return st->cache[i];
        }
    }
    if (i == n) {
        /* full: the last slot is shared by the rarest statements */
        i = n - 1;
        sqlite3_finalize(st->cache[i]);
        st->cache[i] = NULL;
        st->cache_sql[i] = NULL;
    }
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &st->cache[i], NULL) != SQLITE_OK) {
        prosec__err("database: %s in: %.80s", sqlite3_errmsg(st->db), sql);
        st->cache[i] = NULL;
        return NULL;
    }
    st->cache_sql[i] = sql;
    return st->cache[i];
}

prosec_err kmf_step(struct kmf_store *st, sqlite3_stmt *s, bool *row)
{
    int rc;

    if (s == NULL) {
        return prosec__fail(PROSEC_ERR_DB, "database: bad statement");
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        if (row != NULL) {
            *row = rc == SQLITE_ROW;
        }
        return PROSEC_OK;
    }
    prosec__err("database: %s", sqlite3_errmsg(st->db));
    return prosec__fail(PROSEC_ERR_DB, "database: %s", sqlite3_errmsg(st->db));
}

prosec_err kmf_begin(struct kmf_store *st)
{
    return kmf_exec(st, "BEGIN IMMEDIATE");
}

prosec_err kmf_commit(struct kmf_store *st)
{
    return kmf_exec(st, "COMMIT");
}

void kmf_rollback(struct kmf_store *st)
{
    if (!sqlite3_get_autocommit(st->db) &&
        kmf_exec(st, "ROLLBACK") != PROSEC_OK) {
        prosec__err("database: rollback failed");
    }
}

prosec_err kmf_audit(struct kmf_store *st, const char *actor,
                     const char *action, const char *target, const char *detail)
{
    sqlite3_stmt *s = kmf_stmt(st, "INSERT INTO audit (at, actor, action, "
                                   "target, detail) VALUES (?, ?, ?, ?, ?)");

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_int64(s, 1, prosec__unix_now());
    sqlite3_bind_text(s, 2, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, detail != NULL ? detail : "", -1, SQLITE_STATIC);
    prosec__info("audit: %s %s %s%s%s", actor, action, target,
                 detail != NULL && detail[0] != '\0' ? " " : "",
                 detail != NULL ? detail : "");
    return kmf_step(st, s, NULL);
}

char *kmf_meta_get(struct kmf_store *st, const char *key)
{
    sqlite3_stmt *s = kmf_stmt(st, "SELECT value FROM meta WHERE key = ?");
    bool row = false;

    if (s == NULL) {
        return NULL;
    }
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (kmf_step(st, s, &row) != PROSEC_OK || !row) {
        return NULL;
    }
    return strdup((const char *)sqlite3_column_text(s, 0));
}

prosec_err kmf_meta_set(struct kmf_store *st, const char *key, const char *val)
{
    sqlite3_stmt *s = kmf_stmt(st, "INSERT OR REPLACE INTO meta (key, value) "
                                   "VALUES (?, ?)");

    if (s == NULL) {
        return PROSEC_ERR_DB;
    }
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, val, -1, SQLITE_STATIC);
    return kmf_step(st, s, NULL);
}
