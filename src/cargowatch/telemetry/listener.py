"""Live smart-container telemetry over MQTT.

The listener subscribes to `cargowatch/telemetry/#` at QoS 1 in a persistent session (MQTT 5,
clean start off, a session expiry), so that the broker keeps what is published while it is
down and hands it over when it comes back. Messages are acknowledged only after the batch that
holds them is committed (paho's manual acknowledgement): a crash loses nothing the broker
considers delivered, and a redelivered message meets its stored twin (device, ts) and is skipped.
SIGTERM and SIGINT stop it cleanly: it stops taking messages, writes and acknowledges what it
holds, and disconnects. When the store is away, a batch is kept (unacknowledged) and written
again with a growing pause; readings queue a custody rebuild of their containers in the same
transaction, run by the listener's own job thread (or any worker).

mqtts:// connects over TLS (the system's trust store, or a CA file); a user name and password
come from the URL or the options, the password best from a file or CARGOWATCH_MQTT_PASSWORD.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cargowatch.auth.principal import Principal
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.adapters.base import RecordError, SourceRecord
from cargowatch.ingest.quarantine import quarantine_records, quarantine_rows
from cargowatch.jobs.runner import Worker
from cargowatch.jobs.service import enqueue
from cargowatch.telemetry.service import COLUMNS, to_row, write

log = logging.getLogger("cargowatch.listen")
TOPIC = "cargowatch/telemetry/#"
SESSION_EXPIRY_S = 7 * 24 * 3600
MAX_RETRY_S = 30.0
CONTAINER = COLUMNS.index("container")
LIVE_JOB = "custody.containers"  # the custody domain's job: rebuild some containers
LIVE_KINDS = (LIVE_JOB, "risk.rescore")


@dataclass
class Stats:
    """What a listener has done so far."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)


class Listener:
    """An MQTT subscriber that writes telemetry in batches and acknowledges after commit."""

    def __init__(
        self,
        url: str,
        *,
        principal: Principal,
        engine: Engine,
        topic: str = TOPIC,
        client_id: str | None = None,
        batch_size: int = 1000,
        flush_ms: int = 200,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        run_jobs: bool = True,
    ) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl", ""):
            from cargowatch.exceptions import InvalidInput

            raise InvalidInput(f"{url}: expected mqtt://host:port or mqtts://host:port")
        tls = parsed.scheme in ("mqtts", "ssl") or ca_file is not None
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (8883 if tls else 1883)
        self.run_jobs = run_jobs
        self.retry_s = 0.0  # the pause before writing a batch again after a store error
        self.principal = principal
        self.engine = engine
        self.topic = topic
        self.batch_size = batch_size
        self.flush_s = flush_ms / 1000
        self.client_id = client_id or f"cargowatch-{principal.org_slug}"
        self.stats = Stats()
        self._pending: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        user = username or (parsed.username and unquote(parsed.username))
        secret = password or (parsed.password and unquote(parsed.password))
        if user:
            self.client.username_pw_set(user, secret or None)
        if tls:
            self.client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file)

    # paho callbacks run on its network thread
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        client.subscribe(self.topic, qos=1)
        self._connected.set()
        log.info("connected to %s:%s as %s, subscribed to %s", self.host, self.port,
                 self.client_id, self.topic)  # fmt: skip

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._pending.append(message)
            if len(self._pending) >= self.batch_size:
                self._wake.set()

    def stop(self) -> None:
        """Ask the listener to finish (from a signal handler or another thread)."""
        self._stop.set()
        self._wake.set()

    def _flush(self) -> int:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            done = self._write(batch)
        except SQLAlchemyError as exc:  # the store is away: keep the batch, try again later
            with self._lock:
                self._pending = batch + self._pending
            self.retry_s = min(max(self.retry_s * 2, 0.5), MAX_RETRY_S)
            log.warning("store error, batch of %d kept for %.1f s: %s", len(batch),
                        self.retry_s, str(exc).splitlines()[0][:200])  # fmt: skip
            self._stop.wait(self.retry_s)
            return 0
        self.retry_s = 0.0
        return done

    def _write(self, batch: list[mqtt.MQTTMessage]) -> int:
        rows: list[tuple[object, ...]] = []
        bad: list[tuple[SourceRecord, RecordError]] = []
        org = self.principal.org_id
        for message in batch:
            record = SourceRecord(f"topic {message.topic}", None, bytes(message.payload))
            try:
                rows.append(to_row(record.raw, org, None))
            except RecordError as err:
                bad.append((record, err))
        with unit_of_work(self.engine) as session:
            stored = write(session, rows) if rows else 0
            if stored:  # the containers' custody is rebuilt by a job queued with the readings
                for box in sorted({str(r[CONTAINER]) for r in rows if r[CONTAINER]}):
                    enqueue(session, org_id=org, kind=LIVE_JOB, key=f"live-{org}-{box}",
                            payload={"containers": [box]}, created_by="mqtt")  # fmt: skip
            if bad:
                make = quarantine_rows(self.principal, None, "mqtt", "telemetry")
                quarantine_records(session, [make(r, e) for r, e in bad])
        for r, e in bad:
            log.warning("quarantined a message on %s: %s", r.location, e)
        # acknowledged only now that the batch is committed
        for message in batch:
            self.client.ack(message.mid, message.qos)
        self.stats.received += len(batch)
        self.stats.stored += stored
        self.stats.duplicates += len(rows) - stored
        self.stats.quarantined += len(bad)
        self.stats.batches += 1
        return len(batch)

    def run(self, on_batch: Callable[[Stats], None] | None = None) -> Stats:
        """Listen until stop() (or SIGTERM/SIGINT in the main thread); returns the figures."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = 65535
        self.client.connect(self.host, self.port, keepalive=30, clean_start=False,
                            properties=props)  # fmt: skip
        self.client.loop_start()
        jobs = (
            Worker(self.engine, poll=1.0, org_id=self.principal.org_id, kinds=LIVE_KINDS)
            if self.run_jobs
            else None
        )
        if jobs is not None:
            jobs.start()
        try:
            while not self._stop.is_set():
                self._wake.wait(self.flush_s)
                self._wake.clear()
                if self._flush() and on_batch is not None:
                    on_batch(self.stats)
            # write and acknowledge what is held; anything arriving after this is not
            # acknowledged, so the broker hands it over again next time
            self._flush()
            time.sleep(0.3)  # let the last acknowledgements leave before the DISCONNECT
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            if jobs is not None:
                jobs.stop()
        return self.stats
