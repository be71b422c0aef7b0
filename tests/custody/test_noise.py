"""Custody signals that hold against real-world noise: openings of an empty box, openings where
a stripping was reported, GPS fixes that jump, subcontracted hauliers, seal changes by leg, and
places where many consignees' boxes are opened."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from cargowatch.custody.models import Alert, Trip
from cargowatch.db.engine import unit_of_work
from tests.builders import ndjson, org_with_user
from tests.custody.test_custody import BOX, SITES, alerts_of, load, trip_events


def _reading(ts: str, lat: float, lon: float, door: str = "CLOSED", box: str = BOX) -> bytes:
    return (
        json.dumps(
            {"device_id": f"D-{box}", "container": box, "ts": ts, "latitude": lat, "longitude": lon,
             "door": door}
        ).encode()
        + b"\n"
    )  # fmt: skip


def test_an_empty_box_and_a_reported_stripping_place_are_no_alerts(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    events = trip_events()
    strip = next(e for e in events if e["equipmentEventTypeCode"] == "STRP")
    strip["eventLocation"] |= {"latitude": "51.10", "longitude": "4.60"}  # the consignee's
    readings = b"".join(
        [
            _reading("2025-03-01T10:00:00Z", -2.4, -79.5, "OPEN"),  # empty: a depot check
            _reading("2025-03-16T11:00:00Z", 51.101, 4.601, "OPEN"),  # where it is stripped
            _reading("2025-03-17T09:00:00Z", 50.9, 4.9, "OPEN"),  # empty again, on its way back
        ]
    )
    load(engine, p, SITES.encode(), ndjson(events), readings)
    found = alerts_of(engine, p)
    assert "door-opened-outside-site" not in found and "door-opened-unplanned" not in found
    load(engine, p, _reading("2025-03-05T10:00:00Z", 10.0, -40.0, "OPEN"))  # laden, at sea
    assert [a.severity for a in alerts_of(engine, p)["door-opened-outside-site"]] == [5]


def test_a_gps_fix_that_jumps_is_set_aside(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    path = [
        _reading("2025-03-01T16:00:00Z", -2.12, -79.82),
        _reading("2025-03-01T18:00:00Z", -2.14, -79.84),
        _reading("2025-03-01T18:10:00Z", -2.60, -79.30, "OPEN"),  # 70 km away in 10 minutes
        _reading("2025-03-01T18:20:00Z", -2.15, -79.85),
        _reading("2025-03-01T20:00:00Z", -2.17, -79.87),
    ]
    load(engine, p, SITES.encode(), ndjson(trip_events()), b"".join(path))
    found = alerts_of(engine, p)
    assert "door-opened-outside-site" not in found  # its place is not trusted
    assert [a.place for a in found["door-opened-unplanned"]] == ["?"]  # the opening is kept


def test_a_registered_haulier_collecting_is_a_subcontractor(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    parties = (
        "party_id,name,role,country,registered_on,aeo_certified,address\n"
        "H1,Road One,HAULIER,BE,2001-01-01,true,1 Quay\nH2,Road Two,HAULIER,BE,2003-01-01,true,2 Quay\n"
    )
    releases = (
        "ts,container,bl_number,release_ref,action,authorised_party_id,actor_party_id,truck_plate,channel\n"
        f"2025-03-15T12:00:00Z,{BOX},BL,R1,ISSUED,H1,C1,,PIN\n"
        f"2025-03-16T09:00:00Z,{BOX},BL,R1,PICKED_UP,H1,H2,AB-12,PIN\n"
    )  # fmt: skip
    load(engine, p, parties.encode(), ndjson(trip_events()), releases.encode())
    found = alerts_of(engine, p)
    assert [a.severity for a in found["release-collected-by-other-haulier"]] == [2]
    assert "release-collected-by-unauthorised-party" not in found
    unknown = releases.replace(",H2,AB-12", ",PX1,AB-12").replace("R1", "R2")
    load(engine, p, unknown.encode())
    assert [
        a.severity for a in alerts_of(engine, p)["release-collected-by-unauthorised-party"]
    ] == [5]


def test_seal_alerts_name_the_leg_where_the_seal_changed(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    events = trip_events()
    for ev in events:
        if ev["equipmentEventTypeCode"] in ("GTIN", "LOAD"):
            ev["seals"] = [{"sealNumber": "XX7", "sealSource": "CAR", "sealType": "BLT"}]
        elif ev["equipmentEventTypeCode"] in ("DISC", "GTOT", "STRP"):
            ev["seals"] = [{"sealNumber": "YY8", "sealSource": "CAR", "sealType": "BLT"}]
    load(engine, p, SITES.encode(), ndjson(events))
    legs = sorted(json.loads(a.evidence)["leg"] for a in alerts_of(engine, p)["seal-changed"])
    assert legs == ["origin-inland", "origin-terminal"]  # packhouse->gate, then before loading


def test_a_place_where_many_consignees_boxes_are_opened_is_a_candidate_site(
    engine: Engine,
) -> None:
    from cargowatch.custody.places import candidates
    from cargowatch.risk.engine import score
    from cargowatch.risk.flows import confirm_site

    p = org_with_user(engine, "customs", kind="CUSTOMS")
    boxes = ["CSQU3054383", "MSCU1234566", "TCNU1234560", "HLXU1234565"]
    head = (
        "booking_ref,bl_number,container,iso_type,shipper_id,consignee_id,notify_id,"
        "forwarder_id,carrier_code,commodity_hs,commodity_desc,gross_kg,place_of_receipt,pol,"
        "pod,place_of_delivery,transshipment_ports,vessel_imo,voyage,declared_seals,booked_at"
    )
    rows = [
        f"B{i},BL{i},{box},45R1,S1,C{i},,,MSCU,080390,Bananas,21000,ECGYE,ECGYE,BEANR,BEANR,,,,"
        f"S{i},2025-02-20T00:00:00Z"
        for i, box in enumerate(boxes)
    ]
    bodies: list[bytes] = [SITES.encode(), ("\n".join([head, *rows]) + "\n").encode()]
    for i, box in enumerate(boxes):
        bodies.append(ndjson(trip_events(box=box, booking=f"B{i}", seal=f"S{i}")))
        bodies.append(_reading("2025-03-01T20:00:00Z", -2.5 + i * 0.001, -79.6, "OPEN", box))
    load(engine, p, *bodies)
    with unit_of_work(engine) as s:
        score(s, org_id=p.org_id)  # a full scoring: each opening among all the others
        [place] = candidates(s, principal=p)
        findings = [json.loads(f) for (f,) in s.execute(select(_findings()))]
    assert place["consignees"] == 4 and abs(place["latitude"] + 2.4985) < 0.01
    rules = {f["rule"] for fs in findings for f in fs}
    assert "door-opened-at-common-place" in rules and "door-opened-outside-site" not in rules
    row = confirm_site(principal=p, latitude=place["latitude"], longitude=place["longitude"])
    assert sorted(row["containers"]) == sorted(boxes)
    with unit_of_work(engine) as s:
        left = s.scalars(select(Alert.type).where(Alert.type == "door-opened-outside-site")).all()
        assert left == [] and candidates(s, principal=p) == []
        trips = s.execute(select(Trip.id)).all()
    assert len(trips) == 4


def _findings() -> Any:
    from cargowatch.risk.models import Assessment

    return Assessment.findings
