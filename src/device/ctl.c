/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local control protocol of the device agent (include/prosec/agent.h):
 * the message decoder both sides use, and the client of `prosec device
 * status|send|listen`.  Messages are bounded before anything is
 * allocated: a header of at most PROSEC_CTL_HEADER_MAX octets, a payload
 * of at most PROSEC_CTL_PAYLOAD_MAX.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../core/core.h"
#include "prosec/agent.h"

prosec_err prosec_ctl_decode(const uint8_t *buf, size_t avail, size_t *need,
                             size_t *json_len, size_t *payload_len)
{
    json_t *j, *p;
    size_t hl, pl = 0;

    if ((buf == NULL && avail > 0) || need == NULL || json_len == NULL ||
        payload_len == NULL) {
        return PROSEC_ERR_NULL;
    }
    *need = 4;
    if (avail < 4) {
        return PROSEC_ERR_TIMEOUT;
    }
    hl = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 |
         buf[3];
    if (hl == 0 || hl > PROSEC_CTL_HEADER_MAX) {
        return prosec__fail(PROSEC_ERR_PROTOCOL,
                            "control message header of %zu octets", hl);
    }
    *need = 4 + hl;
    if (avail < 4 + hl) {
        return PROSEC_ERR_TIMEOUT;
    }
    j = json_loadb((const char *)buf + 4, hl, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return prosec__fail(PROSEC_ERR_PROTOCOL,
                            "control message header is not a JSON object");
    }
    p = json_object_get(j, "payload");
    if (p != NULL) {
        if (!json_is_integer(p) || json_integer_value(p) < 0 ||
            json_integer_value(p) > PROSEC_CTL_PAYLOAD_MAX) {
            json_decref(j);
            return prosec__fail(PROSEC_ERR_PROTOCOL,
                                "control message payload length out of "
                                "range");
        }
        pl = (size_t)json_integer_value(p);
    }
    json_decref(j);
    *need = 4 + hl + pl;
    if (avail < *need) {
        return PROSEC_ERR_TIMEOUT;
    }
    *json_len = hl;
    *payload_len = pl;
    return PROSEC_OK;
}

/* ---- the client ---------------------------------------------------------- */

struct prosec_ctl {
    int fd;
    uint8_t *buf;
    size_t len, cap;
};

prosec_err prosec_ctl_connect(struct prosec_ctl **out, const char *path)
{
    struct sockaddr_un a;
    struct prosec_ctl *c;

    if (out == NULL || path == NULL) {
        return PROSEC_ERR_NULL;
    }
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path)) {
        return prosec__fail(PROSEC_ERR_ARG, "socket path too long: %.60s",
                            path);
    }
    memcpy(a.sun_path, path, strlen(path));
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        prosec_err e = prosec__fail(PROSEC_ERR_UNREACHABLE,
                                    "no agent at %.200s: %s (is prosec "
                                    "device agent running?)",
                                    path, strerror(errno));

        prosec_ctl_close(c);
        return e;
    }
    *out = c;
    return PROSEC_OK;
}

void prosec_ctl_close(struct prosec_ctl *c)
{
    if (c == NULL) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    prosec__free_wiped(c->buf, c->cap);
    free(c);
}

void prosec_ctl_free(void *p)
{
    free(p);
}

static prosec_err write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return prosec__fail(PROSEC_ERR_IO, "the agent went away: %s",
                                strerror(errno));
        }
        b += w;
        n -= (size_t)w;
    }
    return PROSEC_OK;
}

prosec_err prosec_ctl_send(struct prosec_ctl *c, const char *json,
                           const void *payload, size_t len)
{
    json_t *j = json_loads(json, 0, NULL);
    char *text = NULL;
    uint8_t hdr[4];
    size_t n;
    prosec_err err = PROSEC_ERR_ARG;

    if (!json_is_object(j) || len > PROSEC_CTL_PAYLOAD_MAX ||
        (len > 0 && payload == NULL)) {
        goto out;
    }
    if (len > 0) {
        json_object_set_new(j, "payload", json_integer((json_int_t)len));
    }
    text = json_dumps(j, JSON_COMPACT);
    if (text == NULL || strlen(text) > PROSEC_CTL_HEADER_MAX) {
        goto out;
    }
    n = strlen(text);
    hdr[0] = (uint8_t)(n >> 24);
    hdr[1] = (uint8_t)(n >> 16);
    hdr[2] = (uint8_t)(n >> 8);
    hdr[3] = (uint8_t)n;
    err = write_all(c->fd, hdr, 4);
    if (err == PROSEC_OK) {
        err = write_all(c->fd, text, n);
    }
    if (err == PROSEC_OK && len > 0) {
        err = write_all(c->fd, payload, len);
    }

out:
    free(text);
    json_decref(j);
    return err;
}

prosec_err prosec_ctl_recv(struct prosec_ctl *c, int timeout_ms, char **json,
                           uint8_t **payload, size_t *len)
{
    int64_t end = prosec__mono_ms() + timeout_ms;
    size_t need = 4, jl = 0, pl = 0;
    prosec_err err;

    for (;;) {
        struct pollfd pf = {c->fd, POLLIN, 0};
        ssize_t r;
        int wait = -1;

        err = prosec_ctl_decode(c->buf, c->len, &need, &jl, &pl);
        if (err != PROSEC_ERR_TIMEOUT) {
            break;
        }
        if (need > c->cap) {
            uint8_t *nb = realloc(c->buf, need + 4096);

            if (nb == NULL) {
                return PROSEC_ERR_NOMEM;
            }
            c->buf = nb;
            c->cap = need + 4096;
        }
        if (timeout_ms >= 0) {
            int64_t left = end - prosec__mono_ms();

            if (left <= 0) {
                return PROSEC_ERR_TIMEOUT;
            }
            wait = (int)left;
        }
        if (poll(&pf, 1, wait) == 0) {
            return PROSEC_ERR_TIMEOUT;
        }
        r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return prosec__fail(PROSEC_ERR_IO, "the agent closed the "
                                               "connection");
        }
        c->len += (size_t)r;
    }
    if (err != PROSEC_OK) {
        return err;
    }
    *json = malloc(jl + 1);
    *payload = malloc(pl + 1);
    if (*json == NULL || *payload == NULL) {
        free(*json);
        free(*payload);
        return PROSEC_ERR_NOMEM;
    }
    memcpy(*json, c->buf + 4, jl);
    (*json)[jl] = '\0';
    memcpy(*payload, c->buf + 4 + jl, pl);
    *len = pl;
    memmove(c->buf, c->buf + need, c->len - need);
    c->len -= need;
    return PROSEC_OK;
}
