/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client side of the admin commands: one HTTPS request to the running
 * KMF with the admin credential of its folder.
 */
#include <stdlib.h>
#include <string.h>

#include "kmf.h"

static prosec_err read_in(const char *dir, const char *name, bool secret,
                          char **out)
{
    char p[4200];
    uint8_t *buf = NULL;
    size_t n = 0;
    prosec_err err;

    if (!prosec__fmt(p, sizeof(p), "%s/%s", dir, name)) {
        return PROSEC_ERR_IO;
    }
    err = prosec__file_read(p, 1 << 20, secret, &buf, &n);
    if (err == PROSEC_ERR_PERM) {
        return prosec__fail(err, "%s must be mode 0600 and ours", p);
    }
    if (err != PROSEC_OK) {
        return prosec__fail(err, "cannot read %s: is %s a KMF folder?", p, dir);
    }
    *out = (char *)buf;
    return PROSEC_OK;
}

/* The KMF's refusal, from its {"error": NAME, "message": TEXT}. */
static prosec_err refusal(const char *body, long status)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *name = json_string_value(json_object_get(j, "error"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    prosec_err err = PROSEC_ERR_PROTOCOL;

    for (int e = 1; name != NULL && e < PROSEC__ERR_COUNT; e++) {
        if (strcmp(name, prosec_err_name((prosec_err)e)) == 0) {
            err = (prosec_err)e;
            break;
        }
    }
    if (msg != NULL) {
        err = prosec__fail(err, "%s", msg);
    } else {
        err = prosec__fail(err, "the KMF answered HTTP %ld", status);
    }
    json_decref(j);
    return err;
}

prosec_err prosec_kmf_admin(const char *dir, const char *op,
                            const char *request, char **response)
{
    char *conf_text = NULL, *cert = NULL, *key = NULL, *ca = NULL;
    char *body = NULL, path[128];
    struct prosec__https *h = NULL;
    struct kmf_conf conf;
    long status = 0;
    prosec_err err;

    prosec__detail_clear();
    if (dir == NULL || op == NULL || response == NULL) {
        return PROSEC_ERR_NULL;
    }
    if (!prosec__fmt(path, sizeof(path), "/v1/admin/%s", op)) {
        return prosec__fail(PROSEC_ERR_ARG, "operation name too long");
    }
    err = read_in(dir, "kmf.conf", false, &conf_text);
    if (err == PROSEC_OK) {
        err = kmf_conf_parse(&conf, conf_text, strlen(conf_text));
    }
    if (err == PROSEC_OK) {
        err = read_in(dir, "admin.crt", true, &cert);
    }
    if (err == PROSEC_OK) {
        err = read_in(dir, "admin.key", true, &key);
    }
    if (err == PROSEC_OK) {
        err = read_in(dir, "ca.crt", false, &ca);
    }
    if (err == PROSEC_OK) {
        /* the listen address; 0.0.0.0 means this machine */
        char addr[KMF_ADDR_MAX + 8];

        if (strncmp(conf.listen, "0.0.0.0:", 8) == 0) {
            (void)prosec__fmt(addr, sizeof(addr), "127.0.0.1:%s",
                              conf.listen + 8);
        } else {
            (void)prosec__fmt(addr, sizeof(addr), "%s", conf.listen);
        }
        err = prosec__https_new(&h, addr, cert, key, ca);
    }
    if (err == PROSEC_OK) {
        err = prosec__https_post(h, path, request != NULL ? request : "{}",
                                 30000, &body, &status);
        if (err == PROSEC_ERR_UNREACHABLE) {
            /* prosec__fail writes the buffer prosec_error_detail reads */
            char cause[PROSEC__LOG_MAX];

            (void)prosec__fmt(cause, sizeof(cause), "%s",
                              prosec_error_detail());
            err = prosec__fail(err,
                               "the KMF of %s is not running (prosec kmf "
                               "serve --dir %s): %s",
                               dir, dir, cause);
        }
    }
    if (err == PROSEC_OK && status != 200) {
        err = refusal(body, status);
    }
    if (err == PROSEC_OK) {
        *response = body;
        body = NULL;
    }
    if (body != NULL) {
        prosec__free_wiped(body, strlen(body));
    }
    prosec__https_free(h);
    free(conf_text);
    free(cert);
    free(ca);
    if (key != NULL) {
        prosec__free_wiped(key, strlen(key));
    }
    return err;
}

void prosec_kmf_free(char *s)
{
    if (s != NULL) {
        prosec__free_wiped(s, strlen(s));
    }
}
