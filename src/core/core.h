/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plumbing shared by the KMF and the device agent (not public API): the
 * log call, clocks, random octets, hex, files written atomically with a
 * given mode, and permission checks.  Nothing here prints: messages go
 * through prosec__log to the sink the application installed.
 */
#ifndef PROSEC_CORE_H
#define PROSEC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "prosec/prosec.h"

enum { PROSEC__LOG_MAX = 512 };

bool prosec__log_enabled(enum prosec_log_level level);
void prosec__log(enum prosec_log_level level, const char *fmt, ...)
    PROSEC_PRINTF(2, 3);

/* Changes the level of the installed sink (a daemon's configuration). */
void prosec__log_set_level(enum prosec_log_level max);

#define prosec__err(...)   prosec__log(PROSEC_LOG_ERROR, __VA_ARGS__)
#define prosec__warn(...)  prosec__log(PROSEC_LOG_WARN, __VA_ARGS__)
#define prosec__info(...)  prosec__log(PROSEC_LOG_INFO, __VA_ARGS__)
#define prosec__debug(...) prosec__log(PROSEC_LOG_DEBUG, __VA_ARGS__)

/*
 * Sets this thread's error detail (prosec_error_detail) and returns err,
 * so a failure reads `return prosec__fail(PROSEC_ERR_IO, "...", ...)`.
 */
prosec_err prosec__fail(prosec_err err, const char *fmt, ...)
    PROSEC_PRINTF(2, 3);
void prosec__detail_clear(void);

/* A token bucket for per-datagram messages: true when one may be logged. */
struct prosec__ratelimit {
    int64_t interval_ms; /* one token per interval */
    int64_t burst;
    int64_t tokens;
    int64_t last_ms;
    uint64_t suppressed;
};
bool prosec__ratelimit(struct prosec__ratelimit *rl, int64_t now_ms);

/* Milliseconds of CLOCK_MONOTONIC; Unix seconds of CLOCK_REALTIME. */
int64_t prosec__mono_ms(void);
int64_t prosec__unix_now(void);

/* n random octets from OpenSSL's CSPRNG.  Errors: PROSEC_ERR_CRYPTO_LIB. */
PROSEC_WARN_UNUSED prosec_err prosec__random(void *out, size_t n);

/* Lower-case hex of n octets into out (2n + 1 octets, NUL-terminated). */
void prosec__hex(char *out, const uint8_t *in, size_t n);
/* Exactly 2n hex digits of s into out.  Returns false otherwise. */
bool prosec__unhex(uint8_t *out, size_t n, const char *s);

/*
 * Writes n octets to path atomically: a temporary file beside it
 * (O_EXCL, mode), written, fsync'd, renamed over path, the folder
 * fsync'd.  excl: fail with PROSEC_ERR_EXISTS when path exists.
 * Errors: PROSEC_ERR_IO, PROSEC_ERR_EXISTS.
 */
PROSEC_WARN_UNUSED prosec_err prosec__file_write(const char *path,
                                                 const void *data, size_t n,
                                                 mode_t mode, bool excl);

/*
 * Reads the whole file at path (at most max octets) into a malloc'd
 * buffer with a NUL after the data; *out_len gets the length.  secret:
 * the file must not be readable or writable by group or others.
 * Errors: PROSEC_ERR_IO (missing, unreadable, too large), PROSEC_ERR_PERM.
 */
PROSEC_WARN_UNUSED prosec_err prosec__file_read(const char *path, size_t max,
                                                bool secret, uint8_t **out,
                                                size_t *out_len);

/* Frees a buffer of prosec__file_read (or any n octets) after wiping it. */
void prosec__free_wiped(void *p, size_t n);

/*
 * Checks that path is a folder owned by us and not writable by group or
 * others (private: not accessible by them at all).
 * Errors: PROSEC_ERR_IO (missing, not a folder), PROSEC_ERR_PERM.
 */
PROSEC_WARN_UNUSED prosec_err prosec__dir_check(const char *path,
                                                bool private_dir);

/* snprintf into a fixed buffer; false when it did not fit. */
bool prosec__fmt(char *out, size_t cap, const char *fmt, ...)
    PROSEC_PRINTF(3, 4);

/*
 * Parses "ADDR:PORT" (IPv4, or [IPv6]:PORT) into a sockaddr.  port_zero:
 * port 0 is allowed (bind to any free port).  Returns false when
 * malformed.
 */
struct sockaddr_storage;
bool prosec__parse_addr(const char *s, bool port_zero,
                        struct sockaddr_storage *out, unsigned *out_len);
/* "ADDR:PORT" of sa into out (at least 64 octets). */
void prosec__format_addr(char *out, size_t cap, const void *sa);
/* The local IPv4 address our route to `to` leaves from; false when there
 * is no route. */
struct sockaddr_in;
struct in_addr;
bool prosec__route_source4(const struct sockaddr_in *to, struct in_addr *src);

/*
 * An HTTPS client for the KMF's API (libcurl): TLS 1.3, the server's
 * certificate checked against ca_pem and the name in addr, ours from
 * cert_pem and key_pem (copied; the key is wiped when freed).  One handle
 * keeps its connection and TLS session across requests; not for two
 * threads at once.
 */
struct prosec__https;
PROSEC_WARN_UNUSED prosec_err prosec__https_new(struct prosec__https **out,
                                                const char *addr,
                                                const char *cert_pem,
                                                const char *key_pem,
                                                const char *ca_pem);
void prosec__https_free(struct prosec__https *h);
/* Connects to addr (HOST:PORT, e.g. a relay) instead, still checking the
 * KMF's name; NULL: directly again. */
PROSEC_WARN_UNUSED prosec_err prosec__https_via(struct prosec__https *h,
                                                const char *addr);
/* A new connection for every request (the TLS session is still resumed):
 * for benchmarks of the handshake path. */
void prosec__https_fresh(struct prosec__https *h, bool fresh);
/*
 * POSTs body (JSON) to path; *resp gets the answer's body (malloc'd,
 * free with prosec__free_wiped(p, strlen(p))) and *status the HTTP code.
 * Errors: PROSEC_ERR_UNREACHABLE (no connection), PROSEC_ERR_TLS (the
 * handshake or certificates failed), PROSEC_ERR_PROTOCOL; detail set.
 */
PROSEC_WARN_UNUSED prosec_err prosec__https_post(struct prosec__https *h,
                                                 const char *path,
                                                 const char *body,
                                                 long timeout_ms, char **resp,
                                                 long *status);

#endif
