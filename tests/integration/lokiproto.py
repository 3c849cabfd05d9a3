"""lokiproto: decoders for Loki's push request, as Loki decodes them (see lokiserver.py for
what is modelled and the sources): raw snappy blocks, the protobuf wire format of
logproto.PushRequest, the JSON push body, and Prometheus label strings. Standard library only.
"""

import json
import re
import time


class DecodeError(Exception):
    """The request cannot be decoded: Loki answers 400 and stores nothing."""


# ---------------------------------------------------------------------------------------------
# snappy block format (https://github.com/google/snappy/blob/main/format_description.txt).
# Loki reads the protobuf body with util.ParseProtoReader(..., RawSnappy) = snappy.Decode of
# golang/snappy, whose errors are "snappy: corrupt input" and "snappy: decoded block is too large".

SNAPPY_CORRUPT = "snappy: corrupt input"


def _uvarint(buf, pos, err):
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise DecodeError(err)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def snappy_decompress(data, max_len=1 << 32):
    """Decode one snappy block (no framing). Raises DecodeError with golang/snappy's text."""
    data = bytes(data)
    n, pos = _uvarint(data, 0, SNAPPY_CORRUPT)
    if n > max_len:
        raise DecodeError("snappy: decoded block is too large")
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        kind = tag & 3
        if kind == 0:                                   # literal
            length = tag >> 2
            pos += 1
            if length >= 60:
                extra = length - 59                     # 1..4 little-endian length bytes
                if pos + extra > end:
                    raise DecodeError(SNAPPY_CORRUPT)
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > end or len(out) + length > n:
                raise DecodeError(SNAPPY_CORRUPT)
            out += data[pos:pos + length]
            pos += length
            continue
        if kind == 1:                                   # copy, 1-byte offset
            if pos + 2 > end:
                raise DecodeError(SNAPPY_CORRUPT)
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos + 1]
            pos += 2
        elif kind == 2:                                 # copy, 2-byte offset
            if pos + 3 > end:
                raise DecodeError(SNAPPY_CORRUPT)
            length = 1 + (tag >> 2)
            offset = int.from_bytes(data[pos + 1:pos + 3], "little")
            pos += 3
        else:                                           # copy, 4-byte offset
            if pos + 5 > end:
                raise DecodeError(SNAPPY_CORRUPT)
            length = 1 + (tag >> 2)
            offset = int.from_bytes(data[pos + 1:pos + 5], "little")
            pos += 5
        if offset == 0 or offset > len(out) or len(out) + length > n:
            raise DecodeError(SNAPPY_CORRUPT)
        start = len(out) - offset
        if offset >= length:
            out += out[start:start + length]
        else:                                           # overlapping copy repeats the pattern
            for i in range(length):
                out.append(out[start + i])
    if len(out) != n:
        raise DecodeError(SNAPPY_CORRUPT)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# protobuf wire format, decoded the way Loki's gogo-generated Unmarshal does (pkg/push/types.go,
# push.pb.go): unknown fields skipped, a wrong wire type for a known field is an error, strings
# taken as bytes without UTF-8 validation.

def _pb_fields(buf, msg):
    """Yield (field number, wire type, value) of one message; value is int or bytes."""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _uvarint(buf, pos, "unexpected EOF")
        field, wt = key >> 3, key & 7
        if wt == 4:
            raise DecodeError("proto: %s: wiretype end group for non-group" % msg)
        if field <= 0:
            raise DecodeError("proto: %s: illegal tag %d (wire type %d)" % (msg, field, wt))
        if wt == 0:
            val, pos = _uvarint(buf, pos, "unexpected EOF")
        elif wt == 1:
            if pos + 8 > end:
                raise DecodeError("unexpected EOF")
            val = int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wt == 5:
            if pos + 4 > end:
                raise DecodeError("unexpected EOF")
            val = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        elif wt == 2:
            ln, pos = _uvarint(buf, pos, "unexpected EOF")
            if pos + ln > end:
                raise DecodeError("unexpected EOF")
            val = bytes(buf[pos:pos + ln])
            pos += ln
        else:
            raise DecodeError("proto: illegal wireType %d" % wt)
        yield field, wt, val


def _pb_want(wt, want, field_name):
    if wt != want:
        raise DecodeError("proto: wrong wireType = %d for field %s" % (wt, field_name))


def _int64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _decode_timestamp(buf):
    seconds = nanos = 0
    for f, wt, v in _pb_fields(buf, "Timestamp"):
        if f == 1:
            _pb_want(wt, 0, "Seconds")
            seconds = _int64(v)
        elif f == 2:
            _pb_want(wt, 0, "Nanos")
            nanos = _int64(v)
    # gogo StdTimeUnmarshal -> types.TimestampFromProto -> validateTimestamp.
    if not 0 <= nanos < 1000000000:
        raise DecodeError("timestamp: seconds:%d nanos:%d: nanos not in range [0, 1e9)"
                          % (seconds, nanos))
    if not -62135596800 <= seconds < 253402300800:
        raise DecodeError("timestamp: seconds:%d nanos:%d: before 0001-01-01 or after "
                          "10000-01-01" % (seconds, nanos))
    return seconds * 1000000000 + nanos


def _decode_label_pair(buf):
    name = value = b""
    for f, wt, v in _pb_fields(buf, "LabelPairAdapter"):
        if f == 1:
            _pb_want(wt, 2, "Name")
            name = v
        elif f == 2:
            _pb_want(wt, 2, "Value")
            value = v
    return name, value


def _decode_entry(buf):
    ts = 0
    line = b""
    meta = []
    for f, wt, v in _pb_fields(buf, "EntryAdapter"):
        if f == 1:
            _pb_want(wt, 2, "Timestamp")
            ts = _decode_timestamp(v)
        elif f == 2:
            _pb_want(wt, 2, "Line")
            line = v
        elif f == 3:
            _pb_want(wt, 2, "StructuredMetadata")
            meta.append(_decode_label_pair(v))
        elif f == 4:
            _pb_want(wt, 2, "Parsed")
    return ts, line, meta


def decode_push_protobuf(raw):
    """Decode an (uncompressed) PushRequest into [(label string bytes, [(ts, line, meta)])]."""
    streams = []
    for f, wt, v in _pb_fields(raw, "PushRequest"):
        if f == 1:
            _pb_want(wt, 2, "Streams")
            labels = b""
            entries = []
            for sf, swt, sv in _pb_fields(v, "StreamAdapter"):
                if sf == 1:
                    _pb_want(swt, 2, "Labels")
                    labels = sv
                elif sf == 2:
                    _pb_want(swt, 2, "Entries")
                    entries.append(_decode_entry(sv))
                elif sf == 3:
                    _pb_want(swt, 0, "Hash")
            streams.append((labels, entries))
        elif f == 2:
            _pb_want(wt, 2, "Format")
    return streams


# ---------------------------------------------------------------------------------------------
# JSON push body, with jsoniter's (approximate) error texts. Strings keep invalid UTF-8 bytes
# (surrogateescape) so that the UTF-8 checks see exactly what was sent.

_JSON_PREFIX = "loghttp.PushRequest.Streams: []*loghttp.Stream: "


def _json_found(value):
    if isinstance(value, bool):
        return "t" if value else "f"
    if value is None:
        return "n"
    if isinstance(value, (int, float)):
        return str(value)[0]
    if isinstance(value, dict):
        return "{"
    if isinstance(value, list):
        return "["
    return '"'


def _b(s):
    """str -> the bytes it stands for: invalid UTF-8 bytes travel as surrogate escapes; a lone
    surrogate from a JSON "\\udXXX" escape (not UTF-8 either) is kept as its 3 bytes."""
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


def _s(b):
    return b.decode("utf-8", "surrogateescape")


def _view(streams):
    """Decoded streams as str: [(label string, [(ts, line, {name: value})])]."""
    return [(_s(ls), [(ts, _s(line), {_s(k): _s(v) for k, v in meta})
                      for ts, line, meta in ents]) for ls, ents in streams]


def decode_push_json(raw):
    try:
        text = raw.decode("utf-8", "surrogateescape")
        doc = json.loads(text)
    except ValueError as e:
        raise DecodeError("ReadObjectCB: %s" % e)
    if not isinstance(doc, dict):
        raise DecodeError("ReadObjectCB: expect { or n, but found %s" % _json_found(doc))
    if not isinstance(doc.get("streams") or [], list):
        raise DecodeError(_JSON_PREFIX[:-len("[]*loghttp.Stream: ")] + "decode slice: expect [ "
                          "or n, but found %s" % _json_found(doc["streams"]))
    streams = []
    for s in doc.get("streams") or []:
        if not isinstance(s, dict):
            raise DecodeError(_JSON_PREFIX + "ReadObjectCB: expect { or n, but found %s"
                              % _json_found(s))
        labels = []
        for k, v in (s.get("stream") or {}).items():
            if not isinstance(v, str):
                raise DecodeError(_JSON_PREFIX + 'loghttp.Stream.Labels: ReadString: expects " '
                                  "or n, but found %s" % _json_found(v))
            labels.append((k, v))
        entries = []
        for e in s.get("values") or []:
            if not isinstance(e, list):
                raise DecodeError(_JSON_PREFIX + "ReadArrayCB: expect [ or n, but found %s"
                                  % _json_found(e))
            if len(e) > 3:
                raise DecodeError(_JSON_PREFIX + "error reading entry: array must contains 2 "
                                  "values")
            ts, line, meta = None, "", []
            for i, item in enumerate(e):
                if i in (0, 1) and not isinstance(item, str):
                    raise DecodeError(_JSON_PREFIX + 'ReadString: expects " or n, but found %s'
                                      % _json_found(item))
                if i == 0:
                    if not re.fullmatch(r"[+-]?\d+", item):
                        raise DecodeError(_JSON_PREFIX + 'error reading entry timestamp: '
                                          'strconv.ParseInt: parsing "%s": invalid syntax' % item)
                    ts = int(item)
                    if not -(1 << 63) <= ts < 1 << 63:
                        raise DecodeError(_JSON_PREFIX + 'error reading entry timestamp: '
                                          'strconv.ParseInt: parsing "%s": value out of range'
                                          % item)
                elif i == 1:
                    line = item
                else:
                    if not isinstance(item, dict):
                        raise DecodeError(_JSON_PREFIX + "ReadMapCB: expect { or n, but found %s"
                                          % _json_found(item))
                    for mk, mv in item.items():
                        if not isinstance(mv, str):
                            raise DecodeError(_JSON_PREFIX + 'ReadString: expects " or n, but '
                                              "found %s" % _json_found(mv))
                        meta.append((_b(mk), _b(mv)))
            if ts is None:
                ts = 0
            entries.append((ts, _b(line), meta))
        # unmarshal.NewStream: the label map becomes labels.String(), parsed again later.
        label_str = _labels_string(sorted(labels))
        streams.append((_b(label_str), entries))
    return streams


# ---------------------------------------------------------------------------------------------
# Label strings: Prometheus promql/parser ParseMetric grammar, as Loki's syntax.ParseLabels uses.

_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}


class LabelParseError(Exception):
    pass


def _go_quote(s):
    """strconv.Quote-like rendering of a label value (labels.String())."""
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _labels_string(pairs):
    """Prometheus labels.String(): {a="b", c="d"} in the order given."""
    return "{" + ", ".join("%s=%s" % (n, _go_quote(v)) for n, v in pairs) + "}"


def parse_labels(text):
    """Parse a label string into [(name, value)] in source order (duplicates kept, empty values
    kept). Raises LabelParseError with a Prometheus-like "1:COL: parse error: ..." message.
    TEXT is a str where invalid UTF-8 bytes appear as surrogate escapes."""
    pos = 0
    n = len(text)

    def err(at, msg):
        raise LabelParseError("1:%d: parse error: %s" % (at + 1, msg))

    def skip_ws(p):
        while p < n and text[p] in " \t\n\r":
            p += 1
        return p

    def bad_rune(p):
        return "\udc80" <= text[p] <= "\udcff" or "\ud800" <= text[p] <= "\udfff"

    pos = skip_ws(pos)
    pairs = []
    m = _NAME_RE.match(text, pos)
    if m:                                   # a metric name before the braces is __name__
        pairs.append(("__name__", m.group(0)))
        pos = skip_ws(m.end())
        if pos >= n:
            return pairs
    if pos >= n:
        err(pos, "unexpected end of input")
    if text[pos] != "{":
        if bad_rune(pos):
            err(pos, "invalid UTF-8 rune")
        err(pos, "unexpected character: %r" % text[pos])
    pos += 1
    while True:
        pos = skip_ws(pos)
        if pos >= n:
            err(pos, "unexpected end of input inside braces")
        if text[pos] == "}":
            pos += 1
            break
        m = _NAME_RE.match(text, pos)
        if not m:
            if bad_rune(pos):
                err(pos, "invalid UTF-8 rune")
            err(pos, "unexpected character inside braces: %r" % text[pos])
        name = m.group(0)
        pos = skip_ws(m.end())
        if pos >= n:
            err(pos, "unexpected end of input inside braces")
        if text[pos] != "=":
            if text[pos] in "!~":
                err(pos, 'unexpected "%s" in label set, expected "="' % text[pos])
            err(pos, "unexpected character inside braces: %r" % text[pos])
        pos = skip_ws(pos + 1)
        if pos >= n:
            err(pos, "unexpected end of input inside braces")
        q = text[pos]
        if q not in "\"'`":
            if bad_rune(pos):
                err(pos, "invalid UTF-8 rune")
            err(pos, "unexpected character inside braces: %r" % q)
        pos += 1
        val = []
        while True:
            if pos >= n:
                err(pos, "unterminated quoted string")
            c = text[pos]
            if bad_rune(pos):
                err(pos, "invalid UTF-8 rune")
            if c == q:
                pos += 1
                break
            if c == "\n" and q != "`":
                err(pos, "unterminated quoted string")
            if c == "\\" and q != "`":
                pos += 1
                if pos >= n:
                    err(pos, "unterminated quoted string")
                e = text[pos]
                if e in _ESCAPES:
                    val.append(_ESCAPES[e])
                    pos += 1
                elif e in "xuU01234567":
                    width = {"x": 2, "u": 4, "U": 8}.get(e, 3)
                    digits = text[pos + (0 if e.isdigit() else 1):][:width]
                    base = 8 if e.isdigit() else 16
                    try:
                        code = int(digits, base)
                        if len(digits) != width:
                            raise ValueError
                    except ValueError:
                        err(pos, "illegal character %r in escape sequence" % e)
                    val.append(chr(code) if e in "uU" else chr(0xDC00 + code) if code >= 0x80
                               else chr(code))
                    pos += width + (0 if e.isdigit() else 1)
                else:
                    err(pos, "unknown escape sequence %r" % e)
            else:
                val.append(c)
                pos += 1
        pairs.append((name, "".join(val)))
        pos = skip_ws(pos)
        if pos >= n:
            err(pos, "unexpected end of input inside braces")
        if text[pos] == ",":
            pos += 1
            continue
        if text[pos] == "}":
            pos += 1
            break
        err(pos, "unexpected character inside braces: %r" % text[pos])
    pos = skip_ws(pos)
    if pos < n:
        err(pos, "unexpected character after braces: %r" % text[pos])
    return pairs


def _is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 1000000000))


def _go_time(ns):
    """Go's time.Time.String() in UTC, as the ingester's messages print timestamps."""
    s = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns // 1000000000))
    frac = ns % 1000000000
    if frac:
        s += ("." + "%09d" % frac).rstrip("0")
    return s + " +0000 UTC"
