/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clocks, random octets, hex, addresses, and files: atomic replacement
 * (temporary file, write, fsync, rename, fsync of the folder, so a crash
 * leaves the old or the new content, never a torn file) and permission
 * checks for files that hold secrets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core.h"

int64_t prosec__mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t prosec__unix_now(void)
{
    return (int64_t)time(NULL);
}

prosec_err prosec__random(void *out, size_t n)
{
    if (n > 0 && RAND_bytes(out, (int)n) != 1) {
        return PROSEC_ERR_CRYPTO_LIB;
    }
    return PROSEC_OK;
}

void prosec__hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool prosec__unhex(uint8_t *out, size_t n, const char *s)
{
    if (s == NULL || strlen(s) != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool prosec__fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

void prosec__free_wiped(void *p, size_t n)
{
    if (p != NULL) {
        prosec_wipe(p, n);
        free(p);
    }
}

/* The folder part of path into out ("." when there is none). */
static bool dir_of(char *out, size_t cap, const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL) {
        return prosec__fmt(out, cap, ".");
    }
    if (slash == path) {
        return prosec__fmt(out, cap, "/");
    }
    return prosec__fmt(out, cap, "%.*s", (int)(slash - path), path);
}

static prosec_err sync_dir(const char *path)
{
    char dir[4096];
    int fd;
    prosec_err err = PROSEC_OK;

    if (!dir_of(dir, sizeof(dir), path)) {
        return PROSEC_ERR_IO;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return PROSEC_ERR_IO;
    }
    if (fsync(fd) != 0) {
        err = PROSEC_ERR_IO;
    }
    close(fd);
    return err;
}

prosec_err prosec__file_write(const char *path, const void *data, size_t n,
                              mode_t mode, bool excl)
{
    char tmp[4096];
    const uint8_t *p = data;
    size_t done = 0;
    int fd;

    if (excl && access(path, F_OK) == 0) {
        return PROSEC_ERR_EXISTS;
    }
    if (!prosec__fmt(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid())) {
        return PROSEC_ERR_IO;
    }
    (void)unlink(tmp); /* a stale one of an earlier crash of this pid */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return PROSEC_ERR_IO;
    }
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        done += (size_t)w;
    }
    if (done != n || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return PROSEC_ERR_IO;
    }
    close(fd);
    /* link(2) refuses an existing target: the exclusive case stays so
     * even against a racing writer */
    if (excl) {
        if (link(tmp, path) != 0) {
            int e = errno;

            unlink(tmp);
            return e == EEXIST ? PROSEC_ERR_EXISTS : PROSEC_ERR_IO;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        unlink(tmp);
        return PROSEC_ERR_IO;
    }
    return sync_dir(path);
}

prosec_err prosec__file_read(const char *path, size_t max, bool secret,
                             uint8_t **out, size_t *out_len)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return PROSEC_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size > max) {
        close(fd);
        return PROSEC_ERR_IO;
    }
    if (secret && ((st.st_mode & 077) != 0 || st.st_uid != geteuid())) {
        close(fd);
        return PROSEC_ERR_PERM;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return PROSEC_ERR_NOMEM;
    }
    while (done < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        done += (size_t)r;
    }
    close(fd);
    if (done != (size_t)st.st_size) {
        prosec__free_wiped(buf, (size_t)st.st_size + 1);
        return PROSEC_ERR_IO;
    }
    buf[done] = '\0';
    *out = buf;
    *out_len = done;
    return PROSEC_OK;
}

prosec_err prosec__dir_check(const char *path, bool private_dir)
{
    struct stat st;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return PROSEC_ERR_IO;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 022) != 0 ||
        (private_dir && (st.st_mode & 077) != 0)) {
        return PROSEC_ERR_PERM;
    }
    return PROSEC_OK;
}

bool prosec__parse_addr(const char *s, bool port_zero,
                        struct sockaddr_storage *out, unsigned *out_len)
{
    char host[64];
    const char *colon;
    char *end;
    unsigned long port;

    if (s == NULL || strlen(s) >= sizeof(host)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;

        if (close == NULL || close[1] != ':') {
            return false;
        }
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        colon = close + 1;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            return false;
        }
        a6->sin6_family = AF_INET6;
        *out_len = sizeof(*a6);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)out;

        colon = strrchr(s, ':');
        if (colon == NULL) {
            return false;
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            return false;
        }
        a4->sin_family = AF_INET;
        *out_len = sizeof(*a4);
    }
    if (colon[1] < '0' || colon[1] > '9') {
        return false;
    }
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port > 65535 ||
        (port == 0 && !port_zero)) {
        return false;
    }
    if (out->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    }
    return true;
}

bool prosec__route_source4(const struct sockaddr_in *to, struct in_addr *src)
{
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok;

    /* a UDP connect sends nothing: it only picks the route */
    ok = probe >= 0 &&
         connect(probe, (const struct sockaddr *)to, sizeof(*to)) == 0 &&
         getsockname(probe, (struct sockaddr *)&me, &ml) == 0 &&
         me.sin_family == AF_INET;
    if (ok) {
        *src = me.sin_addr;
    }
    if (probe >= 0) {
        close(probe);
    }
    return ok;
}

void prosec__format_addr(char *out, size_t cap, const void *sa)
{
    const struct sockaddr *s = sa;
    char host[INET6_ADDRSTRLEN] = "?";

    if (s->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = sa;

        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
        (void)prosec__fmt(out, cap, "[%s]:%u", host, ntohs(a6->sin6_port));
    } else {
        const struct sockaddr_in *a4 = sa;

        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
        (void)prosec__fmt(out, cap, "%s:%u", host, ntohs(a4->sin_port));
    }
}
