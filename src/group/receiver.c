/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The receiving side (DESIGN.md "Receiver rules").  Two bounded tables:
 *
 * - derived keys per (sender, PGK, PTK ID), least recently used out, so a
 *   PTK is derived once, not per PDU;
 * - replay state per (sender, PGK): windows for the sender's newest PTK ID
 *   and the one before.  A sender's PTK IDs only grow (sender.c), so a PDU
 *   under an older PTK ID can only be a replay or very late: too old.
 *   This state is made only for PDUs that passed verification, so in the
 *   integrity profile forged senders cannot evict it.  (In the ts33303
 *   profile nothing can be verified: that is the standard's weakness.)
 *
 * Both tables are fixed at creation; a flood of forged senders costs key
 * derivations, not memory.  When the key ring changes, state of PGKs it
 * no longer holds is dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "prosec/group.h"

/* ---- a fixed-size table with hashed lookup and LRU eviction ----------- */

struct lru {
    size_t cap, nb;
    uint32_t *bucket; /* slot + 1, or 0 */
    uint32_t *next;   /* chain, slot + 1, or 0 */
    uint64_t *key;
    uint64_t *stamp; /* 0: free */
    uint64_t clock;
};

static bool lru_init(struct lru *l, size_t cap)
{
    l->cap = cap;
    l->nb = 1;
    while (l->nb < 2 * cap) {
        l->nb <<= 1;
    }
    l->bucket = calloc(l->nb, sizeof(*l->bucket));
    l->next = calloc(cap, sizeof(*l->next));
    l->key = calloc(cap, sizeof(*l->key));
    l->stamp = calloc(cap, sizeof(*l->stamp));
    l->clock = 0;
    return l->bucket && l->next && l->key && l->stamp;
}

static void lru_fini(struct lru *l)
{
    free(l->bucket);
    free(l->next);
    free(l->key);
    free(l->stamp);
}

static size_t lru_hash(const struct lru *l, uint64_t k)
{
    k ^= k >> 29;
    k *= 0xBF58476D1CE4E5B9u;
    k ^= k >> 32;
    return (size_t)(k & (l->nb - 1));
}

/* The slot holding k, made most recent; -1 when absent. */
static long lru_find(struct lru *l, uint64_t k)
{
    for (uint32_t i = l->bucket[lru_hash(l, k)]; i != 0; i = l->next[i - 1]) {
        if (l->key[i - 1] == k) {
            l->stamp[i - 1] = ++l->clock;
            return (long)i - 1;
        }
    }
    return -1;
}

static void lru_unlink(struct lru *l, size_t slot)
{
    uint32_t *p = &l->bucket[lru_hash(l, l->key[slot])];

    while (*p != 0 && *p != slot + 1) {
        p = &l->next[*p - 1];
    }
    if (*p != 0) {
        *p = l->next[slot];
    }
    l->stamp[slot] = 0;
}

/* A slot for k (absent): a free one, else the least recently used, whose
 * old content the caller must release when *evicted is set. */
static size_t lru_insert(struct lru *l, uint64_t k, bool *evicted)
{
    size_t slot = 0;
    uint32_t *b;

    *evicted = false;
    for (size_t i = 0; i < l->cap; i++) {
        if (l->stamp[i] == 0) {
            slot = i;
            break;
        }
        if (l->stamp[i] < l->stamp[slot]) {
            slot = i;
        }
        if (i == l->cap - 1) {
            *evicted = true;
        }
    }
    if (*evicted) {
        lru_unlink(l, slot);
    }
    b = &l->bucket[lru_hash(l, k)];
    l->key[slot] = k;
    l->next[slot] = *b;
    *b = (uint32_t)slot + 1;
    l->stamp[slot] = ++l->clock;
    return slot;
}

/* ---- the receiver ----------------------------------------------------------
 */

struct sender_state {
    uint16_t cur, prev; /* PTK IDs; prev 0 when none */
    struct prosec_replay win_cur, win_prev;
};

struct prosec_receiver {
    const struct prosec_keyring *kr;
    struct prosec_receiver_config cfg;
    uint64_t generation;
    struct lru keys;
    struct prosec_ptk_keys **key_val;
    struct lru senders;
    struct sender_state *snd_val;
    struct prosec_receiver_stats stats;
};

static uint64_t key_id(uint32_t sender, uint8_t pgk_id, uint16_t ptk_id)
{
    return (uint64_t)sender << 24 | (uint64_t)pgk_id << 16 | ptk_id;
}

static uint64_t sender_id_key(uint32_t sender, uint8_t pgk_id)
{
    return (uint64_t)sender << 8 | pgk_id;
}

void prosec_receiver_free(struct prosec_receiver *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; r->key_val != NULL && i < r->keys.cap; i++) {
        prosec_ptk_keys_free(r->key_val[i]);
    }
    free(r->key_val);
    free(r->snd_val);
    lru_fini(&r->keys);
    lru_fini(&r->senders);
    prosec_wipe(r, sizeof(*r));
    free(r);
}

prosec_err prosec_receiver_new(struct prosec_receiver **out,
                               const struct prosec_keyring *kr,
                               const struct prosec_receiver_config *cfg)
{
    struct prosec_receiver *r;

    if (out == NULL || kr == NULL || cfg == NULL) {
        return PROSEC_ERR_NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    r->kr = kr;
    r->cfg = *cfg;
    if (r->cfg.key_cache == 0) {
        r->cfg.key_cache = PROSEC_KEY_CACHE_DEFAULT;
    }
    if (r->cfg.max_senders == 0) {
        r->cfg.max_senders = PROSEC_SENDERS_DEFAULT;
    }
    r->generation = prosec_keyring_generation(kr);
    r->key_val = calloc(r->cfg.key_cache, sizeof(*r->key_val));
    r->snd_val = calloc(r->cfg.max_senders, sizeof(*r->snd_val));
    if (!lru_init(&r->keys, r->cfg.key_cache) ||
        !lru_init(&r->senders, r->cfg.max_senders) || r->key_val == NULL ||
        r->snd_val == NULL) {
        prosec_receiver_free(r);
        return PROSEC_ERR_NOMEM;
    }
    *out = r;
    return PROSEC_OK;
}

/* The ring changed: drop what belongs to PGKs it no longer holds. */
static void resync(struct prosec_receiver *r)
{
    for (size_t i = 0; i < r->keys.cap; i++) {
        uint8_t pgk_id = (uint8_t)(r->keys.key[i] >> 16);

        if (r->keys.stamp[i] != 0 && !prosec_keyring_holds(r->kr, pgk_id)) {
            lru_unlink(&r->keys, i);
            prosec_ptk_keys_free(r->key_val[i]);
            r->key_val[i] = NULL;
        }
    }
    for (size_t i = 0; i < r->senders.cap; i++) {
        uint8_t pgk_id = (uint8_t)r->senders.key[i];

        if (r->senders.stamp[i] != 0 && !prosec_keyring_holds(r->kr, pgk_id)) {
            lru_unlink(&r->senders, i);
        }
    }
    r->generation = prosec_keyring_generation(r->kr);
}

/* Would the replay state accept (ptk_id, sn)?  No change made. */
static prosec_err replay_check(const struct sender_state *s, uint16_t ptk_id,
                               uint16_t sn)
{
    if (ptk_id > s->cur) {
        return PROSEC_OK;
    }
    if (ptk_id == s->cur) {
        return prosec_replay_check(&s->win_cur, sn);
    }
    if (s->prev != 0 && ptk_id == s->prev) {
        return prosec_replay_check(&s->win_prev, sn);
    }
    return PROSEC_ERR_TOO_OLD;
}

static void replay_update(struct sender_state *s, uint16_t ptk_id, uint16_t sn)
{
    if (ptk_id > s->cur) {
        if (s->cur != 0) {
            s->prev = s->cur;
            s->win_prev = s->win_cur;
        }
        s->cur = ptk_id;
        prosec_replay_init(&s->win_cur);
    }
    prosec_replay_update(ptk_id == s->cur ? &s->win_cur : &s->win_prev, sn);
}

static prosec_err keys_for(struct prosec_receiver *r,
                           const struct prosec_pgk *pgk, uint32_t sender,
                           uint16_t ptk_id, struct prosec_ptk_keys **out)
{
    uint64_t id = key_id(sender, pgk->pgk_id, ptk_id);
    long slot = lru_find(&r->keys, id);
    struct prosec_ptk_keys *k = NULL;
    bool evicted;
    size_t s;
    prosec_err err;

    if (slot >= 0) {
        *out = r->key_val[slot];
        return PROSEC_OK;
    }
    err = prosec_ptk_keys_new(&k, pgk, prosec_keyring_group(r->kr), sender,
                              ptk_id, r->cfg.backend);
    if (err != PROSEC_OK) {
        return err;
    }
    r->stats.key_derivations++;
    s = lru_insert(&r->keys, id, &evicted);
    if (evicted) {
        r->stats.evicted_keys++;
    }
    prosec_ptk_keys_free(r->key_val[s]);
    r->key_val[s] = k;
    *out = k;
    return PROSEC_OK;
}

static prosec_err unprotect(struct prosec_receiver *r, int64_t now,
                            uint32_t sender, const uint8_t *pdu, size_t len,
                            uint8_t *out, size_t cap, size_t *out_len,
                            struct prosec_pdu_hdr *hout)
{
    struct prosec_pdu_hdr h;
    const struct prosec_pgk *pgk;
    const uint8_t *payload;
    struct prosec_ptk_keys *k;
    struct sender_state *st = NULL;
    size_t plen;
    long slot;
    prosec_err err;

    if (sender > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    if (prosec_keyring_generation(r->kr) != r->generation) {
        resync(r);
    }
    err = prosec_pdu_decode(pdu, len, &h, &payload, &plen);
    if (err != PROSEC_OK) {
        return err;
    }
    if (h.ptk_id == 0) {
        return PROSEC_ERR_UNPROTECTED;
    }
    err = prosec_keyring_lookup(r->kr, h.pgk_index, now, &pgk);
    if (err != PROSEC_OK) {
        return err;
    }

    /* Cheap early refusal of replays; nothing changes before the MAC. */
    slot = lru_find(&r->senders, sender_id_key(sender, pgk->pgk_id));
    if (slot >= 0) {
        st = &r->snd_val[slot];
        err = replay_check(st, h.ptk_id, h.sn);
        if (err != PROSEC_OK) {
            return err;
        }
    }

    err = keys_for(r, pgk, sender, h.ptk_id, &k);
    if (err == PROSEC_OK) {
        err = prosec_pdu_unprotect(k, pdu, len, &h, out, cap, out_len);
    }
    if (err != PROSEC_OK) {
        return err;
    }

    /* Verified: now the replay state may be made and moved. */
    if (st == NULL) {
        bool evicted;
        size_t s = lru_insert(&r->senders, sender_id_key(sender, pgk->pgk_id),
                              &evicted);

        if (evicted) {
            r->stats.evicted_senders++;
        }
        st = &r->snd_val[s];
        memset(st, 0, sizeof(*st));
    }
    replay_update(st, h.ptk_id, h.sn);
    if (hout != NULL) {
        *hout = h;
    }
    return PROSEC_OK;
}

prosec_err prosec_receiver_unprotect(struct prosec_receiver *r, int64_t now,
                                     uint32_t sender_id, const uint8_t *pdu,
                                     size_t len, uint8_t *out, size_t cap,
                                     size_t *out_len, struct prosec_pdu_hdr *h)
{
    prosec_err err;

    if (r == NULL || pdu == NULL || out_len == NULL ||
        (out == NULL && cap > 0)) {
        return PROSEC_ERR_NULL;
    }
    err = unprotect(r, now, sender_id, pdu, len, out, cap, out_len, h);
    if (err == PROSEC_OK) {
        r->stats.accepted++;
    } else if ((unsigned)err < PROSEC__ERR_COUNT) {
        r->stats.rejected[err]++;
    }
    return err;
}

void prosec_receiver_stats(const struct prosec_receiver *r,
                           struct prosec_receiver_stats *out)
{
    *out = r->stats;
}

void prosec_receiver_marks(const struct prosec_receiver *r, prosec_mark_fn fn,
                           void *ctx)
{
    for (size_t i = 0; r != NULL && fn != NULL && i < r->senders.cap; i++) {
        const struct sender_state *st = &r->snd_val[i];
        uint64_t key = r->senders.key[i];

        if (r->senders.stamp[i] == 0 || st->cur == 0 || st->win_cur.top == 0) {
            continue;
        }
        /* top is the highest SN + 1 */
        fn(ctx, (uint32_t)(key >> 8), (uint8_t)key, st->cur,
           (uint16_t)(st->win_cur.top - 1));
    }
}

prosec_err prosec_receiver_restore_mark(struct prosec_receiver *r,
                                        uint32_t sender_id, uint8_t pgk_id,
                                        uint16_t ptk_id, uint16_t sn)
{
    uint64_t key = sender_id_key(sender_id, pgk_id);
    struct sender_state *st;
    bool evicted;
    long slot;

    if (r == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (sender_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    slot = lru_find(&r->senders, key);
    if (slot < 0) {
        slot = (long)lru_insert(&r->senders, key, &evicted);
        if (evicted) {
            r->stats.evicted_senders++;
        }
    }
    st = &r->snd_val[slot];
    memset(st, 0, sizeof(*st));
    /* every SN up to sn of ptk_id counts as seen; older PTK IDs are too
     * old, newer ones open */
    st->cur = ptk_id;
    st->win_cur.top = (uint32_t)sn + 1;
    memset(st->win_cur.bits, 0xFF, sizeof(st->win_cur.bits));
    return PROSEC_OK;
}
