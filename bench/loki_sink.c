/* loki_sink: a minimal Loki push endpoint for the delivery benchmark (bench/loki_delivery.sh):
 * it reads every request body, answers 204 (after DELAY_MS when given: a remote Loki), and
 * counts requests, body bytes and the entries in them. It runs as its own process so that
 * its CPU is not counted against the agent being measured.
 *
 *   build/loki_sink [PORT] [DELAY_MS]      (PORT 0: any; prints "PORT\n" once listening)
 *   curl http://127.0.0.1:PORT/count       -> "requests=R bytes=B entries=E errors=X\n"
 *
 * Entries are counted by decoding the body just enough: snappy protobuf (PushRequest field
 * 1 streams, StreamAdapter field 2 entries) or JSON, gzip or not (the values' `["` pairs:
 * good for the benchmark's lines, which hold no `["`). A body that cannot be decoded
 * counts as an error, not as entries, so a run that lost records shows it. Counting runs
 * before the delay and costs the sink's CPU, never the agent's.
 *
 * One thread per connection (libmicrohttpd), so the delay holds only its own connection,
 * as a remote Loki's latency would. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct conn {
    char *buf;
    size_t len, cap;
};

static unsigned delay_ms;
static uint64_t n_requests, n_bytes, n_entries, n_errors; /* __atomic */
static volatile sig_atomic_t done;

static void on_signal(int sig)
{
    (void)sig;
    done = 1;
}

/* Reads a protobuf varint at *P (before END). Returns 0, or -1 when cut short. */
static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return 0;
        }
    }
    return -1;
}

/* Counts field NUMBER's occurrences in the message [P, END); when INNER, counts field 2 inside
 * each field-1 submessage instead (PushRequest -> streams -> entries). Returns -1 when the
 * wire format is broken. */
static long count_field(const unsigned char *p, const unsigned char *end, int inner)
{
    long n = 0;
    while (p < end) {
        uint64_t key, len;
        if (varint(&p, end, &key) != 0) {
            return -1;
        }
        switch (key & 7) {
        case 0:
            if (varint(&p, end, &len) != 0) {
                return -1;
            }
            break;
        case 2:
            if (varint(&p, end, &len) != 0 || len > (uint64_t)(end - p)) {
                return -1;
            }
            if (inner && key >> 3 == 1) {
                long k = count_field(p, p + len, 0);
                if (k < 0) {
                    return -1;
                }
                n += k;
            } else if (!inner && key >> 3 == 2) {
                n++;
            }
            p += len;
            break;
        case 1:
            p += 8;
            break;
        case 5:
            p += 4;
            break;
        default:
            return -1;
        }
    }
    return p == end ? n : -1;
}

static long count_proto(const char *body, size_t len)
{
    size_t out_len;
    char *out;
    long n;
    if (snappy_uncompressed_length(body, len, &out_len) != SNAPPY_OK) {
        return -1;
    }
    out = malloc(out_len + 1);
    if (out == NULL || snappy_uncompress(body, len, out, &out_len) != SNAPPY_OK) {
        free(out);
        return -1;
    }
    n = count_field((const unsigned char *)out, (const unsigned char *)out + out_len, 1);
    free(out);
    return n;
}

static long count_json_text(const char *s, size_t len)
{
    long n = 0;
    for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), "[\"", 2)) != NULL; p += 2) {
        n++;
    }
    return n;
}

static long count_json(const char *body, size_t len, int gzip)
{
    z_stream z;
    size_t cap = len * 8 + 4096, have = 0;
    char *out;
    long n;
    int rc;
    if (!gzip) {
        return count_json_text(body, len);
    }
    memset(&z, 0, sizeof z);
    out = malloc(cap);
    if (out == NULL || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return -1;
    }
    z.next_in = (unsigned char *)body;
    z.avail_in = (uInt)len;
    do {
        if (have == cap) {
            char *bigger = realloc(out, cap * 2);
            if (bigger == NULL) {
                break;
            }
            out = bigger;
            cap *= 2;
        }
        z.next_out = (unsigned char *)out + have;
        z.avail_out = (uInt)(cap - have);
        rc = inflate(&z, Z_NO_FLUSH);
        have = cap - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    n = rc == Z_STREAM_END ? count_json_text(out, have) : -1;
    free(out);
    return n;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static void count_body(struct MHD_Connection *c, const struct conn *k)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    int json = type != NULL && strncmp(type, "application/json", 16) == 0;
    long n = json ? count_json(k->buf, k->len, enc != NULL && strcmp(enc, "gzip") == 0)
                  : count_proto(k->buf, k->len);
    __atomic_add_fetch(n < 0 ? &n_errors : &n_entries, n < 0 ? 1 : (uint64_t)n, __ATOMIC_RELAXED);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **state)
{
    struct conn *k = *state;
    char text[160];
    (void)cls;
    (void)version;
    if (strcmp(method, "GET") == 0) {
        snprintf(text, sizeof text, "requests=%llu bytes=%llu entries=%llu errors=%llu\n",
                 (unsigned long long)__atomic_load_n(&n_requests, __ATOMIC_RELAXED),
                 (unsigned long long)__atomic_load_n(&n_bytes, __ATOMIC_RELAXED),
                 (unsigned long long)__atomic_load_n(&n_entries, __ATOMIC_RELAXED),
                 (unsigned long long)__atomic_load_n(&n_errors, __ATOMIC_RELAXED));
        return answer(c, strcmp(url, "/count") == 0 ? 200 : 404, text);
    }
    if (k == NULL) {
        *state = k = calloc(1, sizeof *k);
        return k != NULL ? MHD_YES : MHD_NO;
    }
    if (*data_size > 0) {
        if (k->len + *data_size > k->cap) {
            size_t cap = (k->len + *data_size) * 2;
            char *bigger = realloc(k->buf, cap);
            if (bigger == NULL) {
                return MHD_NO;
            }
            k->buf = bigger;
            k->cap = cap;
        }
        memcpy(k->buf + k->len, data, *data_size);
        k->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    count_body(c, k);
    __atomic_add_fetch(&n_bytes, k->len, __ATOMIC_RELAXED);
    k->len = 0;
    if (delay_ms > 0) {
        struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    __atomic_add_fetch(&n_requests, 1, __ATOMIC_RELAXED);
    return answer(c, 204, "");
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode toe)
{
    struct conn *k = *state;
    (void)cls;
    (void)c;
    (void)toe;
    if (k != NULL) {
        free(k->buf);
        free(k);
        *state = NULL;
    }
}

int main(int argc, char **argv)
{
    unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    delay_ms = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                         (uint16_t)port, NULL, NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                         completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&sa, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "loki_sink: cannot listen on port %u\n", port);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info != NULL ? info->port : port);
    fflush(stdout);
    while (!done) {
        pause();
    }
    MHD_stop_daemon(d);
    fprintf(stderr, "loki_sink: %llu requests, %llu bytes, %llu entries, %llu errors\n",
            (unsigned long long)n_requests, (unsigned long long)n_bytes,
            (unsigned long long)n_entries, (unsigned long long)n_errors);
    return 0;
}
