"""Telemetry from NDJSON files, and live from the real Mosquitto broker across a restart."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cargowatch.db.engine import unit_of_work
from cargowatch.ingest import service
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.telemetry.models import Reading
from tests.builders import ndjson, org_with_user

ROOT = Path(__file__).parents[2]


def message(i: int, **changes: object) -> dict[str, object]:
    """A device message; i makes (device, ts) unique."""
    m: dict[str, object] = {
        "device_id": f"TRX-{i % 50:05d}", "container": "MSKU9070323",
        "ts": f"2025-03-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
        "latitude": -2.2866, "longitude": -79.905, "door": "CLOSED", "light_lux": 0.0,
        "shock_g": 0.1, "temperature_c": 13.1, "eseal": {"seal_id": "ES-77123", "status": "SEALED"},
    }  # fmt: skip
    m.update(changes)
    return {k: v for k, v in m.items() if v is not None}


def _count(engine: Engine) -> int:
    with unit_of_work(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Reading)) or 0)


def test_ndjson_telemetry_is_stored_once_and_bad_messages_quarantined(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    good = [message(i) for i in range(10)]
    minimal = {"device_id": "TRX-9", "container": "MSKU9070323", "ts": "2025-03-01T05:00:00+02:00"}
    bad = [
        message(100, ts="2025-03-01 04:10"),
        message(101, door="AJAR"),
        message(102, latitude=123.0),
        {"device_id": "TRX-1", "ts": "2025-03-01T04:10:00Z"},
    ]
    body = b"".join(json.dumps(m).encode() + b"\n" for m in [*good, minimal, *bad])
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="dev.ndjson",
                                engine=engine)  # fmt: skip
    assert (counts.read, counts.stored, counts.quarantined) == (15, 11, 4)
    _run, again = ingest_bytes(principal=p, stream=io.BytesIO(body), source="dev.ndjson",
                               engine=engine)  # fmt: skip
    assert (again.stored, again.duplicates) == (0, 11)
    with unit_of_work(engine) as s:
        items, _ = service.list_quarantine(s, principal=p)
        fields = sorted(q.field for q in items)
        row = s.scalar(select(Reading).where(Reading.device_id == "TRX-9"))
        assert row is not None and row.ts.isoformat() == "2025-03-01T03:00:00+00:00"
        assert row.door is None and row.eseal_status is None
    assert fields == ["", "door", "latitude", "ts"]
    assert _count(engine) == 11


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def broker(tmp_path: Path) -> object:
    """A Mosquitto broker of our own, started from deploy/mosquitto/cargowatch.conf."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("Mosquitto is not installed")
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text((ROOT / "deploy/mosquitto/cargowatch.conf").read_text()
                    + f"\nlistener {port} 127.0.0.1\n")  # fmt: skip
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


def _listener(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "cargowatch", "listen", "--mqtt", f"mqtt://127.0.0.1:{port}",
             "--client-id", "cargowatch-test-listener"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_20000_messages_across_a_listener_restart_are_stored_exactly_once(
    engine: Engine, broker: int, tmp_path: Path
) -> None:

    org_with_user(engine, "carrier", kind="CARRIER")
    env = {**os.environ, "CARGOWATCH_DATABASE_URL": str(engine.url.render_as_string(False)),
           "CARGOWATCH_USER": "carrier-user"}  # fmt: skip
    log = tmp_path / "listener.log"
    first = _listener(broker, env, log)
    try:
        _restart_in_the_middle(engine, broker, env, log, first)
    finally:
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()


def _restart_in_the_middle(
    engine: Engine, broker: int, env: dict[str, str], log: Path, first: subprocess.Popen[bytes]
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    def subscribed() -> bool:
        assert first.poll() is None, log.read_text()
        return b"subscribed" in log.read_bytes()

    _wait(subscribed, 30, "the listener to subscribe")

    total = 20_000
    publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                            client_id="test-publisher")  # fmt: skip
    publisher.max_queued_messages_set(0)
    publisher.max_inflight_messages_set(1000)
    publisher.connect("127.0.0.1", broker)
    publisher.loop_start()
    infos: list[mqtt.MQTTMessageInfo] = []

    def publish() -> None:
        for i in range(total):
            m = message(i)
            infos.append(publisher.publish(f"cargowatch/telemetry/{m['device_id']}",
                                           json.dumps(m), qos=1))  # fmt: skip

    sender = threading.Thread(target=publish)
    sender.start()
    _wait(lambda: _count(engine) >= 2_000, 60, "the first messages to be stored")
    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0, log.read_text()
    stopped_at = _count(engine)
    sender.join(120)
    for info in infos:
        info.wait_for_publish(60)
    assert len(infos) == total and all(i.is_published() for i in infos)
    assert stopped_at < total, "the listener should have been down while messages arrived"

    second = _listener(broker, env, log)
    try:
        _wait(lambda: _count(engine) >= total, 120, "all messages to be stored")
        time.sleep(1)  # anything redelivered now would show as a duplicate
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(30)
        publisher.loop_stop()
        publisher.disconnect()
    assert code == 0, log.read_text()
    assert _count(engine) == total
    with unit_of_work(engine) as s:
        distinct = s.scalar(select(func.count()).select_from(
            select(Reading.device_id, Reading.ts).distinct().subquery()))  # fmt: skip
    assert distinct == total
    assert log.read_text().count("listener stopped") == 2


def test_the_listener_quarantines_bad_payloads_and_stores_the_good(
    engine: Engine, broker: int
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from cargowatch.telemetry.listener import Listener

    p = org_with_user(engine, "carrier", kind="CARRIER")
    listener = Listener(f"mqtt://127.0.0.1:{broker}", principal=p, engine=engine,
                        client_id="cargowatch-test-bad", flush_ms=50)  # fmt: skip
    runner = threading.Thread(target=listener.run)
    runner.start()
    try:
        _wait(listener._connected.is_set, 20, "the listener to connect")
        time.sleep(0.3)  # the subscription is on its way
        pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-pub2")
        pub.connect("127.0.0.1", broker)
        pub.loop_start()
        payloads = [json.dumps(message(i)) for i in range(3)] + ["{not json", json.dumps(
            message(9, door="AJAR"))]  # fmt: skip
        for body in payloads:
            pub.publish("cargowatch/telemetry/TRX-1", body, qos=1).wait_for_publish(10)
        _wait(lambda: listener.stats.received >= 5, 20, "the messages to arrive")
        pub.loop_stop()
        pub.disconnect()
    finally:
        listener.stop()
        runner.join(20)
    assert (listener.stats.stored, listener.stats.quarantined) == (3, 2)
    with unit_of_work(engine) as s:
        items, total = service.list_quarantine(s, principal=p)
    assert total == 2 and {q.field for q in items} == {"", "door"}
    assert all(q.source == "mqtt" and q.location.startswith("topic ") for q in items)


def _publish(broker: int, bodies: list[str], client_id: str) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
    pub.connect("127.0.0.1", broker)
    pub.loop_start()
    for body in bodies:
        pub.publish("cargowatch/telemetry/D1", body, qos=1).wait_for_publish(10)
    pub.loop_stop()
    pub.disconnect()


def test_live_readings_raise_custody_alerts_and_store_errors_are_retried(
    engine: Engine, broker: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from cargowatch.telemetry import listener as live
    from tests.custody.test_custody import BOX, SITES, alerts_of, load, trip_events

    p = org_with_user(engine, "carrier", kind="CARRIER")
    load(engine, p, SITES.encode(), ndjson(trip_events()))
    assert "door-opened-outside-site" not in alerts_of(engine, p)
    real, failures = live.write, [0]

    def flaky(session: object, rows: list[tuple[object, ...]]) -> int:
        if failures[0] < 2:  # the store is away for the first two tries
            failures[0] += 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(session, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(live, "write", flaky)
    listener = live.Listener(f"mqtt://127.0.0.1:{broker}", principal=p, engine=engine,
                             client_id="cargowatch-test-live", flush_ms=50)  # fmt: skip
    runner = threading.Thread(target=listener.run)
    runner.start()
    try:
        _wait(listener._connected.is_set, 20, "the listener to connect")
        time.sleep(0.3)
        opened = {
            "device_id": "D1",
            "container": BOX,
            "ts": "2025-03-01T20:00:00Z",
            "latitude": -2.50,
            "longitude": -79.60,
            "door": "OPEN",
            "light_lux": 300,
        }
        _publish(broker, [json.dumps(opened)], "test-pub-live")
        _wait(lambda: listener.stats.stored == 1, 30, "the reading to be stored after retries")
        _wait(lambda: "door-opened-outside-site" in alerts_of(engine, p), 30,
              "the live reading's custody alert")  # fmt: skip
    finally:
        listener.stop()
        runner.join(20)
    assert failures[0] == 2 and listener.stats.received == 1  # kept, not lost, not doubled
    assert _count(engine) == 1


def test_credentials_and_tls_come_from_the_url_and_options(engine: Engine) -> None:
    from cargowatch.telemetry.listener import Listener

    p = org_with_user(engine, "carrier", kind="CARRIER")
    plain = Listener("mqtt://feed:s%3Acret@broker.example:1884", principal=p, engine=engine)
    assert (plain.host, plain.port) == ("broker.example", 1884)
    assert plain.client._username == b"feed" and plain.client._password == b"s:cret"
    secure = Listener("mqtts://broker.example", principal=p, engine=engine, username="u",
                      password="p")  # fmt: skip
    assert secure.port == 8883 and secure.client._ssl_context is not None
    assert secure.client._username == b"u"
