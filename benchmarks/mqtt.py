"""Benchmark: sustained MQTT telemetry into a fresh SQLite store, nothing lost.

Starts a Mosquitto broker from deploy/mosquitto/cargowatch.conf, runs the cargowatch listener,
publishes N device messages at QoS 1 as fast as one publisher can, and prints messages/s from
the first publish until every message is stored (and checks that all N are there, once). The
baseline, measured in the same run, is a bare paho subscriber that only counts the same N
messages.

    python benchmarks/mqtt.py [--messages 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def payloads(n: int) -> list[str]:
    return [
        json.dumps({"device_id": f"TRX-{i % 500:05d}", "container": "MSKU9070323",
                    "ts": f"2025-03-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:"
                          f"{i // 60 % 60:02d}:{i % 60:02d}Z",
                    "latitude": -2.28, "longitude": -79.9, "door": "CLOSED",
                    "temperature_c": 13.1})
        for i in range(n)
    ]  # fmt: skip


def publish_all(port: int, messages: list[str]) -> float:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-pub")
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    start = time.perf_counter()
    infos = [pub.publish("cargowatch/telemetry/bench", m, qos=1) for m in messages]
    for info in infos:
        info.wait_for_publish(120)
    pub.loop_stop()
    pub.disconnect()
    return start


def bare_subscriber(port: int, messages: list[str]) -> float:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got = threading.Event()
    count = [0]

    def on_message(*_a: object) -> None:
        count[0] += 1
        if count[0] == len(messages):
            got.set()

    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-bare")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("cargowatch/telemetry/#", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    start = publish_all(port, messages)
    got.wait(300)
    took = time.perf_counter() - start
    sub.loop_stop()
    sub.disconnect()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        port = free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text((ROOT / "deploy/mosquitto/cargowatch.conf").read_text()
                        + f"\nlistener {port} 127.0.0.1\n")  # fmt: skip
        broker = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
            from _common import bench_principal
            from sqlalchemy import func, select

            from cargowatch.db.engine import get_engine, unit_of_work
            from cargowatch.telemetry.listener import Listener
            from cargowatch.telemetry.models import Reading

            engine = get_engine()
            principal = bench_principal(engine, kind="CARRIER", role="ingester")
            messages = payloads(args.messages)
            bare = bare_subscriber(port, messages)

            listener = Listener(f"mqtt://127.0.0.1:{port}", principal=principal, engine=engine)
            runner = threading.Thread(target=listener.run)
            runner.start()
            time.sleep(0.5)
            start = publish_all(port, messages)
            while listener.stats.stored < args.messages:
                time.sleep(0.02)
            took = time.perf_counter() - start
            listener.stop()
            runner.join()
            with unit_of_work(engine) as s:
                stored = s.scalar(select(func.count()).select_from(Reading))
            assert stored == args.messages, stored
        finally:
            broker.terminate()
    n = args.messages
    print(f"{n:,} messages at QoS 1, all {stored:,} stored once")
    print(f"bare paho subscriber (count only): {n / bare:,.0f} messages/s")
    print(f"cargowatch listen (stored, acknowledged after commit): {n / took:,.0f} messages/s")
    print(f"ratio cargowatch / bare subscriber = {bare / took:.2f}")


if __name__ == "__main__":
    main()
