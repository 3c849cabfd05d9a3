/* client: HTTP requests to the Docker daemon over its unix socket, with libcurl's
 * multi-socket interface driven by the libuv loop. The client owns the curl multi handle,
 * one poll handle per socket curl opens, and the curl timer. Each request owns its easy
 * handle and its header deadline timer. Deadlines are ours: every request must see its
 * response headers within HEADER_TIMEOUT, and a request started with a total timeout
 * must finish within it; what happens after the headers of a stream (idle deadlines) is
 * the caller's business.
 *
 * Reads are coalesced under load: when a socket becomes readable again less than
 * LC_COALESCE_MS after its last read, the client waits that long before reading, so a busy
 * stream is read in large chunks instead of waking the loop for every frame. */
#ifndef LC_DOCKER_CLIENT_H
#define LC_DOCKER_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <jansson.h>

#define LC_COALESCE_MS 2

struct lc_docker_client;
struct lc_docker_req;

/* Body bytes as they arrive (transfer encoding removed). Return 0 to go on, nonzero to
 * cancel the request (done_cb is then called with -ECANCELED). */
typedef int (*lc_docker_req_data_cb)(void *ud, const char *data, size_t len);
/* The request ended: RESULT is 0 when the response was read to its end, or a negative
 * errno (-ETIMEDOUT for a missed deadline, -ECONNREFUSED/-ENOENT when the daemon is not
 * there, -EIO for other transfer errors). STATUS is the HTTP status (0 when none). The
 * request is freed right after this callback returns. */
typedef void (*lc_docker_req_done_cb)(void *ud, int result, long status);
/* A whole JSON response: BODY is NULL unless RESULT is 0 and the body parsed; the callee
 * does not own BODY (it is freed after the callback). */
typedef void (*lc_docker_req_json_cb)(void *ud, int result, long status, json_t *body);

/* Creates a client for the daemon at SOCKET_PATH on LOOP. Returns NULL when curl cannot
 * be set up (logged). */
struct lc_docker_client *lc_docker_client_create(uv_loop_t *loop, const char *socket_path,
                                                 uint64_t header_timeout_ms);
/* Cancels every request (without calling their callbacks) and closes every handle; the
 * memory is freed once the loop has run the close callbacks. NULL is a no-op. */
void lc_docker_client_destroy(struct lc_docker_client *c);

/* Sets the API prefix, e.g. "/v1.41" (after negotiation). */
void lc_docker_client_set_api(struct lc_docker_client *c, const char *prefix);
const char *lc_docker_client_api(const struct lc_docker_client *c);

/* Starts GET PATH (with the API prefix unless RAW). TOTAL_TIMEOUT_MS bounds the whole
 * request (0: none, for follow streams). Returns the request (owned by the client until
 * done_cb returns or lc_docker_req_cancel) or NULL when curl refused it (logged). */
struct lc_docker_req *lc_docker_req_start(struct lc_docker_client *c, const char *path, int raw,
                                          uint64_t total_timeout_ms, lc_docker_req_data_cb data_cb,
                                          lc_docker_req_done_cb done_cb, void *ud);

/* GET PATH and parse the whole body as JSON (body capped at 64 MiB). Returns the request
 * (cancel it like any other; CB is then not called) or NULL when it could not start; CB is
 * called exactly once otherwise. */
struct lc_docker_req *lc_docker_get_json(struct lc_docker_client *c, const char *path, int raw,
                                         uint64_t total_timeout_ms, lc_docker_req_json_cb cb,
                                         void *ud);

/* Cancels a request: its easy handle is removed and its socket closed at once, and no
 * callback is called (a JSON request frees its own state). NULL is a no-op. */
void lc_docker_req_cancel(struct lc_docker_req *r);

/* Pauses (1) or resumes (0) receiving on a request. Must not be called from inside a
 * callback of this client. */
void lc_docker_req_pause(struct lc_docker_req *r, int pause);

/* During a done callback: the body of the non-2xx response (Docker's error message), or
 * "" when there was none. */
const char *lc_docker_client_error_text(const struct lc_docker_client *c);

#endif
