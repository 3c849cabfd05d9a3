/* spool_format: the bytes of the spool's segment files. A segment is a 24-byte header
 * ("LCSPOOL1", the segment id, a random seed and its complement) followed by frames. A
 * frame is a 12-byte header and a payload:
 *
 *   0  'L' 'C'      magic, where a reader resynchronises after damage
 *   2  type         LC_SPOOL_DATA, LC_SPOOL_META or LC_SPOOL_POS
 *   3  flags        LC_SPOOL_F_TXN_END on the last frame of one append
 *   4  len          payload bytes, little-endian u32, at most LC_SPOOL_PAYLOAD_MAX
 *   8  crc          CRC-32 (zlib) of bytes 2..7 and the payload, started from the
 *                   segment's seed, little-endian u32
 *
 * The seed is why a line a container logs can never pass for a frame: after damage a
 * reader looks for the next magic, possibly inside a message, and a frame a container
 * crafted would need the seed to check out. It is kept twice (as is and complemented),
 * so one damaged header byte does not cost the segment.
 *
 * Payloads (little-endian):
 *   DATA  u32 meta id, i64 ts_ns, u8 stream, u8 flags (1 = truncated, 2 = fields), u8
 *         ts_len, the timestamp text, [with flag 2: u32 length and the record's processor
 *         fields as JSON, [[key,value,flags],...] as in metadata format 2], then the message
 *         bytes (the rest). Flag 2 is only ever set on a line a processor gave fields, so
 *         a spool without processors is byte for byte what earlier versions wrote.
 *   META  u32 meta id, then the source's metadata as a JSON object (format 2, or format 1
 *         from earlier versions: see spool_format.c); an empty JSON text means the id is no
 *         longer used
 *   POS   u16 key length, the key, then the value (an input's position, JSON text); an
 *         empty value deletes the key
 *
 * One append (a transaction) is the frames an input hands over at once: its records, the
 * metadata they need, and its positions after them; the last frame carries TXN_END. A
 * torn tail is cut back to the last TXN_END, so positions and records always agree.
 * Pure functions on memory: no I/O, no allocation except where said. */
#ifndef LC_SPOOL_FORMAT_H
#define LC_SPOOL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/record.h"

#define LC_SPOOL_SEG_MAGIC "LCSPOOL1"
#define LC_SPOOL_SEG_HDR 24
#define LC_SPOOL_HDR 12
#define LC_SPOOL_DATA_FIXED 15 /* DATA payload bytes before the timestamp text */
/* A line is at most 64 MiB (docker.max_line_bytes); a frame bigger than this is damage. */
#define LC_SPOOL_PAYLOAD_MAX ((64u << 20) + 4096u)

enum lc_spool_type {
    LC_SPOOL_DATA = 1,
    LC_SPOOL_META = 2,
    LC_SPOOL_POS = 3,
};

#define LC_SPOOL_F_TXN_END 0x01
#define LC_SPOOL_D_TRUNCATED 0x01
#define LC_SPOOL_D_FIELDS 0x02

/* A frame found in a buffer; PAYLOAD points into that buffer. */
struct lc_spool_frame {
    uint8_t type;
    uint8_t flags;
    uint32_t len;
    const uint8_t *payload;
};

enum lc_scan {
    LC_SCAN_FRAME = 0, /* a whole, valid frame: *pos moved past it */
    LC_SCAN_MORE,      /* the bytes at *pos may start a frame that is not all there yet */
    LC_SCAN_BAD,       /* damage: *pos moved to the next place a frame may start */
};

/* Reads the frame at BUF[*POS] (LEN bytes in BUF). On LC_SCAN_BAD, *SKIPPED receives the
 * bytes skipped; the caller decides whether what follows is worth reading (a reader at the
 * end of what it may read treats LC_SCAN_MORE as a torn tail). */
enum lc_scan lc_spool_frame_next(const uint8_t *buf, size_t len, size_t *pos,
                                 struct lc_spool_frame *f, size_t *skipped, uint32_t seed);

/* Where the next magic at or after FROM starts in BUF (LEN bytes), or LEN when there is
 * none (a lone 'L' at the very end counts: the 'C' may follow). */
size_t lc_spool_next_magic(const uint8_t *buf, size_t len, size_t from);

/* Little-endian fields, as every spool file stores them. */
static inline uint32_t lc_spool_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t lc_spool_get_u64(const uint8_t *p)
{
    return (uint64_t)lc_spool_get_u32(p) | (uint64_t)lc_spool_get_u32(p + 4) << 32;
}

static inline void lc_spool_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void lc_spool_put_u64(uint8_t *p, uint64_t v)
{
    lc_spool_put_u32(p, (uint32_t)v);
    lc_spool_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* Bytes of the frame whose header starts at H, header included, as its length says. */
static inline size_t lc_spool_frame_size(const uint8_t *h)
{
    return LC_SPOOL_HDR + (size_t)lc_spool_get_u32(h + 4);
}

/* Computes and stores the CRC of the frame starting at FRAME (header and payload). */
void lc_spool_frame_seal(uint8_t *frame, uint32_t seed);

/* Appends an unsealed DATA frame. Returns its offset in B, or -E2BIG. */
long lc_spool_put_data(struct lc_buf *b, uint32_t meta_id, int stream, int64_t ts_ns,
                       const char *ts, size_t ts_len, const char *msg, size_t len, int truncated);
/* The same with the record's fields as JSON (lc_spool_fields_to_json; FIELDS NULL: none). */
long lc_spool_put_data_fields(struct lc_buf *b, uint32_t meta_id, int stream, int64_t ts_ns,
                              const char *ts, size_t ts_len, const char *fields, size_t fields_len,
                              const char *msg, size_t len, int truncated);
/* Appends an unsealed META frame holding JSON (LEN 0: the id is dropped). */
long lc_spool_put_meta(struct lc_buf *b, uint32_t meta_id, const char *json, size_t len);
/* Appends an unsealed POS frame (VALUE NULL or VLEN 0: delete KEY). */
long lc_spool_put_pos(struct lc_buf *b, const char *key, size_t klen, const char *value,
                      size_t vlen);

struct lc_spool_data {
    uint32_t meta_id;
    int64_t ts_ns;
    uint8_t stream;
    uint8_t truncated;
    const char *ts;
    size_t ts_len;
    const char *fields; /* the fields' JSON, or NULL when the line has none */
    size_t fields_len;
    const char *msg;
    size_t len;
};

/* Decodes a DATA payload. Returns 0 or -EINVAL (too short, bad stream, ts_len or the
 * fields' length too long). */
int lc_spool_data_decode(const struct lc_spool_frame *f, struct lc_spool_data *out);
/* Decodes a META payload into its id and JSON text. Returns 0 or -EINVAL. */
int lc_spool_meta_decode(const struct lc_spool_frame *f, uint32_t *id, const char **json,
                         size_t *len);
/* Decodes a POS payload. Returns 0 or -EINVAL (too short, an empty key, a key past the
 * payload or holding a NUL byte). */
int lc_spool_pos_decode(const struct lc_spool_frame *f, const char **key, size_t *klen,
                        const char **value, size_t *vlen);

/* The metadata as the JSON object a META frame holds (heap string, caller frees). */
char *lc_spool_meta_to_json(const struct lc_meta *m, size_t *len);
/* Builds metadata (one reference) from a META frame's JSON, of format 2 or of format 1 (the
 * Docker metadata earlier versions wrote). Returns NULL when the JSON is not an object with
 * a string "id", or is damaged or of an unknown format. */
struct lc_meta *lc_spool_meta_from_json(const char *json, size_t len);

/* A record's fields as the JSON a DATA frame holds (heap string, caller frees), and back
 * (NULL when the text is not a list of [key,value,flags]: the line is kept without them). */
char *lc_spool_fields_to_json(const struct lc_fields *f, size_t *len);
struct lc_fields *lc_spool_fields_from_json(const char *json, size_t len);

/* Writes/reads a segment header. Reading returns 0 with the id and the seed, or -EINVAL
 * when it is not a whole, sound header (*SEED then holds the first copy, for
 * lc_spool_seg_seed_other). */
void lc_spool_seg_header(uint8_t out[LC_SPOOL_SEG_HDR], uint64_t seg_id, uint32_t seed);
int lc_spool_seg_header_check(const uint8_t *hdr, size_t len, uint64_t *seg_id, uint32_t *seed);
/* The seed as the header's second copy says (when the copies disagree). */
uint32_t lc_spool_seg_seed_other(const uint8_t *hdr);

#endif
