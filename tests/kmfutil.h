/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the KMF tests and benchmarks share: a KMF in a fresh folder, run
 * as a child process (the library's own daemon, forked, on loopback with
 * a free port), admin calls, and test devices: real prosec_device
 * instances, each with its own UDP socket, that request keys over HTTPS
 * and answer pushes as a device would.
 */
#ifndef PROSEC_TESTS_KMFUTIL_H
#define PROSEC_TESTS_KMFUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "prosec/prosec.h"

struct tkmf {
    char dir[256];
    int port;
    pid_t pid;
    char mikey[64]; /* where its pushes come from */
};

/* A KMF in a new folder under /tmp (its conf tuned for tests: fast
 * retries); not started.  Returns false on failure (printed). */
bool tkmf_init(struct tkmf *k, const char *tag);
/* Starts it (a forked child serving); waits until it is ready. */
bool tkmf_start(struct tkmf *k);
/* Stops it with sig (SIGTERM: clean; SIGKILL: a crash) and reaps it. */
void tkmf_stop(struct tkmf *k, int sig);
/* Removes the folder. */
void tkmf_remove(struct tkmf *k);

/* An admin call; NULL on error (printed unless quiet).  Caller decrefs. */
json_t *tkmf_admin(const struct tkmf *k, const char *op, json_t *req);
/* The same, expecting failure: returns the error code. */
prosec_err tkmf_admin_err(const struct tkmf *k, const char *op, json_t *req);

struct tdev {
    char name[64];
    struct prosec_device *d;
    int fd;
    char addr[64];
    unsigned pushes, revokes, refused;
    prosec_err last_refusal;
    bool answer;       /* answer pushes (default true) */
    uint8_t raw[1024]; /* the last datagram received */
    size_t raw_len;
    uint8_t revoke_raw[1024]; /* the last revocation received */
    size_t revoke_len;
    uint8_t sent[1024]; /* the last answer sent */
    size_t sent_len;
    uint8_t pmk[32]; /* what the hooks saw */
    uint32_t pmk_id;
};

/* Enrols name at k and makes the device with a bound UDP socket. */
bool tdev_new(struct tdev *t, const struct tkmf *k, const char *name);
/* tdev_new, the device allowed to relay (device add --relay) or not. */
bool tdev_new_relay(struct tdev *t, const struct tkmf *k, const char *name,
                    bool relay);
void tdev_free(struct tdev *t);
/* Key request for every group it is in. */
prosec_err tdev_sync(struct tdev *t);
/*
 * Reads and handles what arrives on the devices' sockets for up to ms
 * milliseconds, answering pushes; returns the datagrams handled.
 */
size_t tdev_pump(struct tdev *devs, size_t n, int ms);
/* Does t hold pgk_id of group (live, with its key)? */
bool tdev_holds(struct tdev *t, uint32_t group, uint8_t pgk_id);
/* How many PGKs of group t holds. */
size_t tdev_count(struct tdev *t, uint32_t group);

/* Pumps until pred(devs, n, arg) or timeout_ms; true when it held. */
bool tdev_wait(struct tdev *devs, size_t n,
               bool (*pred)(struct tdev *, size_t, void *), void *arg,
               int timeout_ms);

#endif
