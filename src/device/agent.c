/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device agent (include/prosec/agent.h).  One libevent loop runs the
 * sockets: MIKEY pushes from the KMF, the PC5 channel, the control socket
 * and the timers (pacing, expiry, saving replay marks).  One more thread
 * talks to the KMF (key requests block on HTTPS); it takes the agent's
 * lock like the loop does and lets it go while it waits on the network,
 * so the loop never stalls on the KMF.
 *
 * What is stored, and when: every change the KMF makes (PMK, groups,
 * PGKs, revocations) is in the keystore before the push is answered; PTK
 * ID reservations before the PTK ID is used (struct prosec_sender); the
 * receivers' high-water marks every few seconds and at exit, so a frame
 * taken before a restart is refused after it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <jansson.h>

#include "../core/core.h"
#include "prosec/prosec.h"
#include "relay_internal.h"

enum {
    FRAG_HDR = 8, /* message id (4), index (2), count (2) */
    FRAG_DATA = PROSEC_SEND_DATA_MAX - FRAG_HDR,
    PARTIALS = 16,           /* messages being reassembled, a group */
    REASM_BUDGET = 64 << 20, /* octets of them, in all */
    PACE_MS = 2,             /* the sender's tick */
    PACE_FRAMES = 8,         /* frames a tick */
    CLIENTS_MAX = 64,
    SYNC_DEFAULT_S = 300,
    SYNC_RELAY_S = 60,
    SYNC_SOON_S = 10, /* on an unknown PGK index, at most */
    MARKS_S = 5,
    LOOP_RING = 512 /* frames we bridged, to know them when they loop */
};

enum reason {
    R_UNKNOWN_KEY,
    R_NOT_ACTIVE,
    R_REVOKED,
    R_EXPIRED,
    R_MAC,
    R_REPLAY,
    R_MALFORMED,
    R_OTHER,
    R_N
};

static const char *const reason_names[R_N] = {
    "unknown_key", "not_active", "revoked",   "expired",
    "mac",         "replay",     "malformed", "other"};

struct stats {
    uint64_t accepted, rejected[R_N];
};

struct partial {
    bool used;
    uint32_t src, msg_id;
    uint16_t count, got;
    uint8_t *seen; /* a bit per fragment */
    uint8_t *data;
    size_t size; /* octets allocated */
    size_t last; /* length of the last fragment, once seen */
    int64_t t;
};

struct gstate {
    uint32_t gid;
    struct prosec_sender *tx;
    struct prosec_receiver *rx;
    struct stats st;
    uint64_t sent_frames, sent_messages, messages;
    struct partial part[PARTIALS];
};

struct client;

/* A message being sent, paced. */
struct outgoing {
    struct outgoing *next;
    struct client *owner; /* NULL once it went away */
    uint32_t gid, msg_id;
    uint8_t *data;
    size_t len, pos;
    uint16_t count, index;
    prosec_err err;
};

struct client {
    struct agent *a;
    struct bufferevent *bev;
    bool listening;
    uint32_t gid;
    struct stats base; /* the group's stats when it began listening */
    struct stats sent; /* what its last stats event said */
    bool waiting_sync;
};

struct agent {
    struct prosec_agent_opts o;
    char control[108];
    struct prosec_keystore *ks;
    struct prosec_device *dev;
    pthread_mutex_t mu;
    struct event_base *base;
    int mikey_fd, pc5_fd;
    struct sockaddr_storage pc5_to;
    unsigned pc5_to_len;
    char mikey_addr[64], pc5_name[64];
    struct event *mikey_ev, *pc5_ev, *pace_ev, *tick_ev, *sig_ev[2], *synced_ev;
    struct evconnlistener *ctl;
    struct gstate groups[PROSEC_DEVICE_GROUPS_MAX];
    size_t n_groups;
    struct client *clients[CLIENTS_MAX];
    struct outgoing *out_head, *out_tail;
    size_t reasm_bytes;
    uint32_t next_msg_id;
    int64_t last_marks;
    /* the sync thread */
    pthread_t sync_th;
    pthread_cond_t sync_cv;
    bool sync_want, sync_stop, sync_started;
    int64_t sync_next_ms, sync_soon_ms;
    bool kmf_reachable;
    int64_t last_sync_ok;
    char sync_error[160];
    unsigned syncs;
    uint64_t mikey_ok, mikey_refused;
    struct prosec__ratelimit rl_frames;
    /* MIKEY: where our socket is (for a relay's forwarding) and what we
     * tell the KMF without a relay */
    struct sockaddr_in mikey_local;
    char mikey_own[64];
    /* relays */
    struct prosec__relay_srv *relay_srv;
    struct prosec__relay_cli *relay_cli;
    int pc5b_fd; /* the bridged channel, or -1 */
    struct sockaddr_storage pc5b_to;
    unsigned pc5b_to_len;
    char pc5b_name[64];
    struct event *pc5b_ev;
    uint64_t bridged[2], loop_ring[LOOP_RING];
    size_t loop_pos;
};

static void lock(void *arg)
{
    pthread_mutex_lock(&((struct agent *)arg)->mu);
}

static void unlock(void *arg)
{
    pthread_mutex_unlock(&((struct agent *)arg)->mu);
}

/* ---- storage hooks: the keystore, durable before returning --------------- */

static prosec_err ks_save(struct agent *a, prosec_err err, const char *what)
{
    if (err == PROSEC_OK) {
        err = prosec_keystore_save(a->ks);
    }
    if (err != PROSEC_OK) {
        prosec__err("keystore: saving %s failed: %s", what,
                    prosec_strerror(err));
    }
    return err;
}

static prosec_err hook_pmk(void *ctx, uint32_t id, const uint8_t pmk[32])
{
    struct agent *a = ctx;

    return ks_save(a, prosec_keystore_set_pmk(a->ks, pmk, id), "the PMK");
}

/* A PRUK ID as the keystore keeps it (a number) and as the wire has it. */
static uint64_t pruk_id_num(const uint8_t id[8])
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | id[i];
    }
    return v;
}

static void pruk_id_octets(uint8_t id[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        id[i] = (uint8_t)v;
        v >>= 8;
    }
}

static prosec_err hook_pruk(void *ctx, const uint8_t id[8],
                            const uint8_t pruk[32])
{
    struct agent *a = ctx;

    return ks_save(a, prosec_keystore_set_pruk(a->ks, pruk, pruk_id_num(id)),
                   "the PRUK");
}

static prosec_err hook_group(void *ctx, const struct prosec_device_group *g)
{
    struct agent *a = ctx;
    const char *have = NULL;

    /* unchanged: nothing to write */
    if (prosec_keystore_group_name(a->ks, g->group_id, &have) == PROSEC_OK &&
        (g->name[0] == '\0' || strcmp(have, g->name) == 0)) {
        return PROSEC_OK;
    }
    return ks_save(a,
                   prosec_keystore_group_set(a->ks, g->group_id,
                                             g->name[0] ? g->name : NULL),
                   "a group");
}

static prosec_err hook_pgk(void *ctx, uint32_t gid, const struct prosec_pgk *p)
{
    struct agent *a = ctx;
    const char *name = NULL;
    prosec_err err = PROSEC_OK;

    if (prosec_keystore_group_name(a->ks, gid, &name) != PROSEC_OK) {
        err = prosec_keystore_group_set(a->ks, gid, NULL);
    }
    if (err == PROSEC_OK) {
        err = prosec_keystore_pgk_put(a->ks, gid, p);
    }
    prosec__info("key: PGK %u of group %06x stored (valid %lld..%lld)",
                 p->pgk_id, gid, (long long)p->activation,
                 (long long)p->expiry);
    return ks_save(a, err, "a PGK");
}

static prosec_err hook_revoke(void *ctx, uint32_t gid, uint8_t pgk_id)
{
    struct agent *a = ctx;
    prosec_err err = prosec_keystore_pgk_remove(a->ks, gid, pgk_id);

    prosec__info("key: PGK %u of group %06x revoked", pgk_id, gid);
    if (err == PROSEC_ERR_KS_NO_ENTRY) {
        return PROSEC_OK; /* not held: nothing to delete */
    }
    return ks_save(a, err, "a revocation");
}

/* ---- groups
 * ------------------------------------------------------------------ */

static int skew_of(const struct agent *a)
{
    return a->o.skew >= 0 ? a->o.skew : PROSEC_KEYRING_SKEW_DEFAULT;
}

static struct gstate *gstate_of(struct agent *a, uint32_t gid)
{
    struct prosec_sender_config sc = {prosec_keystore_reserve_save,
                                      prosec_keystore_reserve_load, NULL, 0,
                                      PROSEC_BACKEND_AUTO};
    struct prosec_receiver_config rc = {0, 0, PROSEC_BACKEND_AUTO};
    struct prosec_keyring *kr = prosec_device_keyring(a->dev, gid);
    struct gstate *g;

    for (size_t i = 0; i < a->n_groups; i++) {
        if (a->groups[i].gid == gid) {
            return &a->groups[i];
        }
    }
    if (kr == NULL || a->n_groups == PROSEC_DEVICE_GROUPS_MAX) {
        return NULL;
    }
    g = &a->groups[a->n_groups];
    memset(g, 0, sizeof(*g));
    g->gid = gid;
    prosec_keyring_set_skew(kr, (uint32_t)skew_of(a));
    sc.ctx = a->ks;
    if (prosec_sender_new(&g->tx, kr, &sc) != PROSEC_OK ||
        prosec_receiver_new(&g->rx, kr, &rc) != PROSEC_OK) {
        prosec_sender_free(g->tx);
        return NULL;
    }
    /* the marks saved before a restart */
    for (size_t i = 0; i < prosec_keystore_replay_count(a->ks); i++) {
        uint32_t mg, snd;
        uint8_t pgk;
        uint16_t ptk, sn;

        if (prosec_keystore_replay_at(a->ks, i, &mg, &snd, &pgk, &ptk, &sn) ==
                PROSEC_OK &&
            mg == gid &&
            prosec_receiver_restore_mark(g->rx, snd, pgk, ptk, sn) !=
                PROSEC_OK) {
            prosec__warn("replay: a mark could not be restored");
        }
    }
    a->n_groups++;
    return g;
}

static void free_partial(struct agent *a, struct partial *p)
{
    a->reasm_bytes -= p->size;
    prosec__free_wiped(p->data, p->size);
    free(p->seen);
    memset(p, 0, sizeof(*p));
}

/* ---- the sync thread ----------------------------------------------------- */

static void want_sync(struct agent *a, bool soon)
{
    int64_t now = prosec__mono_ms();

    /* an unknown PGK index asks at most once per SYNC_SOON_S */
    if (soon && now < a->sync_soon_ms) {
        return;
    }
    if (soon) {
        a->sync_soon_ms = now + SYNC_SOON_S * 1000;
    }
    a->sync_want = true;
    pthread_cond_signal(&a->sync_cv);
}

/* Whether a group needs keys soon: fewer than two PGKs ahead of now. */
static bool keys_low(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < prosec_device_group_count(a->dev); i++) {
        const struct prosec_device_group *g = prosec_device_group_at(a->dev, i);
        struct prosec_keyring *kr = prosec_device_keyring(a->dev, g->group_id);
        struct prosec_pgk_info info;
        int ahead = 0;

        for (size_t k = 0; kr != NULL && k < prosec_keyring_count(kr); k++) {
            if (prosec_keyring_info(kr, k, now, &info) == PROSEC_OK &&
                (info.state == PROSEC_PGK_ACTIVE ||
                 info.state == PROSEC_PGK_PENDING)) {
                ahead++;
            }
        }
        if (ahead < 2) {
            return true;
        }
    }
    return false;
}

static void *sync_main(void *arg)
{
    struct agent *a = arg;
    unsigned backoff = 1;

    lock(a);
    while (!a->sync_stop) {
        struct prosec_device_sync res;
        struct timespec until;
        int64_t wait_ms = a->sync_next_ms - prosec__mono_ms();
        prosec_err err;

        if (!a->sync_want && wait_ms > 0) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += wait_ms / 1000;
            until.tv_nsec += (wait_ms % 1000) * 1000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&a->sync_cv, &a->mu, &until);
            continue;
        }
        a->sync_want = false;
        /* the device lets the lock go while it waits on the KMF */
        err = prosec_device_key_request(a->dev, NULL, 0, a->mikey_addr, 15000,
                                        &res);
        a->syncs++;
        if (err == PROSEC_OK) {
            a->kmf_reachable = true;
            a->last_sync_ok = prosec__unix_now();
            a->sync_error[0] = '\0';
            backoff = 1;
            /* a relay checks its own standing every minute */
            a->sync_next_ms =
                prosec__mono_ms() +
                (int64_t)(a->o.sync_interval     ? a->o.sync_interval
                          : a->relay_srv != NULL ? SYNC_RELAY_S
                                                 : SYNC_DEFAULT_S) *
                    1000;
            for (size_t i = 0; i < res.n_groups; i++) {
                if (res.groups[i].error != 0) {
                    prosec__warn("sync: group '%s': %s", res.groups[i].g.name,
                                 res.groups[i].error == 1 ? "not a member"
                                 : res.groups[i].error == 2
                                     ? "unknown group"
                                     : "no common algorithm");
                }
            }
            prosec__info("sync: key request answered (%zu groups%s)",
                         res.n_groups, res.new_pmk ? ", new PMK" : "");
            if (a->relay_srv != NULL) {
                prosec__relay_srv_standing(a->relay_srv, true, NULL);
            }
        } else {
            char why[128];

            a->kmf_reachable = false;
            if (a->relay_cli != NULL &&
                !prosec__relay_cli_up(a->relay_cli, why, sizeof(why))) {
                /* the cause is the missing link, not the KMF */
                (void)prosec__fmt(a->sync_error, sizeof(a->sync_error),
                                  "no link to a relay (%s)", why);
            } else {
                (void)prosec__fmt(a->sync_error, sizeof(a->sync_error), "%s",
                                  prosec_error_detail()[0]
                                      ? prosec_error_detail()
                                      : prosec_strerror(err));
            }
            prosec__warn("sync: no key request: %s", a->sync_error);
            if (a->relay_srv != NULL &&
                (err == PROSEC_ERR_DENIED || err == PROSEC_ERR_TLS)) {
                /* revoked, say: we may carry nobody's traffic */
                prosec__relay_srv_standing(a->relay_srv, false, a->sync_error);
            }
            a->sync_next_ms = prosec__mono_ms() + (int64_t)backoff * 1000;
            backoff = backoff < 60 ? backoff * 2 : 60;
        }
        event_active(a->synced_ev, EV_TIMEOUT, 0);
    }
    unlock(a);
    return NULL;
}

/* ---- control clients
 * --------------------------------------------------------- */

static void client_free(struct client *c)
{
    struct agent *a = c->a;

    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        if (a->clients[i] == c) {
            a->clients[i] = NULL;
        }
    }
    for (struct outgoing *o = a->out_head; o != NULL; o = o->next) {
        if (o->owner == c) {
            o->owner = NULL;
        }
    }
    bufferevent_free(c->bev);
    free(c);
}

/* Queues one message: the JSON object j (stolen) and a payload. */
static void client_put(struct client *c, json_t *j, const uint8_t *payload,
                       size_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char *text;
    uint8_t hdr[4];
    size_t n;

    if (len > 0) {
        json_object_set_new(j, "payload", json_integer((json_int_t)len));
    }
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL) {
        return;
    }
    n = strlen(text);
    hdr[0] = (uint8_t)(n >> 24);
    hdr[1] = (uint8_t)(n >> 16);
    hdr[2] = (uint8_t)(n >> 8);
    hdr[3] = (uint8_t)n;
    evbuffer_add(out, hdr, 4);
    evbuffer_add(out, text, n);
    if (len > 0) {
        evbuffer_add(out, payload, len);
    }
    free(text);
}

static void client_error(struct client *c, prosec_err err, const char *msg)
{
    client_put(
        c,
        json_pack("{s:s, s:s}", "error", prosec_err_name(err), "message", msg),
        NULL, 0);
}

static const char *state_name(enum prosec_pgk_state s)
{
    return prosec_pgk_state_name(s);
}

static json_t *status_json(struct agent *a)
{
    const struct prosec_device_cred *cred = prosec_device_cred(a->dev);
    int64_t now = prosec__unix_now();
    json_t *groups = json_array(), *j;
    char pmk[16];

    for (size_t i = 0; i < prosec_device_group_count(a->dev); i++) {
        const struct prosec_device_group *g = prosec_device_group_at(a->dev, i);
        struct prosec_keyring *kr = prosec_device_keyring(a->dev, g->group_id);
        struct gstate *gs = gstate_of(a, g->group_id);
        json_t *pgks = json_array(), *rej = json_object();
        struct prosec_pgk_info info;
        char gid[8], mid[8];

        for (size_t k = 0; kr != NULL && k < prosec_keyring_count(kr); k++) {
            if (prosec_keyring_info(kr, k, now, &info) != PROSEC_OK) {
                continue;
            }
            json_array_append_new(
                pgks, json_pack("{s:i, s:i, s:I, s:I, s:s, s:b}", "pgk_id",
                                info.pgk_id, "index",
                                info.pgk_id & PROSEC_PGK_INDEX_MASK,
                                "activation", (json_int_t)info.activation,
                                "expiry", (json_int_t)info.expiry, "state",
                                state_name(info.state), "key_held",
                                prosec_keyring_holds(kr, info.pgk_id)));
        }
        for (int r = 0; gs != NULL && r < R_N; r++) {
            json_object_set_new(rej, reason_names[r],
                                json_integer((json_int_t)gs->st.rejected[r]));
        }
        (void)prosec__fmt(gid, sizeof(gid), "%06x", g->group_id);
        (void)prosec__fmt(mid, sizeof(mid), "%06x", g->member_id);
        json_array_append_new(
            groups,
            json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:I, s:o, s:I, s:I}",
                      "name", g->name, "group_id", gid, "member_id", mid, "alg",
                      g->alg, "profile", g->profile ? "integrity" : "ts33303",
                      "pgks", pgks, "accepted",
                      (json_int_t)(gs ? gs->st.accepted : 0), "rejected", rej,
                      "sent_frames", (json_int_t)(gs ? gs->sent_frames : 0),
                      "messages", (json_int_t)(gs ? gs->messages : 0)));
    }
    (void)prosec__fmt(pmk, sizeof(pmk), "%08x", prosec_device_pmk_id(a->dev));
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:b, s:o, s:s, s:i, "
                  "s:I, s:I}, s:o}",
                  "device", cred->name, "uri", cred->uri, "mikey",
                  a->mikey_addr, "pc5", a->pc5_name, "pmk_id", pmk, "kmf",
                  "address", cred->kmf_address, "reachable", a->kmf_reachable,
                  "last_sync",
                  a->last_sync_ok ? json_integer(a->last_sync_ok) : json_null(),
                  "error", a->sync_error, "syncs", (int)a->syncs,
                  "pushes_taken", (json_int_t)a->mikey_ok, "pushes_refused",
                  (json_int_t)a->mikey_refused, "groups", groups);
    if (j != NULL && a->relay_srv != NULL) {
        json_t *r = prosec__relay_srv_status(a->relay_srv);

        if (r != NULL && a->pc5b_fd >= 0) {
            json_object_set_new(r, "pc5", json_string(a->pc5b_name));
            json_object_set_new(r, "bridged_out",
                                json_integer((json_int_t)a->bridged[0]));
            json_object_set_new(r, "bridged_in",
                                json_integer((json_int_t)a->bridged[1]));
        }
        json_object_set_new(j, "relay_service", r);
    }
    if (j != NULL && a->relay_cli != NULL) {
        json_object_set_new(j, "relay", prosec__relay_cli_status(a->relay_cli));
    }
    return j;
}

static uint32_t group_arg(struct agent *a, json_t *req, bool *ok)
{
    const char *name = json_string_value(json_object_get(req, "group"));
    const struct prosec_device_group *g =
        name != NULL ? prosec_device_group_find(a->dev, name) : NULL;

    *ok = g != NULL;
    return g != NULL ? g->group_id : 0;
}

static void op_send(struct client *c, json_t *req, const uint8_t *payload,
                    size_t len)
{
    struct agent *a = c->a;
    struct outgoing *o;
    bool ok;
    uint32_t gid = group_arg(a, req, &ok);
    const struct prosec_pgk *pgk;

    if (!ok || gstate_of(a, gid) == NULL) {
        client_error(c, PROSEC_ERR_NOT_FOUND,
                     "this device is in no such group (prosec device "
                     "status lists its groups)");
        return;
    }
    if (len == 0) {
        client_error(c, PROSEC_ERR_ARG, "nothing to send");
        return;
    }
    if (len > (size_t)FRAG_DATA * 65535) {
        client_error(c, PROSEC_ERR_ARG, "message too large");
        return;
    }
    if (prosec_keyring_select(prosec_device_keyring(a->dev, gid),
                              prosec__unix_now(), &pgk) != PROSEC_OK) {
        client_error(c, PROSEC_ERR_NO_PGK,
                     "no valid PGK to send with (not synced with the KMF "
                     "yet, or every key expired)");
        return;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL || (o->data = malloc(len)) == NULL) {
        free(o);
        client_error(c, PROSEC_ERR_NOMEM, "out of memory");
        return;
    }
    memcpy(o->data, payload, len);
    o->len = len;
    o->owner = c;
    o->gid = gid;
    o->msg_id = a->next_msg_id++;
    o->count = (uint16_t)((len + FRAG_DATA - 1) / FRAG_DATA);
    if (a->out_tail != NULL) {
        a->out_tail->next = o;
    } else {
        a->out_head = o;
    }
    a->out_tail = o;
    if (!evtimer_pending(a->pace_ev, NULL)) {
        struct timeval tv = {0, 0};

        evtimer_add(a->pace_ev, &tv);
    }
}

static void op_listen(struct client *c, json_t *req)
{
    struct agent *a = c->a;
    bool ok;
    uint32_t gid = group_arg(a, req, &ok);
    struct gstate *g = ok ? gstate_of(a, gid) : NULL;

    if (g == NULL) {
        client_error(c, PROSEC_ERR_NOT_FOUND,
                     "this device is in no such group (prosec device "
                     "status lists its groups)");
        return;
    }
    c->listening = true;
    c->gid = gid;
    c->base = g->st;
    memset(&c->sent, 0, sizeof(c->sent));
    client_put(c, json_pack("{s:s}", "result", "listening"), NULL, 0);
}

static void stats_to(struct agent *a, struct client *c, bool asked);

static void dispatch(struct client *c, const char *text, size_t tl,
                     const uint8_t *payload, size_t pl)
{
    json_t *req = json_loadb(text, tl, 0, NULL);
    const char *op = json_string_value(json_object_get(req, "op"));

    if (op == NULL) {
        client_error(c, PROSEC_ERR_ARG, "a request needs an \"op\"");
    } else if (strcmp(op, "status") == 0) {
        json_t *s = status_json(c->a);

        json_object_set_new(s, "result", json_string("status"));
        client_put(c, s, NULL, 0);
    } else if (strcmp(op, "send") == 0) {
        op_send(c, req, payload, pl);
    } else if (strcmp(op, "listen") == 0) {
        op_listen(c, req);
    } else if (strcmp(op, "stats") == 0) {
        if (!c->listening) {
            client_error(c, PROSEC_ERR_ARG, "stats follow a listen");
        } else {
            stats_to(c->a, c, true);
        }
    } else if (strcmp(op, "sync") == 0) {
        c->waiting_sync = true;
        c->a->sync_want = true;
        pthread_cond_signal(&c->a->sync_cv);
    } else {
        client_error(c, PROSEC_ERR_ARG, "unknown op");
    }
    json_decref(req);
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    lock(c->a);
    for (;;) {
        size_t avail = evbuffer_get_length(in), need = 4, jl, pl;
        uint8_t *buf;
        prosec_err err;

        if (avail < 4) {
            break;
        }
        buf = evbuffer_pullup(in, avail < 4 + PROSEC_CTL_HEADER_MAX
                                      ? (ssize_t)avail
                                      : 4 + PROSEC_CTL_HEADER_MAX);
        err = prosec_ctl_decode(buf, avail, &need, &jl, &pl);
        if (err == PROSEC_ERR_TIMEOUT) {
            break;
        }
        if (err != PROSEC_OK) {
            prosec__info("control: a malformed request: %s",
                         prosec_error_detail());
            unlock(c->a);
            client_free(c);
            return;
        }
        buf = evbuffer_pullup(in, (ssize_t)need);
        dispatch(c, (const char *)buf + 4, jl, buf + 4 + jl, pl);
        evbuffer_drain(in, need);
    }
    unlock(c->a);
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    struct client *c = arg;
    struct agent *a = c->a;

    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        lock(a);
        client_free(c);
        unlock(a);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int len, void *arg)
{
    struct agent *a = arg;
    struct client *c;
    size_t slot = CLIENTS_MAX;

    (void)l;
    (void)sa;
    (void)len;
    lock(a);
    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        if (a->clients[i] == NULL) {
            slot = i;
            break;
        }
    }
    c = slot < CLIENTS_MAX ? calloc(1, sizeof(*c)) : NULL;
    if (c == NULL) {
        unlock(a);
        evutil_closesocket(fd);
        return;
    }
    c->a = a;
    c->bev = bufferevent_socket_new(a->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        free(c);
        unlock(a);
        evutil_closesocket(fd);
        return;
    }
    /* a message may be up to 64 MiB: read it all, but no more */
    bufferevent_setwatermark(
        c->bev, EV_READ, 0, 4 + PROSEC_CTL_HEADER_MAX + PROSEC_CTL_PAYLOAD_MAX);
    bufferevent_setcb(c->bev, on_client_read, NULL, on_client_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    a->clients[slot] = c;
    unlock(a);
}

/* After a sync: answer the clients that asked for one. */
static void on_synced(evutil_socket_t fd, short what, void *arg)
{
    struct agent *a = arg;

    (void)fd;
    (void)what;
    lock(a);
    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        struct client *c = a->clients[i];

        if (c != NULL && c->waiting_sync) {
            c->waiting_sync = false;
            if (a->kmf_reachable) {
                json_t *s = status_json(a);

                json_object_set_new(s, "result", json_string("synced"));
                client_put(c, s, NULL, 0);
            } else {
                client_error(c, PROSEC_ERR_UNREACHABLE, a->sync_error);
            }
        }
    }
    unlock(a);
}

/* ---- PC5: sending ----------------------------------------------------------
 */

static prosec_err send_frame(struct agent *a, struct outgoing *o)
{
    uint8_t data[PROSEC_SEND_DATA_MAX], pdu[PROSEC_PDU_MAX];
    uint8_t frame[PROSEC_FRAME_MAX];
    const struct prosec_device_group *g;
    struct gstate *gs = gstate_of(a, o->gid);
    size_t chunk = o->len - o->pos < FRAG_DATA ? o->len - o->pos : FRAG_DATA;
    size_t pdu_len = 0, frame_len = 0;
    struct prosec_frame f;
    char hex[8];
    prosec_err err;

    (void)prosec__fmt(hex, sizeof(hex), "%06x", o->gid);
    g = prosec_device_group_find(a->dev, hex);
    if (gs == NULL || g == NULL) {
        return PROSEC_ERR_NOT_FOUND;
    }
    data[0] = (uint8_t)(o->msg_id >> 24);
    data[1] = (uint8_t)(o->msg_id >> 16);
    data[2] = (uint8_t)(o->msg_id >> 8);
    data[3] = (uint8_t)o->msg_id;
    data[4] = (uint8_t)(o->index >> 8);
    data[5] = (uint8_t)o->index;
    data[6] = (uint8_t)(o->count >> 8);
    data[7] = (uint8_t)o->count;
    memcpy(data + FRAG_HDR, o->data + o->pos, chunk);
    err = prosec_sender_protect(gs->tx, prosec__unix_now(), PROSEC_SDU_NON_IP,
                                data, FRAG_HDR + chunk, pdu, sizeof(pdu),
                                &pdu_len);
    prosec_wipe(data, sizeof(data));
    if (err != PROSEC_OK) {
        return err;
    }
    f.version = PROSEC_FRAME_VERSION;
    f.src = g->member_id;
    f.dst = o->gid;
    f.pdu = pdu;
    f.pdu_len = pdu_len;
    err = prosec_frame_encode(frame, sizeof(frame), &frame_len, &f);
    if (err == PROSEC_OK &&
        sendto(a->pc5_fd, frame, frame_len, 0, (struct sockaddr *)&a->pc5_to,
               a->pc5_to_len) < 0) {
        err = prosec__fail(PROSEC_ERR_IO, "PC5 send: %s", strerror(errno));
    }
    /* a relay's own messages reach the bridged channel too */
    if (err == PROSEC_OK && a->pc5b_fd >= 0 &&
        sendto(a->pc5b_fd, frame, frame_len, 0, (struct sockaddr *)&a->pc5b_to,
               a->pc5b_to_len) < 0) {
        err = prosec__fail(PROSEC_ERR_IO, "PC5 send (bridged channel): %s",
                           strerror(errno));
    }
    if (err == PROSEC_OK) {
        o->pos += chunk;
        o->index++;
        gs->sent_frames++;
    }
    return err;
}

static void finish(struct agent *a, struct outgoing *o)
{
    struct gstate *gs = gstate_of(a, o->gid);

    if (o->owner != NULL) {
        if (o->err == PROSEC_OK) {
            client_put(o->owner,
                       json_pack("{s:s, s:I, s:i, s:I}", "result", "sent",
                                 "octets", (json_int_t)o->len, "frames",
                                 o->count, "message_id", (json_int_t)o->msg_id),
                       NULL, 0);
        } else {
            client_error(o->owner, o->err,
                         prosec_error_detail()[0] ? prosec_error_detail()
                                                  : prosec_strerror(o->err));
        }
    }
    if (gs != NULL && o->err == PROSEC_OK) {
        gs->sent_messages++;
    }
    prosec__free_wiped(o->data, o->len);
    free(o);
}

static void on_pace(evutil_socket_t fd, short what, void *arg)
{
    struct agent *a = arg;
    int sent = 0;

    (void)fd;
    (void)what;
    lock(a);
    while (a->out_head != NULL && sent < PACE_FRAMES) {
        struct outgoing *o = a->out_head;

        if (o->pos < o->len) {
            o->err = send_frame(a, o);
            sent++;
        }
        if (o->pos >= o->len || o->err != PROSEC_OK) {
            a->out_head = o->next;
            if (a->out_head == NULL) {
                a->out_tail = NULL;
            }
            finish(a, o);
        }
    }
    if (a->out_head != NULL) {
        struct timeval tv = {0, PACE_MS * 1000};

        evtimer_add(a->pace_ev, &tv);
    }
    unlock(a);
}

/* ---- PC5: receiving ---------------------------------------------------------
 */

static enum reason reason_of(prosec_err e)
{
    switch (e) {
    case PROSEC_ERR_PGK_UNKNOWN:
        return R_UNKNOWN_KEY;
    case PROSEC_ERR_PGK_NOT_ACTIVE:
        return R_NOT_ACTIVE;
    case PROSEC_ERR_PGK_REVOKED:
        return R_REVOKED;
    case PROSEC_ERR_PGK_EXPIRED:
        return R_EXPIRED;
    case PROSEC_ERR_MAC:
        return R_MAC;
    case PROSEC_ERR_REPLAY:
    case PROSEC_ERR_TOO_OLD:
        return R_REPLAY;
    case PROSEC_ERR_MALFORMED:
    case PROSEC_ERR_UNPROTECTED:
    case PROSEC_ERR_L2_ID:
        return R_MALFORMED;
    default:
        return R_OTHER;
    }
}

static void deliver(struct agent *a, struct gstate *g, uint32_t src,
                    const uint8_t *data, size_t len)
{
    char from[8];

    g->messages++;
    (void)prosec__fmt(from, sizeof(from), "%06x", src);
    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        struct client *c = a->clients[i];

        if (c != NULL && c->listening && c->gid == g->gid) {
            client_put(
                c, json_pack("{s:s, s:s}", "event", "message", "from", from),
                data, len);
        }
    }
}

/* One fragment of a message from src: reassembled, then delivered. */
static void reassemble(struct agent *a, struct gstate *g, uint32_t src,
                       const uint8_t *d, size_t n)
{
    uint32_t id;
    uint16_t index, count;
    struct partial *p = NULL, *oldest = NULL;
    size_t chunk = n - FRAG_HDR, size;

    if (n < FRAG_HDR + 1) {
        g->st.rejected[R_MALFORMED]++;
        return;
    }
    id = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 |
         d[3];
    index = (uint16_t)(d[4] << 8 | d[5]);
    count = (uint16_t)(d[6] << 8 | d[7]);
    if (count == 0 || index >= count ||
        (index + 1 < count && chunk != FRAG_DATA) || chunk > FRAG_DATA) {
        g->st.rejected[R_MALFORMED]++;
        return;
    }
    if (count == 1) {
        deliver(a, g, src, d + FRAG_HDR, chunk);
        return;
    }
    for (size_t i = 0; i < PARTIALS; i++) {
        struct partial *q = &g->part[i];

        if (q->used && q->src == src && q->msg_id == id) {
            p = q;
            break;
        }
        if (!q->used && p == NULL) {
            oldest = q;
        } else if (q->used &&
                   (oldest == NULL || (oldest->used && q->t < oldest->t))) {
            oldest = q;
        }
    }
    if (p != NULL && p->count != count) {
        g->st.rejected[R_MALFORMED]++;
        return;
    }
    if (p == NULL) {
        size = (size_t)count * FRAG_DATA;
        if (oldest->used) {
            free_partial(a, oldest);
        }
        if (a->reasm_bytes + size > REASM_BUDGET) {
            g->st.rejected[R_OTHER]++;
            return;
        }
        p = oldest;
        p->data = malloc(size);
        p->seen = calloc((size_t)count / 8 + 1, 1);
        if (p->data == NULL || p->seen == NULL) {
            free(p->data);
            free(p->seen);
            memset(p, 0, sizeof(*p));
            return;
        }
        p->used = true;
        p->src = src;
        p->msg_id = id;
        p->count = count;
        p->size = size;
        a->reasm_bytes += size;
    }
    p->t = prosec__mono_ms();
    if (p->seen[index / 8] >> (index % 8) & 1) {
        return; /* a fragment again (replays are refused before) */
    }
    p->seen[index / 8] |= (uint8_t)(1u << (index % 8));
    memcpy(p->data + (size_t)index * FRAG_DATA, d + FRAG_HDR, chunk);
    if (index + 1 == count) {
        p->last = chunk;
    }
    if (++p->got == count) {
        deliver(a, g, src, p->data, (size_t)(count - 1) * FRAG_DATA + p->last);
        free_partial(a, p);
    }
}

/* A frame's fingerprint, to know a bridged frame when it comes back. */
static uint64_t frame_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

static bool bridged_before(const struct agent *a, uint64_t h)
{
    for (size_t i = 0; i < LOOP_RING; i++) {
        if (a->loop_ring[i] == h) {
            return true;
        }
    }
    return false;
}

/*
 * The group relay: a frame accepted on one channel goes out unchanged on
 * the other.  Duplicates never get here (the receiver's replay check is
 * by sender, PGK, PTK ID and SN), nor do frames that failed their check.
 * A frame we bridged that comes back to us fails as a replay too; its
 * fingerprint (looked up only then) keeps it out of the replay count.
 */
static void bridge(struct agent *a, int from_fd, const uint8_t *frame,
                   size_t len)
{
    bool to_b = from_fd == a->pc5_fd;
    int fd = to_b ? a->pc5b_fd : a->pc5_fd;
    const struct sockaddr_storage *to = to_b ? &a->pc5b_to : &a->pc5_to;
    unsigned tl = to_b ? a->pc5b_to_len : a->pc5_to_len;

    if (a->pc5b_fd < 0) {
        return;
    }
    a->loop_ring[a->loop_pos] = frame_hash(frame, len);
    a->loop_pos = (a->loop_pos + 1) % LOOP_RING;
    if (sendto(fd, frame, len, 0, (const struct sockaddr *)to, tl) < 0) {
        if (prosec__ratelimit(&a->rl_frames, prosec__mono_ms())) {
            prosec__warn("group relay: cannot send: %s", strerror(errno));
        }
        return;
    }
    a->bridged[to_b ? 0 : 1]++;
}

static void on_pc5(evutil_socket_t fd, short what, void *arg)
{
    struct agent *a = arg;
    uint8_t buf[PROSEC_FRAME_MAX + 1], out[PROSEC_PDU_MAX];

    (void)what;
    lock(a);
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        const struct prosec_device_group *g;
        struct prosec_frame f;
        struct gstate *gs;
        char hex[8];
        size_t olen = 0;
        prosec_err err;

        if (n < 0) {
            break;
        }
        if (prosec_frame_decode(buf, (size_t)n, &f) != PROSEC_OK) {
            continue; /* not ours to count: no group to pin it on */
        }
        (void)prosec__fmt(hex, sizeof(hex), "%06x", f.dst);
        g = prosec_device_group_find(a->dev, hex);
        if (g == NULL || f.src == g->member_id) {
            continue; /* another group's, or our own looped back */
        }
        gs = gstate_of(a, f.dst);
        if (gs == NULL) {
            continue;
        }
        err =
            prosec_receiver_unprotect(gs->rx, prosec__unix_now(), f.src, f.pdu,
                                      f.pdu_len, out, sizeof(out), &olen, NULL);
        if (a->pc5b_fd >= 0 && reason_of(err) == R_REPLAY &&
            bridged_before(a, frame_hash(buf, (size_t)n))) {
            continue; /* one we bridged, back on this channel: no attack */
        }
        if (err != PROSEC_OK) {
            gs->st.rejected[reason_of(err)]++;
            if (prosec__ratelimit(&a->rl_frames, prosec__mono_ms())) {
                prosec__debug("pc5: a frame of %06x to %06x refused: %s", f.src,
                              f.dst, prosec_err_name(err));
            }
            if (err == PROSEC_ERR_PGK_UNKNOWN) {
                want_sync(a, true); /* our keys may be behind */
            }
            continue;
        }
        gs->st.accepted++;
        bridge(a, fd, buf, (size_t)n);
        reassemble(a, gs, f.src, out, olen);
        prosec_wipe(out, olen);
    }
    unlock(a);
}

/* ---- MIKEY
 * ------------------------------------------------------------------- */

static void on_mikey(evutil_socket_t fd, short what, void *arg)
{
    struct agent *a = arg;
    uint8_t buf[PROSEC_MIKEY_MSG_MAX + 1], reply[PROSEC_MIKEY_MSG_MAX];

    (void)what;
    for (int i = 0; i < 32; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n =
            recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
        size_t rlen = 0;
        prosec_err err;

        if (n < 0) {
            break;
        }
        lock(a);
        err = prosec_device_mikey_input(a->dev, buf, (size_t)n,
                                        prosec__unix_now(), reply,
                                        sizeof(reply), &rlen, NULL, NULL, NULL);
        if (err == PROSEC_ERR_NOT_FOUND) {
            want_sync(a, true); /* a PMK we do not have yet */
        }
        if (err == PROSEC_OK) {
            a->mikey_ok++;
        } else {
            a->mikey_refused++;
        }
        unlock(a);
        if (err != PROSEC_OK) {
            prosec__info("mikey: a message refused: %s (%s)",
                         prosec_err_name(err), prosec_error_detail());
            continue;
        }
        if (sendto(fd, reply, rlen, 0, (struct sockaddr *)&from, flen) < 0) {
            prosec__warn("mikey: cannot answer: %s", strerror(errno));
        }
    }
}

/* ---- timers ----------------------------------------------------------------
 */

static void mark_cb(void *ctx, uint32_t sender, uint8_t pgk, uint16_t ptk,
                    uint16_t sn)
{
    void **args = ctx;
    struct agent *a = args[0];
    const struct gstate *g = args[1];
    uint16_t old_ptk = 0, old_sn = 0;

    if (prosec_keystore_replay_get(a->ks, g->gid, sender, pgk, &old_ptk,
                                   &old_sn) == PROSEC_OK &&
        old_ptk == ptk && old_sn == sn) {
        return;
    }
    if (prosec_keystore_replay_set(a->ks, g->gid, sender, pgk, ptk, sn) ==
        PROSEC_OK) {
        args[2] = (void *)1;
    }
}

static void save_marks(struct agent *a)
{
    void *args[3] = {a, NULL, NULL};

    for (size_t i = 0; i < a->n_groups; i++) {
        args[1] = &a->groups[i];
        prosec_receiver_marks(a->groups[i].rx, mark_cb, args);
    }
    if (args[2] != NULL) {
        (void)ks_save(a, PROSEC_OK, "replay marks");
    }
}

/* A stats event to c when its counts moved (or always, when asked). */
static void stats_to(struct agent *a, struct client *c, bool asked)
{
    struct gstate *g;
    struct stats now;
    json_t *rej, *ev;

    if (c == NULL || !c->listening || (g = gstate_of(a, c->gid)) == NULL) {
        return;
    }
    {
        now.accepted = g->st.accepted - c->base.accepted;
        for (int r = 0; r < R_N; r++) {
            now.rejected[r] = g->st.rejected[r] - c->base.rejected[r];
        }
        if (!asked && memcmp(&now, &c->sent, sizeof(now)) == 0) {
            return;
        }
        c->sent = now;
        rej = json_object();
        for (int r = 0; r < R_N; r++) {
            json_object_set_new(rej, reason_names[r],
                                json_integer((json_int_t)now.rejected[r]));
        }
        ev = json_pack("{s:s, s:I, s:o}", "event", "stats", "accepted",
                       (json_int_t)now.accepted, "rejected", rej);
        if (asked) {
            json_object_set_new(ev, "result", json_string("stats"));
        }
        client_put(c, ev, NULL, 0);
    }
}

static void send_stats(struct agent *a)
{
    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        stats_to(a, a->clients[i], false);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct agent *a = arg;
    int64_t now = prosec__unix_now();
    size_t gone = 0;

    (void)fd;
    (void)what;
    lock(a);
    /* expiry: the keys (with the skew the ring allows) go from memory and
     * the file */
    for (size_t i = 0; i < prosec_device_group_count(a->dev); i++) {
        const struct prosec_device_group *g = prosec_device_group_at(a->dev, i);

        gone += prosec_keyring_expire(
            prosec_device_keyring(a->dev, g->group_id), now);
    }
    if (gone > 0) {
        (void)prosec_keystore_expire(a->ks, now - skew_of(a));
        (void)ks_save(a, PROSEC_OK, "expiry");
        prosec__info("key: %zu PGK(s) expired and wiped", gone);
    }
    if (keys_low(a, now) && a->kmf_reachable) {
        want_sync(a, true);
    }
    if (prosec__mono_ms() - a->last_marks >= MARKS_S * 1000) {
        save_marks(a);
        a->last_marks = prosec__mono_ms();
    }
    send_stats(a);
    unlock(a);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct agent *a = arg;

    (void)what;
    prosec__info("signal %d: shutting down", (int)sig);
    event_base_loopexit(a->base, NULL);
}

/* ---- set-up ----------------------------------------------------------------
 */

static prosec_err load_device(struct agent *a)
{
    static const enum prosec_keystore_cred which[] = {
        PROSEC_KS_DEVICE_NAME, PROSEC_KS_DEVICE_URI, PROSEC_KS_KMF_URI,
        PROSEC_KS_KMF_ADDRESS, PROSEC_KS_KMF_CA,     PROSEC_KS_CERTIFICATE,
        PROSEC_KS_PRIVATE_KEY};
    struct prosec_device_hooks hooks = {.save_pmk = hook_pmk,
                                        .save_group = hook_group,
                                        .save_pgk = hook_pgk,
                                        .revoke_pgk = hook_revoke,
                                        .ctx = a,
                                        .save_pruk = hook_pruk,
                                        .unlock = unlock,
                                        .relock = lock};
    struct prosec_device_cred cred;
    const char *v[7];
    size_t n[7];
    uint64_t pruk_id = 0;
    uint8_t pmk[32];
    uint32_t pmk_id = 0;
    prosec_err err = PROSEC_OK;

    memset(&cred, 0, sizeof(cred));
    for (size_t i = 0; i < 7 && err == PROSEC_OK; i++) {
        err = prosec_keystore_cred(a->ks, which[i], &v[i], &n[i]);
    }
    if (err != PROSEC_OK) {
        return prosec__fail(err, "the keystore has no device credential "
                                 "(prosec device enroll first)");
    }
    (void)prosec__fmt(cred.name, sizeof(cred.name), "%.*s", (int)n[0], v[0]);
    (void)prosec__fmt(cred.uri, sizeof(cred.uri), "%.*s", (int)n[1], v[1]);
    (void)prosec__fmt(cred.kmf_uri, sizeof(cred.kmf_uri), "%.*s", (int)n[2],
                      v[2]);
    (void)prosec__fmt(cred.kmf_address, sizeof(cred.kmf_address), "%.*s",
                      (int)n[3], v[3]);
    if (prosec_keystore_pruk(a->ks, cred.pruk, &pruk_id) == PROSEC_OK) {
        pruk_id_octets(cred.pruk_id, pruk_id);
        cred.has_pruk = true;
    }
    cred.ca_pem = strndup(v[4], n[4]);
    cred.cert_pem = strndup(v[5], n[5]);
    cred.key_pem = strndup(v[6], n[6]);
    err = cred.ca_pem && cred.cert_pem && cred.key_pem ? PROSEC_OK
                                                       : PROSEC_ERR_NOMEM;
    if (err == PROSEC_OK) {
        err = prosec_device_new(&a->dev, &cred, &hooks);
    }
    prosec_device_cred_wipe(&cred);
    if (err != PROSEC_OK) {
        return err;
    }
    if (prosec_keystore_pmk(a->ks, pmk, &pmk_id) == PROSEC_OK) {
        err = prosec_device_restore_pmk(a->dev, pmk_id, pmk);
        prosec_wipe(pmk, sizeof(pmk));
    }
    /* groups and their keys */
    for (size_t i = 0;
         err == PROSEC_OK && i < prosec_keystore_group_count(a->ks); i++) {
        struct prosec_device_group g;
        const char *name = NULL;
        struct prosec_pgk p;
        size_t np = 0;

        memset(&g, 0, sizeof(g));
        err = prosec_keystore_group_at(a->ks, i, &g.group_id, &name);
        if (err == PROSEC_OK) {
            err = prosec_keystore_pgk_count(a->ks, g.group_id, &np);
        }
        if (err != PROSEC_OK) {
            break;
        }
        (void)prosec__fmt(g.name, sizeof(g.name), "%s", name ? name : "");
        for (size_t k = 0; k < np && err == PROSEC_OK; k++) {
            err = prosec_keystore_pgk_at(a->ks, g.group_id, k, &p);
            if (err == PROSEC_OK && k == 0) {
                g.member_id = p.member_id;
                g.alg = p.alg;
                g.profile = (uint8_t)p.profile;
                g.bearer = p.bearer;
                err = prosec_device_restore_group(a->dev, &g);
            }
            if (err == PROSEC_OK) {
                err = prosec_device_restore_pgk(a->dev, g.group_id, &p);
            }
            prosec_wipe(&p, sizeof(p));
        }
        if (err == PROSEC_OK && np == 0) {
            err = prosec_device_restore_group(a->dev, &g);
        }
    }
    return err;
}

static prosec_err open_channel(const char *spec, const char *iface,
                               const char *const opt[2], int *fd_out,
                               struct sockaddr_storage *to, unsigned *to_len,
                               char *name, size_t name_cap, unsigned *if_out);

static prosec_err open_mikey(struct agent *a)
{
    const struct prosec_device_cred *cred = prosec_device_cred(a->dev);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    unsigned len = 0;
    char spec[80];

    if (a->o.mikey != NULL) {
        (void)prosec__fmt(spec, sizeof(spec), "%s", a->o.mikey);
    } else {
        /* a loopback KMF pushes to loopback; else any address, and we
         * tell the KMF the one our route to it uses */
        bool loop = strncmp(cred->kmf_address, "127.", 4) == 0 ||
                    strncmp(cred->kmf_address, "localhost:", 10) == 0;

        (void)prosec__fmt(spec, sizeof(spec), "%s",
                          loop ? "127.0.0.1:0" : "0.0.0.0:0");
    }
    if (!prosec__parse_addr(spec, true, &ss, &len)) {
        return prosec__fail(PROSEC_ERR_CONFIG,
                            "--mikey '%.60s' is not a numeric IP:PORT", spec);
    }
    a->mikey_fd =
        socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->mikey_fd < 0 || bind(a->mikey_fd, (struct sockaddr *)&ss, len) ||
        getsockname(a->mikey_fd, (struct sockaddr *)&ss, &sl) != 0) {
        return prosec__fail(PROSEC_ERR_IO,
                            "cannot bind the MIKEY socket to "
                            "%s: %s",
                            spec, strerror(errno));
    }
    if (ss.ss_family == AF_INET &&
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)) {
        /* which of our addresses reaches the KMF */
        struct sockaddr_storage k;
        unsigned kl = 0;

        if (prosec__parse_addr(cred->kmf_address, false, &k, &kl) &&
            k.ss_family == AF_INET) {
            (void)prosec__route_source4((struct sockaddr_in *)&k,
                                        &((struct sockaddr_in *)&ss)->sin_addr);
        }
    }
    prosec__format_addr(a->mikey_addr, sizeof(a->mikey_addr), &ss);
    if (ss.ss_family == AF_INET) {
        /* where a relay's remote end hands us the pushes it carries */
        memcpy(&a->mikey_local, &ss, sizeof(a->mikey_local));
        if (a->mikey_local.sin_addr.s_addr == htonl(INADDR_ANY)) {
            a->mikey_local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
    }
    if (a->o.mikey_advertise != NULL) {
        if (!prosec__parse_addr(a->o.mikey_advertise, false, &ss, &len)) {
            return prosec__fail(PROSEC_ERR_CONFIG,
                                "--mikey-advertise '%.60s' is not a numeric "
                                "IP:PORT",
                                a->o.mikey_advertise);
        }
        prosec__format_addr(a->mikey_addr, sizeof(a->mikey_addr), &ss);
    }
    (void)prosec__fmt(a->mikey_own, sizeof(a->mikey_own), "%s", a->mikey_addr);
    return PROSEC_OK;
}

/* The remote end of a relay link (lock held): up, or down (NULLs). */
static void relay_link_cb(void *ctx, const char *via, const char *mikey)
{
    struct agent *a = ctx;

    if (prosec_device_via(a->dev, via) != PROSEC_OK) {
        prosec__err("relay: cannot route the KMF's connections via %s",
                    via != NULL ? via : "(direct)");
    }
    if (mikey != NULL) {
        (void)prosec__fmt(a->mikey_addr, sizeof(a->mikey_addr), "%s", mikey);
        want_sync(a, false); /* tell the KMF where to push now */
    } else if (via == NULL) {
        (void)prosec__fmt(a->mikey_addr, sizeof(a->mikey_addr), "%s",
                          a->mikey_own);
        want_sync(a, false);
    }
}

static prosec_err open_relays(struct agent *a, unsigned pc5_ifindex)
{
    const struct prosec_device_cred *cred = prosec_device_cred(a->dev);
    struct prosec__relay_env env = {a->dev, a, lock, unlock, relay_link_cb};
    struct sockaddr_in ann;
    unsigned ifb = 0;
    prosec_err err = PROSEC_OK;

    /* announcements: on the channel remote devices listen to, port + 1 */
    if (a->o.relay_pc5 != NULL) {
        static const char *const names[2] = {"pc5", "iface"};

        err = open_channel(a->o.relay_pc5, a->o.relay_iface, names, &a->pc5b_fd,
                           &a->pc5b_to, &a->pc5b_to_len, a->pc5b_name,
                           sizeof(a->pc5b_name), &ifb);
        memcpy(&ann, &a->pc5b_to, sizeof(ann));
    } else {
        memcpy(&ann, &a->pc5_to, sizeof(ann));
        ifb = pc5_ifindex;
    }
    ann.sin_port = htons((uint16_t)(ntohs(ann.sin_port) + 1));
    if (err == PROSEC_OK && a->o.relay_listen != NULL) {
        struct prosec__relay_srv_cfg cfg = {
            a->o.relay_listen,
            a->o.upstream != NULL ? a->o.upstream : cred->kmf_address, &ann,
            ifb};

        if (!prosec_device_pruk(a->dev, (uint8_t[32]){0}, (uint8_t[8]){0})) {
            prosec__warn("relay: this device has no PRUK; the KMF gives "
                         "KDs only to a device added with --relay");
        }
        err = prosec__relay_srv_start(&a->relay_srv, &env, &cfg);
    }
    if (err == PROSEC_OK && a->o.relay_listen == NULL) {
        struct prosec__relay_cli_cfg cfg = {
            PROSEC__RELAY_AUTO, a->o.relay,        &ann,
            pc5_ifindex,        cred->kmf_address, a->mikey_local};

        if (!prosec__relay_mode_parse(a->o.relay, &cfg.mode)) {
            return prosec__fail(PROSEC_ERR_CONFIG,
                                "--relay '%.60s' is not auto, off or a "
                                "numeric IPv4 IP:PORT",
                                a->o.relay);
        }
        if (cfg.mode == PROSEC__RELAY_AUTO &&
            a->mikey_local.sin_family != AF_INET) {
            cfg.mode = PROSEC__RELAY_OFF; /* IPv6 MIKEY: no relay */
        }
        if (cfg.mode != PROSEC__RELAY_OFF) {
            /* the link's callback runs under our lock */
            lock(a);
            err = prosec__relay_cli_start(&a->relay_cli, &env, &cfg);
            unlock(a);
        }
    }
    return err;
}

/* opt: the names of the channel's options (ADDR:PORT, interface), for
 * the messages */
static prosec_err open_channel(const char *spec, const char *iface,
                               const char *const opt[2], int *fd_out,
                               struct sockaddr_storage *to, unsigned *to_len,
                               char *name, size_t name_cap, unsigned *if_out)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *g = (struct sockaddr_in *)&ss;
    struct ip_mreqn mr;
    unsigned len = 0, ifindex = 0;
    int one = 1, ttl = 1, buf = 4 << 20;

    if (!prosec__parse_addr(spec, false, &ss, &len) ||
        ss.ss_family != AF_INET || !IN_MULTICAST(ntohl(g->sin_addr.s_addr))) {
        return prosec__fail(PROSEC_ERR_CONFIG,
                            "--%s '%.60s' is not an IPv4 multicast "
                            "ADDR:PORT",
                            opt[0], spec);
    }
    if (iface != NULL) {
        ifindex = if_nametoindex(iface);
        if (ifindex == 0) {
            return prosec__fail(PROSEC_ERR_CONFIG, "--%s: no interface '%.30s'",
                                opt[1], iface);
        }
    }
    memcpy(to, &ss, len);
    *to_len = len;
    *fd_out = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd_out < 0) {
        return prosec__fail(PROSEC_ERR_IO, "socket: %s", strerror(errno));
    }
    (void)setsockopt(*fd_out, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    (void)setsockopt(*fd_out, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (setsockopt(*fd_out, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) !=
        0) {
        (void)setsockopt(*fd_out, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    }
    /* only the groups this socket joined, on the interface it joined them
     * (a relay has one channel on each of two interfaces) */
    {
        int zero = 0;

        (void)setsockopt(*fd_out, IPPROTO_IP, IP_MULTICAST_ALL, &zero,
                         sizeof(zero));
    }
    /* bound to the group's address: only its frames come in */
    if (bind(*fd_out, (struct sockaddr *)&ss, len) != 0) {
        return prosec__fail(PROSEC_ERR_IO,
                            "cannot bind the PC5 socket to "
                            "%s: %s",
                            spec, strerror(errno));
    }
    memset(&mr, 0, sizeof(mr));
    mr.imr_multiaddr = g->sin_addr;
    mr.imr_ifindex = (int)ifindex;
    if (setsockopt(*fd_out, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) !=
            0 &&
        ifindex == 0) {
        /* no route for multicast here: the loopback channel */
        mr.imr_ifindex = (int)if_nametoindex("lo");
        ifindex = (unsigned)mr.imr_ifindex;
        if (setsockopt(*fd_out, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
                       sizeof(mr)) != 0) {
            return prosec__fail(PROSEC_ERR_IO, "cannot join %s: %s", spec,
                                strerror(errno));
        }
    }
    mr.imr_address.s_addr = htonl(INADDR_ANY);
    if (ifindex != 0 && setsockopt(*fd_out, IPPROTO_IP, IP_MULTICAST_IF, &mr,
                                   sizeof(mr)) != 0) {
        return prosec__fail(PROSEC_ERR_IO, "cannot send on that interface: %s",
                            strerror(errno));
    }
    (void)setsockopt(*fd_out, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one));
    (void)setsockopt(*fd_out, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
    (void)prosec__fmt(name, name_cap, "%s", spec);
    *if_out = ifindex;
    return PROSEC_OK;
}

static prosec_err open_pc5(struct agent *a, unsigned *ifindex)
{
    /* a bridging relay's own channel is its --group-pc5 */
    static const char *const plain[2] = {"pc5", "iface"};
    static const char *const group[2] = {"group-pc5", "group-iface"};

    return open_channel(a->o.pc5 != NULL ? a->o.pc5 : PROSEC_PC5_DEFAULT,
                        a->o.iface, a->o.relay_pc5 != NULL ? group : plain,
                        &a->pc5_fd, &a->pc5_to, &a->pc5_to_len, a->pc5_name,
                        sizeof(a->pc5_name), ifindex);
}

static prosec_err open_control(struct agent *a)
{
    struct sockaddr_un un;
    mode_t old;

    if (!prosec__fmt(a->control, sizeof(a->control), "%s",
                     a->o.control != NULL ? a->o.control : "") ||
        (a->o.control == NULL &&
         !prosec__fmt(a->control, sizeof(a->control), "%s.sock", a->o.store))) {
        return prosec__fail(PROSEC_ERR_CONFIG, "control socket path too "
                                               "long");
    }
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    memcpy(un.sun_path, a->control, strlen(a->control));
    /* a stale socket of an agent that died goes; a live one is another
     * agent's, which we must not take over */
    {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 &&
                    connect(probe, (struct sockaddr *)&un, sizeof(un)) == 0;

        if (probe >= 0) {
            close(probe);
        }
        if (live) {
            return prosec__fail(PROSEC_ERR_EXISTS,
                                "another agent serves %s already", a->control);
        }
    }
    (void)unlink(a->control);
    old = umask(0177); /* the socket is 0600 from its birth */
    a->ctl = evconnlistener_new_bind(
        a->base, on_accept, a, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        16, (struct sockaddr *)&un, sizeof(un));
    umask(old);
    if (a->ctl == NULL) {
        return prosec__fail(PROSEC_ERR_IO, "cannot listen on %s: %s",
                            a->control, strerror(errno));
    }
    return chmod(a->control, 0600) == 0
               ? PROSEC_OK
               : prosec__fail(PROSEC_ERR_IO, "chmod %s", a->control);
}

static prosec_err start(struct agent *a)
{
    struct timeval second = {1, 0};
    unsigned pc5_ifindex = 0;
    prosec_err err;

    err = prosec_keystore_open(&a->ks, a->o.store, &a->o.seal);
    if (err != PROSEC_OK) {
        return prosec__fail(err, "%s: %s", a->o.store, prosec_strerror(err));
    }
    err = load_device(a);
    if (err == PROSEC_OK) {
        err = open_mikey(a);
    }
    if (err == PROSEC_OK) {
        err = open_pc5(a, &pc5_ifindex);
    }
    if (err != PROSEC_OK) {
        return err;
    }
    a->base = event_base_new();
    if (a->base == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    err = open_control(a);
    if (err != PROSEC_OK) {
        return err;
    }
    a->mikey_ev =
        event_new(a->base, a->mikey_fd, EV_READ | EV_PERSIST, on_mikey, a);
    a->pc5_ev = event_new(a->base, a->pc5_fd, EV_READ | EV_PERSIST, on_pc5, a);
    a->pace_ev = evtimer_new(a->base, on_pace, a);
    a->tick_ev = event_new(a->base, -1, EV_PERSIST, on_tick, a);
    a->synced_ev = event_new(a->base, -1, 0, on_synced, a);
    a->sig_ev[0] = evsignal_new(a->base, SIGTERM, on_signal, a);
    a->sig_ev[1] = evsignal_new(a->base, SIGINT, on_signal, a);
    if (a->mikey_ev == NULL || a->pc5_ev == NULL || a->pace_ev == NULL ||
        a->tick_ev == NULL || a->synced_ev == NULL || a->sig_ev[0] == NULL ||
        a->sig_ev[1] == NULL || event_add(a->mikey_ev, NULL) != 0 ||
        event_add(a->pc5_ev, NULL) != 0 ||
        event_add(a->tick_ev, &second) != 0 ||
        event_add(a->sig_ev[0], NULL) != 0 ||
        event_add(a->sig_ev[1], NULL) != 0) {
        return PROSEC_ERR_NOMEM;
    }
    /* groups known from the keystore get their sender and receiver */
    for (size_t i = 0; i < prosec_device_group_count(a->dev); i++) {
        (void)gstate_of(a, prosec_device_group_at(a->dev, i)->group_id);
    }
    /* the relays first: with --relay IP:PORT, not even the first key
     * request may go to the KMF directly */
    err = open_relays(a, pc5_ifindex);
    if (err != PROSEC_OK) {
        return err;
    }
    if (a->pc5b_fd >= 0) {
        a->pc5b_ev =
            event_new(a->base, a->pc5b_fd, EV_READ | EV_PERSIST, on_pc5, a);
        if (a->pc5b_ev == NULL || event_add(a->pc5b_ev, NULL) != 0) {
            return PROSEC_ERR_NOMEM;
        }
    }
    a->sync_want = true;
    if (pthread_create(&a->sync_th, NULL, sync_main, a) != 0) {
        return prosec__fail(PROSEC_ERR_NOMEM, "cannot start a thread");
    }
    a->sync_started = true;
    return PROSEC_OK;
}

static void stop(struct agent *a)
{
    prosec__relay_srv_stop(a->relay_srv);
    prosec__relay_cli_stop(a->relay_cli);
    if (a->sync_started) {
        lock(a);
        a->sync_stop = true;
        pthread_cond_signal(&a->sync_cv);
        unlock(a);
        pthread_join(a->sync_th, NULL);
    }
    if (a->ks != NULL && a->dev != NULL) {
        save_marks(a);
    }
    while (a->out_head != NULL) {
        struct outgoing *o = a->out_head;

        a->out_head = o->next;
        o->owner = NULL;
        finish(a, o);
    }
    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        if (a->clients[i] != NULL) {
            client_free(a->clients[i]);
        }
    }
    for (size_t i = 0; i < a->n_groups; i++) {
        for (size_t k = 0; k < PARTIALS; k++) {
            if (a->groups[i].part[k].used) {
                free_partial(a, &a->groups[i].part[k]);
            }
        }
        prosec_sender_free(a->groups[i].tx);
        prosec_receiver_free(a->groups[i].rx);
    }
    if (a->ctl != NULL) {
        evconnlistener_free(a->ctl);
        (void)unlink(a->control);
    }
    {
        struct event *evs[] = {a->mikey_ev,  a->pc5_ev,    a->pace_ev,
                               a->tick_ev,   a->synced_ev, a->sig_ev[0],
                               a->sig_ev[1], a->pc5b_ev};

        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
            if (evs[i] != NULL) {
                event_free(evs[i]);
            }
        }
    }
    if (a->base != NULL) {
        event_base_free(a->base);
    }
    if (a->mikey_fd >= 0) {
        close(a->mikey_fd);
    }
    if (a->pc5_fd >= 0) {
        close(a->pc5_fd);
    }
    if (a->pc5b_fd >= 0) {
        close(a->pc5b_fd);
    }
    prosec_device_free(a->dev);
    prosec_keystore_close(a->ks);
}

prosec_err prosec_agent_run(const struct prosec_agent_opts *opts)
{
    struct agent *a;
    char keep[PROSEC__LOG_MAX];
    prosec_err err;

    prosec__detail_clear();
    if (opts == NULL || opts->store == NULL) {
        return PROSEC_ERR_NULL;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    a->o = *opts;
    a->mikey_fd = a->pc5_fd = a->pc5b_fd = -1;
    a->rl_frames = (struct prosec__ratelimit){1000, 20, 0, 0, 0};
    a->next_msg_id = (uint32_t)prosec__mono_ms() ^ (uint32_t)getpid() << 16;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->sync_cv, NULL);
    {
        /* no core dump of ours holds a key (libcurl's buffers, for one,
         * are not wiped), before the first is read */
        struct rlimit none = {0, 0};

        if (setrlimit(RLIMIT_CORE, &none) != 0 ||
            prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
            prosec__warn("cannot disable core dumps: %s", strerror(errno));
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (prosec_key_json_harden() != PROSEC_OK) {
        prosec__warn("jansson: an allocator of the application is in place; "
                     "JSON copies of keys are not wiped");
    }
    prosec__log_set_level(opts->log_level >= 0
                              ? (enum prosec_log_level)opts->log_level
                              : PROSEC_LOG_INFO);
    (void)evthread_use_pthreads();
    err = start(a);
    if (err == PROSEC_OK) {
        prosec__info("device %s: control %s, MIKEY %s, PC5 %s",
                     prosec_device_cred(a->dev)->name, a->control,
                     a->mikey_addr, a->pc5_name);
        if (opts->ready_fd >= 0) {
            char line[256];

            (void)prosec__fmt(line, sizeof(line), "ready %s %s\n", a->control,
                              a->mikey_addr);
            if (write(opts->ready_fd, line, strlen(line)) < 0) {
                prosec__warn("cannot write the ready line");
            }
            close(opts->ready_fd);
        }
        event_base_dispatch(a->base);
    }
    (void)prosec__fmt(keep, sizeof(keep), "%s", prosec_error_detail());
    stop(a);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->sync_cv);
    prosec_wipe(a, sizeof(*a));
    free(a);
    if (err != PROSEC_OK) {
        return prosec__fail(err, "%s", keep[0] ? keep : prosec_strerror(err));
    }
    prosec__info("stopped");
    return PROSEC_OK;
}

/* ---- enrolment
 * ------------------------------------------------------------------ */

prosec_err prosec_device_enroll(const char *bundle_path, const char *store,
                                const struct prosec_seal *seal, char *name,
                                size_t cap)
{
    struct prosec_device_cred cred;
    struct prosec_keystore *ks = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    prosec_err err;

    prosec__detail_clear();
    if (bundle_path == NULL || store == NULL || seal == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__file_read(bundle_path, 1 << 20, true, &text, &len);
    if (err == PROSEC_ERR_PERM) {
        return prosec__fail(err,
                            "%s is readable by others: it holds the "
                            "device's private key (chmod 600, and ask for "
                            "a new one if others may have read it)",
                            bundle_path);
    }
    if (err != PROSEC_OK) {
        return prosec__fail(err, "cannot read %s", bundle_path);
    }
    err = prosec_device_cred_parse((const char *)text, len, &cred);
    prosec__free_wiped(text, len + 1);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec_keystore_create(&ks, store, seal);
    if (err != PROSEC_OK) {
        err = prosec__fail(err, "%s: %s", store, prosec_strerror(err));
    }
#define SET(which, v)                                                          \
    if (err == PROSEC_OK) {                                                    \
        err = prosec_keystore_set_cred(ks, which, v, strlen(v));               \
    }
    SET(PROSEC_KS_DEVICE_NAME, cred.name)
    SET(PROSEC_KS_DEVICE_URI, cred.uri)
    SET(PROSEC_KS_KMF_URI, cred.kmf_uri)
    SET(PROSEC_KS_KMF_ADDRESS, cred.kmf_address)
    SET(PROSEC_KS_KMF_CA, cred.ca_pem)
    SET(PROSEC_KS_CERTIFICATE, cred.cert_pem)
    SET(PROSEC_KS_PRIVATE_KEY, cred.key_pem)
#undef SET
    if (err == PROSEC_OK && cred.has_pruk) {
        err =
            prosec_keystore_set_pruk(ks, cred.pruk, pruk_id_num(cred.pruk_id));
    }
    if (err == PROSEC_OK) {
        err = prosec_keystore_save(ks);
    }
    if (err == PROSEC_OK && name != NULL) {
        (void)prosec__fmt(name, cap, "%s", cred.name);
    }
    if (err != PROSEC_OK && ks != NULL) {
        /* half an enrolment is none: the file goes */
        prosec_keystore_close(ks);
        ks = NULL;
        (void)unlink(store);
    }
    prosec_keystore_close(ks);
    prosec_device_cred_wipe(&cred);
    return err;
}
