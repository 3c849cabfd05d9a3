"""kafkamock: librdkafka's mock Kafka cluster for logcap's tests (tests/kafka/kafkamock.c).

The binary is <build>/kafkamock next to logcap (env LOGCAP_KAFKAMOCK overrides), built when
LOGCAP_TESTING is ON. KafkaMock starts `kafkamock cluster`, reads its first line "bootstrap
HOST:PORT,..." (.bootstrap) and sends it one command per line; every command is answered with one
line, "ok [detail]" or "error <reason>" (raised here as KafkaMockError). The protocol:

    down ID | up ID                  broker ID (1..N) down / up (connections refused while down;
                                      the mock does not move leaders away from a down broker)
    leader TOPIC PARTITION ID         the partition's leader (ID -1: no leader)
    errors APIKEY COUNT ERR [ERR...]  the next COUNT requests of APIKEY (0 = Produce) to any broker
                                      fail with ERR... (fewer ERRs than COUNT: the last repeats);
                                      ERR by number or name (NOT_LEADER_FOR_PARTITION,
                                      REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, ...). "ok COUNT"
    broker_errors ID APIKEY ERR RTT_MS COUNT   the next COUNT requests of APIKEY to broker ID fail
                                      with ERR, each answered after RTT_MS. "ok COUNT"
    broker_pending ID APIKEY          how many errors pushed by broker_errors are still waiting. "ok N"
    topic NAME PARTITIONS             creates the topic (replication = brokers); for a topic made
                                      by "absent" it clears the error instead ("ok was absent")
    absent NAME PARTITIONS            creates the topic with the error UNKNOWN_TOPIC_OR_PART in
                                      every Metadata answer: unknown to every client, whatever it
                                      allows, until "topic NAME ..." (--absent NAME at start)
    topic_error NAME ERR              sets (ERR 0: clears) a topic's Metadata error; creates the
                                      topic (4 partitions) if it does not exist
    rtt ID MS                         broker ID answers every request MS later
    apiversion APIKEY MIN MAX         the versions the brokers advertise for APIKEY
    dump TOPIC PATH                   every message of every partition, from the beginning to the
                                      end each partition had when the reader reached it, as JSON
                                      lines in PATH (60 s deadline). "ok N"
    count TOPIC                       the number of messages (high - low watermarks). "ok N"
    written TOPIC                     every message ever written (the high watermarks: the mock
                                      drops a partition's oldest segments past its size limit,
                                      which moves the low watermark). "ok N"
    quit                              (or EOF) destroys the cluster, exit 0

A dump line: {"partition": p, "offset": o, "timestamp": ms, "key": KEY, "headers": {name: VALUE},
"value": VALUE}, in offset order within a partition (partitions interleaved); KEY is null without
a key; a key, value or header value that is not valid UTF-8 is {"hex": "..."}; a header without a
value is null; a header name that comes more than once has the list of its values.

Topic creation, as the mock (librdkafka 2.0.2) does it: a Metadata request for an unknown topic
creates it (4 partitions) when the request allows it. kafkamock advertises Metadata v0..v8 (the
mock's own default, v2, has no such flag and auto-creates always), so the client's
allow.auto.create.topics decides, as with a real broker: librdkafka's producer default is true (the
topic is created), with false the topic stays unknown and the producer's messages fail with
UNKNOWN_TOPIC_OR_PART after topic.metadata.propagation.max.ms (30 s) unless the topic is created
first ("topic NAME P": the queued messages are delivered at once). The mock has no broker-side
"auto.create.topics.enable=false"; for a topic that is unknown whatever the client allows, use
absent(). A Produce request for an unknown topic is answered UNKNOWN_TOPIC_OR_PART.

Repeats: the mock does not deduplicate an idempotent producer's retries. A Produce that is stored
but answered after the producer's socket.timeout.ms (broker_errors(ID, 0, "NONE", rtt_ms, 1)) is
stored again when the producer retries it; injected errors ("errors") store nothing, so they never
cause a repeat. tests/kafka/kafkamock.c's top comment has the measured facts.
"""

import json
import os
import queue
import subprocess
import tempfile
import threading

TIMEOUT = 10.0
DUMP_TIMEOUT = 70.0


class KafkaMockError(Exception):
    pass


def binary():
    path = os.environ.get("LOGCAP_KAFKAMOCK")
    if path:
        return path
    return os.path.join(os.path.dirname(os.environ.get("LOGCAP_BIN", "build/logcap")), "kafkamock")


class KafkaMock:
    def __init__(self):
        self.proc = None
        self.bootstrap = None
        self.brokers = 0
        self.partitions = 0
        self._lines = queue.Queue()
        self._lock = threading.Lock()
        self._stderr = None

    # -- process ---------------------------------------------------------------------------

    def start(self, brokers=3, partitions=3, topics=(), absent=()):
        """Starts the cluster; topics are created with `partitions` partitions, absent topics
        are made with absent() (see the module docstring)."""
        args = [binary(), "cluster", "--brokers", str(brokers), "--partitions", str(partitions)]
        for t in topics:
            args += ["--topic", t]
        for t in absent:
            args += ["--absent", t]
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, bufsize=1)
        threading.Thread(target=self._reader, daemon=True).start()
        first = self._answer(TIMEOUT, "start")
        if not first.startswith("bootstrap "):
            raise KafkaMockError("kafkamock: unexpected first line %r%s" % (first, self._tail()))
        self.bootstrap = first.split(" ", 1)[1]
        self.brokers = brokers
        self.partitions = partitions
        return self

    def _reader(self):
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _tail(self):
        if not self._stderr:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read()[-2000:]
        return "\nkafkamock stderr:\n" + text if text else ""

    def _answer(self, timeout, what):
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise KafkaMockError("kafkamock: no answer to %r within %.0f s%s"
                                 % (what, timeout, self._tail())) from None
        if line is None:
            raise KafkaMockError("kafkamock exited (code %s) on %r%s"
                                 % (self.proc.poll(), what, self._tail()))
        return line

    def command(self, line, timeout=TIMEOUT):
        """Sends one command line; returns the detail after "ok" ("" if none)."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                raise KafkaMockError("kafkamock is not running")
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            answer = self._answer(timeout, line)
        if answer == "ok" or answer.startswith("ok "):
            return answer[3:]
        raise KafkaMockError("kafkamock %r: %s" % (line, answer))

    def stop(self):
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                try:
                    self.command("quit")
                except KafkaMockError:
                    pass
                self.proc.stdin.close()
                self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            code = self.proc.returncode
            self.proc = None
            if self._stderr:
                self._stderr.close()
                self._stderr = None
        if code != 0:
            raise KafkaMockError("kafkamock exited with code %s" % code)

    # -- commands --------------------------------------------------------------------------

    def down(self, broker_id):
        self.command("down %d" % broker_id)

    def up(self, broker_id):
        self.command("up %d" % broker_id)

    def leader(self, topic, partition, broker_id):
        self.command("leader %s %d %d" % (topic, partition, broker_id))

    def errors(self, apikey, count, *errs):
        """The next `count` requests of `apikey` (0 = Produce) fail with errs (names or
        numbers; the last one repeats)."""
        if not errs:
            raise ValueError("errors() needs at least one error")
        self.command("errors %d %d %s" % (apikey, count, " ".join(str(e) for e in errs)))

    def broker_errors(self, broker_id, apikey, err, rtt_ms, count):
        self.command("broker_errors %d %d %s %d %d" % (broker_id, apikey, err, rtt_ms, count))

    def broker_pending(self, broker_id, apikey):
        return int(self.command("broker_pending %d %d" % (broker_id, apikey)))

    def topic(self, name, partitions):
        self.command("topic %s %d" % (name, partitions))

    def absent(self, name, partitions):
        self.command("absent %s %d" % (name, partitions))

    def topic_error(self, name, err):
        self.command("topic_error %s %s" % (name, err))

    def rtt(self, broker_id, ms):
        self.command("rtt %d %d" % (broker_id, ms))

    def apiversion(self, apikey, minv, maxv):
        self.command("apiversion %d %d %d" % (apikey, minv, maxv))

    def count(self, topic):
        return int(self.command("count %s" % topic))

    def written(self, topic):
        return int(self.command("written %s" % topic))

    def messages(self, topic):
        """Every message of every partition of `topic` (dicts, see the module docstring)."""
        fd, path = tempfile.mkstemp(prefix="kafkamock-", suffix=".jsonl")
        os.close(fd)
        try:
            n = int(self.command("dump %s %s" % (topic, path), timeout=DUMP_TIMEOUT))
            with open(path, encoding="utf-8") as f:
                out = [json.loads(line) for line in f]
        finally:
            os.unlink(path)
        if len(out) != n:
            raise KafkaMockError("dump of %s: answer %d, %d lines" % (topic, n, len(out)))
        return out


def produce(bootstrap, topic, n, key=None, conf=None, timeout=60):
    """Runs `kafkamock produce`: n idempotent messages "msg-<i>" (headers i and src=kafkamock).
    Returns (exit code, stdout lines): "failed <i> <ERR> <ms>" per failed delivery report, last
    "delivered D failed F ms T"."""
    args = [binary(), "produce", bootstrap, topic, str(n)]
    if key is not None:
        args += ["--key", key]
    for k, v in (conf or {}).items():
        args += ["--conf", "%s=%s" % (k, v)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout.splitlines()
