/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KMF's HTTPS API on libevent: TLS 1.3 only, a client certificate
 * from the KMF's CA required.  The certificate is checked twice: in the
 * handshake (a revoked or unknown device fails TLS) and on every request
 * (a resumed session skips the first check).  Routes, all POST with a
 * JSON body:
 *
 *   /v1/key-request, /v1/key-release   a device
 *   /v1/admin/OP                       the admin credential
 *
 * Errors answer with a status and {"error": NAME, "message": TEXT}.
 *
 * One thread serves every client, so no client may hold what others
 * need: a TLS handshake must end within handshake_timeout_ms (libevent's
 * timeout is an idle one, reset by every octet trickled in); at most
 * max_connections are open, and well below the descriptor limit (past
 * it accept fails and libevent retried it in a busy loop), the oldest
 * unauthenticated one shed first to make room.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kmf.h"

enum {
    BODY_MAX = 65536,
    HEADERS_MAX = 8192,
    TIMEOUT_S = 30,
    FD_RESERVE = 64,      /* descriptors kept for the store, UDP, ... */
    ACCEPT_PAUSE_MS = 100 /* after accept ran out of descriptors */
};

static int ex_kmf = -1;  /* SSL_CTX ex_data index of struct kmf */
static int ex_conn = -1; /* SSL ex_data index of struct kmf_conn */

/* The lower-case hex serial of x, as ca.c writes it. */
static bool serial_of(X509 *x, char out[41])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    bool ok = hex != NULL && prosec__fmt(out, 41, "%s", hex);

    for (char *p = out; ok && *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'F') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return ok;
}

static struct prosec__ratelimit tls_refusals = {1000, 20, 0, 0, 0};

/* The handshake's check: a certificate of ours, of a device not revoked
 * (or the admin's). */
static int verify(int ok, X509_STORE_CTX *ctx)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct kmf *k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_kmf);
    X509 *x = X509_STORE_CTX_get_current_cert(ctx);
    struct kmf_caller who;
    char serial[41];

    if (!ok) {
        if (prosec__ratelimit(&tls_refusals, prosec__mono_ms())) {
            prosec__warn(
                "tls: client certificate refused: %s",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        }
        return 0;
    }
    if (X509_STORE_CTX_get_error_depth(ctx) != 0) {
        return 1;
    }
    if (!serial_of(x, serial) || kmf_caller_of(k, serial, &who) != PROSEC_OK) {
        if (prosec__ratelimit(&tls_refusals, prosec__mono_ms())) {
            prosec__warn("tls: client refused: %s", prosec_error_detail());
        }
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
        return 0;
    }
    return 1;
}

/*
 * A resumed session skips the certificate check of the handshake: a
 * ticket of a device revoked since is ignored here, so that device goes
 * through a full handshake and fails it.
 */
static SSL_TICKET_RETURN on_ticket(SSL *ssl, SSL_SESSION *ss,
                                   const unsigned char *name, size_t len,
                                   SSL_TICKET_STATUS status, void *arg)
{
    struct kmf *k = arg;
    X509 *peer = ss != NULL ? SSL_SESSION_get0_peer(ss) : NULL;
    struct kmf_caller who;
    char serial[41];

    (void)ssl;
    (void)name;
    (void)len;
    switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
        if (peer == NULL || !serial_of(peer, serial) ||
            kmf_caller_of(k, serial, &who) != PROSEC_OK) {
            return SSL_TICKET_RETURN_IGNORE_RENEW;
        }
        return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE
                                            : SSL_TICKET_RETURN_USE_RENEW;
    case SSL_TICKET_FATAL_ERR_MALLOC:
    case SSL_TICKET_FATAL_ERR_OTHER:
        return SSL_TICKET_RETURN_ABORT;
    default:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
}

/* Counts handshakes, full and resumed (status shows them). */
static void on_info(const SSL *ssl, int where, int ret)
{
    struct kmf *k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_kmf);
    struct kmf_conn *c = SSL_get_ex_data(ssl, ex_conn);

    (void)ret;
    if ((where & SSL_CB_HANDSHAKE_DONE) && c != NULL) {
        c->established = true;
    }
    if ((where & SSL_CB_HANDSHAKE_DONE) && k != NULL) {
        if (SSL_session_reused(ssl)) {
            k->tls_resumed++;
        } else {
            k->tls_full++;
        }
    }
}

static SSL_CTX *make_ctx(struct kmf *k)
{
    char crt[4200], key[4200], ca[4200];
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());

    if (c == NULL || ex_kmf < 0) {
        SSL_CTX_free(c);
        return NULL;
    }
    (void)prosec__fmt(crt, sizeof(crt), "%s/server.crt", k->dir);
    (void)prosec__fmt(key, sizeof(key), "%s/server.key", k->dir);
    (void)prosec__fmt(ca, sizeof(ca), "%s/ca.crt", k->dir);
    if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(c, crt) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1 ||
        SSL_CTX_load_verify_locations(c, ca, NULL) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_ex_data(c, ex_kmf, k);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       verify);
    SSL_CTX_set_verify_depth(c, 2);
    /* resumption with client certificates needs a session context */
    SSL_CTX_set_session_id_context(c, (const unsigned char *)"prosec-kmf", 10);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_info_callback(c, on_info);
    if (SSL_CTX_set_session_ticket_cb(c, NULL, on_ticket, k) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

/* ---- connections ------------------------------------------------------ */

static struct prosec__ratelimit conn_logs = {1000, 5, 0, 0, 0};

/* Closes c: the next read sees the end, and libevent frees it. */
static void shed(struct kmf *k, struct kmf_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    if (c->shed || fd < 0) {
        return;
    }
    (void)shutdown(fd, SHUT_RDWR);
    c->shed = true;
    k->conns.n--;
    k->conns.shed_total++;
}

/* The oldest connection not shed yet, preferring unauthenticated ones. */
static struct kmf_conn *oldest(struct kmf *k)
{
    struct kmf_conn *any = NULL;

    for (struct kmf_conn *c = k->conns.head; c != NULL; c = c->next) {
        if (c->shed || bufferevent_getfd(c->bev) < 0) {
            continue;
        }
        if (!c->established) {
            return c;
        }
        if (any == NULL) {
            any = c;
        }
    }
    return any;
}

/* max_connections, and never closer to the descriptor limit than
 * FD_RESERVE (read each time: an operator may change it with prlimit). */
static size_t conn_cap(const struct kmf *k)
{
    struct rlimit rl;
    size_t cap = (size_t)k->conf.max_connections;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        size_t fds =
            rl.rlim_cur > 2 * FD_RESERVE ? (size_t)rl.rlim_cur : 2 * FD_RESERVE;

        if (fds - FD_RESERVE < cap) {
            cap = fds - FD_RESERVE;
        }
    }
    return cap;
}

/* SSL_free of a connection's SSL: it is gone. */
static void conn_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                      long argl, void *argp)
{
    struct kmf_conn *c = ptr;

    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (c == NULL) {
        return;
    }
    if (!c->shed) {
        c->k->conns.n--;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        c->k->conns.head = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        c->k->conns.tail = c->prev;
    }
    free(c);
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
    struct kmf *k = arg;
    SSL *ssl = SSL_new(k->ssl);
    struct bufferevent *bev;
    struct kmf_conn *c;

    if (ssl == NULL) {
        return NULL;
    }
    bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    c = bev != NULL ? calloc(1, sizeof(*c)) : NULL;
    if (c == NULL) {
        return bev; /* not tracked: it still has the idle timeout */
    }
    if (k->conns.n >= conn_cap(k)) {
        struct kmf_conn *old = oldest(k);

        if (old != NULL) {
            if (prosec__ratelimit(&conn_logs, prosec__mono_ms())) {
                prosec__warn("http: %zu connections open: closing the "
                             "oldest%s",
                             k->conns.n,
                             old->established ? "" : " unauthenticated one");
            }
            shed(k, old);
        }
    }
    c->k = k;
    c->bev = bev;
    c->born_ms = prosec__mono_ms();
    c->prev = k->conns.tail;
    if (k->conns.tail != NULL) {
        k->conns.tail->next = c;
    } else {
        k->conns.head = c;
    }
    k->conns.tail = c;
    k->conns.n++;
    (void)SSL_set_ex_data(ssl, ex_conn, c);
    return bev;
}

/* Cuts the handshakes that have taken too long. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct kmf *k = arg;
    int64_t now = prosec__mono_ms();
    size_t cut = 0;

    (void)fd;
    (void)what;
    for (struct kmf_conn *c = k->conns.head; c != NULL; c = c->next) {
        if (now - c->born_ms < k->conf.handshake_timeout_ms) {
            break; /* oldest first: the rest are younger */
        }
        if (!c->established && !c->shed) {
            shed(k, c);
            cut++;
        }
    }
    if (cut > 0 && prosec__ratelimit(&conn_logs, now)) {
        prosec__info("http: %zu TLS handshakes cut after %lld ms", cut,
                     (long long)k->conf.handshake_timeout_ms);
    }
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct kmf *k = arg;

    (void)fd;
    (void)what;
    if (k->conns.listener != NULL) {
        (void)evconnlistener_enable(k->conns.listener);
    }
}

/* The KMF whose listener this is: evhttp owns the listener's argument. */
static struct kmf *accepting;

/*
 * accept failed.  Out of descriptors, the pending connection stays in
 * the queue and the listener would fire again at once: pause it, and
 * make room by shedding the oldest unauthenticated connection.
 */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct kmf *k = accepting;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    struct kmf_conn *old;

    (void)arg; /* evhttp's, not ours */
    if (k == NULL) {
        return;
    }
    old = oldest(k);
    if (prosec__ratelimit(&conn_logs, prosec__mono_ms())) {
        prosec__warn("http: accept: %s (%zu connections open)", strerror(e),
                     k->conns.n);
    }
    if (old != NULL) {
        shed(k, old);
    }
    (void)evconnlistener_disable(lev);
    (void)evtimer_add(k->conns.resume_ev, &tv);
}

static struct prosec__ratelimit event_logs = {1000, 10, 0, 0, 0};

/* libevent's own messages, through our sink instead of stderr. */
static void on_event_log(int severity, const char *msg)
{
    if (!prosec__ratelimit(&event_logs, prosec__mono_ms())) {
        return;
    }
    if (severity >= EVENT_LOG_ERR) {
        prosec__err("libevent: %s", msg);
    } else if (severity == EVENT_LOG_WARN) {
        prosec__warn("libevent: %s", msg);
    } else {
        prosec__debug("libevent: %s", msg);
    }
}

/* ---- answers ----------------------------------------------------------------
 */

static void free_wiped(const void *data, size_t len, void *arg)
{
    (void)arg;
    prosec__free_wiped((void *)(uintptr_t)data, len);
}

/* Sends text (malloc'd; it is wiped and freed once sent). */
static void reply(struct evhttp_request *req, int status, char *text)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    size_t n = text != NULL ? strlen(text) : 0;

    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (text != NULL &&
        evbuffer_add_reference(out, text, n, free_wiped, NULL) != 0) {
        prosec__free_wiped(text, n);
    }
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", NULL);
}

static int status_of(prosec_err err)
{
    switch (err) {
    case PROSEC_ERR_NOT_FOUND:
        return 404;
    case PROSEC_ERR_EXISTS:
    case PROSEC_ERR_FULL:
        return 409;
    case PROSEC_ERR_DENIED:
        return 403;
    case PROSEC_ERR_BUSY:
        return 429;
    case PROSEC_ERR_HTTP_METHOD:
        return 405;
    case PROSEC_ERR_DB:
    case PROSEC_ERR_NOMEM:
    case PROSEC_ERR_INTERNAL:
    case PROSEC_ERR_CRYPTO_LIB:
    case PROSEC_ERR_TLS:
    case PROSEC_ERR_IO:
        return 500;
    default:
        return 400;
    }
}

static void reply_error(struct evhttp_request *req, prosec_err err)
{
    const char *d = prosec_error_detail();
    json_t *j = json_pack("{s:s, s:s}", "error", prosec_err_name(err),
                          "message", d[0] != '\0' ? d : prosec_strerror(err));
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    reply(req, status_of(err), text);
}

/* ---- routing
 * ----------------------------------------------------------------- */

/* The fields each admin operation reads; any other is refused, so that a
 * misspelt optional field ("lifetme") is not silently left out. */
static const char *const no_fields[] = {NULL};
static const char *const f_name[] = {"name", NULL};
static const char *const f_device_add[] = {"name", "relay", NULL};
static const char *const f_group[] = {"group", NULL};
static const char *const f_member[] = {"group", "device", NULL};
static const char *const f_compromise[] = {"group", "pgk_id", NULL};
static const char *const f_since[] = {"since", NULL};
static const char *const f_create[] = {"name",    "group_id", "alg",
                                       "profile", "lifetime", "ahead",
                                       "bearer",  "testing",  NULL};

static const struct {
    const char *op;
    kmf_op_fn fn;
    const char *const *fields;
} admin_ops[] = {
    {"device/add", kmf_op_device_add, f_device_add},
    {"device/list", kmf_op_device_list, no_fields},
    {"device/revoke", kmf_op_device_revoke, f_name},
    {"group/create", kmf_op_group_create, f_create},
    {"group/list", kmf_op_group_list, no_fields},
    {"group/add-member", kmf_op_group_add_member, f_member},
    {"group/remove-member", kmf_op_group_remove_member, f_member},
    {"group/rekey", kmf_op_group_rekey, f_group},
    {"group/compromise", kmf_op_group_compromise, f_compromise},
    {"group/show", kmf_op_group_show, f_group},
    {"audit", kmf_op_audit, f_since},
    {"status", kmf_op_status, no_fields},
};

/* s, at most cap - 1 octets of it, with anything but printable ASCII
 * and quotes as '?': caller-chosen text bound for a log line. */
static void printable(char *out, size_t cap, const char *s)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];

        out[i] = c >= 0x20 && c < 0x7f && c != '\'' && c != '"' ? (char)c : '?';
    }
    out[i] = '\0';
}

/* The first field of req that fields does not name, or NULL. */
static const char *unknown_field(json_t *req, const char *const *fields)
{
    const char *key;
    json_t *v;

    json_object_foreach(req, key, v)
    {
        size_t i = 0;

        while (fields[i] != NULL && strcmp(fields[i], key) != 0) {
            i++;
        }
        if (fields[i] == NULL) {
            return key;
        }
    }
    return NULL;
}

static prosec_err caller(struct kmf *k, struct evhttp_request *req,
                         struct kmf_caller *who)
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    struct bufferevent *bev =
        c != NULL ? evhttp_connection_get_bufferevent(c) : NULL;
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
    X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    const struct sockaddr *sa =
        c != NULL ? evhttp_connection_get_addr(c) : NULL;
    char serial[41];
    prosec_err err;

    if (peer == NULL || !serial_of(peer, serial)) {
        return prosec__fail(PROSEC_ERR_DENIED, "no client certificate");
    }
    err = kmf_caller_of(k, serial, who);
    if (err == PROSEC_OK && sa != NULL &&
        (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        memcpy(&who->peer, sa,
               sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                        : sizeof(struct sockaddr_in6));
    }
    return err;
}

/* The admin operation op on body; *out gets its answer. */
static prosec_err run_admin(struct kmf *k, const struct kmf_caller *who,
                            const char *op, const char *body, size_t len,
                            json_t **out)
{
    json_error_t jerr;
    json_t *in = NULL;
    const char *bad;
    size_t i = 0, n = sizeof(admin_ops) / sizeof(admin_ops[0]);
    char field[48];
    prosec_err err;

    if (!who->admin) {
        return prosec__fail(PROSEC_ERR_DENIED,
                            "admin operations need the admin credential");
    }
    while (i < n && strcmp(op, admin_ops[i].op) != 0) {
        i++;
    }
    if (i == n) {
        printable(field, sizeof(field), op);
        return prosec__fail(PROSEC_ERR_NOT_FOUND, "no admin operation '%s'",
                            field);
    }
    in = len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)
                 : json_object();
    if (!json_is_object(in)) {
        json_decref(in);
        return prosec__fail(PROSEC_ERR_ARG, "the request is not a JSON object");
    }
    bad = unknown_field(in, admin_ops[i].fields);
    if (bad != NULL) {
        printable(field, sizeof(field), bad);
        json_decref(in);
        return prosec__fail(PROSEC_ERR_ARG, "%s: unknown field '%s'", op,
                            field);
    }
    prosec__detail_clear();
    err = admin_ops[i].fn(k, who, in, out);
    json_decref(in);
    return err;
}

/*
 * An admin request refused goes into the audit, in a transaction of its
 * own (the operation's was rolled back): who tried what, and why.  The
 * detail is the refusal's message, which names things, never a key (no
 * admin request carries one).  A device calling an admin route is only
 * logged: its calls are not the admin's to account for, and auditing
 * them would let a device grow the table at will.
 */
static void audit_refusal(struct kmf *k, const struct kmf_caller *who,
                          const char *op, prosec_err err)
{
    char keep[PROSEC__LOG_MAX], target[48], detail[PROSEC__LOG_MAX + 40];
    prosec_err a;

    if (!who->admin) {
        return;
    }
    (void)prosec__fmt(keep, sizeof(keep), "%s", prosec_error_detail());
    printable(target, sizeof(target), op);
    (void)prosec__fmt(detail, sizeof(detail), "%s: %s", prosec_err_name(err),
                      keep);
    a = kmf_begin(&k->st);
    if (a == PROSEC_OK) {
        a = kmf_audit(&k->st, who->name, "admin-refused", target, detail);
    }
    if (a == PROSEC_OK) {
        a = kmf_commit(&k->st);
    }
    if (a != PROSEC_OK) {
        kmf_rollback(&k->st);
        prosec__err("http: the refusal of admin %s was not audited: %s", target,
                    prosec_error_detail());
    }
    /* the caller still gets the refusal's own message */
    (void)prosec__fail(err, "%s", keep);
}

/* refusals: at most 10 lines in a burst, then one a second */
static struct prosec__ratelimit refusal_logs = {1000, 10, 0, 0, 0};
static struct prosec__ratelimit busy_logs = {1000, 5, 0, 0, 0};

/* May a refusal of who's request be logged now?  The admin's always are
 * (one trusted caller, and each is audited), so that devices' refusals
 * cannot crowd them out nor they the devices'. */
static bool log_refusal(const struct kmf_caller *who)
{
    return who->admin || prosec__ratelimit(&refusal_logs, prosec__mono_ms());
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct kmf *k = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    struct kmf_caller who;
    char *body, *text = NULL;
    prosec_err err;

    prosec__detail_clear();
    err = caller(k, req, &who);
    if (err != PROSEC_OK) {
        if (prosec__ratelimit(&refusal_logs, prosec__mono_ms())) {
            prosec__warn("http: request refused: %s", prosec_error_detail());
        }
        reply_error(req, err);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        /* a HEAD answer has no body, and its Content-Length would leave
         * the client unsure where the next answer starts: close */
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        char where[48];

        printable(where, sizeof(where), path != NULL ? path : "?");
        evhttp_add_header(h, "Allow", "POST");
        evhttp_add_header(h, "Connection", "close");
        (void)prosec__fail(PROSEC_ERR_HTTP_METHOD, "%s takes POST only", where);
        if (log_refusal(&who)) {
            prosec__info("http: %s from %s refused: %s", where, who.name,
                         prosec_error_detail());
        }
        reply_error(req, PROSEC_ERR_HTTP_METHOD);
        return;
    }
    if (path == NULL) {
        reply_error(req, prosec__fail(PROSEC_ERR_ARG, "no path"));
        return;
    }
    body = (char *)evbuffer_pullup(in, -1);
    if (body == NULL && len > 0) {
        reply_error(req, PROSEC_ERR_NOMEM);
        return;
    }
    if (strncmp(path, "/v1/admin/", 10) == 0) {
        json_t *out = NULL;

        err = run_admin(k, &who, path + 10, body, len, &out);
        if (err == PROSEC_OK) {
            text = json_dumps(out, JSON_COMPACT);
            json_decref(out);
            err = text != NULL ? PROSEC_OK : PROSEC_ERR_NOMEM;
        } else {
            audit_refusal(k, &who, path + 10, err);
        }
    } else if (strcmp(path, "/v1/key-request") == 0) {
        err = kmf_key_request(k, &who, body, len, &text);
    } else if (strcmp(path, "/v1/key-release") == 0) {
        err = kmf_key_release(k, &who, body, len, &text);
    } else if (strcmp(path, "/v1/relay/kd") == 0) {
        err = kmf_relay_kd(k, &who, body, len, &text);
    } else {
        err = prosec__fail(PROSEC_ERR_NOT_FOUND, "no such resource");
    }
    if (err == PROSEC_ERR_BUSY) {
        /* a device over its pace: its own budget of log lines, so that
         * its flood cannot hide the other refusals */
        if (prosec__ratelimit(&busy_logs, prosec__mono_ms())) {
            prosec__info("http: %s from %s refused: %s", path, who.name,
                         prosec_error_detail());
        }
        /* a token comes back every 60 / device_requests_per_minute s */
        {
            int64_t rpm = k->conf.device_requests_per_minute;
            char after[24];

            (void)prosec__fmt(after, sizeof(after), "%lld",
                              (long long)(rpm > 0 ? (60 + rpm - 1) / rpm : 1));
            evhttp_add_header(evhttp_request_get_output_headers(req),
                              "Retry-After", after);
        }
        reply_error(req, err);
        return;
    }
    if (err != PROSEC_OK) {
        if (log_refusal(&who)) {
            prosec__info("http: %s from %s refused: %s", path, who.name,
                         prosec_error_detail());
        }
        reply_error(req, err);
        return;
    }
    reply(req, 200, text);
}

prosec_err kmf_http_start(struct kmf *k, const char *addr, char *bound,
                          size_t cap)
{
    struct sockaddr_storage a;
    unsigned alen = 0;
    evutil_socket_t fd;

    if (ex_kmf < 0) {
        ex_kmf = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    if (ex_conn < 0) {
        ex_conn = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_gone);
    }
    event_set_log_callback(on_event_log);
    if (!prosec__parse_addr(addr, true, &a, &alen)) {
        return prosec__fail(PROSEC_ERR_CONFIG,
                            "listen address '%.64s' is not ADDR:PORT", addr);
    }
    k->ssl = ex_conn >= 0 ? make_ctx(k) : NULL;
    if (k->ssl == NULL) {
        return prosec__fail(PROSEC_ERR_TLS,
                            "cannot load server.crt, server.key or ca.crt "
                            "of %s",
                            k->dir);
    }
    k->http = evhttp_new(k->base);
    if (k->http == NULL) {
        return PROSEC_ERR_NOMEM;
    }
    evhttp_set_bevcb(k->http, new_bev, k);
    evhttp_set_gencb(k->http, on_request, k);
    evhttp_set_max_body_size(k->http, BODY_MAX);
    evhttp_set_max_headers_size(k->http, HEADERS_MAX);
    evhttp_set_timeout(k->http, TIMEOUT_S);
    /* every method libevent knows reaches on_request, which answers
     * those the routes do not take with our error body (libevent's own
     * refusal, 501, is an HTML page) */
    evhttp_set_allowed_methods(
        k->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    /* bind ourselves, for a clear error and port 0 */
    fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return prosec__fail(PROSEC_ERR_IO, "socket: %s", strerror(errno));
    }
    {
        int one = 1;

        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* accepted sockets inherit it: an answer in two TLS records must
         * not wait for the client's delayed ACK */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (bind(fd, (struct sockaddr *)&a, alen) != 0 || listen(fd, 512) != 0) {
        prosec_err e = prosec__fail(PROSEC_ERR_IO, "cannot listen on %s: %s",
                                    addr, strerror(errno));

        evutil_closesocket(fd);
        return e;
    }
    {
        struct evhttp_bound_socket *b =
            evhttp_accept_socket_with_handle(k->http, fd);
        struct timeval tv = {0, 0};

        k->conns.listener =
            b != NULL ? evhttp_bound_socket_get_listener(b) : NULL;
        if (k->conns.listener == NULL) {
            evutil_closesocket(fd);
            return PROSEC_ERR_IO;
        }
        accepting = k;
        evconnlistener_set_error_cb(k->conns.listener, on_accept_error);
        /* the sweep runs a few times per timeout */
        tv.tv_sec = (time_t)(k->conf.handshake_timeout_ms / 4000);
        tv.tv_usec =
            (suseconds_t)(k->conf.handshake_timeout_ms / 4 % 1000 * 1000);
        k->conns.sweep_ev = event_new(k->base, -1, EV_PERSIST, on_sweep, k);
        k->conns.resume_ev = evtimer_new(k->base, on_resume, k);
        if (k->conns.sweep_ev == NULL || k->conns.resume_ev == NULL ||
            event_add(k->conns.sweep_ev, &tv) != 0) {
            return PROSEC_ERR_NOMEM;
        }
    }
    {
        struct sockaddr_storage got;
        socklen_t glen = sizeof(got);

        if (getsockname(fd, (struct sockaddr *)&got, &glen) == 0) {
            prosec__format_addr(bound, cap, &got);
        }
    }
    return PROSEC_OK;
}

void kmf_http_stop(struct kmf *k)
{
    if (k->conns.sweep_ev != NULL) {
        event_free(k->conns.sweep_ev);
        k->conns.sweep_ev = NULL;
    }
    if (k->conns.resume_ev != NULL) {
        event_free(k->conns.resume_ev);
        k->conns.resume_ev = NULL;
    }
    k->conns.listener = NULL; /* evhttp_free frees it */
    if (accepting == k) {
        accepting = NULL;
    }
    if (k->http != NULL) {
        evhttp_free(k->http);
        k->http = NULL;
    }
    SSL_CTX_free(k->ssl);
    k->ssl = NULL;
}
