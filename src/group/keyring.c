/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PGKs of one group.  A fixed table of PROSEC_KEYRING_MAX slots, so
 * pointers handed out stay put and hostile input cannot grow it.  Revoked
 * and expired PGKs lose their key at once but stay as tombstones (ID,
 * index, period) so that a late PDU is reported for what it is; the oldest
 * tombstone gives way when the table is full.
 */
#include <stdlib.h>
#include <string.h>

#include "prosec/group.h"

struct slot {
    struct prosec_pgk pgk;
    bool used;
    bool revoked;
    bool wiped; /* expired and wiped */
    bool exhausted;
};

struct prosec_keyring {
    uint32_t group_id;
    unsigned flags;
    uint32_t skew;
    uint64_t generation;
    struct slot s[PROSEC_KEYRING_MAX];
};

prosec_err prosec_profile_parse(const char *name, enum prosec_profile *out)
{
    if (name == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (strcmp(name, "ts33303") == 0) {
        *out = PROSEC_PROFILE_TS33303;
    } else if (strcmp(name, "integrity") == 0) {
        *out = PROSEC_PROFILE_INTEGRITY;
    } else {
        return PROSEC_ERR_ARG;
    }
    return PROSEC_OK;
}

const char *prosec_profile_name(enum prosec_profile p)
{
    switch (p) {
    case PROSEC_PROFILE_TS33303:
        return "ts33303";
    case PROSEC_PROFILE_INTEGRITY:
        return "integrity";
    }
    return "unknown";
}

const char *prosec_pgk_state_name(enum prosec_pgk_state s)
{
    switch (s) {
    case PROSEC_PGK_PENDING:
        return "pending";
    case PROSEC_PGK_ACTIVE:
        return "active";
    case PROSEC_PGK_EXHAUSTED:
        return "exhausted";
    case PROSEC_PGK_EXPIRED:
        return "expired";
    case PROSEC_PGK_REVOKED:
        return "revoked";
    }
    return "unknown";
}

prosec_err prosec_keyring_new(struct prosec_keyring **out, uint32_t group_id,
                              unsigned flags)
{
    struct prosec_keyring *kr;

    if (out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (group_id > PROSEC_L2_ID_MAX) {
        return PROSEC_ERR_L2_ID;
    }
    kr = calloc(1, sizeof(*kr));
    if (kr == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    kr->group_id = group_id;
    kr->flags = flags;
    kr->skew = PROSEC_KEYRING_SKEW_DEFAULT;
    *out = kr;
    return PROSEC_OK;
}

void prosec_keyring_free(struct prosec_keyring *kr)
{
    if (kr == NULL) {
        return;
    }
    prosec_wipe(kr, sizeof(*kr));
    free(kr);
}

uint32_t prosec_keyring_group(const struct prosec_keyring *kr)
{
    return kr->group_id;
}

void prosec_keyring_set_skew(struct prosec_keyring *kr, uint32_t seconds)
{
    kr->skew = seconds;
}

static bool live(const struct slot *s)
{
    return s->used && !s->revoked && !s->wiped;
}

static uint8_t index_of(uint8_t pgk_id)
{
    return pgk_id & PROSEC_PGK_INDEX_MASK;
}

/* Times beyond this are refused, so that time arithmetic cannot overflow. */
#define TIME_MAX ((int64_t)1 << 42)

static prosec_err check_pgk(const struct prosec_keyring *kr,
                            const struct prosec_pgk *p)
{
    if (p->activation < 0 || p->expiry > TIME_MAX ||
        p->expiry <= p->activation || p->bearer > PROSEC_BEARER_MAX ||
        p->member_id > PROSEC_L2_ID_MAX ||
        (p->profile != PROSEC_PROFILE_TS33303 &&
         p->profile != PROSEC_PROFILE_INTEGRITY)) {
        return PROSEC_ERR_ARG;
    }
    if (p->alg > PROSEC_EEA_MAX ||
        (p->profile == PROSEC_PROFILE_INTEGRITY && p->alg < PROSEC_EIA_MIN)) {
        return PROSEC_ERR_ALG_ID;
    }
    if (p->alg == PROSEC_EEA0 && !(kr->flags & PROSEC_KEYRING_TESTING)) {
        return PROSEC_ERR_EEA0_FORBIDDEN;
    }
    return PROSEC_OK;
}

/* A free slot, making one from the oldest tombstone if need be. */
static struct slot *free_slot(struct prosec_keyring *kr)
{
    struct slot *oldest = NULL;

    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        struct slot *s = &kr->s[i];

        if (!s->used) {
            return s;
        }
        if (!live(s) &&
            (oldest == NULL || s->pgk.expiry < oldest->pgk.expiry)) {
            oldest = s;
        }
    }
    if (oldest != NULL) {
        prosec_wipe(oldest, sizeof(*oldest));
    }
    return oldest;
}

prosec_err prosec_keyring_add(struct prosec_keyring *kr,
                              const struct prosec_pgk *pgk)
{
    struct slot *slot;
    prosec_err err;

    if (kr == NULL || pgk == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = check_pgk(kr, pgk);
    if (err != PROSEC_OK) {
        return err;
    }
    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        const struct slot *s = &kr->s[i];

        if (!s->used) {
            continue;
        }
        if (s->pgk.pgk_id == pgk->pgk_id) {
            return PROSEC_ERR_PGK_DUPLICATE;
        }
        /* No two PGKs valid at the same time may share an index. */
        if (live(s) && index_of(s->pgk.pgk_id) == index_of(pgk->pgk_id) &&
            s->pgk.activation < pgk->expiry &&
            pgk->activation < s->pgk.expiry) {
            return PROSEC_ERR_PGK_INDEX_CLASH;
        }
    }
    slot = free_slot(kr);
    if (slot == NULL) {
        return PROSEC_ERR_FULL;
    }
    memset(slot, 0, sizeof(*slot));
    slot->pgk = *pgk;
    slot->used = true;
    kr->generation++;
    return PROSEC_OK;
}

static struct slot *find(struct prosec_keyring *kr, uint8_t pgk_id)
{
    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        if (kr->s[i].used && kr->s[i].pgk.pgk_id == pgk_id) {
            return &kr->s[i];
        }
    }
    return NULL;
}

prosec_err prosec_keyring_revoke(struct prosec_keyring *kr, uint8_t pgk_id)
{
    struct slot *s;

    if (kr == NULL) {
        return PROSEC_ERR_NULL;
    }
    s = find(kr, pgk_id);
    if (s == NULL) {
        return PROSEC_ERR_PGK_UNKNOWN;
    }
    prosec_wipe(s->pgk.key, sizeof(s->pgk.key));
    s->revoked = true;
    kr->generation++;
    return PROSEC_OK;
}

prosec_err prosec_keyring_forget(struct prosec_keyring *kr, uint8_t pgk_id)
{
    struct slot *s;

    if (kr == NULL) {
        return PROSEC_ERR_NULL;
    }
    s = find(kr, pgk_id);
    if (s == NULL) {
        return PROSEC_ERR_PGK_UNKNOWN;
    }
    prosec_wipe(s, sizeof(*s));
    kr->generation++;
    return PROSEC_OK;
}

prosec_err prosec_keyring_exhaust(struct prosec_keyring *kr, uint8_t pgk_id)
{
    struct slot *s;

    if (kr == NULL) {
        return PROSEC_ERR_NULL;
    }
    s = find(kr, pgk_id);
    if (s == NULL) {
        return PROSEC_ERR_PGK_UNKNOWN;
    }
    s->exhausted = true;
    return PROSEC_OK;
}

size_t prosec_keyring_expire(struct prosec_keyring *kr, int64_t now)
{
    size_t n = 0;

    for (size_t i = 0; kr != NULL && i < PROSEC_KEYRING_MAX; i++) {
        struct slot *s = &kr->s[i];

        if (live(s) && s->pgk.expiry + (int64_t)kr->skew <= now) {
            prosec_wipe(s->pgk.key, sizeof(s->pgk.key));
            s->wiped = true;
            kr->generation++;
            n++;
        }
    }
    return n;
}

prosec_err prosec_keyring_select(const struct prosec_keyring *kr, int64_t now,
                                 const struct prosec_pgk **out)
{
    const struct slot *best = NULL;
    bool exhausted = false;

    if (kr == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    /* Sending uses no skew: only a PGK active by our own clock. */
    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        const struct slot *s = &kr->s[i];

        if (!live(s) || s->pgk.activation > now || now >= s->pgk.expiry) {
            continue;
        }
        if (s->exhausted) {
            exhausted = true;
            continue;
        }
        if (best == NULL || s->pgk.expiry < best->pgk.expiry) {
            best = s;
        }
    }
    if (best == NULL) {
        return exhausted ? PROSEC_ERR_PGK_EXHAUSTED : PROSEC_ERR_NO_PGK;
    }
    *out = &best->pgk;
    return PROSEC_OK;
}

prosec_err prosec_keyring_lookup(const struct prosec_keyring *kr, uint8_t index,
                                 int64_t now, const struct prosec_pgk **out)
{
    const struct slot *best = NULL;
    bool pending = false, revoked = false, expired = false;

    if (kr == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        const struct slot *s = &kr->s[i];
        int64_t skew = (int64_t)kr->skew;

        if (!s->used || index_of(s->pgk.pgk_id) != index) {
            continue;
        }
        if (s->revoked) {
            revoked = true;
        } else if (s->wiped || s->pgk.expiry + skew <= now) {
            expired = true;
        } else if (s->pgk.activation - skew > now) {
            pending = true;
        } else if (best == NULL || s->pgk.expiry < best->pgk.expiry) {
            best = s;
        }
    }
    if (best != NULL) {
        *out = &best->pgk;
        return PROSEC_OK;
    }
    if (pending) {
        return PROSEC_ERR_PGK_NOT_ACTIVE;
    }
    if (revoked) {
        return PROSEC_ERR_PGK_REVOKED;
    }
    return expired ? PROSEC_ERR_PGK_EXPIRED : PROSEC_ERR_PGK_UNKNOWN;
}

uint64_t prosec_keyring_generation(const struct prosec_keyring *kr)
{
    return kr->generation;
}

bool prosec_keyring_holds(const struct prosec_keyring *kr, uint8_t pgk_id)
{
    for (size_t i = 0; i < PROSEC_KEYRING_MAX; i++) {
        if (live(&kr->s[i]) && kr->s[i].pgk.pgk_id == pgk_id) {
            return true;
        }
    }
    return false;
}

size_t prosec_keyring_count(const struct prosec_keyring *kr)
{
    size_t n = 0;

    for (size_t i = 0; kr != NULL && i < PROSEC_KEYRING_MAX; i++) {
        n += kr->s[i].used;
    }
    return n;
}

prosec_err prosec_keyring_info(const struct prosec_keyring *kr, size_t i,
                               int64_t now, struct prosec_pgk_info *out)
{
    if (kr == NULL || out == NULL) {
        return PROSEC_ERR_NULL;
    }
    for (size_t k = 0; k < PROSEC_KEYRING_MAX; k++) {
        const struct slot *s = &kr->s[k];

        if (!s->used || i-- > 0) {
            continue;
        }
        out->pgk_id = s->pgk.pgk_id;
        out->activation = s->pgk.activation;
        out->expiry = s->pgk.expiry;
        out->alg = s->pgk.alg;
        out->profile = s->pgk.profile;
        out->member_id = s->pgk.member_id;
        if (s->revoked) {
            out->state = PROSEC_PGK_REVOKED;
        } else if (s->wiped || now >= s->pgk.expiry) {
            out->state = PROSEC_PGK_EXPIRED;
        } else if (now < s->pgk.activation) {
            out->state = PROSEC_PGK_PENDING;
        } else {
            out->state =
                s->exhausted ? PROSEC_PGK_EXHAUSTED : PROSEC_PGK_ACTIVE;
        }
        return PROSEC_OK;
    }
    return PROSEC_ERR_ARG;
}
