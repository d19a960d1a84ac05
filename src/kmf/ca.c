/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The enrolment CA: an Ed25519 root of the KMF's own, and the certificates
 * it issues.  Server certificates carry serverAuth only and device/admin
 * ones clientAuth only, so a device's certificate cannot pass for the
 * KMF's (OpenSSL checks the purpose on both sides).  Serials are 128
 * random bits; the KMF finds devices by serial.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kmf.h"

void kmf_cert_free(struct kmf_cert *c)
{
    if (c == NULL) {
        return;
    }
    free(c->pem);
    if (c->key_pem != NULL) {
        prosec__free_wiped(c->key_pem, strlen(c->key_pem));
    }
    memset(c, 0, sizeof(*c));
}

/* PEM of a BIO's content, malloc'd and NUL-terminated. */
static char *bio_string(BIO *b)
{
    char *data = NULL, *out;
    long n = BIO_get_mem_data(b, &data);

    if (n <= 0) {
        return NULL;
    }
    out = malloc((size_t)n + 1);
    if (out != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    return out;
}

static char *key_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_secmem());
    char *out = NULL;

    if (b != NULL &&
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
        out = bio_string(b);
    }
    BIO_free(b); /* secure memory is cleared when freed */
    return out;
}

static char *cert_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;

    if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
        out = bio_string(b);
    }
    BIO_free(b);
    return out;
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    bool ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e == NULL) {
        return false;
    }
    ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate with a random serial, cn as subject, valid from an hour
 * ago (clock skew) for days. */
static X509 *new_cert(const char *cn, long days, char serial[41])
{
    uint8_t raw[16];
    BIGNUM *bn = NULL;
    X509 *x = X509_new();
    X509_NAME *name;
    char *hex;
    bool ok = false;

    if (x == NULL || prosec__random(raw, sizeof(raw)) != PROSEC_OK) {
        goto out;
    }
    raw[0] &= 0x7F; /* a positive INTEGER */
    raw[0] |= 0x40; /* of full length */
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    if (bn == NULL ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
        goto out;
    }
    hex = BN_bn2hex(bn);
    if (hex == NULL) {
        goto out;
    }
    (void)prosec__fmt(serial, 41, "%s", hex);
    OPENSSL_free(hex);
    for (char *p = serial; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'F') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    name = X509_get_subject_name(x);
    ok = X509_set_version(x, 2) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) != NULL &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) == 1;

out:
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static prosec_err finish(X509 *x, EVP_PKEY *key, EVP_PKEY *signer,
                         const char *serial, struct kmf_cert *out)
{
    memset(out, 0, sizeof(*out));
    if (X509_set_pubkey(x, key) != 1 || X509_sign(x, signer, NULL) <= 0) {
        return prosec__fail(PROSEC_ERR_TLS, "signing a certificate failed");
    }
    out->pem = cert_pem(x);
    out->key_pem = key_pem(key);
    (void)prosec__fmt(out->serial, sizeof(out->serial), "%s", serial);
    if (out->pem == NULL || out->key_pem == NULL) {
        kmf_cert_free(out);
        return PROSEC_ERR_NOMEM;
    }
    return PROSEC_OK;
}

prosec_err kmf_ca_create(const char *name, struct kmf_cert *out)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char serial[41], cn[128];
    X509 *x = NULL;
    prosec_err err = PROSEC_ERR_TLS;

    if (key == NULL || !prosec__fmt(cn, sizeof(cn), "prosec KMF CA %s", name)) {
        goto out;
    }
    x = new_cert(cn, 20 * 365, serial);
    if (x == NULL || X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
        X509_set_pubkey(x, key) != 1 ||
        !add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_ext(x, x, NID_subject_key_identifier, "hash")) {
        goto out;
    }
    err = finish(x, key, key, serial, out);

out:
    X509_free(x);
    EVP_PKEY_free(key);
    return err == PROSEC_ERR_TLS
               ? prosec__fail(err, "making the enrolment CA failed")
               : err;
}

static EVP_PKEY *read_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k =
        b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return k;
}

static X509 *read_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return x;
}

/* "DNS:a,IP:1.2.3.4,..." of hosts (IP when it parses as one). */
static bool san_list(char *out, size_t cap, const char *const *hosts, size_t n)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        uint8_t buf[16];
        bool ip = inet_pton(AF_INET, hosts[i], buf) == 1 ||
                  inet_pton(AF_INET6, hosts[i], buf) == 1;
        int k;

        if (strpbrk(hosts[i], ",: ") != NULL && !ip) {
            return false;
        }
        k = snprintf(out + used, cap - used, "%s%s:%s", i ? "," : "",
                     ip ? "IP" : "DNS", hosts[i]);
        if (k < 0 || (size_t)k >= cap - used) {
            return false;
        }
        used += (size_t)k;
    }
    return true;
}

prosec_err kmf_ca_issue(const char *ca_pem, const char *ca_key_pem,
                        enum kmf_cert_kind kind, const char *cn,
                        const char *uri, const char *const *hosts,
                        size_t n_hosts, struct kmf_cert *out)
{
    EVP_PKEY *ca_key = read_key(ca_key_pem);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *ca = read_cert(ca_pem), *x = NULL;
    char serial[41], san[1024];
    bool ok;
    prosec_err err = PROSEC_ERR_TLS;

    if (ca == NULL || ca_key == NULL || key == NULL) {
        goto out;
    }
    x = new_cert(cn, kind == KMF_CERT_DEVICE ? 5 * 365 : 10 * 365, serial);
    ok = x != NULL && X509_set_issuer_name(x, X509_get_subject_name(ca)) == 1 &&
         X509_set_pubkey(x, key) == 1 &&
         add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(x, ca, NID_key_usage, "critical,digitalSignature") &&
         add_ext(x, ca, NID_ext_key_usage,
                 kind == KMF_CERT_SERVER ? "serverAuth" : "clientAuth") &&
         add_ext(x, ca, NID_subject_key_identifier, "hash") &&
         add_ext(x, ca, NID_authority_key_identifier, "keyid:always");
    if (ok && kind == KMF_CERT_SERVER) {
        ok = san_list(san, sizeof(san), hosts, n_hosts) &&
             add_ext(x, ca, NID_subject_alt_name, san);
    } else if (ok && uri != NULL) {
        ok = prosec__fmt(san, sizeof(san), "URI:%s", uri) &&
             add_ext(x, ca, NID_subject_alt_name, san);
    }
    if (ok) {
        err = finish(x, key, ca_key, serial, out);
    }

out:
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return err == PROSEC_ERR_TLS
               ? prosec__fail(err,
                              "issuing the certificate of '%.64s' "
                              "failed",
                              cn)
               : err;
}
