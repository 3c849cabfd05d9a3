/* replay: `logcap dead replay OUTPUT`. When a logcap holds the data_dir, it is asked
 * through its API (POST /dead/replay, then GET /dead until the replay is over), so the
 * output's own thread sends the records and nothing writes the destination twice at once.
 * Otherwise the records are sent here, with the output built from the config: each batch
 * is tried a few times, records refused again go back to the dead-letter file, and a
 * batch that cannot be sent stops the replay with everything not sent kept. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "base/buf.h"
#include "delivery/deadletter.h"
#include "base/log.h"
#include "base/util.h"
#include "outputs/registry.h"

#define POLL_MS 200
#define REPLAY_TIMEOUT_MS (30u * 60u * 1000u)
#define OFFLINE_ATTEMPTS 5

int lc_cmd_lock_data_dir(const char *dir)
{
    size_t n = strlen(dir) + 16;
    char *path = lc_xmalloc(n);
    int fd, rc = lc_mkdir_p(dir, 0755);
    if (rc != 0) {
        free(path);
        return rc;
    }
    snprintf(path, n, "%s/lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (fd < 0) {
        return -errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = -errno;
        close(fd);
        return rc == -EAGAIN ? -EWOULDBLOCK : rc;
    }
    return fd;
}

/* ---- through the running logcap's API ------------------------------------------------------ */

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    return lc_buf_add(ud, data, size * n) == 0 ? size * n : 0;
}

/* The base URL of api.listen: a wildcard address is reached on loopback. */
static void base_url(const char *listen, char *out, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    if (strncmp(listen, "0.0.0.0:", 8) == 0) {
        snprintf(out, cap, "http://127.0.0.1%s", colon);
    } else if (strncmp(listen, "[::]:", 5) == 0) {
        snprintf(out, cap, "http://[::1]%s", colon);
    } else {
        snprintf(out, cap, "http://%s", listen);
    }
}

/* One request. Returns the HTTP status (0 when there was no answer); BODY gets the body. */
static long http(const struct lc_config *cfg, const char *method, const char *path,
                 struct lc_buf *body)
{
    char url[600], auth[1024];
    struct curl_slist *hdr = NULL;
    long status = 0;
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return 0;
    }
    base_url(cfg->api_listen, url, sizeof(url));
    strncat(url, path, sizeof(url) - strlen(url) - 1);
    lc_buf_reset(body);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (cfg->api_token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->api_token);
        hdr = curl_slist_append(hdr, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return status;
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* The replay state of OUTPUT in a GET /dead body; 0 when found. */
static int replay_state(const struct lc_buf *body, const char *output, char *state, size_t cap,
                        json_int_t *replayed, json_int_t *refused, json_int_t *left)
{
    json_t *doc = json_loadb(body->data != NULL ? body->data : "", body->len, 0, NULL), *o;
    size_t i;
    int rc = -ENOENT;
    json_array_foreach(json_object_get(doc, "outputs"), i, o)
    {
        if (strcmp(str_of(o, "name"), output) == 0) {
            snprintf(state, cap, "%s", str_of(o, "replay"));
            *replayed = json_integer_value(json_object_get(o, "replayed"));
            *refused = json_integer_value(json_object_get(o, "refused"));
            *left = json_integer_value(json_object_get(o, "records"));
            rc = 0;
        }
    }
    json_decref(doc);
    return rc;
}

static int replay_via_api(const struct lc_config *cfg, const char *output, FILE *out)
{
    struct lc_buf body;
    char path[300], state[32] = "";
    json_int_t replayed = 0, refused = 0, left = 0;
    uint64_t deadline = lc_now_ms() + REPLAY_TIMEOUT_MS;
    long status;
    int rc = 1;

    lc_buf_init(&body, 1u << 20);
    snprintf(path, sizeof(path), "/dead/replay?output=%s", output);
    status = http(cfg, "POST", path, &body);
    if (status != 202) {
        fprintf(stderr, "logcap: the running logcap (api %s) refused the replay: HTTP %ld %.*s\n",
                cfg->api_listen, status, (int)body.len, body.data != NULL ? body.data : "");
        lc_buf_close(&body);
        return 1;
    }
    fprintf(out, "replay of %s requested from the running logcap\n", output);
    while (lc_now_ms() < deadline) {
        usleep(POLL_MS * 1000);
        if (http(cfg, "GET", "/dead", &body) == 200 &&
            replay_state(&body, output, state, sizeof(state), &replayed, &refused, &left) == 0 &&
            (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0)) {
            rc = strcmp(state, "done") == 0 ? 0 : 1;
            break;
        }
    }
    fprintf(out,
            "replay %s: %lld records delivered, %lld refused again; %lld records in the "
            "dead-letter file now\n",
            state[0] ? state : "timed out", (long long)replayed, (long long)refused,
            (long long)left);
    lc_buf_close(&body);
    return rc;
}

/* ---- here, with the output from the config ----------------------------------------------------
 */

struct offline {
    const struct lc_config *cfg;
    const struct lc_output_config *oc;
    const struct lc_output_ops *ops;
    void *state;
    uint64_t sent, refused;
};

/* Sends a batch of replayed records, retried a few times; the batch's marks are kept
 * across the tries, so what the output delivered of a failed try (lc_send_done) is not
 * sent again. What is not delivered (refused; on LC_REJECT every record not marked done)
 * goes back to the dead-letter file. */
static int offline_send(void *ud, struct lc_record **recs, size_t n)
{
    struct offline *o = ud;
    struct lc_send_report rep = {0}, scratch = {0};
    struct lc_record **back = lc_xcalloc(n + 1, sizeof(*back));
    char **why = lc_xcalloc(n + 1, sizeof(*why));
    enum lc_send_result res = LC_RETRY;
    size_t k = 0;
    int rc = 0;
    lc_send_report_reset(&rep, n);
    for (int attempt = 0; attempt < OFFLINE_ATTEMPTS; attempt++) {
        res = lc_output_send_rest(o->ops, o->state, recs, n, &rep, &scratch);
        if (res != LC_RETRY) {
            break;
        }
        usleep((useconds_t)(200000u << attempt));
    }
    for (size_t i = 0; i < n && res != LC_RETRY; i++) {
        if (!rep.done[i] && (res == LC_REJECT || rep.reasons[i] != NULL)) {
            why[k] = rep.reasons[i];
            back[k++] = recs[i];
        }
    }
    if (res == LC_RETRY) {
        fprintf(stderr, "logcap: output %s did not take a batch (%s); stopping the replay\n",
                o->oc->name, rep.why[0] ? rep.why : "send failed");
        rc = -EAGAIN;
    } else if (k > 0) {
        rc = lc_delivery_dead_append(o->cfg->data_dir, o->oc->name, back, k, why,
                                     rep.why[0] ? rep.why : "refused", 1);
    }
    o->refused += k;
    o->sent += res == LC_RETRY ? 0 : n - k;
    if (rc == 0 && res != LC_RETRY) {
        rc = o->ops->flush(o->state);
    }
    lc_send_report_close(&rep);
    lc_send_report_close(&scratch);
    free(back);
    free(why);
    return rc;
}

static int replay_here(const struct lc_config *cfg, const struct lc_output_config *oc, FILE *out)
{
    struct offline o = {.cfg = cfg, .oc = oc, .ops = lc_output_find(oc->type)};
    struct lc_delivery_dead_replay_stats st;
    int rc;
    /* The stdout output replays onto this command's stdout, which then holds records only:
     * the summary goes to stderr. */
    if (strcmp(oc->type, "stdout") == 0) {
        out = stderr;
    }
    if (o.ops == NULL || o.ops->init(&o.state, oc) != 0) {
        fprintf(stderr, "logcap: cannot start output %s\n", oc->name);
        return 1;
    }
    rc = lc_delivery_dead_replay(cfg->data_dir, oc->name, oc->batch.max_records, offline_send, &o,
                                 &st);
    o.ops->destroy(o.state);
    if (rc == -ENOENT) {
        fprintf(out, "replay done: output %s has no dead-letter records\n", oc->name);
        return 0;
    }
    fprintf(out,
            "replay %s: %llu records delivered, %llu refused again (back in the "
            "dead-letter file), %llu lines that were not records\n",
            rc == 0 ? "done" : "stopped", (unsigned long long)o.sent, (unsigned long long)o.refused,
            (unsigned long long)st.invalid);
    return rc == 0 ? 0 : 1;
}

int lc_cmd_dead_replay(const struct lc_config *cfg, const char *output, FILE *out)
{
    const struct lc_output_config *oc = NULL;
    int lock, rc;
    for (size_t i = 0; i < cfg->n_outputs; i++) {
        if (strcmp(cfg->outputs[i].name, output) == 0) {
            oc = &cfg->outputs[i];
        }
    }
    if (oc == NULL) {
        fprintf(stderr, "logcap: no output named \"%s\" in the config\n", output);
        return 2;
    }
    lock = lc_cmd_lock_data_dir(cfg->data_dir);
    if (lock == -EWOULDBLOCK) {
        return replay_via_api(cfg, output, out);
    }
    if (lock < 0) {
        fprintf(stderr, "logcap: cannot lock %s/lock: %s\n", cfg->data_dir, strerror(-lock));
        return 1;
    }
    rc = replay_here(cfg, oc, out);
    close(lock);
    return rc;
}
