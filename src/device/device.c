/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device side of key delivery: bundle, key request and release
 * (HTTPS), MIKEY pushes (check, store, answer) and a key ring per group.
 *
 * A push is trusted only after, in this order: its structure, its PMK ID
 * being ours, its MAC, its identities (IDr ours, IDi our KMF's), its
 * timestamp window and the replay cache.  The change goes to the key
 * ring, then to storage through the hook; if storage fails the ring
 * change is undone and nothing is answered, so the KMF retries.  The
 * KMF's newest word wins: a pushed PGK whose index clashes with one held
 * (its revocation was lost) replaces it.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../core/core.h"
#include "prosec/device.h"
#include "prosec/keyreq.h"
#include "prosec/mikey.h"

struct slot {
    struct prosec_device_group g;
    struct prosec_keyring *kr;
};

struct prosec_device {
    struct prosec_device_cred cred;
    struct prosec_device_hooks hooks;
    struct prosec__https *https;
    bool has_pmk;
    uint32_t pmk_id;
    uint8_t pmk[PROSEC_MIKEY_PMK_LEN];
    struct slot groups[PROSEC_DEVICE_GROUPS_MAX];
    size_t n_groups;
    struct prosec_mikey_replay *replay;
    uint8_t txid;
};

/* ---- the bundle ------------------------------------------------------------
 */

void prosec_device_cred_wipe(struct prosec_device_cred *c)
{
    if (c == NULL) {
        return;
    }
    free(c->ca_pem);
    free(c->cert_pem);
    if (c->key_pem != NULL) {
        prosec__free_wiped(c->key_pem, strlen(c->key_pem));
    }
    prosec_wipe(c, sizeof(*c));
}

static bool copy_field(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL && s[0] != '\0' && strlen(s) < cap &&
           prosec__fmt(out, cap, "%s", s);
}

static char *dup_field(json_t *o, const char *k, const char *must)
{
    const char *s = json_string_value(json_object_get(o, k));

    if (s == NULL || strstr(s, must) == NULL || strlen(s) > 16384) {
        return NULL;
    }
    return strdup(s);
}

prosec_err prosec_device_cred_parse(const char *json, size_t len,
                                    struct prosec_device_cred *out)
{
    static const char *const names[] = {"device", "device_uri", "kmf_uri",
                                        "kmf_address"};
    struct prosec_device_cred c;
    json_t *j;
    char *fields[4];
    size_t caps[4];
    prosec_err err = PROSEC_ERR_ARG;

    memset(&c, 0, sizeof(c));
    fields[0] = c.name;
    caps[0] = sizeof(c.name);
    fields[1] = c.uri;
    caps[1] = sizeof(c.uri);
    fields[2] = c.kmf_uri;
    caps[2] = sizeof(c.kmf_uri);
    fields[3] = c.kmf_address;
    caps[3] = sizeof(c.kmf_address);
    if (json == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    j = len <= 65536 ? json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)
                     : NULL;
    if (!json_is_object(j) ||
        strcmp(json_string_value(json_object_get(j, "format")) != NULL
                   ? json_string_value(json_object_get(j, "format"))
                   : "",
               "prosec-enrolment-bundle") != 0) {
        err = prosec__fail(PROSEC_ERR_ARG, "not a prosec enrolment bundle");
        goto out;
    }
    if (json_integer_value(json_object_get(j, "version")) != 1) {
        err = prosec__fail(PROSEC_ERR_ARG, "enrolment bundle of an unknown "
                                           "version");
        goto out;
    }
    for (size_t i = 0; i < 4; i++) {
        if (!copy_field(j, names[i], fields[i], caps[i])) {
            err = prosec__fail(PROSEC_ERR_ARG,
                               "enrolment bundle: '%s' missing or too long",
                               names[i]);
            goto out;
        }
    }
    c.ca_pem = dup_field(j, "ca_cert", "-----BEGIN CERTIFICATE-----");
    c.cert_pem = dup_field(j, "cert", "-----BEGIN CERTIFICATE-----");
    c.key_pem = dup_field(j, "key", "-----BEGIN PRIVATE KEY-----");
    if (c.ca_pem == NULL || c.cert_pem == NULL || c.key_pem == NULL) {
        err = prosec__fail(PROSEC_ERR_ARG,
                           "enrolment bundle: a certificate or the key is "
                           "missing or not PEM");
        goto out;
    }
    /* the relay user key, optional */
    if (json_object_get(j, "pruk") != NULL ||
        json_object_get(j, "pruk_id") != NULL) {
        if (!prosec__unhex(c.pruk, sizeof(c.pruk),
                           json_string_value(json_object_get(j, "pruk"))) ||
            !prosec__unhex(c.pruk_id, sizeof(c.pruk_id),
                           json_string_value(json_object_get(j, "pruk_id")))) {
            err = prosec__fail(PROSEC_ERR_ARG,
                               "enrolment bundle: 'pruk' must be 64 and "
                               "'pruk_id' 16 hex digits");
            goto out;
        }
        c.has_pruk = true;
    }
    *out = c;
    memset(&c, 0, sizeof(c));
    err = PROSEC_OK;

out:
    json_decref(j);
    prosec_device_cred_wipe(&c);
    return err;
}

/* ---- the device -----------------------------------------------------------
 */

void prosec_device_free(struct prosec_device *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_groups; i++) {
        prosec_keyring_free(d->groups[i].kr);
    }
    prosec_mikey_replay_free(d->replay);
    prosec__https_free(d->https);
    prosec_device_cred_wipe(&d->cred);
    prosec_wipe(d, sizeof(*d));
    free(d);
}

prosec_err prosec_device_new(struct prosec_device **out,
                             const struct prosec_device_cred *cred,
                             const struct prosec_device_hooks *hooks)
{
    struct prosec_device *d;
    prosec_err err;

    if (out == NULL || cred == NULL || cred->ca_pem == NULL ||
        cred->cert_pem == NULL || cred->key_pem == NULL) {
        return PROSEC_ERR_NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    d->cred = *cred;
    d->cred.ca_pem = strdup(cred->ca_pem);
    d->cred.cert_pem = strdup(cred->cert_pem);
    d->cred.key_pem = strdup(cred->key_pem);
    if (hooks != NULL) {
        d->hooks = *hooks;
    }
    err = d->cred.ca_pem && d->cred.cert_pem && d->cred.key_pem
              ? PROSEC_OK
              : PROSEC_ERR_NOMEM;
    if (err == PROSEC_OK) {
        err = prosec_mikey_replay_new(&d->replay, 4096,
                                      PROSEC_MIKEY_WINDOW_DEFAULT);
    }
    if (err == PROSEC_OK) {
        err =
            prosec__https_new(&d->https, d->cred.kmf_address, d->cred.cert_pem,
                              d->cred.key_pem, d->cred.ca_pem);
    }
    if (err != PROSEC_OK) {
        prosec_device_free(d);
        return err;
    }
    d->txid = (uint8_t)prosec__mono_ms();
    *out = d;
    return PROSEC_OK;
}

prosec_err prosec_device_via(struct prosec_device *d, const char *addr)
{
    return prosec__https_via(d->https, addr);
}

static struct slot *slot_of(struct prosec_device *d, uint32_t group_id)
{
    for (size_t i = 0; i < d->n_groups; i++) {
        if (d->groups[i].g.group_id == group_id) {
            return &d->groups[i];
        }
    }
    return NULL;
}

/* The slot of g->group_id, made when new; its fields set from g. */
static prosec_err put_group(struct prosec_device *d,
                            const struct prosec_device_group *g,
                            struct slot **out)
{
    struct slot *s = slot_of(d, g->group_id);
    prosec_err err;

    if (s == NULL) {
        if (d->n_groups == PROSEC_DEVICE_GROUPS_MAX) {
            return prosec__fail(PROSEC_ERR_FULL, "in %d groups already",
                                PROSEC_DEVICE_GROUPS_MAX);
        }
        s = &d->groups[d->n_groups];
        memset(s, 0, sizeof(*s));
        /* the KMF allows EEA0 only for groups made for testing */
        err = prosec_keyring_new(&s->kr, g->group_id,
                                 g->alg == 0 ? PROSEC_KEYRING_TESTING : 0);
        if (err != PROSEC_OK) {
            return err;
        }
        d->n_groups++;
    }
    if (g->name[0] != '\0') {
        (void)prosec__fmt(s->g.name, sizeof(s->g.name), "%s", g->name);
    }
    s->g.group_id = g->group_id;
    s->g.member_id = g->member_id;
    s->g.alg = g->alg;
    s->g.profile = g->profile;
    s->g.bearer = g->bearer;
    *out = s;
    return PROSEC_OK;
}

prosec_err prosec_device_restore_pmk(struct prosec_device *d, uint32_t pmk_id,
                                     const uint8_t pmk[32])
{
    if (d == NULL || pmk == NULL) {
        return PROSEC_ERR_NULL;
    }
    memcpy(d->pmk, pmk, sizeof(d->pmk));
    d->pmk_id = pmk_id;
    d->has_pmk = true;
    return PROSEC_OK;
}

prosec_err prosec_device_restore_group(struct prosec_device *d,
                                       const struct prosec_device_group *g)
{
    struct slot *s;

    if (d == NULL || g == NULL) {
        return PROSEC_ERR_NULL;
    }
    return put_group(d, g, &s);
}

/* Adds p to the ring; the KMF's newest word wins over a stale clash. */
static prosec_err ring_add(struct prosec_keyring *kr,
                           const struct prosec_pgk *p, uint8_t *dropped,
                           size_t *n_dropped)
{
    prosec_err err = prosec_keyring_add(kr, p);

    *n_dropped = 0;
    if (err == PROSEC_ERR_PGK_DUPLICATE) {
        /* a tombstone (or an old key) of the same ID: the KMF gives the
         * ID again, so the old one is long gone */
        if (prosec_keyring_forget(kr, p->pgk_id) == PROSEC_OK) {
            err = prosec_keyring_add(kr, p);
        }
    }
    while (err == PROSEC_ERR_PGK_INDEX_CLASH && *n_dropped < 8) {
        struct prosec_pgk_info info;
        bool found = false;

        for (size_t i = 0; i < prosec_keyring_count(kr); i++) {
            if (prosec_keyring_info(kr, i, 0, &info) == PROSEC_OK &&
                (info.pgk_id & PROSEC_PGK_INDEX_MASK) ==
                    (p->pgk_id & PROSEC_PGK_INDEX_MASK) &&
                info.pgk_id != p->pgk_id &&
                prosec_keyring_holds(kr, info.pgk_id)) {
                found = prosec_keyring_revoke(kr, info.pgk_id) == PROSEC_OK;
                dropped[(*n_dropped)++] = info.pgk_id;
                break;
            }
        }
        if (!found) {
            break;
        }
        err = prosec_keyring_add(kr, p);
    }
    return err;
}

prosec_err prosec_device_restore_pgk(struct prosec_device *d, uint32_t group_id,
                                     const struct prosec_pgk *p)
{
    struct slot *s;
    uint8_t dropped[8];
    size_t n;

    if (d == NULL || p == NULL) {
        return PROSEC_ERR_NULL;
    }
    s = slot_of(d, group_id);
    if (s == NULL) {
        return PROSEC_ERR_NOT_FOUND;
    }
    return ring_add(s->kr, p, dropped, &n);
}

/* ---- key request -------------------------------------------------------- */

/* The HTTPS exchange, with the caller's lock let go meanwhile. */
static prosec_err post(struct prosec_device *d, const char *path,
                       const char *text, long timeout_ms, char **body,
                       long *status)
{
    prosec_err err;

    if (d->hooks.unlock != NULL) {
        d->hooks.unlock(d->hooks.ctx);
    }
    err = prosec__https_post(d->https, path, text, timeout_ms, body, status);
    if (d->hooks.relock != NULL) {
        d->hooks.relock(d->hooks.ctx);
    }
    return err;
}

static prosec_err refusal(const char *body, long status)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "message"));
    prosec_err err =
        prosec__fail(PROSEC_ERR_DENIED, "the KMF refused (HTTP %ld): %s",
                     status, msg != NULL ? msg : "no reason given");

    json_decref(j);
    return err;
}

static void fill_request_group(struct prosec_device *d, const char *want,
                               struct prosec_keyreq_group *q)
{
    const struct prosec_device_group *g = prosec_device_group_find(d, want);
    uint8_t id[3];

    memset(q, 0, sizeof(*q));
    if (g != NULL && g->name[0] != '\0') {
        (void)prosec__fmt(q->name, sizeof(q->name), "%s", g->name);
    } else if (g == NULL && prosec__unhex(id, 3, want)) {
        q->group_id = (uint32_t)id[0] << 16 | (uint32_t)id[1] << 8 | id[2];
    } else if (g != NULL) {
        q->group_id = g->group_id;
    } else {
        (void)prosec__fmt(q->name, sizeof(q->name), "%s", want);
    }
}

/* The PGK IDs held of group_id (live keys). */
static void held(struct prosec_device *d, uint32_t group_id,
                 struct prosec_keyreq_group *q)
{
    struct slot *s = slot_of(d, group_id);
    struct prosec_pgk_info info;

    q->n_pgk_ids = 0;
    for (size_t i = 0; s != NULL && i < prosec_keyring_count(s->kr); i++) {
        if (prosec_keyring_info(s->kr, i, 0, &info) == PROSEC_OK &&
            prosec_keyring_holds(s->kr, info.pgk_id) &&
            q->n_pgk_ids < PROSEC_KEYREQ_PGK_IDS_MAX) {
            q->pgk_ids[q->n_pgk_ids++] = info.pgk_id;
        }
    }
}

static prosec_err apply_response(struct prosec_device *d,
                                 struct prosec_key_response *a,
                                 struct prosec_device_sync *out)
{
    prosec_err err = PROSEC_OK;

    if (a->has_pmk) {
        if (d->hooks.save_pmk != NULL) {
            err = d->hooks.save_pmk(d->hooks.ctx, a->pmk_id, a->pmk);
        }
        if (err != PROSEC_OK) {
            return err;
        }
        err = prosec_device_restore_pmk(d, a->pmk_id, a->pmk);
    }
    if (err == PROSEC_OK && a->has_pruk &&
        (!d->cred.has_pruk ||
         !prosec_ct_equal(d->cred.pruk, a->pruk, sizeof(a->pruk)) ||
         memcmp(d->cred.pruk_id, a->pruk_id, 8) != 0)) {
        if (d->hooks.save_pruk != NULL) {
            err = d->hooks.save_pruk(d->hooks.ctx, a->pruk_id, a->pruk);
        }
        if (err == PROSEC_OK) {
            memcpy(d->cred.pruk, a->pruk, sizeof(a->pruk));
            memcpy(d->cred.pruk_id, a->pruk_id, 8);
            d->cred.has_pruk = true;
        }
    }
    for (size_t i = 0; err == PROSEC_OK && i < a->n_groups; i++) {
        const struct prosec_keyresp_group *r = &a->groups[i];
        struct prosec_device_group g;
        struct slot *s;

        memset(&g, 0, sizeof(g));
        g.group_id = r->group_id;
        (void)prosec__fmt(g.name, sizeof(g.name), "%s", r->name);
        g.member_id = r->member_id;
        g.alg = r->alg;
        g.profile = r->profile;
        g.bearer = r->bearer;
        if (out != NULL && out->n_groups < PROSEC_DEVICE_GROUPS_MAX) {
            out->groups[out->n_groups].g = g;
            out->groups[out->n_groups].error = (int)r->error;
            out->n_groups++;
        }
        if (r->error != PROSEC_KEYRESP_OK || !r->has_group_id) {
            continue;
        }
        err = put_group(d, &g, &s);
        if (err == PROSEC_OK && d->hooks.save_group != NULL) {
            err = d->hooks.save_group(d->hooks.ctx, &s->g);
        }
    }
    if (out != NULL) {
        out->new_pmk = a->has_pmk;
    }
    return err;
}

prosec_err prosec_device_key_request(struct prosec_device *d,
                                     const char *const *groups, size_t n,
                                     const char *mikey_addr, long timeout_ms,
                                     struct prosec_device_sync *out)
{
    struct prosec_key_request *r = calloc(1, sizeof(*r));
    struct prosec_key_response *a = calloc(1, sizeof(*a));
    char *text = NULL, *body = NULL;
    long status = 0;
    prosec_err err = PROSEC_ERR_NOMEM;

    prosec__detail_clear();
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (r == NULL || a == NULL) {
        goto out;
    }
    err = prosec__fail(PROSEC_ERR_ARG, "more than %d groups",
                       PROSEC_KEYREQ_GROUPS_MAX);
    if (n > PROSEC_KEYREQ_GROUPS_MAX || mikey_addr == NULL ||
        strlen(mikey_addr) > PROSEC_KEYREQ_ADDR_MAX) {
        goto out;
    }
    r->transaction_id = ++d->txid;
    r->algorithms = 0x0F; /* 128-EEA0..3 (EEA0 for testing groups only) */
    (void)prosec__fmt(r->mikey_address, sizeof(r->mikey_address), "%s",
                      mikey_addr);
    r->has_pmk_id = d->has_pmk;
    r->pmk_id = d->pmk_id;
    for (size_t i = 0; i < n; i++) {
        fill_request_group(d, groups[i], &r->groups[i]);
        if (r->groups[i].name[0] == '\0') {
            held(d, r->groups[i].group_id, &r->groups[i]);
        } else {
            const struct prosec_device_group *g =
                prosec_device_group_find(d, r->groups[i].name);

            if (g != NULL) {
                held(d, g->group_id, &r->groups[i]);
            }
        }
    }
    r->n_groups = n;
    /* no group named: the KMF answers for all of ours; tell it what we
     * hold of each group we know */
    for (size_t i = 0; n == 0 && i < d->n_groups; i++) {
        if (d->groups[i].g.name[0] != '\0') {
            (void)prosec__fmt(r->groups[r->n_groups].name,
                              sizeof(r->groups[0].name), "%s",
                              d->groups[i].g.name);
        } else {
            r->groups[r->n_groups].group_id = d->groups[i].g.group_id;
        }
        held(d, d->groups[i].g.group_id, &r->groups[r->n_groups]);
        r->n_groups++;
    }
    err = prosec_key_request_encode(r, &text);
    if (err == PROSEC_OK) {
        err = post(d, "/v1/key-request", text, timeout_ms, &body, &status);
    }
    if (err == PROSEC_OK && status != 200) {
        err = refusal(body, status);
    }
    if (err == PROSEC_OK) {
        err = prosec_key_response_parse(body, strlen(body), a);
        if (err != PROSEC_OK) {
            err =
                prosec__fail(PROSEC_ERR_PROTOCOL, "the KMF's key response: %s",
                             prosec_strerror(err));
        }
    }
    if (err == PROSEC_OK && a->transaction_id != r->transaction_id) {
        err = prosec__fail(PROSEC_ERR_PROTOCOL,
                           "the key response is for another transaction");
    }
    if (err == PROSEC_OK) {
        err = apply_response(d, a, out);
    }

out:
    if (body != NULL) {
        prosec__free_wiped(body, strlen(body));
    }
    prosec_key_json_free(text);
    if (a != NULL) {
        prosec_key_response_wipe(a);
    }
    free(a);
    free(r);
    return err;
}

prosec_err prosec_device_key_release(struct prosec_device *d, long timeout_ms)
{
    struct prosec_key_release r;
    char *text = NULL, *body = NULL;
    long status = 0;
    prosec_err err;

    memset(&r, 0, sizeof(r));
    r.transaction_id = ++d->txid;
    r.all = true;
    err = prosec_key_release_encode(&r, &text);
    if (err == PROSEC_OK) {
        err = prosec__https_post(d->https, "/v1/key-release", text, timeout_ms,
                                 &body, &status);
    }
    if (err == PROSEC_OK && status != 200) {
        err = refusal(body, status);
    }
    if (body != NULL) {
        prosec__free_wiped(body, strlen(body));
    }
    prosec_key_json_free(text);
    return err;
}

/* ---- MIKEY pushes -----------------------------------------------------------
 */

static prosec_err apply_push(struct prosec_device *d,
                             const struct prosec_mikey_msg *m)
{
    struct prosec_device_group g;
    struct prosec_pgk p;
    struct slot *s;
    uint8_t dropped[8];
    size_t n_dropped = 0;
    bool had;
    prosec_err err;

    memset(&g, 0, sizeof(g));
    g.group_id = m->group_id;
    g.member_id = m->member_id;
    g.alg = m->alg;
    g.profile = m->profile;
    g.bearer = m->bearer;
    s = slot_of(d, m->group_id);
    if (s != NULL) {
        (void)prosec__fmt(g.name, sizeof(g.name), "%s", s->g.name);
    }
    err = put_group(d, &g, &s);
    if (err != PROSEC_OK) {
        return err;
    }
    memset(&p, 0, sizeof(p));
    memcpy(p.key, m->pgk, sizeof(p.key));
    p.pgk_id = m->pgk_id;
    p.activation = m->activation;
    p.expiry = m->expiry;
    p.alg = m->alg;
    p.profile = (enum prosec_profile)m->profile;
    p.bearer = m->bearer;
    p.member_id = m->member_id;

    had = prosec_keyring_holds(s->kr, p.pgk_id);
    if (had) {
        /* a retry of a push we stored (our answer was lost): the same
         * key again, so only the answer is owed; a different key under
         * a held ID replaces it */
        err = prosec_keyring_forget(s->kr, p.pgk_id);
    }
    if (err == PROSEC_OK) {
        err = ring_add(s->kr, &p, dropped, &n_dropped);
    }
    if (err == PROSEC_OK && d->hooks.save_group != NULL) {
        err = d->hooks.save_group(d->hooks.ctx, &s->g);
    }
    for (size_t i = 0; err == PROSEC_OK && i < n_dropped; i++) {
        if (d->hooks.revoke_pgk != NULL) {
            err = d->hooks.revoke_pgk(d->hooks.ctx, m->group_id, dropped[i]);
        }
    }
    if (err == PROSEC_OK && d->hooks.save_pgk != NULL) {
        err = d->hooks.save_pgk(d->hooks.ctx, m->group_id, &p);
    }
    if (err != PROSEC_OK && prosec_keyring_holds(s->kr, p.pgk_id) && !had) {
        /* storage refused: undo, answer nothing, the KMF retries */
        if (prosec_keyring_forget(s->kr, p.pgk_id) != PROSEC_OK) {
            prosec__err("mikey: undoing a refused PGK failed");
        }
    }
    prosec_wipe(&p, sizeof(p));
    return err;
}

static prosec_err apply_revoke(struct prosec_device *d,
                               const struct prosec_mikey_msg *m)
{
    struct slot *s = slot_of(d, m->group_id);
    prosec_err err = PROSEC_OK;

    if (s != NULL && prosec_keyring_revoke(s->kr, m->pgk_id) != PROSEC_OK) {
        /* unknown here: nothing to delete, but the KMF wants an answer */
        err = PROSEC_OK;
    }
    if (d->hooks.revoke_pgk != NULL) {
        err = d->hooks.revoke_pgk(d->hooks.ctx, m->group_id, m->pgk_id);
    }
    return err;
}

prosec_err prosec_device_mikey_input(struct prosec_device *d,
                                     const uint8_t *msg, size_t len,
                                     int64_t now, uint8_t *reply, size_t cap,
                                     size_t *reply_len,
                                     enum prosec_device_push_result *what,
                                     uint32_t *group_id, uint8_t *pgk_id)
{
    struct prosec_mikey_info info;
    struct prosec_mikey_msg *m = NULL;
    uint64_t t = 0;
    prosec_err err;

    if (d == NULL || msg == NULL || reply == NULL || reply_len == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec_mikey_peek(msg, len, &info);
    if (err != PROSEC_OK) {
        return err;
    }
    if (strcmp(info.idr, d->cred.uri) != 0 ||
        strcmp(info.idi, d->cred.kmf_uri) != 0) {
        return prosec__fail(PROSEC_ERR_DENIED,
                            "a MIKEY message for '%.64s' from '%.64s'",
                            info.idr, info.idi);
    }
    if (!d->has_pmk || info.pmk_id != d->pmk_id) {
        return prosec__fail(PROSEC_ERR_NOT_FOUND,
                            "a MIKEY message under PMK ID %08x, not ours",
                            info.pmk_id);
    }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    err = prosec_mikey_decode(msg, len, d->pmk, m);
    if (err == PROSEC_OK) {
        err = prosec_mikey_replay_check(d->replay, m->ntp_time, m->rand, now);
    }
    if (err == PROSEC_OK) {
        err = m->kind == PROSEC_MIKEY_PGK_PUSH ? apply_push(d, m)
                                               : apply_revoke(d, m);
    }
    if (err == PROSEC_OK) {
        /* applied: remember it; a full cache only means a replay of it
         * would apply the same change again */
        if (prosec_mikey_replay_add(d->replay, m->ntp_time, m->rand, now) !=
            PROSEC_OK) {
            prosec__debug("mikey: replay cache full");
        }
        err = prosec_ntp_from_unix(now, 0, &t);
    }
    if (err == PROSEC_OK) {
        err = prosec_mikey_verify_encode(reply, cap, reply_len, m, d->pmk, t);
    }
    if (err == PROSEC_OK) {
        if (what != NULL) {
            *what = m->kind == PROSEC_MIKEY_PGK_PUSH
                        ? PROSEC_DEVICE_PUSH_STORED
                        : PROSEC_DEVICE_PUSH_REVOKED;
        }
        if (group_id != NULL) {
            *group_id = m->group_id;
        }
        if (pgk_id != NULL) {
            *pgk_id = m->pgk_id;
        }
    }
    prosec_wipe(m, sizeof(*m));
    free(m);
    return err;
}

/* ---- views ------------------------------------------------------------------
 */

size_t prosec_device_group_count(const struct prosec_device *d)
{
    return d->n_groups;
}

const struct prosec_device_group *
prosec_device_group_at(const struct prosec_device *d, size_t i)
{
    return i < d->n_groups ? &d->groups[i].g : NULL;
}

struct prosec_keyring *prosec_device_keyring(struct prosec_device *d,
                                             uint32_t group_id)
{
    struct slot *s = slot_of(d, group_id);

    return s != NULL ? s->kr : NULL;
}

const struct prosec_device_group *
prosec_device_group_find(const struct prosec_device *d, const char *name)
{
    uint8_t id[3];

    for (size_t i = 0; i < d->n_groups; i++) {
        if (strcmp(d->groups[i].g.name, name) == 0) {
            return &d->groups[i].g;
        }
    }
    if (prosec__unhex(id, 3, name)) {
        uint32_t gid = (uint32_t)id[0] << 16 | (uint32_t)id[1] << 8 | id[2];

        for (size_t i = 0; i < d->n_groups; i++) {
            if (d->groups[i].g.group_id == gid) {
                return &d->groups[i].g;
            }
        }
    }
    return NULL;
}

bool prosec_device_pruk(const struct prosec_device *d, uint8_t pruk[32],
                        uint8_t pruk_id[8])
{
    if (d == NULL || !d->cred.has_pruk) {
        return false;
    }
    memcpy(pruk, d->cred.pruk, 32);
    memcpy(pruk_id, d->cred.pruk_id, 8);
    return true;
}

prosec_err prosec_device_kd_request(const struct prosec_device *d,
                                    const uint8_t pruk_id[8],
                                    const uint8_t freshness[16],
                                    long timeout_ms, uint8_t kd[32],
                                    char *remote, size_t cap)
{
    struct prosec__https *h = NULL;
    char id_hex[17], fr_hex[33], req[160], *body = NULL;
    json_t *j = NULL;
    long status = 0;
    prosec_err err;

    prosec__hex(id_hex, pruk_id, 8);
    prosec__hex(fr_hex, freshness, 16);
    (void)prosec__fmt(req, sizeof(req),
                      "{\"message\":\"KD_REQUEST\",\"version\":1,"
                      "\"pruk_id\":\"%s\",\"kd_freshness\":\"%s\"}",
                      id_hex, fr_hex);
    err = prosec__https_new(&h, d->cred.kmf_address, d->cred.cert_pem,
                            d->cred.key_pem, d->cred.ca_pem);
    if (err == PROSEC_OK) {
        err = prosec__https_post(h, "/v1/relay/kd", req, timeout_ms, &body,
                                 &status);
    }
    if (err == PROSEC_OK) {
        j = json_loads(body, 0, NULL);
        if (status != 200) {
            const char *m = json_string_value(json_object_get(j, "message"));
            const char *e = json_string_value(json_object_get(j, "error"));

            err =
                prosec__fail(e != NULL && strcmp(e, "PROSEC_ERR_NOT_FOUND") == 0
                                 ? PROSEC_ERR_NOT_FOUND
                                 : PROSEC_ERR_DENIED,
                             "the KMF refused the KD (HTTP %ld): %s", status,
                             m != NULL ? m : "no reason given");
        } else if (!prosec__unhex(
                       kd, 32, json_string_value(json_object_get(j, "kd")))) {
            err = prosec__fail(PROSEC_ERR_PROTOCOL, "the KD answer has no KD");
        } else if (remote != NULL) {
            const char *n = json_string_value(json_object_get(j, "device"));

            (void)prosec__fmt(remote, cap, "%s", n != NULL ? n : "?");
        }
    }
    json_decref(j);
    if (body != NULL) {
        prosec__free_wiped(body, strlen(body));
    }
    prosec__https_free(h);
    return err;
}

uint32_t prosec_device_pmk_id(const struct prosec_device *d)
{
    return d->has_pmk ? d->pmk_id : 0;
}

const struct prosec_device_cred *
prosec_device_cred(const struct prosec_device *d)
{
    return &d->cred;
}
