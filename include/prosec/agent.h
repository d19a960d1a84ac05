/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device agent (prosec device agent): a device's daemon.  It holds
 * the device's keystore open (locked) for its lifetime, keeps in step
 * with the KMF while it has coverage (key requests, MIKEY pushes stored
 * before they are answered), protects and opens its groups' traffic on
 * the PC5 channel (UDP multicast standing in for the sidelink), and
 * serves local clients on a UNIX socket (mode 0600) with the control
 * protocol below.  Without coverage it keeps working with the keys it
 * holds until they expire.
 *
 * The control protocol: each message is 4 octets (big-endian) giving the
 * length L of a JSON object (1..PROSEC_CTL_HEADER_MAX), the object, then
 * as many octets of payload as its "payload" field says (0 when absent,
 * at most PROSEC_CTL_PAYLOAD_MAX).  Requests carry "op": "status", "send"
 * (payload: the data; "group": name or 6 hex digits), "listen" ("group"),
 * "sync", "stats"; answers carry "result" or "error", and a listener then gets
 * "event" messages: "message" (payload: a reassembled message) and
 * "stats" (frames accepted and rejected by reason since it began).
 * docs/agent.md has every field.
 */
#ifndef PROSEC_AGENT_H
#define PROSEC_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "error.h"
#include "keystore.h"

enum {
    PROSEC_CTL_HEADER_MAX = 65536,
    PROSEC_CTL_PAYLOAD_MAX = 64 << 20,
    PROSEC_SEND_DATA_MAX = 1200, /* data octets per datagram */
    PROSEC_PC5_PORT_DEFAULT = 5303
};
#define PROSEC_PC5_DEFAULT "239.255.51.1:5303"

/*
 * Enrols a device: reads the bundle at bundle_path (prosec kmf device
 * add --out), creates the keystore at store sealed with seal, and puts the
 * credential in it.  name (capacity cap, may be NULL) gets the device's
 * name.  The store must not exist.  Errors: those of
 * prosec_device_cred_parse and prosec_keystore_create, PROSEC_ERR_IO
 * (the bundle), PROSEC_ERR_PERM (the bundle is readable by others).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_device_enroll(const char *bundle_path, const char *store,
                     const struct prosec_seal *seal, char *name, size_t cap);

struct prosec_agent_opts {
    const char *store;
    struct prosec_seal seal;
    const char *pc5;   /* multicast ADDR:PORT; NULL: PROSEC_PC5_DEFAULT */
    const char *iface; /* interface of the PC5 channel; NULL: lo for a
                          loopback KMF, else the route's choice */
    const char *mikey; /* IP:PORT for MIKEY pushes; NULL: chosen */
    /* the IP:PORT the KMF is told to push to, when something (a relay,
     * a NAT) stands in front of mikey; NULL: mikey's own */
    const char *mikey_advertise;
    const char *control; /* UNIX socket; NULL: STORE.sock */
    int ready_fd;        /* >= 0: "ready CONTROL MIKEY\n" then closed */
    int log_level;       /* enum prosec_log_level, or -1: info */
    /* how soon to ask the KMF again, seconds; 0: defaults */
    unsigned sync_interval;
    /* clock-skew allowance for received frames, seconds; -1: 30 */
    int skew;
    /* a remote device's use of a UE-to-network relay: "auto" (NULL: a
     * relay when the KMF cannot be reached), "off", or a relay's IP:PORT */
    const char *relay;
    /* prosec relay: where remote devices' links are taken (IP:PORT; NULL:
     * no relay service), the KMF their connections go to (NULL: ours),
     * and the second PC5 channel whose group traffic is bridged with the
     * first (NULL: none) and its interface */
    const char *relay_listen;
    const char *upstream;
    const char *relay_pc5;
    const char *relay_iface;
};

/*
 * Runs the agent until SIGTERM or SIGINT.  Errors (at start): those of
 * prosec_keystore_open, PROSEC_ERR_CONFIG (an address), PROSEC_ERR_IO (a
 * socket); the detail says which.
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_agent_run(const struct prosec_agent_opts *opts);

/* ---- the control protocol, client side -------------------------------- */

struct prosec_ctl;

/* Connects to the agent's socket.  Errors: PROSEC_ERR_UNREACHABLE (no
 * agent there), PROSEC_ERR_NOMEM. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err
prosec_ctl_connect(struct prosec_ctl **out, const char *path);
PROSEC_API void prosec_ctl_close(struct prosec_ctl *c);

/* Sends one message: json (an object, without "payload": it is added)
 * and len octets of payload.  Errors: PROSEC_ERR_ARG, PROSEC_ERR_IO. */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_ctl_send(struct prosec_ctl *c,
                                                         const char *json,
                                                         const void *payload,
                                                         size_t len);

/*
 * Reads one message, waiting at most timeout_ms (-1: no limit).  *json
 * and *payload (with *len) are malloc'd; free with prosec_ctl_free.
 * Errors: PROSEC_ERR_TIMEOUT, PROSEC_ERR_IO (the agent went away),
 * PROSEC_ERR_PROTOCOL (a malformed message).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_ctl_recv(struct prosec_ctl *c,
                                                         int timeout_ms,
                                                         char **json,
                                                         uint8_t **payload,
                                                         size_t *len);
PROSEC_API void prosec_ctl_free(void *p);

/*
 * The message at the start of buf (avail octets), both sides' parser:
 * *need gets the octets the whole message takes; when avail holds it,
 * *json_len and *payload_len say where its parts are (the JSON at buf + 4,
 * the payload right after it) and the JSON is checked to be an object.
 * Returns PROSEC_OK (complete), PROSEC_ERR_TIMEOUT (incomplete: read
 * more), PROSEC_ERR_PROTOCOL (malformed: drop the connection).
 */
PROSEC_API PROSEC_WARN_UNUSED prosec_err prosec_ctl_decode(const uint8_t *buf,
                                                           size_t avail,
                                                           size_t *need,
                                                           size_t *json_len,
                                                           size_t *payload_len);

#endif
