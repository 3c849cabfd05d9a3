"""The Kafka test cluster (tests/kafka/kafkamock.c, kafkamock.py) does what the Kafka output's tests
rely on: it prints a bootstrap that a producer reaches, reads back every message with its key,
headers and value, takes brokers down and moves leaders with an effect a producer sees, injects
produce errors, and shows an unknown topic as the module docstring of kafkamock.py says. No
dockerd and no logcap needed (marker nodocker); about 20 s.

The producer is `kafkamock produce` (librdkafka, idempotent): N messages "msg-<i>" with headers
i=<i> and src=kafkamock."""

import collections
import json
import subprocess
import threading
import time

import pytest

import kafkamock as km

pytestmark = pytest.mark.nodocker


def produce_ok(mock, topic, n, key, **conf):
    code, lines = km.produce(mock.bootstrap, topic, n, key=key, conf=conf)
    assert code == 0, lines
    assert lines[-1].startswith("delivered %d failed 0 " % n), lines


def exactly_once(msgs, key, n):
    """The messages with `key` are msg-0..msg-<n-1>, each once, in order (one key, one
    partition)."""
    mine = [m for m in msgs if m["key"] == key]
    counts = collections.Counter(m["value"] for m in mine)
    assert sorted(counts) == sorted("msg-%d" % i for i in range(n)), counts
    assert all(c == 1 for c in counts.values()), {v: c for v, c in counts.items() if c > 1}
    assert len({m["partition"] for m in mine}) == 1
    assert [m["value"] for m in mine] == ["msg-%d" % i for i in range(n)]


class Producer:
    """`kafkamock produce` in the background; its stderr (librdkafka's log) is read as it comes."""

    def __init__(self, mock, topic, n, key, *conf):
        args = [km.binary(), "produce", mock.bootstrap, topic, str(n), "--key", key]
        for c in conf:
            args += ["--conf", c]
        self.n = n
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.log = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.log.append(line)
                self.cond.notify_all()

    def wait_log(self, needle, timeout=10):
        with self.cond:
            if not self.cond.wait_for(lambda: any(needle in ln for ln in self.log), timeout):
                raise AssertionError("no %r in the producer's log:\n%s"
                                     % (needle, "".join(self.log[-20:])))

    def finish(self, timeout=20):
        out = self.proc.stdout.read()   # EOF when it exits
        self.proc.wait(timeout=timeout)
        lines = out.splitlines()
        assert self.proc.returncode == 0, (lines, "".join(self.log[-20:]))
        assert lines[-1].startswith("delivered %d failed 0 " % self.n), lines


def test_bootstrap_and_commands(kafkamock):
    brokers = kafkamock.bootstrap.split(",")
    assert len(brokers) == 3
    for b in brokers:
        host, port = b.rsplit(":", 1)
        assert host == "127.0.0.1" and 0 < int(port) < 65536
    kafkamock.topic("t", 3)
    assert kafkamock.count("t") == 0
    assert kafkamock.messages("t") == []
    with pytest.raises(km.KafkaMockError, match="TOPIC_ALREADY_EXISTS"):
        kafkamock.topic("t", 3)
    with pytest.raises(km.KafkaMockError, match="unknown error name"):
        kafkamock.errors(0, 1, "NO_SUCH_ERROR")
    with pytest.raises(km.KafkaMockError, match="usage"):
        kafkamock.command("frobnicate 1")
    with pytest.raises(km.KafkaMockError, match="UNKNOWN_TOPIC_OR_PART"):
        kafkamock.count("nosuch")


def test_start_options():
    mock = km.KafkaMock().start(brokers=1, partitions=5, topics=("a", "b"), absent=("c",))
    try:
        assert len(mock.bootstrap.split(",")) == 1
        produce_ok(mock, "a", 3, "k")
        assert mock.count("a") == 3 and mock.count("b") == 0
        with pytest.raises(km.KafkaMockError, match="UNKNOWN_TOPIC_OR_PART"):
            mock.count("c")
        mock.leader("a", 4, 1)
        with pytest.raises(km.KafkaMockError):
            mock.leader("a", 5, 1)      # partitions 0..4
    finally:
        mock.stop()


def test_messages_carry_key_headers_value(kafkamock):
    kafkamock.topic("t", 3)
    t0 = time.time() * 1000
    produce_ok(kafkamock, "t", 50, "k1")
    produce_ok(kafkamock, "t", 7, "k2")
    assert kafkamock.count("t") == 57
    msgs = kafkamock.messages("t")
    assert len(msgs) == 57
    exactly_once(msgs, "k1", 50)
    exactly_once(msgs, "k2", 7)
    for m in msgs:
        i = m["value"].split("-")[1]
        assert m["headers"] == {"i": i, "src": "kafkamock"}
        assert t0 - 60000 < m["timestamp"] < t0 + 60000
    by_part = collections.defaultdict(list)
    for m in msgs:
        by_part[m["partition"]].append(m["offset"])
    for offsets in by_part.values():
        assert offsets == list(range(len(offsets)))


def test_not_utf8_is_hex(kafkamock):
    kafkamock.topic("t", 1)
    r = subprocess.run([km.binary(), "produce", kafkamock.bootstrap, "t", "1", "--key",
                        b"\xffk"], capture_output=True, timeout=30)
    assert r.returncode == 0, r
    (m,) = kafkamock.messages("t")
    assert m["key"] == {"hex": "ff6b"}
    assert m["value"] == "msg-0"


def test_broker_down_then_up(kafkamock):
    kafkamock.topic("t", 3)
    for p in range(3):
        kafkamock.leader("t", p, 1)
    kafkamock.down(1)
    # While the leader is down, nothing is delivered: a short message timeout expires.
    code, lines = km.produce(kafkamock.bootstrap, "t", 3, key="k0",
                             conf={"message.timeout.ms": 1000})
    assert code == 1
    assert [ln.split()[2] for ln in lines[:-1]] == ["_MSG_TIMED_OUT"] * 3, lines
    # An idempotent producer that found the leader down delivers everything once it is up (after
    # its reconnect backoff: up to reconnect.backoff.max.ms, 10 s by default, 1 s here).
    prod = Producer(kafkamock, "t", 20, "k1", "reconnect.backoff.max.ms=1000")
    prod.wait_log("Connection refused")
    kafkamock.up(1)
    prod.finish()
    msgs = kafkamock.messages("t")
    exactly_once(msgs, "k1", 20)
    assert len(msgs) == 20


def test_leader_moves(kafkamock):
    kafkamock.topic("t", 2)
    for p in range(2):
        kafkamock.leader("t", p, 3)
    produce_ok(kafkamock, "t", 10, "k")
    kafkamock.down(3)               # the old leader is gone: only the new one can take them
    for p in range(2):
        kafkamock.leader("t", p, 2)
    produce_ok(kafkamock, "t", 10, "k2")
    kafkamock.up(3)
    msgs = kafkamock.messages("t")
    exactly_once(msgs, "k", 10)
    exactly_once(msgs, "k2", 10)
    with pytest.raises(km.KafkaMockError):
        kafkamock.leader("t", 7, 2)


def test_produce_errors_injected(kafkamock):
    kafkamock.topic("t", 3)
    # A refusal for good reaches the delivery report: the injection works.
    kafkamock.errors(0, 1, "INVALID_RECORD")
    code, lines = km.produce(kafkamock.bootstrap, "t", 2, key="bad")
    assert code == 1 and lines[0].split()[2:4] == ["INVALID_RECORD", "87"], lines
    # Retriable errors cost retries, not messages or repeats (the mock stores nothing for an
    # errored request; the idempotent producer keeps the order).
    kafkamock.errors(0, 5, "NOT_ENOUGH_REPLICAS")
    produce_ok(kafkamock, "t", 20, "k1")
    kafkamock.errors(0, 3, "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", 19)
    produce_ok(kafkamock, "t", 20, "k2")
    # Per broker: every partition led by broker 2, whose next 4 produce answers are errors.
    for p in range(3):
        kafkamock.leader("t", p, 2)
    kafkamock.broker_errors(2, 0, "NOT_ENOUGH_REPLICAS", 50, 4)
    assert kafkamock.broker_pending(2, 0) == 4
    produce_ok(kafkamock, "t", 20, "k3")
    assert kafkamock.broker_pending(2, 0) == 0
    msgs = kafkamock.messages("t")
    for key in ("k1", "k2", "k3"):
        exactly_once(msgs, key, 20)
    assert len(msgs) == 60


def test_unknown_topic_when_the_client_forbids_creation(kafkamock):
    # allow.auto.create.topics=false: the topic stays unknown, the messages fail with the
    # broker's UNKNOWN_TOPIC_OR_PART after topic.metadata.propagation.max.ms.
    code, lines = km.produce(kafkamock.bootstrap, "t", 2, key="k",
                             conf={"allow.auto.create.topics": "false",
                                   "topic.metadata.propagation.max.ms": 1000})
    assert code == 1
    assert [ln.split()[2:4] for ln in lines[:-1]] == [["UNKNOWN_TOPIC_OR_PART", "3"]] * 2
    with pytest.raises(km.KafkaMockError, match="UNKNOWN_TOPIC_OR_PART"):
        kafkamock.count("t")
    # librdkafka's producer default (true): the mock creates it, with 4 partitions.
    produce_ok(kafkamock, "auto", 3, "k")
    assert kafkamock.count("auto") == 3
    kafkamock.leader("auto", 3, 1)
    with pytest.raises(km.KafkaMockError):
        kafkamock.leader("auto", 4, 1)


def test_absent_topic_is_delivered_once_created(kafkamock):
    kafkamock.absent("late", 2)
    with pytest.raises(km.KafkaMockError, match="UNKNOWN_TOPIC_OR_PART"):
        kafkamock.count("late")
    # Unknown although the producer allows auto-creation (its default); the queued messages go
    # out once the topic exists.
    prod = Producer(kafkamock, "late", 5, "k", "debug=metadata,topic")
    prod.wait_log("does not exist")
    assert kafkamock.command("topic late 9") == "was absent"
    prod.finish()
    msgs = kafkamock.messages("late")
    exactly_once(msgs, "k", 5)
    assert {m["partition"] for m in msgs} <= {0, 1}


def test_topic_error_rtt_and_consume_mode(kafkamock, tmp_path):
    # topic_error on a new name makes the topic (4 partitions) with that error until cleared.
    kafkamock.topic_error("x", "TOPIC_AUTHORIZATION_FAILED")
    with pytest.raises(km.KafkaMockError, match="TOPIC_AUTHORIZATION_FAILED"):
        kafkamock.count("x")
    kafkamock.topic_error("x", 0)
    assert kafkamock.count("x") == 0
    kafkamock.leader("x", 3, 1)
    # rtt: every answer of the leader comes that much later.
    for p in range(4):
        kafkamock.leader("x", p, 1)
    kafkamock.rtt(1, 700)
    code, lines = km.produce(kafkamock.bootstrap, "x", 1, key="k")
    assert code == 0 and int(lines[-1].split()[-1]) >= 700, lines
    kafkamock.rtt(1, 0)
    produce_ok(kafkamock, "x", 4, "k2")
    # consume: the same lines as dump, from any bootstrap.
    path = tmp_path / "x.jsonl"
    r = subprocess.run([km.binary(), "consume", kafkamock.bootstrap, "x", str(path)],
                       capture_output=True, text=True, timeout=70)
    assert r.returncode == 0 and r.stdout == "ok 5\n", r
    with open(path, encoding="utf-8") as f:
        consumed = [json.loads(line) for line in f]
    key = lambda m: (m["partition"], m["offset"])   # noqa: E731
    assert sorted(consumed, key=key) == sorted(kafkamock.messages("x"), key=key)


def test_lost_answer_is_stored_twice(kafkamock):
    """A fact the Kafka output's repeat counts depend on: librdkafka 2.0.2's mock does not
    deduplicate an idempotent producer's retry. A Produce answer held back past the producer's
    socket.timeout.ms (broker_errors with error 0 and an rtt) makes it send the batch again, and
    the mock stores it twice (a real broker would drop the retry by its sequence number)."""
    kafkamock.topic("t", 3)
    for p in range(3):
        kafkamock.leader("t", p, 1)
    produce_ok(kafkamock, "t", 1, "warm")       # connections and producer id before the delay
    kafkamock.broker_errors(1, 0, "NONE", 3000, 1)
    prod = Producer(kafkamock, "t", 20, "k", "socket.timeout.ms=1000")
    prod.wait_log("timed out")
    prod.finish()
    values = [m["value"] for m in kafkamock.messages("t") if m["key"] == "k"]
    assert values == ["msg-%d" % i for i in range(20)] * 2
