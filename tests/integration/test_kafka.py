"""The Kafka output (issue 12) against a real dockerd and librdkafka's mock cluster (three
brokers, driven by tests/kafka/kafkamock.c through kafkamock.py): every message of the topic
is read back from every partition and compared with what the containers wrote (docker logs):
every line exactly once (or, where a failure may repeat, nothing lost and repeats counted
and bounded), with its key, headers and value; a broker down and leaders moving during
delivery; injected produce errors; SIGKILL of logcap ten times during delivery; a record
above message_max_bytes in the dead-letter file; an unknown topic degraded on /health, then
delivered once the topic exists; bad properties as config errors.

The mock stores an idempotent producer's retry again (a real broker drops it; see
kafkamock.py), so the tests that cannot repeat assert exactly once, and the crash loop
counts repeats against what was in flight.

Marker kafka (all but the config errors): tests/run runs these in the release pass only (librdkafka's threads under
ASan make the pass slower; the output's own unit tests run under ASan)."""

import collections
import json
import os
import subprocess
import time

import pytest

import lchelpers as h

FAST_RETRY = {"backoff_min": "100ms", "backoff_max": "1s"}


def kafka_output(mock, topic="logs", **kw):
    out = {"type": "kafka", "name": "kafka", "brokers": mock.bootstrap.split(","),
           "topic": topic, "message_timeout": "5s",
           "batch": {"max_wait": "100ms"}, "retry": dict(FAST_RETRY),
           "librdkafka": {"reconnect.backoff.max.ms": "1000",
                          "statistics.interval.ms": "500"}}
    lib = kw.pop("librdkafka", {})
    out.update(kw)
    out["librdkafka"].update(lib)
    return out


def kafka_logcap(logcap, out):
    return logcap(config={"outputs": [out]})


def write_lines(containers, suffix, n, labels=None):
    """A container writing N lines to stdout and N to stderr, then exiting."""
    script = 'for i in $(seq 1 %d); do echo "%s out $i"; echo "%s err $i" >&2; done' % (
        n, suffix, suffix)
    return containers.run(suffix, script, labels=labels)


def expected(containers, names):
    """[(container, stream, message)] of NAMES as docker logs shows them."""
    return [(n, s, m) for n in names for _, s, m in containers.logs(n)]


def got_of(msgs):
    """[(container, stream, message)] of the JSON values of MSGS."""
    out = []
    for m in msgs:
        v = json.loads(m["value"])
        out.append((v["container_name"], v["stream"], v["message"]))
    return out


def wait_count(mock, lc, topic, n, timeout=60):
    """Waits until TOPIC holds at least N messages; fails at once when logcap died."""
    deadline = time.monotonic() + timeout
    have = 0
    while time.monotonic() < deadline:
        lc.check_alive()
        have = mock.count(topic)
        if have >= n:
            return have
        time.sleep(0.2)
    raise AssertionError("timed out after %s s: %d of %d messages in %s" % (
        timeout, have, n, topic))


def output_entry(body, name="kafka"):
    return {o.get("name"): o for o in body.get("outputs", [])}.get(name) or {}


# ------------------------------------------------------------------ 1. every line, once

@pytest.mark.kafka
def test_every_line_once_with_key_headers_and_value(containers, logcap, kafkamock):
    """Three containers, stdout and stderr, value json: every line arrives exactly once, its
    key the container's name, headers stream and image, the value the file output's JSON
    line, the Kafka timestamp Docker's (to the millisecond); one key is one partition and
    keeps its order; /stats shows the brokers and /metrics their figures."""
    mock = kafkamock
    mock.topic("logs", 3)
    out = kafka_output(mock, headers={"stream": "{{ stream }}", "image": "{{ image }}"})
    lc = kafka_logcap(logcap, out).start()
    n = 300
    names = [write_lines(containers, "k%d" % i, n) for i in range(3)]
    for name in names:
        containers.wait_exited(name)
    want = expected(containers, names)
    assert len(want) == 6 * n
    wait_count(mock, lc, "logs", len(want))
    lc.wait_for(lambda: (output_entry(lc.api.get_json("/stats"), "kafka").get("brokers") or {})
                .get("up", 0) >= 1, 20, "broker figures in /stats")
    stats = output_entry(lc.api.get_json("/stats"))
    metrics = lc.api.get("/metrics").text
    lc.stop()
    msgs = mock.messages("logs")
    h.check_exactly_once(got_of(msgs), want, "json values")
    parts = collections.defaultdict(set)
    for m in msgs:
        v = json.loads(m["value"])
        assert m["key"] == v["container_name"], m
        assert m["headers"] == {"stream": v["stream"], "image": v["image"]}, m
        assert v["image"] == h.IMAGE or v["image"].startswith(h.IMAGE.split(":")[0]), v
        parts[m["key"]].add(m["partition"])
    assert all(len(p) == 1 for p in parts.values()), parts
    for name in names:  # one partition per key: its offsets follow the container's order
        mine = sorted((m for m in msgs if m["key"] == name), key=lambda m: m["offset"])
        outs = [json.loads(m["value"])["message"] for m in mine
                if json.loads(m["value"])["stream"] == "stdout"]
        assert outs == ["%s out %d" % (name[len(containers.prefix):], i)
                        for i in range(1, n + 1)], outs[:5]
    ts = {(n_, s, msg): t for n_ in names for t, s, msg in containers.logs(n_)}
    for m in msgs[:50]:
        v = json.loads(m["value"])
        assert v["ts"] == ts[(v["container_name"], v["stream"], v["message"])], v
    b = stats["brokers"]
    assert b["known"] == 3 and b["up"] >= 1 and b["threads"] >= 5, b
    assert len(b["list"]) == 3, b
    assert 'logcap_kafka_brokers{output="kafka"} 3' in metrics
    assert "logcap_kafka_broker_rtt_seconds{" in metrics


@pytest.mark.kafka
def test_message_values_keys_and_templated_topic(containers, logcap, kafkamock):
    """value: message, key: "" (no key), topic templated on a container label: each
    container's lines land in its own topic as the bare message."""
    mock = kafkamock
    mock.topic("app-a", 3)
    mock.topic("app-b", 3)
    out = kafka_output(mock, topic="app-{{ labels.app }}", key="", value="message")
    lc = kafka_logcap(logcap, out).start()
    a = write_lines(containers, "a", 20, labels={"app": "a"})
    b = write_lines(containers, "b", 20, labels={"app": "b"})
    containers.wait_exited(a)
    containers.wait_exited(b)
    wait_count(mock, lc, "app-a", 40)
    wait_count(mock, lc, "app-b", 40)
    lc.stop()
    for name, topic in ((a, "app-a"), (b, "app-b")):
        msgs = mock.messages(topic)
        assert all(m["key"] is None for m in msgs), msgs[:2]
        h.check_exactly_once([m["value"] for m in msgs],
                             [m for _, _, m in containers.logs(name)], topic)


# --------------------------------------------------------- 2. brokers, leaders, errors

@pytest.mark.kafka
def test_broker_down_and_leaders_moving_lose_nothing(containers, logcap, kafkamock):
    """Two containers write for about 8 s while broker 1 goes down for 3 s and the leaders
    of every partition move from broker to broker: every line arrives, exactly once."""
    mock = kafkamock
    mock.topic("logs", 3)
    lc = kafka_logcap(logcap, kafka_output(mock)).start()
    names = [containers.run("m%d" % k, h.counter_script(interval="0.005")) for k in range(2)]
    wait_count(mock, lc, "logs", 1)  # delivery under way
    mock.down(1)
    time.sleep(3.0)
    mock.up(1)
    for step in range(3):
        for p in range(3):
            mock.leader("logs", p, 1 + (p + step + 1) % 3)
        time.sleep(1.0)
    containers.stop(*names)
    want = expected(containers, names)
    wait_count(mock, lc, "logs", len(want), timeout=90)
    lc.stop()
    h.check_exactly_once(got_of(mock.messages("logs")), want, "broker down and leader moves")


@pytest.mark.kafka
def test_injected_produce_errors_lose_and_repeat_nothing(containers, logcap, kafkamock):
    """The next twelve Produce requests fail with NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT
    and NOT_ENOUGH_REPLICAS (librdkafka retries them; the mock stored nothing): every line
    arrives exactly once."""
    mock = kafkamock
    mock.topic("logs", 3)
    mock.errors(0, 12, "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS",
                "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "NOT_LEADER_FOR_PARTITION",
                "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS", "NOT_LEADER_FOR_PARTITION",
                "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS", "NOT_LEADER_FOR_PARTITION",
                "NOT_ENOUGH_REPLICAS")
    lc = kafka_logcap(logcap, kafka_output(mock)).start()
    names = [write_lines(containers, "e%d" % i, 200) for i in range(2)]
    for name in names:
        containers.wait_exited(name)
    want = expected(containers, names)
    wait_count(mock, lc, "logs", len(want))
    lc.stop()
    h.check_exactly_once(got_of(mock.messages("logs")), want, "after injected errors")


# --------------------------------------------------------------------- 3. SIGKILL x10

@pytest.mark.kafka
def test_sigkill_during_delivery_ten_times(containers, logcap, kafkamock):
    """Two containers keep writing while logcap is killed ten times, each time while a batch
    waits for its delivery reports (every Produce answered 150 ms late). Nothing is lost; a
    line that arrived twice was in a batch in flight at a kill, and the repeats are at most
    one batch (batch.max_records) per kill."""
    mock = kafkamock
    mock.topic("logs", 3)
    batch = 200
    out = kafka_output(mock, batch={"max_wait": "50ms", "max_records": batch})
    lc = kafka_logcap(logcap, out)
    names = [containers.run("s%d" % k, h.counter_script(interval="0.01")) for k in range(2)]
    for b in (1, 2, 3):
        mock.rtt(b, 150)
    kills = 10
    for i in range(kills):
        lc.start()
        before = mock.count("logs")
        lc.wait_for(lambda: mock.count("logs") > before, 30,
                    "delivery under way after start %d" % (i + 1))
        lc.stop(kill=True)
    for b in (1, 2, 3):
        mock.rtt(b, 0)
    lc.start()
    containers.stop(*names)
    want = expected(containers, names)
    wait_count(mock, lc, "logs", len(want), timeout=90)
    lc.stop()
    got = got_of(mock.messages("logs"))
    dups = h.check_exactly_once(got, want, "after %d kills" % kills, allow_duplicates=True)
    assert dups <= kills * batch, "%d lines repeated after %d kills of batches of %d" % (
        dups, kills, batch)
    print("repeated lines after %d kills: %d" % (kills, dups))


@pytest.mark.kafka
def test_sigterm_with_every_broker_down_leaves_the_batch_in_the_spool(containers, logcap,
                                                                      kafkamock):
    """Every broker is down and a batch waits for its delivery reports (message_timeout
    60 s) when logcap gets SIGTERM: it exits 0 within its stop deadline (10 s), having
    acknowledged nothing it could not deliver. Started again with the brokers up, it
    delivers every line exactly once."""
    mock = kafkamock
    mock.topic("logs", 3)
    out = kafka_output(mock, message_timeout="60s")
    lc = kafka_logcap(logcap, out).start()
    first = write_lines(containers, "t1", 20)
    containers.wait_exited(first)
    wait_count(mock, lc, "logs", 40)
    for b in (1, 2, 3):
        mock.down(b)
    second = write_lines(containers, "t2", 50)
    containers.wait_exited(second)
    lc.wait_for(lambda: (output_entry(lc.api.get_json("/stats")).get("backlog_records") or 0)
                >= 100, 20, "the second container's lines read and waiting")
    t0 = time.monotonic()
    lc.stop(timeout=15)
    assert time.monotonic() - t0 < 12, "the stop took %.1f s" % (time.monotonic() - t0)
    for b in (1, 2, 3):
        mock.up(b)
    lc.start()
    want = expected(containers, [first, second])
    wait_count(mock, lc, "logs", len(want))
    lc.stop()
    h.check_exactly_once(got_of(mock.messages("logs")), want, "after the stop and restart")


# ------------------------------------------------------------ 4. refused, unknown topic

@pytest.mark.kafka
def test_record_above_message_max_bytes_goes_to_the_dead_letter_file(containers, logcap,
                                                                     kafkamock):
    """message_max_bytes 2KiB: a 5000-byte line goes to the dead-letter file with the
    reason; the lines around it arrive."""
    mock = kafkamock
    mock.topic("logs", 3)
    lc = kafka_logcap(logcap, kafka_output(mock, message_max_bytes="2KiB")).start()
    name = containers.run("big", 'echo before; head -c 5000 /dev/zero | tr "\\0" x; echo; '
                                 'echo after')
    containers.wait_exited(name)
    wait_count(mock, lc, "logs", 2)
    dead = os.path.join(lc.data_dir, "dead", "kafka.jsonl")
    lc.wait_for(lambda: os.path.exists(dead) and os.path.getsize(dead) > 0, 20,
                "the dead-letter file")
    lc.stop()
    assert sorted(json.loads(m["value"])["message"] for m in mock.messages("logs")) == [
        "after", "before"]
    with open(dead) as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == 1, rows
    row = json.dumps(rows[0])
    assert "x" * 5000 in row
    assert "above message_max_bytes (2KiB)" in row, row[:300]


@pytest.mark.kafka
def test_unknown_topic_is_degraded_then_delivered(containers, logcap, kafkamock):
    """The topic does not exist and nothing creates it: /health says degraded with the
    error and the output's configuration fault; nothing goes to the dead-letter file. Once
    the topic is created every line arrives, once, and the output is no longer failing."""
    mock = kafkamock
    mock.absent("late", 3)
    out = kafka_output(mock, topic="late", message_timeout="3s",
                       librdkafka={"topic.metadata.propagation.max.ms": "1000"})
    lc = kafka_logcap(logcap, out).start()
    api = lc.api
    name = write_lines(containers, "u", 50)
    containers.wait_exited(name)

    def degraded():
        st, body = api.health()
        o = output_entry(body)
        return (body.get("status") == "degraded" and o.get("config_fault")
                and "UNKNOWN_TOPIC" in (o.get("error") or ""))
    lc.wait_for(degraded, 30, "degraded with the unknown topic", detail=lambda: api.health())
    assert not os.path.exists(os.path.join(lc.data_dir, "dead", "kafka.jsonl"))
    mock.topic("late", 3)
    want = expected(containers, [name])
    wait_count(mock, lc, "late", len(want), timeout=60)
    lc.wait_for(lambda: not output_entry(api.health()[1]).get("failing"), 30,
                "the output no longer failing", detail=lambda: api.health())
    assert not output_entry(api.health()[1]).get("config_fault")
    lc.stop()
    h.check_exactly_once(got_of(mock.messages("late")), want, "after the topic was created")


# ---------------------------------------------------------------------- 5. config errors

@pytest.mark.nodocker
def test_bad_properties_are_config_errors(workdir):
    """A property librdkafka refuses, an unknown one, one logcap owns, and a combination
    librdkafka refuses: exit 2, each error naming the file, the line and the key."""
    cases = [
        ("    librdkafka:\n      linger.ms: \"5\"\n      queue.buffering.max.ms: abc\n",
         ":9: outputs[0].librdkafka.queue.buffering.max.ms: librdkafka refuses"),
        ("    librdkafka: {no.such.thing: \"1\"}\n",
         ":7: outputs[0].librdkafka.no.such.thing: librdkafka refuses no.such.thing: No such "
         "configuration property"),
        ("    librdkafka: {enable.idempotence: \"false\"}\n",
         ":7: outputs[0].librdkafka.enable.idempotence: logcap sets enable.idempotence from "
         "the output's own key idempotence"),
        ("    librdkafka: {acks: \"1\"}\n",
         ":7: outputs[0].librdkafka: librdkafka refuses the configuration: `acks` must be set "
         "to `all`"),
        ("    compression: brotli\n", ":7: outputs[0].compression:"),
    ]
    path = os.path.join(workdir, "bad.yaml")
    for keys, want in cases:
        with open(path, "w") as f:
            f.write("data_dir: %s\nlog_level: info\noutputs:\n  - type: kafka\n"
                    "    brokers: [127.0.0.1:9092]\n    topic: logs\n%s" % (workdir, keys))
        p = subprocess.run([h.logcap_bin(), "--config", path, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, (keys, p.returncode, p.stderr)
        assert "config error: " + path + want in p.stderr, (want, p.stderr)
