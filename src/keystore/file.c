/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keystore on disk: ownership and mode checks, the lock, reading the
 * file, and the write protocol (docs/keystore.md "Writing"):
 *
 *   PATH.tmp created O_EXCL with mode 0600, written fully, fsync'd and
 *   closed; renamed over PATH (linked, for create, so an existing file
 *   is never replaced); the folder fsync'd.
 *
 * A crash at any point leaves PATH as it was or as it is meant to be,
 * never torn; at worst a stale PATH.tmp, which the next open or save
 * removes (both hold the lock, so it cannot be another writer's).  Every
 * file is reached through the folder's descriptor (openat and friends),
 * so the checks made on the folder hold for what is opened in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

enum { PATH_LEN_MAX = 4096, NAME_LEN_MAX = 255 };

static const char lock_suffix[] = ".lock";
static const char temp_suffix[] = ".tmp";

/* ---- fault injection ------------------------------------------------------
 */

static prosec__ks_fault_fn fault_fn;
static void *fault_ctx;

void prosec__ks_set_fault_hook(prosec__ks_fault_fn fn, void *ctx)
{
    fault_fn = fn;
    fault_ctx = ctx;
}

/* True when the hook makes step s fail; *crashed when it is a crash. */
static bool faulted(enum prosec__ks_step s, bool *crashed)
{
    enum prosec__ks_fault f =
        fault_fn != NULL ? fault_fn(fault_ctx, s) : PROSEC__KS_GO;

    if (f == PROSEC__KS_CRASH) {
        *crashed = true;
    }
    return f != PROSEC__KS_GO;
}

/* ---- the folder, the lock, the checks ---------------------------------------
 */

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);

    if (s != NULL) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/*
 * Opens the folder of path and checks it (ours, not writable by group or
 * others); keeps its descriptor and the file's name in ks.
 */
static prosec_err attach(struct prosec_keystore *ks, const char *path)
{
    const char *slash;
    char *dir = NULL;
    const char *base;
    struct stat st;
    prosec_err err = PROSEC_ERR_ARG;

    if (path[0] == 0 || strnlen(path, PATH_LEN_MAX + 1) > PATH_LEN_MAX) {
        return PROSEC_ERR_ARG;
    }
    slash = strrchr(path, '/');
    base = slash == NULL ? path : slash + 1;
    if (base[0] == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        strlen(base) + sizeof(lock_suffix) - 1 > NAME_LEN_MAX) {
        return PROSEC_ERR_ARG;
    }
    if (slash == NULL) {
        dir = concat(".", "");
    } else if (slash == path) {
        dir = concat("/", "");
    } else {
        dir = malloc((size_t)(slash - path) + 1);
        if (dir != NULL) {
            memcpy(dir, path, (size_t)(slash - path));
            dir[slash - path] = 0;
        }
    }
    ks->base = concat(base, "");
    ks->temp = concat(base, temp_suffix);
    if (dir == NULL || ks->base == NULL || ks->temp == NULL) {
        err = PROSEC_ERR_NOMEM;
        goto out;
    }

    ks->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ks->dir_fd < 0) {
        err = errno == ENOENT || errno == ENOTDIR ? PROSEC_ERR_KS_NOT_FOUND
                                                  : PROSEC_ERR_KS_IO;
        goto out;
    }
    if (fstat(ks->dir_fd, &st) != 0) {
        err = PROSEC_ERR_KS_IO;
        goto out;
    }
    if (st.st_uid != geteuid()) {
        err = PROSEC_ERR_KS_OWNER;
        goto out;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        err = PROSEC_ERR_KS_DIR_MODE;
        goto out;
    }
    err = PROSEC_OK;

out:
    free(dir);
    return err;
}

/* A file of ours, regular, with no group or other permission. */
static prosec_err check_file(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0) {
        return PROSEC_ERR_KS_IO;
    }
    if (!S_ISREG(st->st_mode)) {
        return PROSEC_ERR_KS_NOT_REGULAR;
    }
    if (st->st_uid != geteuid()) {
        return PROSEC_ERR_KS_OWNER;
    }
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return PROSEC_ERR_KS_FILE_MODE;
    }
    return PROSEC_OK;
}

/* Takes the exclusive lock on PATH.lock, made if missing. */
static prosec_err take_lock(struct prosec_keystore *ks)
{
    struct stat st;
    char *name = concat(ks->base, lock_suffix);
    prosec_err err = PROSEC_ERR_KS_IO;

    if (name == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    ks->lock_fd = openat(ks->dir_fd, name,
                         O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
                             O_NONBLOCK,
                         0600);
    if (ks->lock_fd < 0) {
        err = errno == ELOOP ? PROSEC_ERR_KS_NOT_REGULAR : PROSEC_ERR_KS_IO;
        goto out;
    }
    err = check_file(ks->lock_fd, &st);
    if (err != PROSEC_OK) {
        goto out;
    }
    if (flock(ks->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        err = errno == EWOULDBLOCK ? PROSEC_ERR_KS_LOCKED : PROSEC_ERR_KS_IO;
        goto out;
    }
    err = PROSEC_OK;

out:
    free(name);
    return err;
}

/* Reads the whole file (it holds only ciphertext: plain heap). */
static prosec_err read_file(struct prosec_keystore *ks, uint8_t **out,
                            size_t *out_len)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t cap, got = 0;
    int fd;
    prosec_err err = PROSEC_ERR_KS_IO;

    /* O_NONBLOCK: a FIFO put there must not hang the open */
    fd = openat(ks->dir_fd, ks->base,
                O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            return PROSEC_ERR_KS_NOT_FOUND;
        }
        return errno == ELOOP ? PROSEC_ERR_KS_NOT_REGULAR : PROSEC_ERR_KS_IO;
    }
    err = check_file(fd, &st);
    if (err != PROSEC_OK) {
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > PROSEC__KS_FILE_MAX) {
        err = PROSEC_ERR_KS_SIZE;
        goto out;
    }

    /* one octet of room past the size seen, to notice a file that grew */
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        err = PROSEC_ERR_NOMEM;
        goto out;
    }
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            err = PROSEC_ERR_KS_IO;
            goto out;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    if (got != (size_t)st.st_size) {
        err = PROSEC_ERR_KS_IO;
        goto out;
    }
    *out = buf;
    *out_len = got;
    buf = NULL;
    err = PROSEC_OK;

out:
    free(buf);
    close(fd);
    return err;
}

/* ---- writing
 * -------------------------------------------------------------------- */

static bool write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The write protocol of the file comment; create links, never replaces. */
static prosec_err write_file(struct prosec_keystore *ks, const uint8_t *data,
                             size_t len, bool create)
{
    size_t half = len / 2;
    bool temp_made = false, crashed = false;
    int fd = -1;
    int r;
    prosec_err err = PROSEC_ERR_KS_IO;

    /* a stale temporary file is a crashed write of ours (we hold the
     * lock): remove it, so that O_EXCL below succeeds */
    if (unlinkat(ks->dir_fd, ks->temp, 0) != 0 && errno != ENOENT) {
        goto out;
    }
    if (faulted(PROSEC__KS_STEP_OPEN_TEMP, &crashed)) {
        goto out;
    }
    fd = openat(ks->dir_fd, ks->temp,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        goto out;
    }
    temp_made = true;
    /* the umask may have taken bits away; the file needs exactly these */
    if (fchmod(fd, 0600) != 0) {
        goto out;
    }
    if (faulted(PROSEC__KS_STEP_WRITE, &crashed) ||
        !write_all(fd, data, half)) {
        goto out;
    }
    if (faulted(PROSEC__KS_STEP_WRITE_REST, &crashed) ||
        !write_all(fd, data + half, len - half)) {
        goto out;
    }
    if (faulted(PROSEC__KS_STEP_FSYNC, &crashed) || fsync(fd) != 0) {
        goto out;
    }
    r = close(fd);
    fd = -1;
    if (r != 0) {
        goto out;
    }

    if (faulted(PROSEC__KS_STEP_RENAME, &crashed)) {
        goto out;
    }
    if (create) {
        if (linkat(ks->dir_fd, ks->temp, ks->dir_fd, ks->base, 0) != 0) {
            err = errno == EEXIST ? PROSEC_ERR_KS_EXISTS : PROSEC_ERR_KS_IO;
            goto out;
        }
        /* PATH is in place; a temp left by a failure here is only stale */
        (void)unlinkat(ks->dir_fd, ks->temp, 0);
    } else if (renameat(ks->dir_fd, ks->temp, ks->dir_fd, ks->base) != 0) {
        goto out;
    }
    temp_made = false;
    if (faulted(PROSEC__KS_STEP_DIR_FSYNC, &crashed) ||
        fsync(ks->dir_fd) != 0) {
        goto out;
    }
    err = PROSEC_OK;

out:
    if (fd >= 0) {
        close(fd);
    }
    /* a crash cleans nothing up: the next open or save will */
    if (temp_made && !crashed) {
        (void)unlinkat(ks->dir_fd, ks->temp, 0);
    }
    return err;
}

/* Encodes, seals and writes the state of ks. */
static prosec_err write_state(struct prosec_keystore *ks, bool create)
{
    uint8_t *body = NULL, *file = NULL;
    size_t body_len = 0, file_len = 0;
    prosec_err err = PROSEC_ERR_INTERNAL;

    err = prosec__ks_body_encode(ks, &body, &body_len);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec__ks_seal(&ks->sec->seal, body, body_len, &file, &file_len);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = write_file(ks, file, file_len, create);

out:
    prosec__secmem_free(body);
    free(file);
    return err;
}

/* ---- the public life cycle
 * ------------------------------------------------------ */

prosec_err prosec_keystore_create(struct prosec_keystore **out,
                                  const char *path,
                                  const struct prosec_seal *seal)
{
    struct prosec_keystore *ks = NULL;
    struct stat st;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (out == NULL || path == NULL || seal == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__ks_new(&ks);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec__ks_seal_load(&ks->sec->seal, seal, true);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = attach(ks, path);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = take_lock(ks);
    if (err != PROSEC_OK) {
        goto out;
    }
    if (fstatat(ks->dir_fd, ks->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        err = PROSEC_ERR_KS_EXISTS;
        goto out;
    }
    if (errno != ENOENT) {
        err = PROSEC_ERR_KS_IO;
        goto out;
    }
    err = write_state(ks, true);
    if (err != PROSEC_OK) {
        goto out;
    }
    *out = ks;
    ks = NULL;

out:
    prosec_keystore_close(ks);
    return err;
}

prosec_err prosec_keystore_open(struct prosec_keystore **out, const char *path,
                                const struct prosec_seal *seal)
{
    struct prosec_keystore *ks = NULL;
    uint8_t *file = NULL, *body = NULL;
    size_t file_len = 0, body_len = 0;
    struct stat st;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (out == NULL || path == NULL || seal == NULL) {
        return PROSEC_ERR_NULL;
    }
    err = prosec__ks_new(&ks);
    if (err != PROSEC_OK) {
        return err;
    }
    err = prosec__ks_seal_load(&ks->sec->seal, seal, false);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = attach(ks, path);
    if (err != PROSEC_OK) {
        goto out;
    }
    /* no lock file is made beside a file that is not there */
    if (fstatat(ks->dir_fd, ks->base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        err = errno == ENOENT ? PROSEC_ERR_KS_NOT_FOUND : PROSEC_ERR_KS_IO;
        goto out;
    }
    err = take_lock(ks);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = read_file(ks, &file, &file_len);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec__ks_unseal(&ks->sec->seal, file, file_len, &body, &body_len);
    if (err != PROSEC_OK) {
        goto out;
    }
    err = prosec__ks_body_decode(ks, body, body_len);
    if (err != PROSEC_OK) {
        goto out;
    }
    (void)unlinkat(ks->dir_fd, ks->temp, 0);
    *out = ks;
    ks = NULL;

out:
    prosec__secmem_free(body);
    free(file);
    prosec_keystore_close(ks);
    return err;
}

prosec_err prosec_keystore_save(struct prosec_keystore *ks)
{
    if (ks == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (ks->dir_fd < 0 || ks->lock_fd < 0) {
        return PROSEC_ERR_ARG;
    }
    return write_state(ks, false);
}

prosec_err prosec_keystore_set_seal(struct prosec_keystore *ks,
                                    const struct prosec_seal *seal)
{
    struct prosec__ks_seal *t = NULL;
    prosec_err err = PROSEC_ERR_INTERNAL;

    if (ks == NULL || seal == NULL) {
        return PROSEC_ERR_NULL;
    }
    /* built apart, so that a failure leaves the current seal in place */
    t = prosec__secmem_alloc(sizeof(*t), NULL);
    if (t == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    err = prosec__ks_seal_load(t, seal, true);
    if (err != PROSEC_OK) {
        goto out;
    }
    /* the new salt and key now, so the Argon2 run falls in this call
     * and not in whichever save comes next (a PTK ID reservation) */
    err = prosec__ks_seal_rekey(t);
    if (err != PROSEC_OK) {
        goto out;
    }
    memcpy(&ks->sec->seal, t, sizeof(*t));

out:
    prosec__secmem_free(t);
    return err;
}

void prosec_keystore_close(struct prosec_keystore *ks)
{
    if (ks == NULL) {
        return;
    }
    /* closing the descriptor releases the flock */
    if (ks->lock_fd >= 0) {
        close(ks->lock_fd);
    }
    if (ks->dir_fd >= 0) {
        close(ks->dir_fd);
    }
    prosec__ks_free_model(ks);
}
