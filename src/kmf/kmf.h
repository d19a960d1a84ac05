/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Key Management Function's parts (not public API): configuration,
 * the SQLite store with keys sealed under the master key, the enrolment
 * CA, the group and device logic, the MIKEY push engine and the HTTPS
 * API.  One thread runs everything from one libevent loop; the store is
 * used only from it.
 */
#ifndef PROSEC_KMF_INTERNAL_H
#define PROSEC_KMF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../core/core.h"
#include "prosec/kmf.h"

enum {
    KMF_MASTER_LEN = 32,
    KMF_SEAL_OVERHEAD = 12 + 16, /* AES-256-GCM nonce and tag */
    KMF_NAME_MAX = 64,           /* device and group names */
    KMF_URI_MAX = 255,
    KMF_ADDR_MAX = 64,
    KMF_SCHEMA_VERSION = 3
};

/* ---- configuration (kmf.conf) ------------------------------------------ */

struct kmf_conf {
    char name[KMF_NAME_MAX + 1];          /* the KMF's name, in its URI */
    char listen[KMF_ADDR_MAX];            /* HTTPS API, ADDR:PORT */
    char address[KMF_ADDR_MAX];           /* what devices connect to */
    char mikey_bind[KMF_ADDR_MAX];        /* UDP source of MIKEY pushes */
    int64_t pmk_lifetime;                 /* seconds before a PMK is renewed */
    int64_t retry_first_ms, retry_max_ms; /* push back-off */
    int64_t handshake_timeout_ms;         /* a TLS handshake must end in this */
    int64_t max_connections;              /* HTTPS connections open at once */
    int64_t device_requests_per_minute; /* per device, after a burst; 0: any */
    enum prosec_log_level log_level;
};

/* Defaults of a new KMF. */
void kmf_conf_default(struct kmf_conf *c);
/*
 * Parses kmf.conf: `key = value` lines, `#` comments, blank lines.  An
 * unknown key, a bad value or a line over 512 octets is an error whose
 * detail names the line.  Errors: PROSEC_ERR_CONFIG.
 */
PROSEC_WARN_UNUSED prosec_err kmf_conf_parse(struct kmf_conf *c,
                                             const char *text, size_t len);
/* The text of c, as kmf_conf_parse reads it; a malloc'd string. */
char *kmf_conf_format(const struct kmf_conf *c);

/* ---- sealing at rest (master.key) -------------------------------------- */

/*
 * AES-256-GCM under the master key, with aad naming what the value is
 * (e.g. "pgk 5 17"), so a sealed value moved to another row does not
 * open.  out holds len + KMF_SEAL_OVERHEAD octets.
 */
PROSEC_WARN_UNUSED prosec_err kmf_seal(const uint8_t mk[KMF_MASTER_LEN],
                                       const char *aad, const uint8_t *in,
                                       size_t len, uint8_t *out);
PROSEC_WARN_UNUSED prosec_err kmf_unseal(const uint8_t mk[KMF_MASTER_LEN],
                                         const char *aad, const uint8_t *in,
                                         size_t len, uint8_t *out);

/* ---- the enrolment CA -------------------------------------------------- */

struct kmf_cert {
    char *pem;     /* certificate */
    char *key_pem; /* private key (secret; wiped when freed) */
    char serial[41];
};
void kmf_cert_free(struct kmf_cert *c);

enum kmf_cert_kind { KMF_CERT_SERVER, KMF_CERT_DEVICE, KMF_CERT_ADMIN };

/* A new self-signed CA (Ed25519). */
PROSEC_WARN_UNUSED prosec_err kmf_ca_create(const char *name,
                                            struct kmf_cert *out);
/*
 * A certificate for cn signed by the CA: a server one with the hosts (DNS
 * names or IP addresses) as subject alternative names, a device one with
 * uri as its URI name, or the admin one.
 */
PROSEC_WARN_UNUSED prosec_err
kmf_ca_issue(const char *ca_pem, const char *ca_key_pem, enum kmf_cert_kind k,
             const char *cn, const char *uri, const char *const *hosts,
             size_t n_hosts, struct kmf_cert *out);

/* ---- the store ----------------------------------------------------------- */

struct kmf_store {
    sqlite3 *db;
    uint8_t master[KMF_MASTER_LEN];
    sqlite3_stmt *cache[64];
    const char *cache_sql[64];
};

/* Opens (or creates) kmf.db, WAL, foreign keys on, migrated to the
 * current schema.  Errors: PROSEC_ERR_DB (detail set). */
PROSEC_WARN_UNUSED prosec_err kmf_store_open(struct kmf_store *st,
                                             const char *path,
                                             const uint8_t mk[KMF_MASTER_LEN]);
void kmf_store_close(struct kmf_store *st);

/* A prepared statement for sql (a string literal), reset and cleared;
 * NULL on error (logged). */
sqlite3_stmt *kmf_stmt(struct kmf_store *st, const char *sql);
PROSEC_WARN_UNUSED prosec_err kmf_exec(struct kmf_store *st, const char *sql);
PROSEC_WARN_UNUSED prosec_err kmf_begin(struct kmf_store *st);
PROSEC_WARN_UNUSED prosec_err kmf_commit(struct kmf_store *st);
void kmf_rollback(struct kmf_store *st);
/* SQLITE_DONE or SQLITE_ROW expected: else PROSEC_ERR_DB with detail. */
PROSEC_WARN_UNUSED prosec_err kmf_step(struct kmf_store *st, sqlite3_stmt *s,
                                       bool *row);

/* One audit row in the open transaction. */
PROSEC_WARN_UNUSED prosec_err kmf_audit(struct kmf_store *st, const char *actor,
                                        const char *action, const char *target,
                                        const char *detail);

/* A meta value (text) by key; NULL when absent.  Caller frees. */
char *kmf_meta_get(struct kmf_store *st, const char *key);
PROSEC_WARN_UNUSED prosec_err kmf_meta_set(struct kmf_store *st,
                                           const char *key, const char *val);

#endif

/* ---- the daemon ---------------------------------------------------------- */

struct event_base;
struct event;
struct evhttp;
struct evconnlistener;
struct bufferevent;
typedef struct ssl_ctx_st SSL_CTX;

/* One pending delivery in the push engine (push.c). */
struct kmf_push {
    int64_t pgk_row, device_row;
    bool revoke;
    int attempts;
    int64_t next_ms;
    bool live; /* seen pending in the last reload */
    /* what the last I_MESSAGE carried, to check its answer */
    uint64_t ntp;
    uint8_t rand[16];
    uint32_t csb_id;
    struct sockaddr_storage addr;
    unsigned addr_len;
};

/*
 * A device's push address as the push engine knows it (push.c).  Until
 * an answer has come from it, one delivery at a time goes there (the
 * probe): the address is the device's word, and would otherwise let it
 * aim a burst of pushes, retried for hours, at anyone.
 */
struct kmf_peer {
    int64_t device_row;
    struct sockaddr_storage addr;
    unsigned addr_len;
    bool proven;  /* an answer came from addr */
    bool probing; /* the probe below is in flight */
    int64_t probe_pgk;
    bool probe_revoke;
};

struct kmf_push_table {
    struct kmf_push *v;
    size_t n, cap;
    struct kmf_peer *peers; /* by device_row, one per device in v */
    size_t n_peers;
    /* answers in memory, written in one transaction at the next flush */
    struct kmf_push *done;
    size_t n_done, cap_done;
    uint64_t sent, answered, bytes_out, bytes_in;
};

/*
 * One HTTPS connection (http.c), from its creation to its SSL's free, in
 * a list oldest first: the KMF sheds the oldest when too many are open
 * and cuts handshakes that take too long (trickled octets reset
 * libevent's idle timeout, so it bounds nothing by itself).
 */
struct kmf_conn {
    struct kmf_conn *prev, *next;
    struct kmf *k;
    struct bufferevent *bev;
    int64_t born_ms;
    bool established; /* TLS handshake done */
    bool shed;        /* shut down by us, closing */
};

struct kmf_conns {
    struct kmf_conn *head, *tail;
    size_t n; /* not shed */
    struct evconnlistener *listener;
    struct event *sweep_ev, *resume_ev;
    uint64_t shed_total;
};

/* A device's pace of key requests and releases (devices.c). */
struct kmf_pace {
    int64_t device_row;
    struct prosec__ratelimit rl;
};

struct kmf_paces {
    struct kmf_pace *v; /* by device_row */
    size_t n, cap;
};

struct kmf {
    char dir[4096];
    struct kmf_conf conf;
    struct kmf_store st;
    char *ca_pem, *ca_key_pem;
    char admin_serial[41];
    char uri[KMF_URI_MAX + 1]; /* urn:prosec:kmf:NAME */
    struct event_base *base;
    struct evhttp *http;
    SSL_CTX *ssl;
    int udp_fd;
    struct event *udp_ev, *tick_ev, *retry_ev, *flush_ev, *sig_ev[2];
    struct kmf_push_table push;
    struct kmf_conns conns;
    struct kmf_paces paces;
    uint64_t tls_full, tls_resumed; /* handshakes done */
    bool stopping;
};

struct kmf_group {
    int64_t row;
    char name[KMF_NAME_MAX + 1];
    uint32_t group_id;
    int alg, profile, bearer, ahead, next_pgk_id;
    int64_t lifetime, next_member_id;
};

/* 1 to 64 letters, digits, '-', '_' or '.': device and group names. */
bool kmf_name_ok(const char *s);
/* The group named name, or whose Group ID is name in 6 hex digits.
 * Errors: PROSEC_ERR_NOT_FOUND (detail set), PROSEC_ERR_DB. */
PROSEC_WARN_UNUSED prosec_err kmf_group_find(struct kmf *k, const char *name,
                                             struct kmf_group *g);
/* Takes device row dev out of every group (as remove-member does), in
 * the open transaction; *groups counts them. */
PROSEC_WARN_UNUSED prosec_err kmf_remove_everywhere(struct kmf *k, int64_t dev,
                                                    int *groups);

/* Who asks: the admin or a device (its row), from the TLS client cert. */
struct kmf_caller {
    bool admin;
    int64_t device_row;
    char name[KMF_NAME_MAX + 1];
    struct sockaddr_storage peer; /* the TCP peer; family 0 if unknown */
};

/*
 * The operations, each one transaction.  req is the request's JSON
 * object; *resp gets the answer (a new reference) on success.  Errors:
 * PROSEC_ERR_ARG (a bad or missing field), PROSEC_ERR_NOT_FOUND,
 * PROSEC_ERR_EXISTS, PROSEC_ERR_DENIED, PROSEC_ERR_DB; the detail says
 * which.
 */
typedef prosec_err (*kmf_op_fn)(struct kmf *k, const struct kmf_caller *who,
                                json_t *req, json_t **resp);

prosec_err kmf_op_device_add(struct kmf *k, const struct kmf_caller *who,
                             json_t *req, json_t **resp);
prosec_err kmf_op_device_list(struct kmf *k, const struct kmf_caller *who,
                              json_t *req, json_t **resp);
prosec_err kmf_op_device_revoke(struct kmf *k, const struct kmf_caller *who,
                                json_t *req, json_t **resp);
prosec_err kmf_op_group_create(struct kmf *k, const struct kmf_caller *who,
                               json_t *req, json_t **resp);
prosec_err kmf_op_group_list(struct kmf *k, const struct kmf_caller *who,
                             json_t *req, json_t **resp);
prosec_err kmf_op_group_add_member(struct kmf *k, const struct kmf_caller *who,
                                   json_t *req, json_t **resp);
prosec_err kmf_op_group_remove_member(struct kmf *k,
                                      const struct kmf_caller *who, json_t *req,
                                      json_t **resp);
prosec_err kmf_op_group_rekey(struct kmf *k, const struct kmf_caller *who,
                              json_t *req, json_t **resp);
prosec_err kmf_op_group_compromise(struct kmf *k, const struct kmf_caller *who,
                                   json_t *req, json_t **resp);
prosec_err kmf_op_group_show(struct kmf *k, const struct kmf_caller *who,
                             json_t *req, json_t **resp);
prosec_err kmf_op_audit(struct kmf *k, const struct kmf_caller *who,
                        json_t *req, json_t **resp);
prosec_err kmf_op_status(struct kmf *k, const struct kmf_caller *who,
                         json_t *req, json_t **resp);
/*
 * The device's messages, in the codec of include/prosec/keyreq.h: body is
 * the request's JSON text, *resp_text the answer's (free it with
 * prosec_key_json_free: it may hold a PMK).
 */
prosec_err kmf_key_request(struct kmf *k, const struct kmf_caller *who,
                           const char *body, size_t len, char **resp_text);
prosec_err kmf_key_release(struct kmf *k, const struct kmf_caller *who,
                           const char *body, size_t len, char **resp_text);
/* A relay's request for the KD of a remote device (TS 33.303 6.7). */
prosec_err kmf_relay_kd(struct kmf *k, const struct kmf_caller *who,
                        const char *body, size_t len, char **resp_text);

/* The scheduler's pass over every group (expiry, keys ahead); one
 * transaction.  Returns how many PGKs it made or ended. */
size_t kmf_schedule(struct kmf *k);

/* Looks a client certificate's serial up: admin, a device, or refused. */
PROSEC_WARN_UNUSED prosec_err kmf_caller_of(struct kmf *k, const char *serial,
                                            struct kmf_caller *out);

/* ---- the push engine (push.c) ------------------------------------------ */

PROSEC_WARN_UNUSED prosec_err kmf_push_start(struct kmf *k);
void kmf_push_stop(struct kmf *k);
/* Reads the pending deliveries again (after a change) and sends what is
 * new at once. */
void kmf_push_kick(struct kmf *k);

/* ---- the HTTPS API (http.c) ---------------------------------------------- */

PROSEC_WARN_UNUSED prosec_err kmf_http_start(struct kmf *k, const char *addr,
                                             char *bound, size_t cap);
void kmf_http_stop(struct kmf *k);
