/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keystore's state in memory: credential, PMK, PRUK, groups and PGKs,
 * PTK ID reservations, replay marks and settings, with every bound the
 * header promises checked here, once.  The body decoder goes through the
 * same setters, so a file cannot hold what the API would refuse.
 *
 * Tables are fixed arrays kept dense and in order; a removed entry is
 * wiped where it stood.  Reservations and replay marks are kept in order
 * of last change, oldest first, which is the order they give way in.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { NOT_FOUND = -1 };

prosec_err prosec__ks_new(struct prosec_keystore **out)
{
    struct prosec_keystore *ks = calloc(1, sizeof(*ks));

    if (ks == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    ks->sec = prosec__secmem_alloc(sizeof(*ks->sec), &ks->mem_locked);
    if (ks->sec == NULL) {
        free(ks);
        return PROSEC_ERR_NOMEM;
    }
    ks->dir_fd = -1;
    ks->lock_fd = -1;
    *out = ks;
    return PROSEC_OK;
}

void prosec__ks_free_model(struct prosec_keystore *ks)
{
    if (ks == NULL) {
        return;
    }
    for (size_t i = 0; i < PROSEC_KS_CRED_COUNT; i++) {
        prosec__ks_blob_clear(&ks->cred[i]);
    }
    for (size_t i = 0; i < ks->n_setting; i++) {
        prosec__ks_blob_clear(&ks->setting[i].value);
    }
    prosec__secmem_free(ks->sec);
    free(ks->base);
    free(ks->temp);
    prosec_wipe(ks, sizeof(*ks));
    free(ks);
}

bool prosec_keystore_memory_locked(const struct prosec_keystore *ks)
{
    const struct prosec__ks_blob *pk;

    if (ks == NULL) {
        return false;
    }
    pk = &ks->cred[PROSEC_KS_PRIVATE_KEY];
    return ks->mem_locked && (pk->data == NULL || pk->locked);
}

/* ---- blobs -------------------------------------------------------------- */

void prosec__ks_blob_clear(struct prosec__ks_blob *b)
{
    if (b->data == NULL) {
        return;
    }
    if (b->secret) {
        prosec__secmem_free(b->data);
    } else {
        prosec_wipe(b->data, b->len + 1);
        free(b->data);
    }
    memset(b, 0, sizeof(*b));
}

prosec_err prosec__ks_blob_set(struct prosec__ks_blob *b, const void *data,
                               size_t len, bool secret)
{
    bool locked = false;
    uint8_t *p;

    p = secret ? prosec__secmem_alloc(len + 1, &locked) : malloc(len + 1);
    if (p == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    if (len > 0) {
        memcpy(p, data, len);
    }
    p[len] = 0;
    prosec__ks_blob_clear(b);
    b->data = p;
    b->len = len;
    b->secret = secret;
    b->locked = locked;
    return PROSEC_OK;
}

/* ---- credential ------------------------------------------------------------
 */

static const size_t cred_max[PROSEC_KS_CRED_COUNT] = {
    PROSEC_KS_NAME_MAX, PROSEC_KS_URI_MAX, PROSEC_KS_PEM_MAX,
    PROSEC_KS_PEM_MAX,  PROSEC_KS_CA_MAX,  PROSEC_KS_ADDRESS_MAX,
    PROSEC_KS_URI_MAX};

prosec_err prosec_keystore_set_cred(struct prosec_keystore *ks,
                                    enum prosec_keystore_cred which,
                                    const void *data, size_t len)
{
    bool secret = which == PROSEC_KS_PRIVATE_KEY;

    if (ks == NULL || (data == NULL && len > 0)) {
        return PROSEC_ERR_NULL;
    }
    if ((unsigned)which >= PROSEC_KS_CRED_COUNT || len > cred_max[which]) {
        return PROSEC_ERR_ARG;
    }
    if (len == 0) {
        prosec__ks_blob_clear(&ks->cred[which]);
        return PROSEC_OK;
    }
    return prosec__ks_blob_set(&ks->cred[which], data, len, secret);
}

prosec_err prosec_keystore_cred(const struct prosec_keystore *ks,
                                enum prosec_keystore_cred which,
                                const char **data, size_t *len)
{
    if (ks == NULL || data == NULL || len == NULL) {
        return PROSEC_ERR_NULL;
    }
    if ((unsigned)which >= PROSEC_KS_CRED_COUNT) {
        return PROSEC_ERR_ARG;
    }
    if (ks->cred[which].data == NULL) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *data = (const char *)ks->cred[which].data;
    *len = ks->cred[which].len;
    return PROSEC_OK;
}

/* ---- PMK and PRUK
 * ------------------------------------------------------------ */

prosec_err prosec_keystore_set_pmk(struct prosec_keystore *ks,
                                   const uint8_t pmk[PROSEC_KS_PMK_LEN],
                                   uint32_t pmk_id)
{
    if (ks == NULL || pmk == NULL) {
        return PROSEC_ERR_NULL;
    }
    memcpy(ks->sec->pmk, pmk, PROSEC_KS_PMK_LEN);
    ks->sec->pmk_id = pmk_id;
    ks->sec->has_pmk = true;
    return PROSEC_OK;
}

prosec_err prosec_keystore_pmk(const struct prosec_keystore *ks,
                               uint8_t pmk[PROSEC_KS_PMK_LEN], uint32_t *pmk_id)
{
    if (ks == NULL || pmk == NULL || pmk_id == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (!ks->sec->has_pmk) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    memcpy(pmk, ks->sec->pmk, PROSEC_KS_PMK_LEN);
    *pmk_id = ks->sec->pmk_id;
    return PROSEC_OK;
}

void prosec_keystore_clear_pmk(struct prosec_keystore *ks)
{
    if (ks != NULL) {
        prosec_wipe(ks->sec->pmk, sizeof(ks->sec->pmk));
        ks->sec->pmk_id = 0;
        ks->sec->has_pmk = false;
    }
}

prosec_err prosec_keystore_set_pruk(struct prosec_keystore *ks,
                                    const uint8_t pruk[PROSEC_KS_PRUK_LEN],
                                    uint64_t pruk_id)
{
    if (ks == NULL || pruk == NULL) {
        return PROSEC_ERR_NULL;
    }
    memcpy(ks->sec->pruk, pruk, PROSEC_KS_PRUK_LEN);
    ks->sec->pruk_id = pruk_id;
    ks->sec->has_pruk = true;
    return PROSEC_OK;
}

prosec_err prosec_keystore_pruk(const struct prosec_keystore *ks,
                                uint8_t pruk[PROSEC_KS_PRUK_LEN],
                                uint64_t *pruk_id)
{
    if (ks == NULL || pruk == NULL || pruk_id == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (!ks->sec->has_pruk) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    memcpy(pruk, ks->sec->pruk, PROSEC_KS_PRUK_LEN);
    *pruk_id = ks->sec->pruk_id;
    return PROSEC_OK;
}

void prosec_keystore_clear_pruk(struct prosec_keystore *ks)
{
    if (ks != NULL) {
        prosec_wipe(ks->sec->pruk, sizeof(ks->sec->pruk));
        ks->sec->pruk_id = 0;
        ks->sec->has_pruk = false;
    }
}

/* ---- groups ----------------------------------------------------------------
 */

static long find_group(const struct prosec_keystore *ks, uint32_t group_id)
{
    for (size_t i = 0; i < ks->n_group; i++) {
        if (ks->group[i].id == group_id) {
            return (long)i;
        }
    }
    return NOT_FOUND;
}

prosec_err prosec_keystore_group_set(struct prosec_keystore *ks,
                                     uint32_t group_id, const char *name)
{
    struct prosec__ks_group g;
    size_t len;
    long i;

    if (ks == NULL || name == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (group_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    len = strnlen(name, PROSEC_KS_NAME_MAX + 1);
    if (len == 0 || len > PROSEC_KS_NAME_MAX) {
        return PROSEC_ERR_ARG;
    }
    /* built apart: name may point at the group's own name */
    memset(&g, 0, sizeof(g));
    g.id = group_id;
    memcpy(g.name, name, len);
    i = find_group(ks, group_id);
    if (i == NOT_FOUND) {
        if (ks->n_group == PROSEC_KS_GROUPS_MAX) {
            return PROSEC_ERR_FULL;
        }
        i = (long)ks->n_group++;
    }
    ks->group[i] = g;
    return PROSEC_OK;
}

static void remove_pgk_at(struct prosec_keystore *ks, size_t i)
{
    struct prosec__ks_secrets *s = ks->sec;

    memmove(&s->pgk[i], &s->pgk[i + 1], (s->n_pgk - i - 1) * sizeof(s->pgk[0]));
    s->n_pgk--;
    prosec_wipe(&s->pgk[s->n_pgk], sizeof(s->pgk[0]));
}

prosec_err prosec_keystore_group_remove(struct prosec_keystore *ks,
                                        uint32_t group_id)
{
    long g;

    if (ks == NULL) {
        return PROSEC_ERR_NULL;
    }
    g = find_group(ks, group_id);
    if (g == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    for (size_t i = 0; i < ks->sec->n_pgk;) {
        if (ks->sec->pgk[i].group_id == group_id) {
            remove_pgk_at(ks, i);
        } else {
            i++;
        }
    }
    memmove(&ks->group[g], &ks->group[g + 1],
            (ks->n_group - (size_t)g - 1) * sizeof(ks->group[0]));
    ks->n_group--;
    prosec_wipe(&ks->group[ks->n_group], sizeof(ks->group[0]));
    return PROSEC_OK;
}

size_t prosec_keystore_group_count(const struct prosec_keystore *ks)
{
    return ks == NULL ? 0 : ks->n_group;
}

prosec_err prosec_keystore_group_at(const struct prosec_keystore *ks, size_t i,
                                    uint32_t *group_id, const char **name)
{
    if (ks == NULL || group_id == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (i >= ks->n_group) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *group_id = ks->group[i].id;
    if (name != NULL) {
        *name = ks->group[i].name;
    }
    return PROSEC_OK;
}

prosec_err prosec_keystore_group_name(const struct prosec_keystore *ks,
                                      uint32_t group_id, const char **name)
{
    long i;

    if (ks == NULL || name == NULL) {
        return PROSEC_ERR_NULL;
    }
    i = find_group(ks, group_id);
    if (i == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *name = ks->group[i].name;
    return PROSEC_OK;
}

/* ---- PGKs -------------------------------------------------------------------
 */

static long find_pgk(const struct prosec_keystore *ks, uint32_t group_id,
                     uint8_t pgk_id)
{
    for (size_t i = 0; i < ks->sec->n_pgk; i++) {
        const struct prosec__ks_pgk *p = &ks->sec->pgk[i];

        if (p->group_id == group_id && p->pgk.pgk_id == pgk_id) {
            return (long)i;
        }
    }
    return NOT_FOUND;
}

bool prosec__ks_pgk_held(const struct prosec_keystore *ks, uint32_t group_id,
                         uint8_t pgk_id)
{
    return find_pgk(ks, group_id, pgk_id) != NOT_FOUND;
}

static size_t group_pgks(const struct prosec_keystore *ks, uint32_t group_id)
{
    size_t n = 0;

    for (size_t i = 0; i < ks->sec->n_pgk; i++) {
        n += ks->sec->pgk[i].group_id == group_id;
    }
    return n;
}

static prosec_err check_pgk(const struct prosec_pgk *p)
{
    if (p->expiry <= p->activation || p->bearer > PROSEC_BEARER_MAX ||
        p->member_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_ARG;
    }
    if (p->profile != PROSEC_PROFILE_TS33303 &&
        p->profile != PROSEC_PROFILE_INTEGRITY) {
        return PROSEC_ERR_ARG;
    }
    if (p->alg > PROSEC_EEA_MAX ||
        (p->profile == PROSEC_PROFILE_INTEGRITY && p->alg < PROSEC_EIA_MIN)) {
        return PROSEC_ERR_ALG_ID;
    }
    return PROSEC_OK;
}

static void remove_res_at(struct prosec_keystore *ks, size_t i)
{
    memmove(&ks->res[i], &ks->res[i + 1],
            (ks->n_res - i - 1) * sizeof(ks->res[0]));
    ks->n_res--;
    memset(&ks->res[ks->n_res], 0, sizeof(ks->res[0]));
}

static void remove_replay_at(struct prosec_keystore *ks, size_t i)
{
    memmove(&ks->replay[i], &ks->replay[i + 1],
            (ks->n_replay - i - 1) * sizeof(ks->replay[0]));
    ks->n_replay--;
    memset(&ks->replay[ks->n_replay], 0, sizeof(ks->replay[0]));
}

/* Drops the reservation and the replay marks of (group, PGK ID). */
static void drop_key_state(struct prosec_keystore *ks, uint32_t group_id,
                           uint8_t pgk_id)
{
    for (size_t i = 0; i < ks->n_res;) {
        if (ks->res[i].group_id == group_id && ks->res[i].pgk_id == pgk_id) {
            remove_res_at(ks, i);
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < ks->n_replay;) {
        if (ks->replay[i].group_id == group_id &&
            ks->replay[i].pgk_id == pgk_id) {
            remove_replay_at(ks, i);
        } else {
            i++;
        }
    }
}

prosec_err prosec_keystore_pgk_put(struct prosec_keystore *ks,
                                   uint32_t group_id,
                                   const struct prosec_pgk *pgk)
{
    struct prosec__ks_pgk *slot;
    prosec_err err;
    long i;

    if (ks == NULL || pgk == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (find_group(ks, group_id) == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    err = check_pgk(pgk);
    if (err != PROSEC_OK) {
        return err;
    }

    i = find_pgk(ks, group_id, pgk->pgk_id);
    if (i != NOT_FOUND) {
        slot = &ks->sec->pgk[i];
        if (!prosec_ct_equal(slot->pgk.key, pgk->key, PROSEC_PGK_LEN)) {
            drop_key_state(ks, group_id, pgk->pgk_id);
        }
    } else {
        if (ks->sec->n_pgk == PROSEC_KS_PGKS_MAX ||
            group_pgks(ks, group_id) == PROSEC_KS_GROUP_PGKS_MAX) {
            return PROSEC_ERR_FULL;
        }
        slot = &ks->sec->pgk[ks->sec->n_pgk++];
    }
    prosec_wipe(slot, sizeof(*slot));
    slot->group_id = group_id;
    slot->pgk = *pgk;
    return PROSEC_OK;
}

prosec_err prosec_keystore_pgk_remove(struct prosec_keystore *ks,
                                      uint32_t group_id, uint8_t pgk_id)
{
    long i;

    if (ks == NULL) {
        return PROSEC_ERR_NULL;
    }
    i = find_pgk(ks, group_id, pgk_id);
    if (i == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    remove_pgk_at(ks, (size_t)i);
    return PROSEC_OK;
}

prosec_err prosec_keystore_pgk_count(const struct prosec_keystore *ks,
                                     uint32_t group_id, size_t *n)
{
    if (ks == NULL || n == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (find_group(ks, group_id) == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *n = group_pgks(ks, group_id);
    return PROSEC_OK;
}

prosec_err prosec_keystore_pgk_at(const struct prosec_keystore *ks,
                                  uint32_t group_id, size_t i,
                                  struct prosec_pgk *out)
{
    if (ks == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    for (size_t j = 0; j < ks->sec->n_pgk; j++) {
        if (ks->sec->pgk[j].group_id != group_id) {
            continue;
        }
        if (i-- == 0) {
            *out = ks->sec->pgk[j].pgk;
            return PROSEC_OK;
        }
    }
    return PROSEC_ERR_KS_NO_ENTRY;
}

prosec_err prosec_keystore_pgk_get(const struct prosec_keystore *ks,
                                   uint32_t group_id, uint8_t pgk_id,
                                   struct prosec_pgk *out)
{
    long i;

    if (ks == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    i = find_pgk(ks, group_id, pgk_id);
    if (i == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *out = ks->sec->pgk[i].pgk;
    return PROSEC_OK;
}

size_t prosec_keystore_expire(struct prosec_keystore *ks, int64_t now)
{
    size_t n = 0;

    if (ks == NULL) {
        return 0;
    }
    for (size_t i = 0; i < ks->sec->n_pgk;) {
        if (ks->sec->pgk[i].pgk.expiry <= now) {
            remove_pgk_at(ks, i);
            n++;
        } else {
            i++;
        }
    }
    return n;
}

prosec_err prosec_keystore_fill_keyring(const struct prosec_keystore *ks,
                                        struct prosec_keyring *kr)
{
    uint32_t group_id;

    if (ks == NULL || kr == NULL) {
        return PROSEC_ERR_NULL;
    }
    group_id = prosec_keyring_group(kr);
    if (find_group(ks, group_id) == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    for (size_t i = 0; i < ks->sec->n_pgk; i++) {
        const struct prosec__ks_pgk *p = &ks->sec->pgk[i];
        prosec_err err;

        if (p->group_id != group_id) {
            continue;
        }
        err = prosec_keyring_add(kr, &p->pgk);
        if (err != PROSEC_OK) {
            return err;
        }
    }
    return PROSEC_OK;
}

/* ---- PTK ID reservations
 * ------------------------------------------------------ */

static long find_res(const struct prosec_keystore *ks, uint32_t group_id,
                     uint8_t pgk_id)
{
    for (size_t i = 0; i < ks->n_res; i++) {
        if (ks->res[i].group_id == group_id && ks->res[i].pgk_id == pgk_id) {
            return (long)i;
        }
    }
    return NOT_FOUND;
}

/*
 * Records the reservation as the newest entry.  When the table is full,
 * the oldest entry whose PGK is gone makes room: one always exists, as
 * the table is larger than the PGKs held.
 */
static prosec_err put_res(struct prosec_keystore *ks, uint32_t group_id,
                          uint8_t pgk_id, uint16_t reserved)
{
    struct prosec__ks_reservation r = {group_id, pgk_id, reserved};
    long i = find_res(ks, group_id, pgk_id);

    if (i != NOT_FOUND) {
        if (ks->res[i].reserved > r.reserved) {
            r.reserved = ks->res[i].reserved;
        }
        remove_res_at(ks, (size_t)i);
    } else if (ks->n_res == PROSEC_KS_RESERVATIONS_MAX) {
        size_t j = 0;

        while (j < ks->n_res && prosec__ks_pgk_held(ks, ks->res[j].group_id,
                                                    ks->res[j].pgk_id)) {
            j++;
        }
        if (j == ks->n_res) {
            return PROSEC_ERR_FULL;
        }
        remove_res_at(ks, j);
    }
    ks->res[ks->n_res++] = r;
    return PROSEC_OK;
}

prosec_err prosec_keystore_reserve_save(void *ctx, uint32_t group_id,
                                        uint8_t pgk_id, uint16_t reserved)
{
    struct prosec_keystore *ks = ctx;
    struct prosec__ks_reservation *before = NULL;
    size_t n_before;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (ks == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (group_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }

    /* The table as it was, to put back if the save fails. */
    before = malloc(sizeof(ks->res));
    if (before == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    memcpy(before, ks->res, sizeof(ks->res));
    n_before = ks->n_res;

    err = put_res(ks, group_id, pgk_id, reserved);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec_keystore_save(ks);
    if (err != PROSEC_OK) {
        memcpy(ks->res, before, sizeof(ks->res));
        ks->n_res = n_before;
    }

out:
    free(before);
    return err;
}

prosec_err prosec_keystore_reserve_load(void *ctx, uint32_t group_id,
                                        uint8_t pgk_id, uint16_t *reserved)
{
    const struct prosec_keystore *ks = ctx;
    long i;

    if (ks == NULL || reserved == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (group_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    i = find_res(ks, group_id, pgk_id);
    *reserved = i == NOT_FOUND ? 0 : ks->res[i].reserved;
    return PROSEC_OK;
}

/* ---- replay marks -----------------------------------------------------------
 */

static long find_replay(const struct prosec_keystore *ks, uint32_t group_id,
                        uint32_t sender_id, uint8_t pgk_id)
{
    for (size_t i = 0; i < ks->n_replay; i++) {
        const struct prosec__ks_replay *r = &ks->replay[i];

        if (r->group_id == group_id && r->sender_id == sender_id &&
            r->pgk_id == pgk_id) {
            return (long)i;
        }
    }
    return NOT_FOUND;
}

prosec_err prosec_keystore_replay_set(struct prosec_keystore *ks,
                                      uint32_t group_id, uint32_t sender_id,
                                      uint8_t pgk_id, uint16_t ptk_id,
                                      uint16_t sn)
{
    struct prosec__ks_replay r = {group_id, sender_id, pgk_id, ptk_id, sn};
    long i;

    if (ks == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (group_id > PROSEC_L2_ID_MAX || sender_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    i = find_replay(ks, group_id, sender_id, pgk_id);
    if (i != NOT_FOUND) {
        const struct prosec__ks_replay *old = &ks->replay[i];
        uint32_t o = (uint32_t)old->ptk_id << 16 | old->sn;
        uint32_t n = (uint32_t)ptk_id << 16 | sn;

        if (o > n) {
            r.ptk_id = old->ptk_id;
            r.sn = old->sn;
        }
        remove_replay_at(ks, (size_t)i);
    } else if (ks->n_replay == PROSEC_KS_REPLAY_MAX) {
        remove_replay_at(ks, 0);
    }
    ks->replay[ks->n_replay++] = r;
    return PROSEC_OK;
}

prosec_err prosec_keystore_replay_get(const struct prosec_keystore *ks,
                                      uint32_t group_id, uint32_t sender_id,
                                      uint8_t pgk_id, uint16_t *ptk_id,
                                      uint16_t *sn)
{
    long i;

    if (ks == NULL || ptk_id == NULL || sn == NULL) {
        return PROSEC_ERR_NULL;
    }
    i = find_replay(ks, group_id, sender_id, pgk_id);
    if (i == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *ptk_id = ks->replay[i].ptk_id;
    *sn = ks->replay[i].sn;
    return PROSEC_OK;
}

size_t prosec_keystore_replay_count(const struct prosec_keystore *ks)
{
    return ks == NULL ? 0 : ks->n_replay;
}

prosec_err prosec_keystore_replay_at(const struct prosec_keystore *ks, size_t i,
                                     uint32_t *group_id, uint32_t *sender_id,
                                     uint8_t *pgk_id, uint16_t *ptk_id,
                                     uint16_t *sn)
{
    if (ks == NULL || group_id == NULL || sender_id == NULL || pgk_id == NULL ||
        ptk_id == NULL || sn == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (i >= ks->n_replay) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *group_id = ks->replay[i].group_id;
    *sender_id = ks->replay[i].sender_id;
    *pgk_id = ks->replay[i].pgk_id;
    *ptk_id = ks->replay[i].ptk_id;
    *sn = ks->replay[i].sn;
    return PROSEC_OK;
}

/* ---- settings
 * ---------------------------------------------------------------- */

/* 1..PROSEC_KS_SETTING_KEY_MAX printable ASCII characters, no space. */
static bool key_ok(const char *key, size_t *len)
{
    size_t n = strnlen(key, PROSEC_KS_SETTING_KEY_MAX + 1);

    if (n == 0 || n > PROSEC_KS_SETTING_KEY_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (key[i] < 0x21 || key[i] > 0x7E) {
            return false;
        }
    }
    *len = n;
    return true;
}

static long find_setting(const struct prosec_keystore *ks, const char *key)
{
    for (size_t i = 0; i < ks->n_setting; i++) {
        if (strcmp(ks->setting[i].key, key) == 0) {
            return (long)i;
        }
    }
    return NOT_FOUND;
}

prosec_err prosec_keystore_setting_set(struct prosec_keystore *ks,
                                       const char *key, const void *value,
                                       size_t len)
{
    struct prosec__ks_setting *s;
    struct prosec__ks_blob b = {NULL, 0, false, false};
    size_t klen = 0;
    prosec_err err;
    long i;

    if (ks == NULL || key == NULL || (value == NULL && len > 0)) {
        return PROSEC_ERR_NULL;
    }
    if (!key_ok(key, &klen) || len > PROSEC_KS_SETTING_VALUE_MAX) {
        return PROSEC_ERR_ARG;
    }
    i = find_setting(ks, key);
    if (i == NOT_FOUND && ks->n_setting == PROSEC_KS_SETTINGS_MAX) {
        return PROSEC_ERR_FULL;
    }

    err = prosec__ks_blob_set(&b, value, len, false);
    if (err != PROSEC_OK) {
        return err;
    }

    if (i == NOT_FOUND) {
        i = (long)ks->n_setting++;
        s = &ks->setting[i];
        memset(s, 0, sizeof(*s));
        memcpy(s->key, key, klen);
    } else {
        s = &ks->setting[i];
        prosec__ks_blob_clear(&s->value);
    }
    s->value = b;
    return PROSEC_OK;
}

prosec_err prosec_keystore_setting(const struct prosec_keystore *ks,
                                   const char *key, const char **value,
                                   size_t *len)
{
    long i;

    if (ks == NULL || key == NULL || value == NULL || len == NULL) {
        return PROSEC_ERR_NULL;
    }
    i = find_setting(ks, key);
    if (i == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    *value = (const char *)ks->setting[i].value.data;
    *len = ks->setting[i].value.len;
    return PROSEC_OK;
}

prosec_err prosec_keystore_setting_remove(struct prosec_keystore *ks,
                                          const char *key)
{
    long i;

    if (ks == NULL || key == NULL) {
        return PROSEC_ERR_NULL;
    }
    i = find_setting(ks, key);
    if (i == NOT_FOUND) {
        return PROSEC_ERR_KS_NO_ENTRY;
    }
    prosec__ks_blob_clear(&ks->setting[i].value);
    memmove(&ks->setting[i], &ks->setting[i + 1],
            (ks->n_setting - (size_t)i - 1) * sizeof(ks->setting[0]));
    ks->n_setting--;
    memset(&ks->setting[ks->n_setting], 0, sizeof(ks->setting[0]));
    return PROSEC_OK;
}
