"""A live feed of DCSA events over NATS JetStream, partitioned by container and consumed by a
group of workers with at-least-once delivery.

A partner's system (or `cargowatch feed publish`) publishes each event as a JSON message on
`cargowatch.events.<organisation>.<partition>`, the partition a hash of the container number
(so one container's events share a subject and a deployment can split consumers by
partition), with the event's id as `Nats-Msg-Id` (JetStream drops a republished twin inside
its duplicate window). The stream keeps messages until a worker acknowledges them (a work
queue). Every `cargowatch worker --feed URL` of an organisation pulls from one durable
consumer, so the workers share the feed; a worker takes a batch, ingests it as one run through
the same code path as files and the API (validation, quarantine, deduplication on the event
key), and acknowledges it only after the run committed. A worker killed mid-batch leaves its
messages unacknowledged; JetStream hands them to another worker after `ack_wait`, and the
events already stored meet their stored twins and are counted as duplicates: every event is
stored once."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from cargowatch.auth.principal import Principal

log = logging.getLogger("cargowatch.feed")
PARTITIONS = 16
BATCH = 500


def partition(container: str) -> int:
    """The partition of a container: a stable hash of its number."""
    return zlib.crc32(container.strip().upper().encode()) % PARTITIONS


def container_of(event: dict[str, Any]) -> str:
    """The container of a DCSA 2.2 or 3.0 event ('' when it has none)."""
    details = event.get("equipmentDetails")
    if isinstance(details, dict):
        return str(details.get("equipmentReference") or "")
    return str(event.get("equipmentReference") or "")


def _names() -> tuple[str, str]:
    from cargowatch.config import get_settings

    settings = get_settings()
    return settings.feed_stream, settings.feed_subject_prefix


def subject_for(org_slug: str, event: dict[str, Any]) -> str:
    """The subject an organisation's event is published on."""
    return f"{_names()[1]}.{org_slug}.{partition(container_of(event))}"


async def _stream(js: Any) -> None:
    from nats.js.api import RetentionPolicy, StreamConfig
    from nats.js.errors import NotFoundError

    stream, prefix = _names()
    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.>"],
                                         retention=RetentionPolicy.WORK_QUEUE,
                                         duplicate_window=120.0))  # fmt: skip


async def publish(url: str, org_slug: str, events: Iterable[dict[str, Any]]) -> int:
    """Publish events of one organisation, each acknowledged by JetStream; how many."""
    import nats

    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await _stream(js)
        sent = 0
        pending: list[Any] = []
        for event in events:
            headers = {"Nats-Msg-Id": str(event["eventID"])} if event.get("eventID") else None
            pending.append(js.publish(subject_for(org_slug, event),
                                      json.dumps(event, separators=(",", ":")).encode(),
                                      headers=headers))  # fmt: skip
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending = []
        await asyncio.gather(*pending)
        return sent + len(pending)
    finally:
        await nc.close()


@dataclass
class FeedStats:
    """What a feed consumer has done."""

    batches: int = 0
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0


async def consume(
    url: str,
    *,
    principal: Principal,
    engine: Engine,
    stop: asyncio.Event,
    batch: int = BATCH,
    idle_exit: float | None = None,
) -> FeedStats:
    """Pull the organisation's feed until stop is set (or, with idle_exit, until nothing came
    for that long): each batch ingested as one run, then acknowledged."""
    import nats
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig

    from cargowatch.config import get_settings
    from cargowatch.ingest.flows import ingest_bytes

    stats = FeedStats()
    stream, prefix = _names()
    ack_wait = get_settings().feed_ack_wait
    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream()
        await _stream(js)
        durable = f"ingest-{principal.org_slug}"
        sub = await js.pull_subscribe(
            f"{prefix}.{principal.org_slug}.>", durable=durable, stream=stream,
            config=ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                  ack_wait=ack_wait, max_ack_pending=batch * 8),
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        idle = 0.0
        while not stop.is_set():
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):  # no message came within the second
                idle += 1.0
                if idle_exit is not None and idle >= idle_exit:
                    break
                continue
            idle = 0.0
            body = b"\n".join(m.data for m in msgs) + b"\n"
            source = f"nats:{msgs[0].subject}"

            def ingest(data: bytes = body, name: str = source) -> Any:
                return ingest_bytes(principal=principal, stream=io.BytesIO(data), source=name,
                                    engine=engine, follow_up=False)  # fmt: skip

            _, counts = await loop.run_in_executor(None, ingest)
            for m in msgs:  # only now: the run is committed
                await m.ack()
            stats.batches += 1
            stats.messages += len(msgs)
            stats.stored += counts.stored
            stats.duplicates += counts.duplicates
            stats.quarantined += counts.quarantined
            log.info("feed batch of %d: %d stored, %d known, %d quarantined", len(msgs),
                     counts.stored, counts.duplicates, counts.quarantined)  # fmt: skip
        return stats
    finally:
        await nc.close()
