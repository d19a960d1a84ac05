/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for secrets: whole pages from mmap, kept out of core dumps with
 * MADV_DONTDUMP and out of swap with mlock when RLIMIT_MEMLOCK allows
 * (best effort: a failed mlock is reported, not fatal).  A small header
 * before the caller's pointer keeps the sizes, so free needs no length.
 *
 * Under AddressSanitizer the same interface sits on calloc, so that an
 * overflow of a secret buffer is caught by the sanitizer build.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_PLAIN 1
#endif
#endif

/* Placed before the caller's octets; 64 keeps them aligned for anything. */
struct secmem_hdr {
    size_t map_len;  /* the whole mapping (or allocation) */
    size_t user_len; /* the caller's octets */
    bool locked;
    unsigned char pad[64 - 2 * sizeof(size_t) - sizeof(bool)];
};

void *prosec__secmem_alloc(size_t n, bool *locked)
{
    struct secmem_hdr *h;
    size_t total;

    if (n > SIZE_MAX - sizeof(*h) - 65536) {
        return NULL;
    }
    total = sizeof(*h) + n;
#ifdef SECMEM_PLAIN
    h = calloc(1, total);
    if (h == NULL) {
        return NULL;
    }
    h->locked = false;
#else
    {
        long page = sysconf(_SC_PAGESIZE);
        size_t ps = page > 0 ? (size_t)page : 4096;
        void *m;

        total = (total + ps - 1) / ps * ps;
        m = mmap(NULL, total, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            return NULL;
        }
        h = m;
#ifdef MADV_DONTDUMP
        (void)madvise(m, total, MADV_DONTDUMP);
#endif
        h->locked = mlock(m, total) == 0;
    }
#endif
    h->map_len = total;
    h->user_len = n;
    if (locked != NULL) {
        *locked = h->locked;
    }
    return (unsigned char *)h + sizeof(*h);
}

void prosec__secmem_free(void *p)
{
    struct secmem_hdr *h;

    if (p == NULL) {
        return;
    }
    h = (struct secmem_hdr *)(void *)((unsigned char *)p - sizeof(*h));
    prosec_wipe(p, h->user_len);
#ifdef SECMEM_PLAIN
    free(h);
#else
    {
        size_t total = h->map_len;
        bool locked = h->locked;

        if (locked) {
            (void)munlock(h, total);
        }
        (void)munmap(h, total);
    }
#endif
}
