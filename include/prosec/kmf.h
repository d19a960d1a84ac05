/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Key Management Function (DESIGN.md "Key delivery", "Key lifecycle
 * at the KMF"): the group manager's daemon and the client its admin
 * commands use.  A KMF lives in one folder (mode 0700):
 *
 *   kmf.db      SQLite: devices, groups, members, PGKs (sealed), deliveries,
 *               audit
 *   master.key  32 octets (0600); every PGK and PMK in kmf.db is sealed
 *               under it, so a copy of the database alone reveals no key
 *   ca.crt, ca.key          the enrolment CA
 *   server.crt, server.key  the HTTPS API's certificate
 *   admin.crt, admin.key    the admin credential (the admin commands)
 *   kmf.conf    settings
 *
 * Functions that fail set prosec_error_detail() to a sentence naming what
 * went wrong.
 */
#ifndef PROSEC_KMF_H
#define PROSEC_KMF_H

#include <stddef.h>

#include "attr.h"
#include "error.h"

struct prosec_kmf_init_opts {
    const char *name;    /* NULL: "kmf"; 1-64 of [A-Za-z0-9._-] */
    const char *listen;  /* NULL: "127.0.0.1:5380"; numeric ADDR:PORT */
    const char *address; /* what devices connect to; NULL: listen */
    /* more names (DNS or IP) for the server certificate; it always has
     * localhost, 127.0.0.1, ::1 and the listen address */
    const char *const *hosts;
    size_t n_hosts;
};

/*
 * Creates a KMF in dir, which must not exist or be an empty folder.  On
 * error nothing is left behind that a second init would trip on.
 * Errors: PROSEC_ERR_EXISTS, PROSEC_ERR_ARG, PROSEC_ERR_IO, PROSEC_ERR_DB,
 * PROSEC_ERR_TLS.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_kmf_init(const char *dir, const struct prosec_kmf_init_opts *opts);

struct prosec_kmf_serve_opts {
    const char *listen; /* NULL: kmf.conf's */
    int log_level;      /* enum prosec_log_level, or -1: kmf.conf's */
    /* when >= 0, "ready HTTPS-ADDR MIKEY-ADDR\n" is written to it once
     * the daemon serves, then it is closed (for scripts and tests) */
    int ready_fd;
};

/*
 * Runs the KMF of dir in the foreground until SIGTERM or SIGINT: the
 * HTTPS API, the MIKEY push engine and the key scheduler.  Logs through
 * prosec_log_set's sink.  Errors (at start): PROSEC_ERR_IO,
 * PROSEC_ERR_PERM (dir or master.key too open), PROSEC_ERR_CONFIG,
 * PROSEC_ERR_DB, PROSEC_ERR_TLS.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_kmf_serve(const char *dir, const struct prosec_kmf_serve_opts *opts);

/*
 * One admin operation on the running KMF of dir, over HTTPS with dir's
 * admin credential: op is "device/add", "device/list", "device/revoke",
 * "group/create", "group/list", "group/add-member", "group/remove-member",
 * "group/rekey", "group/compromise", "group/show", "audit" or "status";
 * request is a JSON object (NULL: {}).  *response gets the JSON answer
 * (free with prosec_kmf_free: it may hold a private key).
 * Errors: PROSEC_ERR_UNREACHABLE (the daemon is not running), the KMF's
 * refusal (PROSEC_ERR_ARG, PROSEC_ERR_NOT_FOUND, PROSEC_ERR_EXISTS,
 * PROSEC_ERR_DENIED, ...) with its message as the detail, PROSEC_ERR_IO,
 * PROSEC_ERR_TLS.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_kmf_admin(const char *dir,
                                                          const char *op,
                                                          const char *request,
                                                          char **response);

/* Wipes and frees a string from prosec_kmf_admin; NULL does nothing. */
PROSEC_API void prosec_kmf_free(char *s);

#endif
