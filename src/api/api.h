/* api: logcap's HTTP API (libmicrohttpd, on its own thread): /health, /tasks, /stats,
 * /metrics, /version, /dead and POST /dead/replay. Handlers render from the published
 * snapshot and the live facts in struct lc_snapshot_box, or call the thread-safe hooks
 * they were given; they never touch loop-owned objects. Owns the MHD daemon. */
#ifndef LC_API_H
#define LC_API_H

#include <jansson.h>
#include <stdint.h>

#include "core/snapshot.h"

struct lc_api_config {
    const char *listen;       /* "host:port"; IPv4, [IPv6] or a name */
    const char *token;        /* NULL or "": no token */
    uint64_t task_timeout_ms; /* docker unreachable longer than this: unhealthy */
    uint64_t loop_stall_timeout_ms;
    unsigned max_connections; /* 0: default 64 */
    int test_hooks;           /* test builds: enable POST /debug/wedge and /debug/output */
};

struct lc_api;

/* What the API asks of the rest of logcap, on the API thread. Each may be NULL (the route
 * is then 404). */
struct lc_api_hooks {
    /* Test builds: POST /debug/wedge?task=ID. Returns 0 or -ENOENT (404). */
    int (*wedge)(void *ud, const char *task_id);
    /* Test builds: POST /debug/output?name=N&mode=retry|reject|off[&match=TEXT]. Returns 0,
     * -ENOENT (404) or -EINVAL (400). */
    int (*fault)(void *ud, const char *name, const char *mode, const char *match);
    /* POST /dead/replay?output=NAME: start replaying the output's dead letters. Returns 0
     * (202), or -ENOENT (404). */
    int (*replay)(void *ud, const char *output);
    /* GET /dead: the dead-letter state of every output (a new reference, rendered and
     * released by the API). */
    json_t *(*dead)(void *ud);
    void *ud;
};

/* Starts listening. Returns NULL when the address cannot be used (logged with the
 * reason). BOX must outlive the API; HOOKS (may be NULL) is copied. */
struct lc_api *lc_api_start(const struct lc_api_config *cfg, struct lc_snapshot_box *box,
                            const struct lc_api_hooks *hooks);

/* Stops the server and joins its thread. NULL is a no-op. */
void lc_api_stop(struct lc_api *api);

#endif
