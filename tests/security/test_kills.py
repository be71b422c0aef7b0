"""kill -9 at random points of ingest, scoring and the MQTT listener: after a restart nothing is
lost, nothing is doubled, every trip is scored and the queue is the one a clean run gives."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import org_with_user
from tests.telemetry.test_telemetry import _listener, _publish, _wait, broker, message

__all__ = ["broker"]  # the Mosquitto fixture, used below


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cargowatch", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _done(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "cargowatch", *args], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _killed(env: dict[str, str], after: float, *args: str) -> None:
    proc = _cli(env, *args)
    time.sleep(after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(60)


def _state(url: str) -> dict[str, Any]:
    from cargowatch.db.engine import make_engine

    eng = make_engine(url)
    with eng.connect() as conn:
        one = conn.execute(text(
            "SELECT (SELECT count(*) FROM events), (SELECT count(DISTINCT event_key) FROM events), "
            "(SELECT count(*) FROM trips), (SELECT count(*) FROM risk_assessments), "
            "(SELECT count(*) FROM alerts), "
            "(SELECT count(*) FROM telemetry WHERE device_id LIKE 'KILL-%'), "
            "(SELECT count(*) FROM jobs WHERE status <> 'done'), "
            "(SELECT count(*) FROM ingest_runs WHERE status IN ('running', 'queued'))"
        )).one()  # fmt: skip
    eng.dispose()
    keys = ("events", "distinct", "trips", "scored", "alerts", "readings", "jobs_left",
            "runs_open")  # fmt: skip
    return dict(zip(keys, one, strict=True))


def _queue(env: dict[str, str]) -> set[tuple[str, str | None, float]]:
    """The top of the queue, as (container, booking, score) above the lowest score shown (ties
    there are cut by trip id, which differs between two stores)."""
    rows = json.loads(_done(env, "targets", "--limit", "40", "--explore", "0",
                            "--include-inspected", "--format", "json"))  # fmt: skip
    floor = round(rows[-1]["score"], 1)
    return {(r["container"], r["booking_ref"], round(r["score"], 1)) for r in rows
            if round(r["score"], 1) > floor}  # fmt: skip


def _env(url: str, data: Path) -> dict[str, str]:
    return {**os.environ, "CARGOWATCH_DATABASE_URL": url, "CARGOWATCH_DATA_DIR": str(data),
            "CARGOWATCH_USER": "carrier-user", "CARGOWATCH_CUSTODY_WORKERS": "1"}  # fmt: skip


def test_kill_9_anywhere_loses_and_doubles_nothing(
    engine: Engine, tmp_path: Path, broker: int
) -> None:
    world = tmp_path / "world"
    simulate(world, SimConfig(trips=120, seed=4, days=30, origins=("ECGYE",),
                              destinations=("BEANR",), scenario_rate=0.06))  # fmt: skip
    data = str(world / "data")
    # the clean run, on a store of its own
    from cargowatch.db.engine import ensure_schema, make_engine

    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    clean_engine = make_engine(clean_url)
    ensure_schema(clean_engine)
    org_with_user(clean_engine, "carrier", kind="CARRIER")
    clean_engine.dispose()
    clean = _env(clean_url, tmp_path / "clean-data")
    started = time.monotonic()
    _done(clean, "ingest", data)
    took = time.monotonic() - started
    _done(clean, "score")
    # the killed runs, on the store under test
    org_with_user(engine, "carrier", kind="CARRIER")
    url = engine.url.render_as_string(hide_password=False)
    env = _env(url, tmp_path / "data")
    rng = random.Random(9)
    kills = 0
    for _ in range(6):  # ingest, killed anywhere from start-up to its rescoring
        _killed(env, rng.uniform(0.3, 1.1) * took, "ingest", data)
        kills += 1
    _done(env, "ingest", data)  # the restart: what was stored stays, the rest comes in
    _done(env, "worker", "--once")  # and what killed runs left queued is done
    restarted = _state(url)
    assert restarted["scored"] == restarted["trips"] == _state(clean_url)["trips"]
    assert restarted["jobs_left"] == 0
    assert restarted["runs_open"] == 0  # the killed runs were closed as failed
    for _ in range(3):  # a full scoring, killed
        _killed(env, rng.uniform(0.5, 3.0), "score")
        kills += 1
    # the MQTT listener, killed while readings arrive
    boxes = [f"MSKU90703{i:02d}" for i in range(10)]
    readings = [json.dumps(message(i, container=boxes[i % 10], device_id=f"KILL-{i % 10}"))
                for i in range(1500)]  # fmt: skip
    log = tmp_path / "listener.log"
    for n, part in enumerate((readings[:700], readings[700:]), 1):
        listener = _listener(broker, env, log)
        _wait(lambda n=n: log.read_bytes().count(b"subscribed") >= n, 30, "a subscription")
        _publish(broker, part, f"kill-pub-{kills}")
        time.sleep(rng.uniform(0.0, 0.5))
        listener.send_signal(signal.SIGKILL)
        listener.wait(30)
        kills += 1
    listener = _listener(broker, env, log)  # the restart takes over what was not acknowledged
    try:
        _wait(lambda: _state(url)["readings"] == 1500, 90, "every reading after the kills")
    finally:
        listener.send_signal(signal.SIGTERM)
        listener.wait(30)
    _done(env, "worker", "--once")  # what killed runs left queued
    _done(env, "score")
    assert kills >= 10
    after, reference = _state(url), _state(clean_url)
    assert after["events"] == after["distinct"] == reference["events"]  # none lost, none twice
    assert after["trips"] == reference["trips"] and after["scored"] == after["trips"]
    assert after["readings"] == 1500 and after["jobs_left"] == 0
    queue = _queue(env)
    assert len(queue) >= 10 and queue == _queue(clean)
