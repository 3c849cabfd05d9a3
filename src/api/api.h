/* api: logcap's HTTP API (libmicrohttpd, on its own thread): /health, /tasks, /stats,
 * /metrics, /version. Handlers render from the published snapshot and the live facts in
 * struct lc_snapshot_box; they never touch loop-owned objects. Owns the MHD daemon. */
#ifndef LC_API_H
#define LC_API_H

#include <stdint.h>

#include "core/snapshot.h"

struct lc_api_config {
    const char *listen;       /* "host:port"; IPv4, [IPv6] or a name */
    const char *token;        /* NULL or "": no token */
    uint64_t task_timeout_ms; /* docker unreachable longer than this: unhealthy */
    uint64_t loop_stall_timeout_ms;
    unsigned max_connections; /* 0: default 64 */
    int test_hooks;           /* test builds: enable POST /debug/wedge */
};

struct lc_api;

/* Optional hook for test builds: POST /debug/wedge?task=ID calls it on the API thread;
 * it returns 0 or -ENOENT (404). */
typedef int (*lc_api_wedge_cb)(void *ud, const char *task_id);

/* Starts listening. Returns NULL when the address cannot be used (logged with the
 * reason). BOX must outlive the API. */
struct lc_api *lc_api_start(const struct lc_api_config *cfg, struct lc_snapshot_box *box,
                            lc_api_wedge_cb wedge_cb, void *wedge_ud);

/* Stops the server and joins its thread. NULL is a no-op. */
void lc_api_stop(struct lc_api *api);

#endif
