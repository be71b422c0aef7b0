"""The live feed over NATS JetStream (the broker this machine runs): events published by
container partition are taken in by two `cargowatch worker --feed` processes sharing one
durable consumer; one worker is killed with SIGKILL mid-way, and every event is stored once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event
from cargowatch.ingest.feed import partition, publish, subject_for
from tests.builders import event22, org_with_user, user_in

NATS = os.environ.get("CARGOWATCH_TEST_NATS_URL", "nats://127.0.0.1:4222")
EVENTS = 3000


def _reachable(url: str) -> bool:
    host, _, port = url.removeprefix("nats://").partition(":")
    try:
        socket.create_connection((host, int(port or 4222)), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def feed_names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A stream and subject prefix of this test alone, deleted afterwards."""
    if not _reachable(NATS):
        pytest.fail(f"the NATS server at {NATS} is not reachable: the feed needs it")
    tag = uuid.uuid4().hex[:10]
    names = {"CARGOWATCH_FEED_STREAM": f"TEST_{tag}",
             "CARGOWATCH_FEED_SUBJECT_PREFIX": f"cwtest.{tag}",
             "CARGOWATCH_FEED_ACK_WAIT": "3"}  # fmt: skip
    for key, value in names.items():
        monkeypatch.setenv(key, value)
    from cargowatch.config import get_settings

    get_settings.cache_clear()
    yield names
    import nats
    from nats.js.errors import NotFoundError

    async def drop() -> None:
        nc = await nats.connect(NATS)
        try:
            await nc.jetstream().delete_stream(names["CARGOWATCH_FEED_STREAM"])
        except NotFoundError:
            pass  # this test made none
        finally:
            await nc.close()

    asyncio.run(drop())


def test_partitions_are_stable_per_container(feed_names: dict[str, str]) -> None:
    assert partition("MSKU1234565") == partition(" msku1234565 ")
    assert len({partition(f"MSKU{n:07d}") for n in range(200)}) == 16
    ev3 = {"equipmentDetails": {"equipmentReference": "MSKU1234565"}}
    assert subject_for("carrier", ev3) == subject_for("carrier", {"equipmentReference":
                                                                  "MSKU1234565"})  # fmt: skip


def _count(engine: Engine) -> tuple[int, int]:
    with unit_of_work(engine) as s:
        total = s.scalar(select(func.count()).select_from(Event)) or 0
        keys = s.scalar(select(func.count(func.distinct(Event.event_key)))) or 0
    return int(total), int(keys)


def test_two_workers_one_killed_every_event_stored_once(
    engine: Engine, feed_names: dict[str, str], tmp_path: Path
) -> None:
    org_with_user(engine, "carrier", kind="CARRIER")
    user_in(engine, "carrier", "carrier-feed", "ingester")
    env = {**os.environ, **feed_names, "CARGOWATCH_USER": "carrier-feed"}
    workers = [
        subprocess.Popen([sys.executable, "-m", "cargowatch", "worker", "--feed", NATS,
                          "--poll", "0.5"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]  # fmt: skip
    try:
        events = [event22(eventID=f"feed-{n}", equipmentReference=f"MSKU{n % 400:07d}",
                          eventDateTime=f"2025-03-01T{n % 24:02d}:{n % 60:02d}:00Z")
                  for n in range(EVENTS)]  # fmt: skip
        assert asyncio.run(publish(NATS, "carrier", events)) == EVENTS
        # and again: a publisher that retried (JetStream drops twins by Nats-Msg-Id)
        asyncio.run(publish(NATS, "carrier", events[:100]))
        deadline = time.monotonic() + 90
        while _count(engine)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(engine)[0] > 0, "no worker took anything in"
        workers[0].send_signal(signal.SIGKILL)  # mid-way: its batch is never acknowledged
        workers[0].wait(10)
        while _count(engine)[0] < EVENTS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert workers[1].poll() is None, workers[1].communicate()[0]
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        outputs = [w.communicate(timeout=30)[0] for w in workers]
    assert _count(engine) == (EVENTS, EVENTS), outputs[1][-2000:]
    assert workers[1].returncode == 0, outputs[1][-2000:]  # SIGTERM: a clean stop
