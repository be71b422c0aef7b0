"""Referrals industry would send about a simulated world: some about planted crimes (a seal
that does not match, a door found open, a release used twice), most about legitimate oddities
of honest trips (a reseal after an inspection, a late amendment, a driver at the wrong gate),
each as the body of `POST /api/v1/referrals`, one per line of referrals.ndjson."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# the category a trace of a planted crime would make a partner report
FROM_TRACE = {
    "cloned_seal": "seal-anomaly",
    "seal": "seal-anomaly",
    "door": "door-or-tampering",
    "light": "door-or-tampering",
    "release": "pickup-or-release",
    "pickup": "pickup-or-release",
    "insider": "insider-concern",
    "dwell": "routing-or-dwell",
    "stop": "routing-or-dwell",
    "party": "document-or-party",
    "consignee": "document-or-party",
}
HONEST = (
    (
        "seal-anomaly",
        "Seal number at gate-in differs from the booking (reseal after an inspection?).",
    ),
    ("document-or-party", "Notify party changed two days before arrival."),
    ("routing-or-dwell", "Container stood a day longer than usual at the depot."),
    ("pickup-or-release", "Driver came with the right PIN but another truck."),
    ("suspicious-person", "Person walking in the stacks without a vest at night."),
    ("door-or-tampering", "Door seal loose at gate-out; the driver said it was checked."),
)


def write_referrals(
    world: Path, *, seed: int, caught: float = 0.35, honest: float = 0.01
) -> tuple[int, int]:
    """Write world/referrals.ndjson: a share `caught` of the planted crimes and a share
    `honest` of the other trips, reported around when they happened; returns (about crimes,
    about honest trips)."""
    rng = random.Random(seed * 7919 + 17)
    truth = json.loads((world / "truth.json").read_text())
    planted = {s["trip_key"]: s for s in truth["scenarios"]}
    with (world / "data" / "registers" / "manifest.csv").open(encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle))
    # where a partner saw it: the place of the trace, else where the box is discharged
    pods = {(r["container"], r["booking_ref"]): r["pod"] for r in manifest}
    out: list[dict[str, Any]] = []
    crimes = 0
    for s in truth["scenarios"]:
        if rng.random() >= caught:
            continue
        kind = next(
            (FROM_TRACE[k] for t in s["traces"] for k in FROM_TRACE if t.startswith(k)), "other"
        )
        when = datetime.fromisoformat(s["when"].replace("Z", "+00:00"))
        place = (s.get("where") or {}).get("at") or pods.get((s["container"], s["booking_ref"]))
        out.append(_body(len(out), s["container"], s["booking_ref"], place, kind,
                         "Seen at the terminal: it did not look right.", when, rng))  # fmt: skip
        crimes += 1
    rows = [r for r in manifest if f"{r['container']}/{r['booking_ref']}" not in planted]
    picked = [r for r in rows if rng.random() < honest]
    for r in picked:
        category, text = rng.choice(HONEST)
        booked = datetime.fromisoformat(r["booked_at"].replace("Z", "+00:00"))
        when = booked + timedelta(days=rng.uniform(2, 20))
        out.append(_body(len(out), r["container"], r["booking_ref"], r["pod"] or None,
                         category, text, when, rng))  # fmt: skip
    rng.shuffle(out)
    with (world / "referrals.ndjson").open("w", encoding="utf-8") as handle:
        for body in out:
            handle.write(json.dumps(body) + "\n")
    return crimes, len(picked)


def _body(
    n: int, box: str, booking: str, place: str | None, category: str, text: str,
    when: datetime, rng: random.Random,
) -> dict[str, Any]:  # fmt: skip
    return {
        "client_ref": f"SIM-{n:06d}",
        "category": category,
        "urgency": "urgent" if rng.random() < 0.2 else "routine",
        "tlp": "AMBER",
        "observed_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "place": place if place and len(place) == 5 else None,
        "containers": [box],
        "bookings": [booking] if booking else [],
        "text": text,
        "contact": "security@carrier.example",
    }
