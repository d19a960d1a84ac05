/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The timestamp window and replay cache of MIKEY receivers (RFC 3830
 * 5.4), and NTP <-> Unix time.  The cache is a flat array searched
 * linearly: its capacity is fixed at creation, lookups touch at most a
 * few thousand 24-octet entries, and only authenticated messages (a few
 * per key change) are ever added, so nothing cleverer pays.
 */
#include <stdlib.h>
#include <string.h>

#include "prosec/mikey.h"

#define TWO_31 2147483648LL
#define TWO_32 4294967296LL

prosec_err prosec_ntp_from_unix(int64_t sec, uint32_t nsec, uint64_t *out)
{
    int64_t abs_s;
    uint64_t frac;

    if (out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (sec < PROSEC_NTP_UNIX_MIN || sec > PROSEC_NTP_UNIX_MAX ||
        nsec > 999999999u) {
        return PROSEC_ERR_ARG;
    }
    /* Seconds since 1900; era 1 wraps the 32-bit field (RFC 4330 3). */
    abs_s = sec + PROSEC_NTP_UNIX_OFFSET;
    frac = ((uint64_t)nsec << 32) / 1000000000u;
    *out = (uint64_t)(abs_s % TWO_32) << 32 | frac;
    return PROSEC_OK;
}

int64_t prosec_ntp_to_unix(uint64_t ntp)
{
    int64_t s = (int64_t)(ntp >> 32);

    /* Below 2^31 is era 1 (from 2036-02-07); see prosec_ntp_from_unix. */
    if (s < TWO_31) {
        s += TWO_32;
    }
    return s - PROSEC_NTP_UNIX_OFFSET;
}

struct entry {
    uint64_t ntp_time;
    uint8_t rand[PROSEC_MIKEY_RAND_LEN];
};

struct prosec_mikey_replay {
    size_t cap, n;
    uint32_t window;
    struct entry e[];
};

prosec_err prosec_mikey_replay_new(struct prosec_mikey_replay **out,
                                   size_t capacity, uint32_t window_s)
{
    struct prosec_mikey_replay *c;

    if (out == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (capacity == 0 || capacity > PROSEC_MIKEY_REPLAY_CAP_MAX ||
        window_s == 0 || window_s > PROSEC_MIKEY_WINDOW_MAX) {
        return PROSEC_ERR_ARG;
    }
    c = calloc(1, sizeof(*c) + capacity * sizeof(c->e[0]));
    if (c == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    c->cap = capacity;
    c->window = window_s;
    *out = c;
    return PROSEC_OK;
}

void prosec_mikey_replay_free(struct prosec_mikey_replay *c)
{
    free(c);
}

size_t prosec_mikey_replay_count(const struct prosec_mikey_replay *c)
{
    return c != NULL ? c->n : 0;
}

/* Is T (Unix seconds t) within [now - window, now + window]? */
static bool in_window(int64_t t, int64_t now, uint32_t window)
{
    /* T is bounded; a now far outside that range matches no T, and
     * keeping now close to it keeps t - now from overflowing. */
    if (now < PROSEC_NTP_UNIX_MIN - PROSEC_MIKEY_WINDOW_MAX ||
        now > PROSEC_NTP_UNIX_MAX + PROSEC_MIKEY_WINDOW_MAX) {
        return false;
    }
    return t - now <= (int64_t)window && now - t <= (int64_t)window;
}

prosec_err prosec_mikey_replay_check(const struct prosec_mikey_replay *c,
                                     uint64_t ntp_time,
                                     const uint8_t rand[PROSEC_MIKEY_RAND_LEN],
                                     int64_t now)
{
    if (c == NULL || rand == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (!in_window(prosec_ntp_to_unix(ntp_time), now, c->window)) {
        return PROSEC_ERR_MIKEY_TIME;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].ntp_time == ntp_time &&
            memcmp(c->e[i].rand, rand, PROSEC_MIKEY_RAND_LEN) == 0) {
            return PROSEC_ERR_MIKEY_REPLAY;
        }
    }
    return PROSEC_OK;
}

/*
 * Drops the entries whose T is older than the window: refused anyway from
 * now on.  Entries ahead of the window (the clock went back) stay, since
 * they become acceptable again when it catches up.
 */
static void expire(struct prosec_mikey_replay *c, int64_t now)
{
    size_t keep = 0;

    for (size_t i = 0; i < c->n; i++) {
        int64_t t = prosec_ntp_to_unix(c->e[i].ntp_time);

        if (now - t <= (int64_t)c->window) {
            c->e[keep++] = c->e[i];
        }
    }
    c->n = keep;
}

prosec_err prosec_mikey_replay_add(struct prosec_mikey_replay *c,
                                   uint64_t ntp_time,
                                   const uint8_t rand[PROSEC_MIKEY_RAND_LEN],
                                   int64_t now)
{
    prosec_err err = prosec_mikey_replay_check(c, ntp_time, rand, now);

    if (err != PROSEC_OK) {
        return err;
    }
    if (c->n == c->cap) {
        expire(c, now);
    }
    /* Full of live entries: forgetting one would let it be replayed. */
    if (c->n == c->cap) {
        return PROSEC_ERR_FULL;
    }
    c->e[c->n].ntp_time = ntp_time;
    memcpy(c->e[c->n].rand, rand, PROSEC_MIKEY_RAND_LEN);
    c->n++;
    return PROSEC_OK;
}
