/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UE-to-network relay, both ends (src/device/relay.c), for the agent.
 *
 * The relay end accepts links from remote devices on a TCP address,
 * authenticates each through the KMF (TS 33.303 6.7: the KD for the
 * remote's PRUK ID) and then carries only that device's own KMF traffic:
 * its TCP streams to the upstream KMF address (HTTPS, end to end: the
 * relay sees ciphertext) and the MIKEY datagrams the KMF pushes to the
 * UDP port the relay opened for that link.
 *
 * The remote end, in a remote device's agent, finds a relay (told, or
 * from its announcements on the PC5 channel), sets the link up, and
 * serves the agent a local TCP address for its HTTPS (the device's
 * connections go there, the name checked in TLS stays the KMF's) and
 * hands MIKEY pushes to the agent's own MIKEY socket.
 */
#ifndef PROSEC_DEVICE_RELAY_INTERNAL_H
#define PROSEC_DEVICE_RELAY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "prosec/prosec.h"

/* What both ends need of the agent. */
struct prosec__relay_env {
    struct prosec_device *dev;
    void *ctx;
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    /*
     * Remote end, called with the lock held: the link is up (via: the
     * local address the device's HTTPS must go to; mikey: the address the
     * KMF must push to), or down (both NULL: back to what the agent had).
     */
    void (*link)(void *ctx, const char *via, const char *mikey);
};

struct prosec__relay_srv_cfg {
    const char *listen;   /* IP:PORT for links */
    const char *upstream; /* the KMF's IP:PORT */
    /* announcements: the PC5 channel's group (its port + 1) and interface
     * (0: the route's) */
    const struct sockaddr_in *announce;
    unsigned ifindex;
};

struct prosec__relay_srv;

PROSEC_WARN_UNUSED prosec_err prosec__relay_srv_start(
    struct prosec__relay_srv **out, const struct prosec__relay_env *env,
    const struct prosec__relay_srv_cfg *cfg);
void prosec__relay_srv_stop(struct prosec__relay_srv *s);
/*
 * The relay's own standing at the KMF, from its key requests: refused
 * (revoked, say) closes every link and takes none until it is good again.
 */
void prosec__relay_srv_standing(struct prosec__relay_srv *s, bool good,
                                const char *why);
/* {"listen", "upstream", "links", "links_total", "refused", "suspended"} */
json_t *prosec__relay_srv_status(struct prosec__relay_srv *s);

enum prosec__relay_mode {
    PROSEC__RELAY_OFF = 0,
    PROSEC__RELAY_AUTO = 1, /* a relay when the KMF is not reachable */
    PROSEC__RELAY_FIXED = 2 /* always this relay */
};

struct prosec__relay_cli_cfg {
    enum prosec__relay_mode mode;
    const char *relay; /* FIXED: its IP:PORT */
    /* AUTO: where the announcements come (group, port + 1) and on which
     * interface (0: lo / the route's) */
    const struct sockaddr_in *announce;
    unsigned ifindex;
    const char *kmf;          /* the KMF's IP:PORT, for AUTO's probe */
    struct sockaddr_in mikey; /* the agent's MIKEY socket */
};

struct prosec__relay_cli;

PROSEC_WARN_UNUSED prosec_err prosec__relay_cli_start(
    struct prosec__relay_cli **out, const struct prosec__relay_env *env,
    const struct prosec__relay_cli_cfg *cfg);
void prosec__relay_cli_stop(struct prosec__relay_cli *c);
/* True when the KMF's traffic has a path (a link up, or direct); else
 * why (capacity cap) says which relay and what failed. */
bool prosec__relay_cli_up(struct prosec__relay_cli *c, char *why, size_t cap);
/* {"mode", "state", "relay", "last_error", "since", "links"} */
json_t *prosec__relay_cli_status(struct prosec__relay_cli *c);

/* "auto", "off" or IP:PORT; false when s is none of them */
bool prosec__relay_mode_parse(const char *s, enum prosec__relay_mode *mode);

#endif
