/*
 * server.c — civetweb in front of the app (app.h) and the public slava_server_* API of
 * include/slava.h. civetweb accepts connections and parses request heads on its own threads, whose
 * stacks are tiny (100 KiB in Debian's build, most of it taken by thread-local storage), so every
 * request is handed to the worker pool (pool.h) at once: there the body is read (in memory up to
 * 1 MiB; uploads spooled to a private temp file and mapped), the app answers, and the response
 * (body, file range, HEAD) is written. civetweb's own errors (malformed request lines, oversized
 * headers) are answered with the same JSON errors, also from the pool.
 */
#include "serve/app.h"
#include "serve/pool.h"
#include <civetweb.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_CHUNK (64 * 1024)
#define WORKER_STACK ((size_t)8 << 20)

struct slava_server {
    struct mg_context *mg;
    sv_app *app;
    sv_pool *pool;
    int starting;          /* during mg_start2: civetweb's first log line is kept for the error */
    char start_err[256];
    int port;
    char url[160];
};

/* civetweb's own errors (bad request line, headers too large, ...): the same JSON as ours. Like
 * everything that formats text, it runs on a pool thread (it can be called on a connection thread). */
typedef struct {
    struct mg_connection *conn;
    int status;
    const char *msg;
} error_job;

static void write_error(void *arg) {
    error_job *j = arg;
    const char *text = sv_http_reason(j->status);
    char *body = sv_http_error_json(j->status, j->msg && *j->msg ? j->msg : text);
    if (!body) return;
    mg_printf(j->conn, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
              j->status, text, strlen(body), body);
    free(body);
    j->status = 0;
}

static slava_server *server_of(const struct mg_connection *conn) {
    const struct mg_context *mc = mg_get_context(conn);
    return mc ? mg_get_user_data(mc) : NULL;
}

static int on_http_error(struct mg_connection *conn, int status, const char *msg) {
    slava_server *s = server_of(conn);
    error_job j = {conn, status, msg};
    if (sv_pool_on_worker()) write_error(&j);
    else if (s && s->pool) sv_pool_run(s->pool, write_error, &j);
    return j.status ? 1 : 0;   /* 1: our body could not be made, civetweb answers itself */
}

/* civetweb's log lines become warnings of the server's log (the library never prints). */
typedef struct {
    slava_server *s;
    const char *message;
} log_job;

static void write_log(void *arg) {
    log_job *j = arg;
    sv_app_warn(j->s->app, "serve: civetweb: %s", j->message);
}

static int on_log(const struct mg_connection *conn, const char *message) {
    log_job j = {server_of(conn), message};
    if (!j.s || !j.s->app) return 1;
    if (j.s->starting) {
        if (!j.s->start_err[0]) snprintf(j.s->start_err, sizeof j.s->start_err, "%s", message);
        return 1;
    }
    if (sv_pool_on_worker()) write_log(&j);
    else if (j.s->pool) sv_pool_run(j.s->pool, write_log, &j);
    return 1;
}

/* ------------------------------------------------------------------ request bodies */

typedef struct {
    uint8_t *mem;         /* in-memory body */
    uint8_t *map;         /* mapped spool file */
    size_t len;
    char path[1100];      /* spool file ("" when none) */
} body_buf;

static void body_free(body_buf *b) {
    free(b->mem);
    if (b->map) munmap(b->map, b->len);
    if (b->path[0]) unlink(b->path);
    memset(b, 0, sizeof *b);
}

/* Read the whole body (at most limit bytes). Returns 0, or an HTTP status with msg filled. */
static int read_body(struct mg_connection *conn, sv_app *a, int64_t limit, body_buf *b, char *msg, size_t cap) {
    uint8_t *chunk = malloc(IO_CHUNK);   /* heap: connection threads have small stacks */
    int fd = -1;
    if (!chunk) { snprintf(msg, cap, "out of memory"); return 503; }
    size_t have = 0, mcap = 0;
    int spool = limit > SV_MAX_JSON_BODY;
    if (spool) {
        snprintf(b->path, sizeof b->path, "%s/body-%ld", a->tmp_dir, atomic_fetch_add(&a->seq, 1));
        fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(msg, cap, "cannot store the request body: %s", strerror(errno));
            b->path[0] = 0;
            free(chunk);
            return 500;
        }
    }
    int status = 0;
    for (;;) {
        int n = mg_read(conn, chunk, IO_CHUNK);
        if (n < 0) { snprintf(msg, cap, "the request body could not be read (timeout or connection closed)"); status = 400; break; }
        if (n == 0) break;
        if ((int64_t)(have + (size_t)n) > limit) {
            snprintf(msg, cap, "request body above the limit of %lld bytes", (long long)limit);
            status = 413;
            break;
        }
        if (spool) {
            for (int off = 0; off < n;) {
                ssize_t w = write(fd, chunk + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) { snprintf(msg, cap, "cannot store the request body: %s", strerror(errno)); status = 507; break; }
                off += (int)w;
            }
            if (status) break;
        } else {
            if (have + (size_t)n > mcap) {
                size_t nc = mcap ? mcap * 2 : 16384;
                while (nc < have + (size_t)n) nc *= 2;
                uint8_t *p = realloc(b->mem, nc);
                if (!p) { snprintf(msg, cap, "out of memory"); status = 503; break; }
                b->mem = p;
                mcap = nc;
            }
            memcpy(b->mem + have, chunk, (size_t)n);
        }
        have += (size_t)n;
    }
    free(chunk);
    b->len = have;
    if (spool) {
        if (!status && have) {
            b->map = mmap(NULL, have, PROT_READ, MAP_PRIVATE, fd, 0);
            if (b->map == MAP_FAILED) {
                b->map = NULL;
                snprintf(msg, cap, "cannot map the request body: %s", strerror(errno));
                status = 500;
            }
        }
        close(fd);
    }
    if (status) sv_app_warn(a, "serve: request body refused (%d): %s", status, msg);
    return status;
}

/* ------------------------------------------------------------------ responses */

static void send_response(struct mg_connection *conn, const sv_http_req *req, const sv_http_resp *r, int close_after) {
    int64_t len = r->fd >= 0 ? r->file_len : (int64_t)r->body_len;
    mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\nX-Content-Type-Options: nosniff\r\n%s%s\r\n",
              r->status, sv_http_reason(r->status), r->content_type, (long long)len, r->headers,
              close_after ? "Connection: close\r\n" : "");
    if (!strcmp(req->method, "HEAD")) return;
    if (r->fd < 0) {
        if (r->body_len) mg_write(conn, r->body, r->body_len);
        return;
    }
    uint8_t *buf = malloc(IO_CHUNK);
    int64_t off = r->file_off, left = r->file_len;
    while (buf && left > 0) {
        ssize_t n = pread(r->fd, buf, left < IO_CHUNK ? (size_t)left : IO_CHUNK, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;               /* the file shrank: the client sees a short body */
        if (mg_write(conn, buf, (size_t)n) <= 0) break;   /* the client went away */
        off += n;
        left -= n;
    }
    free(buf);
}

/* One request, on a pool thread: body, handler, answer. */
static int serve_request(slava_server *s, struct mg_connection *conn) {
    sv_app *a = s->app;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    sv_http_header hs[MG_MAX_HEADERS];
    int nh = ri->num_headers < MG_MAX_HEADERS ? ri->num_headers : MG_MAX_HEADERS;
    for (int i = 0; i < nh; i++) hs[i] = (sv_http_header){ri->http_headers[i].name, ri->http_headers[i].value};
    sv_http_req req = {ri->request_method, ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri, ri->query_string,
                       nh, hs, NULL, 0};
    if (!req.path) req.path = "";
    sv_http_resp resp;
    sv_http_resp_init(&resp);
    body_buf body = {0};
    int64_t limit = sv_app_body_limit(a, req.method, req.path);
    int close_after = 0;
    if (limit > 0) {
        char msg[300];
        int status = 0;
        if (ri->content_length > limit) {
            snprintf(msg, sizeof msg, "request body of %lld bytes is above the limit of %lld bytes", ri->content_length,
                     (long long)limit);
            status = 413;
        } else {
            /* a client that waits for "100 Continue" before sending the body (curl does above 1 MB) */
            const char *expect = mg_get_header(conn, "Expect");
            if (expect && !strcasecmp(expect, "100-continue")) mg_printf(conn, "HTTP/1.1 100 Continue\r\n\r\n");
            status = read_body(conn, a, limit, &body, msg, sizeof msg);
        }
        if (status) {
            atomic_fetch_add(&a->requests, 1);
            mg_disable_keep_alive(conn);                     /* the rest of the body is not read */
            mg_send_http_error(conn, status, "%s", msg);   /* → on_http_error */
            body_free(&body);
            return status;
        }
        req.body = body.map ? body.map : body.mem;
        req.body_len = body.len;
    } else if (ri->content_length > 0) {
        close_after = 1;   /* a body where none belongs: answer, and do not read it */
        mg_disable_keep_alive(conn);
    }
    sv_app_handle(a, &req, &resp);
    send_response(conn, &req, &resp, close_after);
    int status = resp.status;
    sv_http_resp_free(&resp);
    body_free(&body);
    return status;
}

typedef struct {
    slava_server *s;
    struct mg_connection *conn;
    int status;
} request_job;

static void run_request(void *arg) {
    request_job *j = arg;
    j->status = serve_request(j->s, j->conn);
}

/* civetweb's connection thread: hand the request to the pool and wait. */
static int on_request(struct mg_connection *conn, void *cbdata) {
    request_job j = {cbdata, conn, 500};
    sv_pool_run(j.s->pool, run_request, &j);
    return j.status;
}

/* ------------------------------------------------------------------ start / stop */

/* host → dotted IPv4 address (civetweb listens on addresses, not names). */
static slava_status resolve_host(slava_ctx *ctx, const char *host, char *out, size_t cap) {
    struct in_addr ia;
    if (inet_pton(AF_INET, host, &ia) == 1) { snprintf(out, cap, "%s", host); return SLAVA_OK; }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, NULL, &hints, &res);
    if (e || !res) return sv_err(ctx, SLAVA_E_ARG, "serve: host '%s': %s (an IPv4 address or a name that resolves to one)", host, gai_strerror(e));
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, out, (socklen_t)cap);
    freeaddrinfo(res);
    return SLAVA_OK;
}

slava_status slava_server_start(slava_ctx *ctx, const slava_server_opts *o, slava_server **out) {
    *out = NULL;
    if (o->port < 0 || o->port > 65535) return sv_err(ctx, SLAVA_E_ARG, "serve: port must be 0..65535, got %d", o->port);
    if (o->timeout_ms < 100) return sv_err(ctx, SLAVA_E_ARG, "serve: timeout must be >= 100 ms, got %d", o->timeout_ms);
    char addr[64];
    SV_TRY(resolve_host(ctx, o->host ? o->host : "127.0.0.1", addr, sizeof addr));
    slava_server *s = calloc(1, sizeof *s);
    if (!s) return sv_err(ctx, SLAVA_E_NOMEM, "serve: out of memory");
    slava_status st = sv_app_open(ctx, o, ctx, &s->app);
    if (!st) st = sv_pool_new(ctx, o->workers, WORKER_STACK, &s->pool);
    if (st) { sv_app_free(s->app); free(s); return st; }
    char ports[96], threads[16], timeout[16];
    snprintf(ports, sizeof ports, "%s:%d", addr, o->port);
    snprintf(threads, sizeof threads, "%d", o->workers);
    snprintf(timeout, sizeof timeout, "%d", o->timeout_ms);
    const char *mo[] = {
        "listening_ports", ports,
        "num_threads", threads,
        "request_timeout_ms", timeout,
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", "2000",
        "listen_backlog", "1024",
        "connection_queue", "256",
        "max_request_size", "16384",     /* request line + headers */
        "enable_directory_listing", "no",
        "decode_url", "yes",
        "tcp_nodelay", "1",              /* a header and a body are two writes: no Nagle delay */
        NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.http_error = on_http_error;
    cb.log_message = on_log;
    struct mg_init_data init = {&cb, s, mo};
    struct mg_error_data err;
    char ebuf[256] = "";
    memset(&err, 0, sizeof err);
    err.text = ebuf;
    err.text_buffer_size = sizeof ebuf;
    s->starting = 1;
    s->mg = mg_start2(&init, &err);
    s->starting = 0;
    if (!s->mg) {
        st = sv_err(ctx, SLAVA_E_IO, "serve: cannot listen on %s: %s", ports,
                    s->start_err[0] ? s->start_err : ebuf[0] ? ebuf : "civetweb failed to start");
        sv_pool_free(s->pool);
        sv_app_free(s->app);
        free(s);
        return st;
    }
    mg_set_request_handler(s->mg, "/", on_request, s);
    struct mg_server_port sp[4];
    int np = mg_get_server_ports(s->mg, 4, sp);
    s->port = np > 0 ? sp[0].port : o->port;
    snprintf(s->url, sizeof s->url, "http://%s:%d/", addr, s->port);
    *out = s;
    return SLAVA_OK;
}

int slava_server_port(const slava_server *s) { return s->port; }
const char *slava_server_url(const slava_server *s) { return s->url; }

void slava_server_stop(slava_server *s) {
    if (!s) return;
    if (s->mg) mg_stop(s->mg);   /* joins the connection threads: no job is left in the pool */
    sv_pool_free(s->pool);
    sv_app_free(s->app);
    free(s);
}
