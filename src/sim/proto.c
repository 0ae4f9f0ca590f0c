/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Framing of the simulated SP's socket protocol (see sim.h), the deadline-bounded socket I/O,
 * and the serving loop. Clients are served one at a time, one request per connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sekisho/sim.h"

static uint32_t body_len_for(uint8_t type)
{
    switch (type) {
    case SK_SIM_MSG_REPORT:
        return SK_SIM_REPORT_REQ_LEN;
    case SK_SIM_MSG_EXT_REPORT:
        return SK_SIM_REPORT_REQ_LEN + 4;
    case SK_SIM_MSG_DERIVED_KEY:
        return SK_SIM_KEY_REQ_LEN;
    }
    return 0;
}

static sk_err frame_parse(const uint8_t *buf, size_t len, bool request, size_t body_max,
                          sk_sim_frame *ret, sk_diag *diag)
{
    const char *check = request ? "sim.request" : "sim.response";
    sk_reader r;
    sk_reader_init(&r, buf, len, check, diag);
    uint8_t version = 0, type = 0;
    uint16_t status = 0;
    uint32_t body_len = 0;
    SK_TRY(sk_read_u8(&r, "version", &version));
    if (version != SK_SIM_PROTO_VERSION) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, "version", 0, "1", "%u", version);
    }
    SK_TRY(sk_read_u8(&r, "type", &type));
    if (request) {
        SK_TRY(sk_read_zero(&r, "reserved", 2));
    } else {
        SK_TRY(sk_read_u16le(&r, "status", &status));
    }
    /* An error response may name the type the request carried, known or not. */
    uint32_t want = body_len_for(type);
    if (want == 0 && (request || status == SK_SIM_STATUS_OK)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, "type", 1, "1, 2 or 3", "%u", type);
    }
    SK_TRY(sk_read_u32le(&r, "body_len", &body_len));
    if (body_len > body_max) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, "body_len", 4, NULL, "%u (limit %zu)",
                           body_len, body_max);
    }
    if (request && body_len != want) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, "body_len", 4, NULL,
                           "%u for type %u (want %u)", body_len, type, want);
    }
    const uint8_t *body = NULL;
    SK_TRY(sk_read_view(&r, "body", &body, body_len));
    SK_TRY(sk_reader_expect_end(&r));
    *ret = (sk_sim_frame){.type = type, .status = status, .body = body, .body_len = body_len};
    return SK_OK;
}

sk_err sk_sim_request_parse(const uint8_t *buf, size_t len, sk_sim_frame *ret, sk_diag *diag)
{
    return frame_parse(buf, len, true, SK_SIM_REQUEST_BODY_MAX, ret, diag);
}

sk_err sk_sim_response_parse(const uint8_t *buf, size_t len, sk_sim_frame *ret, sk_diag *diag)
{
    return frame_parse(buf, len, false, SK_SIM_RESPONSE_MAX, ret, diag);
}

void sk_sim_frame_put(sk_buf *b, uint8_t type, uint16_t status, const void *body, size_t body_len)
{
    sk_buf_put_u8(b, SK_SIM_PROTO_VERSION);
    sk_buf_put_u8(b, type);
    sk_buf_put_u16le(b, status);
    sk_buf_put_u32le(b, (uint32_t)body_len);
    sk_buf_put(b, body, body_len);
}

/* ---- deadline-bounded I/O ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sk_err wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            return SK_ERR_BUSY;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return SK_ERR_IO;
        }
        if (n > 0) {
            return SK_OK;
        }
    }
}

static sk_err recv_exact(int fd, uint8_t *out, size_t n, long long deadline)
{
    size_t got = 0;
    while (got < n) {
        SK_TRY(wait_fd(fd, POLLIN, deadline));
        ssize_t k = recv(fd, out + got, n - got, MSG_DONTWAIT);
        if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;
        }
        if (k <= 0) {
            return k == 0 ? SK_ERR_TRUNCATED : SK_ERR_IO;
        }
        got += (size_t)k;
    }
    return SK_OK;
}

sk_err sk_sim_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    const uint8_t *p = buf;
    while (len > 0) {
        SK_TRY(wait_fd(fd, POLLOUT, deadline));
        ssize_t k = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;
        }
        if (k < 0) {
            return SK_ERR_IO;
        }
        p += k;
        len -= (size_t)k;
    }
    return SK_OK;
}

sk_err sk_sim_frame_recv(int fd, size_t body_max, int timeout_ms, uint8_t **ret, size_t *ret_len,
                         sk_diag *diag)
{
    long long deadline = now_ms() + timeout_ms;
    uint8_t hdr[SK_SIM_FRAME_HEADER];
    sk_err err = recv_exact(fd, hdr, sizeof(hdr), deadline);
    if (err != SK_OK) {
        return sk_diag_set(diag, err, "sim.recv", "header", 0, NULL, "%s",
                           err == SK_ERR_BUSY ? "timed out" : "connection closed");
    }
    uint32_t body_len = sk_load_u32le(hdr + 4);
    if (body_len > body_max) {
        /* Hand the header alone to the parser: it names the oversized length. */
        uint8_t *only = sk_memdup(hdr, sizeof(hdr));
        SK_TRY_ALLOC(only);
        *ret = only;
        *ret_len = sizeof(hdr);
        return SK_OK;
    }
    uint8_t *buf = sk_malloc(sizeof(hdr) + body_len);
    SK_TRY_ALLOC(buf);
    memcpy(buf, hdr, sizeof(hdr));
    err = recv_exact(fd, buf + sizeof(hdr), body_len, deadline);
    if (err != SK_OK) {
        free(buf);
        return sk_diag_set(diag, err, "sim.recv", "body", sizeof(hdr), NULL, "%s",
                           err == SK_ERR_BUSY ? "timed out" : "connection closed");
    }
    *ret = buf;
    *ret_len = sizeof(hdr) + body_len;
    return SK_OK;
}

/* ---- serving ---- */

static void serve_one(sk_sim_sp *sp, int fd, int timeout_ms)
{
    uint8_t *req = NULL;
    size_t req_len = 0;
    if (sk_sim_frame_recv(fd, SK_SIM_REQUEST_BODY_MAX, timeout_ms, &req, &req_len, NULL) != SK_OK) {
        return; /* timed out or closed: nothing to answer */
    }
    uint8_t *rsp = NULL;
    size_t rsp_len = 0;
    if (sk_sim_sp_handle(sp, req, req_len, &rsp, &rsp_len) == SK_OK) {
        SK_IGNORE(sk_sim_send_all(fd, rsp, rsp_len, timeout_ms));
        sk_free_secret(rsp, rsp_len);
    }
    free(req);
}

sk_err sk_sim_sp_serve(sk_sim_sp *sp, const char *socket_path, int timeout_ms,
                       volatile sig_atomic_t *stop, sk_diag *diag)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof(addr.sun_path)) {
        return sk_diag_set(diag, SK_ERR_ARG, "sim.serve", "socket", SIZE_MAX,
                           "a path shorter than 108 bytes", "%s", socket_path);
    }
    memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
    struct stat st;
    if (lstat(socket_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return sk_diag_set(diag, SK_ERR_EXISTS, "sim.serve", "socket", SIZE_MAX,
                               "a socket or nothing", "%s is another kind of file", socket_path);
        }
        unlink(socket_path); /* stale socket of an earlier SP */
    }
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        return sk_diag_set(diag, SK_ERR_IO, "sim.serve", "socket", SIZE_MAX, NULL, "%s",
                           strerror(errno));
    }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 16) != 0) {
        int e = errno;
        close(lfd);
        return sk_diag_set(diag, SK_ERR_IO, "sim.serve", socket_path, SIZE_MAX, NULL, "bind: %s",
                           strerror(e));
    }
    while (!*stop) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int n = poll(&p, 1, 200);
        if (n <= 0) {
            continue; /* timeout or EINTR: look at *stop again */
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        serve_one(sp, fd, timeout_ms);
        close(fd);
    }
    close(lfd);
    unlink(socket_path);
    return SK_OK;
}
