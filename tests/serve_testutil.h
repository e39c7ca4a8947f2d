/*
 * serve_testutil.h — what the `slava serve` tests share: a small indexed collection (slava synth →
 * slava encode with the fixture encoders → slava index), a server started on a free loopback port
 * (--port 0; the "listening on" line names the port), and raw HTTP/1.1 exchanges over loopback.
 */
#ifndef SLAVA_SERVE_TESTUTIL_H
#define SLAVA_SERVE_TESTUTIL_H

#include "test.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#define SRV_CLIP SLAVA_FIXTURES "/clip-model"
#define SRV_CLAP SLAVA_FIXTURES "/clap-model"

static inline double srv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* dir/data (12 synthetic clips, a quarter without audio, 3 to 8 s), dir/store.sqlite, dir/index.slx.
 * Returns 0 when all three commands succeeded. */
static inline int srv_build_index(const char *dir) {
    char cmd[16384];
    char *err = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && " SLAVA_BIN " synth --out '%s/data' --train 8 --val 2 --test 2 "
             "--seconds 3-8 --no-audio-share 0.25 --seed 3 --quiet && " SLAVA_BIN " encode --data '%s/data' --clip " SRV_CLIP
             " --clap " SRV_CLAP " --store '%s/store.sqlite' --quiet && " SLAVA_BIN " index --store '%s/store.sqlite' --out '%s/index.slx'"
             " --clip " SRV_CLIP " --clap " SRV_CLAP " >/dev/null",
             dir, dir, dir, dir, dir, dir, dir);
    int rc = run_cmd(cmd, NULL, &err);
    if (rc) fprintf(stderr, "srv_build_index: exit %d: %s\n", rc, err ? err : "");
    free(err);
    return rc;
}

typedef struct {
    pid_t pid;
    int port;
    char url[128];
    char err_path[1024];     /* the server's stderr */
} test_server;

/* Start `slava serve INDEX ARGS --port 0`; wait (up to 60 s) for its "listening on" line. */
static inline int srv_start(test_server *s, const char *index, const char *args) {
    memset(s, 0, sizeof *s);
    static int seq;
    snprintf(s->err_path, sizeof s->err_path, "%s/serve_%d_%d.err", SLAVA_TMP, (int)getpid(), seq++);
    int p[2];
    if (pipe(p)) return -1;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec " SLAVA_BIN " serve '%s' --port 0 %s 2>'%s'", index, args ? args : "", s->err_path);
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[512];
    size_t n = 0;
    double t0 = srv_now();
    while (n < sizeof line - 1 && srv_now() - t0 < 60) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, 1000) <= 0) continue;
        ssize_t r = read(p[0], line + n, 1);
        if (r <= 0) break;
        if (line[n++] == '\n') break;
    }
    line[n] = 0;
    close(p[0]);
    if (sscanf(line, "listening on http://127.0.0.1:%d/", &s->port) != 1) {
        fprintf(stderr, "srv_start: no 'listening on' line (got '%s')\n", line);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        return -1;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/", s->port);
    return 0;
}

/* Send sig and wait up to 30 s: the exit status (128 + signal when killed, -1 when it hung). */
static inline int srv_stop(test_server *s, int sig) {
    if (s->pid <= 0) return -1;
    kill(s->pid, sig);
    int st = 0;
    double t0 = srv_now();
    while (srv_now() - t0 < 30) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) { s->pid = 0; return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

/* ------------------------------------------------------------------ raw HTTP */

typedef struct {
    int status;              /* 0 when no status line came back */
    char *raw;               /* whole answer, NUL-terminated (malloc'd) */
    size_t raw_len;
    char *body;              /* into raw */
    size_t body_len;
} http_resp;

static inline void http_resp_free(http_resp *r) { free(r->raw); memset(r, 0, sizeof *r); }

static inline int srv_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {120, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
    return fd;
}

static inline int send_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read the answer on fd until the server closes it (requests say Connection: close). */
static inline void http_read(int fd, http_resp *r) {
    memset(r, 0, sizeof *r);
    size_t cap = 65536;
    r->raw = malloc(cap + 1);
    for (;;) {
        if (r->raw_len == cap) r->raw = realloc(r->raw, (cap *= 2) + 1);
        ssize_t n = recv(fd, r->raw + r->raw_len, cap - r->raw_len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        r->raw_len += (size_t)n;
    }
    r->raw[r->raw_len] = 0;
    sscanf(r->raw, "HTTP/1.%*d %d", &r->status);
    char *b = strstr(r->raw, "\r\n\r\n");
    if (b) { r->body = b + 4; r->body_len = r->raw_len - (size_t)(r->body - r->raw); }
}

/* One exchange of raw bytes on a fresh connection. */
static inline int http_raw(int port, const void *req, size_t len, http_resp *r) {
    memset(r, 0, sizeof *r);
    int fd = srv_connect(port);
    if (fd < 0) return -1;
    send_all(fd, req, len);   /* the server may answer and close before taking everything */
    http_read(fd, r);
    close(fd);
    return r->status ? 0 : -1;
}

/* METHOD path with extra header lines (each ending in \r\n, may be NULL) and a body (may be NULL). */
static inline int http_req(int port, const char *method, const char *path, const char *headers, const void *body,
                           size_t body_len, http_resp *r) {
    size_t cap = strlen(path) + (headers ? strlen(headers) : 0) + 256 + body_len;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, path, headers ? headers : "");
    if (body) n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    if (body) { memcpy(req + n, body, body_len); n += (int)body_len; }
    int rc = http_raw(port, req, (size_t)n, r);
    free(req);
    return rc;
}

static inline int http_get(int port, const char *path, http_resp *r) { return http_req(port, "GET", path, NULL, NULL, 0, r); }

/* Value of header `name` in r (copied into out[cap]), or NULL. */
static inline const char *http_header(const http_resp *r, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *p = r->raw ? strstr(r->raw, "\r\n") : NULL; p && (!r->body || p + 2 < r->body); p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (!strncasecmp(h, name, nl) && h[nl] == ':') {
            h += nl + 1;
            while (*h == ' ') h++;
            size_t k = strcspn(h, "\r\n");
            if (k >= cap) k = cap - 1;
            memcpy(out, h, k);
            out[k] = 0;
            return out;
        }
    }
    return NULL;
}

#endif
