/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTPS client of the admin commands and of the device agent, on
 * libcurl: TLS 1.3, the server checked against the KMF's CA (and its
 * name), our certificate and key given from memory, never from a file
 * another process could swap.  One handle keeps its connection and TLS
 * session between requests.  Answers are capped at 1 MiB and wiped when
 * freed (a key response holds a PMK).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core.h"

enum { ANSWER_MAX = 1 << 20 };

struct prosec__https {
    CURL *curl;
    char base[96];     /* https://HOST:PORT */
    char connect[160]; /* HOST:PORT:ADDR:PORT for CURLOPT_CONNECT_TO */
    struct curl_slist *connect_to, *headers;
    char *cert, *key, *ca; /* copies, the key wiped when freed */
};

struct answer {
    char *data;
    size_t len, cap;
    bool too_big;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    (void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;

    if (a->len + len + 1 > ANSWER_MAX) {
        a->too_big = true;
        return 0;
    }
    if (a->len + len + 1 > a->cap) {
        size_t cap = (a->len + len + 1) * 2;
        char *d = malloc(cap);

        if (d == NULL) {
            return 0;
        }
        if (a->data != NULL) {
            memcpy(d, a->data, a->len);
            prosec__free_wiped(a->data, a->cap);
        }
        a->data = d;
        a->cap = cap;
    }
    memcpy(a->data + a->len, p, len);
    a->len += len;
    a->data[a->len] = '\0';
    return len;
}

void prosec__https_free(struct prosec__https *h)
{
    if (h == NULL) {
        return;
    }
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
    }
    curl_slist_free_all(h->connect_to);
    curl_slist_free_all(h->headers);
    free(h->cert);
    free(h->ca);
    if (h->key != NULL) {
        prosec__free_wiped(h->key, strlen(h->key));
    }
    free(h);
}

prosec_err prosec__https_new(struct prosec__https **out, const char *addr,
                             const char *cert_pem, const char *key_pem,
                             const char *ca_pem)
{
    struct prosec__https *h;
    struct curl_blob b;
    bool ok;

    (void)pthread_once(&curl_once, curl_init);
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    h->curl = curl_easy_init();
    h->cert = strdup(cert_pem);
    h->key = strdup(key_pem);
    h->ca = strdup(ca_pem);
    h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    ok = h->curl != NULL && h->cert != NULL && h->key != NULL &&
         h->ca != NULL && h->headers != NULL &&
         prosec__fmt(h->base, sizeof(h->base), "https://%s", addr);
    if (!ok) {
        prosec__https_free(h);
        return PROSEC_ERR_NOMEM;
    }
    b.flags = CURL_BLOB_NOCOPY;
    b.data = h->cert;
    b.len = strlen(h->cert);
    ok = curl_easy_setopt(h->curl, CURLOPT_SSLCERT_BLOB, &b) == CURLE_OK;
    b.data = h->key;
    b.len = strlen(h->key);
    ok = ok && curl_easy_setopt(h->curl, CURLOPT_SSLKEY_BLOB, &b) == CURLE_OK;
    b.data = h->ca;
    b.len = strlen(h->ca);
    ok = ok && curl_easy_setopt(h->curl, CURLOPT_CAINFO_BLOB, &b) == CURLE_OK;
    ok =
        ok &&
        curl_easy_setopt(h->curl, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK &&
        curl_easy_setopt(h->curl, CURLOPT_SSLVERSION,
                         (long)CURL_SSLVERSION_TLSv1_3) == CURLE_OK &&
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
        curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
        curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
        curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(h->curl, CURLOPT_NOPROXY, "*") == CURLE_OK &&
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers) == CURLE_OK;
    if (!ok) {
        prosec__https_free(h);
        return prosec__fail(PROSEC_ERR_TLS, "libcurl refused the TLS "
                                            "settings");
    }
    *out = h;
    return PROSEC_OK;
}

prosec_err prosec__https_via(struct prosec__https *h, const char *addr)
{
    const char *host = h->base + 8;

    curl_slist_free_all(h->connect_to);
    h->connect_to = NULL;
    if (addr == NULL) {
        (void)curl_easy_setopt(h->curl, CURLOPT_CONNECT_TO, NULL);
        return PROSEC_OK;
    }
    /* HOST:PORT:CONNECT-HOST:CONNECT-PORT; the name checked stays ours */
    if (!prosec__fmt(h->connect, sizeof(h->connect), "%s:%s", host, addr)) {
        return PROSEC_ERR_ARG;
    }
    h->connect_to = curl_slist_append(NULL, h->connect);
    if (h->connect_to == NULL || curl_easy_setopt(h->curl, CURLOPT_CONNECT_TO,
                                                  h->connect_to) != CURLE_OK) {
        return PROSEC_ERR_NOMEM;
    }
    return PROSEC_OK;
}

void prosec__https_fresh(struct prosec__https *h, bool fresh)
{
    (void)curl_easy_setopt(h->curl, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    (void)curl_easy_setopt(h->curl, CURLOPT_FORBID_REUSE, fresh ? 1L : 0L);
}

prosec_err prosec__https_post(struct prosec__https *h, const char *path,
                              const char *body, long timeout_ms, char **resp,
                              long *status)
{
    char url[256];
    struct answer a = {NULL, 0, 0, false};
    CURLcode rc;

    if (!prosec__fmt(url, sizeof(url), "%s%s", h->base, path)) {
        return PROSEC_ERR_ARG;
    }
    if (curl_easy_setopt(h->curl, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
                         timeout_ms < 5000 ? timeout_ms : 5000L) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &a) != CURLE_OK) {
        return PROSEC_ERR_NOMEM;
    }
    rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK) {
        prosec__free_wiped(a.data, a.cap);
        if (a.too_big) {
            return prosec__fail(PROSEC_ERR_PROTOCOL,
                                "the answer is larger than 1 MiB");
        }
        if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
            rc == CURLE_COULDNT_RESOLVE_HOST) {
            return prosec__fail(PROSEC_ERR_UNREACHABLE, "%s: %s", h->base + 8,
                                curl_easy_strerror(rc));
        }
        return prosec__fail(PROSEC_ERR_TLS, "%s: %s", h->base + 8,
                            curl_easy_strerror(rc));
    }
    (void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    if (a.data == NULL) {
        a.data = strdup("");
        a.cap = 1;
        if (a.data == NULL) {
            return PROSEC_ERR_NOMEM;
        }
    }
    *resp = a.data;
    return PROSEC_OK;
}
