/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sliding replay window over the 16-bit SNs of one PTK ID, a bitmap in
 * the manner of RFC 6479: one bit per SN, in 64-bit words used as a ring,
 * with one word more than the window so that sliding clears whole words.
 * SNs are counted from 1 internally (s = SN + 1) so that 0 means "none".
 */
#include <string.h>

#include "prosec/group.h"

enum { WORDS = PROSEC_REPLAY_WINDOW / 64 + 1, RING_BITS = WORDS * 64 };

void prosec_replay_init(struct prosec_replay *w)
{
    memset(w, 0, sizeof(*w));
}

prosec_err prosec_replay_check(const struct prosec_replay *w, uint16_t sn)
{
    uint32_t s = (uint32_t)sn + 1;
    uint32_t pos = s % RING_BITS;

    if (s > w->top) {
        return PROSEC_OK;
    }
    if (w->top - s >= PROSEC_REPLAY_WINDOW) {
        return PROSEC_ERR_TOO_OLD;
    }
    if (w->bits[pos / 64] >> (pos % 64) & 1) {
        return PROSEC_ERR_REPLAY;
    }
    return PROSEC_OK;
}

void prosec_replay_update(struct prosec_replay *w, uint16_t sn)
{
    uint32_t s = (uint32_t)sn + 1;
    uint32_t pos = s % RING_BITS;

    if (s > w->top) {
        /* Clear the words the window slides over (at most all of them). */
        uint32_t from = w->top / 64, to = s / 64;

        if (w->top == 0 || to - from >= WORDS) {
            memset(w->bits, 0, sizeof(w->bits));
        } else {
            for (uint32_t i = from + 1; i <= to; i++) {
                w->bits[i % WORDS] = 0; /* word of SNs 64i.. */
            }
        }
        w->top = s;
    }
    w->bits[pos / 64] |= (uint64_t)1 << (pos % 64);
}
