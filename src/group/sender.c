/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sending side: one PTK ID allocator per (group, PGK), shared by all
 * that the device sends to the group (DESIGN.md "Sender rules").
 *
 * The invariant that makes a crash harmless: every PTK ID ever used is at
 * most the reservation last saved for its PGK.  A PTK ID is used only
 * after a save covering it returned, and after a restart the allocator
 * starts above the saved value.  So whatever point a crash hits, no
 * (PGK, PTK ID, SN) repeats.  Reservations are saved `ahead` at a time
 * (TS 33.303 keeps the stored value 3 ahead) to spare the storage.
 */
#include <stdlib.h>
#include <string.h>

#include "prosec/group.h"

struct alloc {
    bool used;
    uint8_t pgk_id;
    bool loaded;       /* the saved reservation has been read */
    uint16_t high;     /* highest PTK ID that may have been used */
    uint16_t reserved; /* last saved reservation */
    uint16_t ptk_id;   /* in use; 0 before the first send of this run */
    uint32_t sn_next;  /* next SN; 0x10000 once the SN space is spent */
    struct prosec_ptk_keys *keys;
};

struct prosec_sender {
    struct prosec_keyring *kr;
    struct prosec_sender_config cfg;
    struct alloc a[PROSEC_KEYRING_MAX];
    size_t evict; /* next slot to reuse when all are taken */
};

prosec_err prosec_sender_new(struct prosec_sender **out,
                             struct prosec_keyring *kr,
                             const struct prosec_sender_config *cfg)
{
    struct prosec_sender *s;

    if (out == NULL || kr == NULL || cfg == NULL || cfg->save == NULL ||
        cfg->load == NULL) {
        return PROSEC_ERR_NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    s->kr = kr;
    s->cfg = *cfg;
    if (s->cfg.ahead == 0) {
        s->cfg.ahead = 3;
    }
    *out = s;
    return PROSEC_OK;
}

void prosec_sender_free(struct prosec_sender *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        prosec_ptk_keys_free(s->a[i].keys);
    }
    prosec_wipe(s, sizeof(*s));
    free(s);
}

/*
 * The allocator of pgk_id, made on first use.  When every slot is taken,
 * one is reused in turn: that is safe, because an allocator made again
 * reloads the saved reservation, which covers every ID it had used.
 */
static struct alloc *alloc_for(struct prosec_sender *s, uint8_t pgk_id)
{
    struct alloc *slot = NULL;

    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        if (s->a[i].used && s->a[i].pgk_id == pgk_id) {
            return &s->a[i];
        }
        if (!s->a[i].used && slot == NULL) {
            slot = &s->a[i];
        }
    }
    if (slot == NULL) {
        slot = &s->a[s->evict++ % PROSEC_KEYRING_MAX];
        prosec_ptk_keys_free(slot->keys);
    }
    memset(slot, 0, sizeof(*slot));
    slot->used = true;
    slot->pgk_id = pgk_id;
    return slot;
}

/*
 * Moves a to a fresh PTK ID: reads the saved reservation on first use,
 * saves a new one when the next ID is not covered, derives the keys.
 * Returns PROSEC_ERR_PGK_EXHAUSTED when no PTK ID is left.
 */
static prosec_err next_ptk_id(struct prosec_sender *s, struct alloc *a,
                              const struct prosec_pgk *pgk)
{
    uint32_t group = prosec_keyring_group(s->kr);
    struct prosec_ptk_keys *keys = NULL;
    uint16_t next;
    prosec_err err;

    if (!a->loaded) {
        uint16_t saved = 0;

        if (s->cfg.load(s->cfg.ctx, group, a->pgk_id, &saved) != PROSEC_OK) {
            return PROSEC_ERR_PERSIST;
        }
        a->high = a->reserved = saved;
        a->loaded = true;
    }
    if (a->high >= PROSEC_PTK_ID_MAX) {
        return PROSEC_ERR_PGK_EXHAUSTED;
    }
    next = (uint16_t)(a->high + 1);

    /* Save first, use after (see the file comment). */
    if (next > a->reserved) {
        uint32_t r = (uint32_t)next + s->cfg.ahead - 1;
        uint16_t res = r > PROSEC_PTK_ID_MAX ? PROSEC_PTK_ID_MAX : (uint16_t)r;

        if (s->cfg.save(s->cfg.ctx, group, a->pgk_id, res) != PROSEC_OK) {
            return PROSEC_ERR_PERSIST;
        }
        a->reserved = res;
    }
    /* From here the ID counts as used, even if the derivation fails. */
    a->high = next;
    err = prosec_ptk_keys_new(&keys, pgk, group, pgk->member_id, next,
                              s->cfg.backend);
    if (err != PROSEC_OK) {
        return err;
    }
    prosec_ptk_keys_free(a->keys);
    a->keys = keys;
    a->ptk_id = next;
    a->sn_next = 0;
    return PROSEC_OK;
}

prosec_err prosec_sender_protect(struct prosec_sender *s, int64_t now,
                                 uint8_t sdu_type, const uint8_t *data,
                                 size_t len, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    const struct prosec_pgk *pgk;
    struct prosec_pdu_hdr h;
    struct alloc *a;
    prosec_err err;

    if (s == NULL || out == NULL || out_len == NULL ||
        (data == NULL && len > 0)) {
        return PROSEC_ERR_NULL;
    }
    if (sdu_type > PROSEC_SDU_TYPE_MAX || len > PROSEC_PDU_DATA_MAX) {
        return PROSEC_ERR_ARG;
    }
    if (cap < PROSEC_PDU_HDR_LEN + len + PROSEC_MAC_LEN) {
        return PROSEC_ERR_BUFFER;
    }

    /* The PGK that expires first; an exhausted one hands over to the
     * next (each round marks one more exhausted, so this ends). */
    for (;;) {
        err = prosec_keyring_select(s->kr, now, &pgk);
        if (err != PROSEC_OK) {
            return err;
        }
        a = alloc_for(s, pgk->pgk_id);
        if (a->ptk_id != 0 && a->sn_next <= PROSEC_SN_MAX) {
            break;
        }
        /* first send with this PGK in this run, or the SN wrapped */
        err = next_ptk_id(s, a, pgk);
        if (err == PROSEC_OK) {
            break;
        }
        if (err != PROSEC_ERR_PGK_EXHAUSTED) {
            return err;
        }
        err = prosec_keyring_exhaust(s->kr, pgk->pgk_id);
        if (err != PROSEC_OK) {
            return err;
        }
    }

    h.sdu_type = sdu_type;
    h.pgk_index = pgk->pgk_id & PROSEC_PGK_INDEX_MASK;
    h.ptk_id = a->ptk_id;
    h.sn = (uint16_t)a->sn_next;
    /* The SN counts as used whether or not protection succeeds. */
    a->sn_next++;
    return prosec_pdu_protect(a->keys, &h, data, len, out, cap, out_len);
}
