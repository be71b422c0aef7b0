"""CSV registers: every register reads, bad rows are quarantined, retries store nothing twice."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import PermissionDenied
from cargowatch.ingest import service
from cargowatch.ingest.flows import ingest_bytes, ingest_paths
from cargowatch.registers.service import list_rows
from cargowatch.registers.specs import REGISTERS
from cargowatch.sharing.service import grant_personal
from tests.builders import event22, ndjson, org_with_user, user_in

FILES = {
    "parties": """party_id,name,role,country,registered_on,aeo_certified,address
P1,Bananera del Pacifico SA,SHIPPER,EC,2011-04-02,true,Av. 9 de Octubre 100 Guayaquil
P2,Fresh Fruit Import BV,CONSIGNEE,NL,2025-01-15,false,"Waalhaven 1, Rotterdam"
P3,Transportes Rapidos,HAULIER,EC,,false,
""",
    "sites": """site_id,party_id,kind,locode,latitude,longitude,radius_m,authorised_for
S1,P1,PACKHOUSE,ECGYE,-2.19,-79.88,300,STUFFING
S2,P9,TERMINAL,ECGYE,-2.2866,-79.905,1500,STORAGE;INSPECTION;STUFFING
""",
    "manifest": """booking_ref,bl_number,container,iso_type,shipper_id,consignee_id,notify_id,forwarder_id,carrier_code,commodity_hs,commodity_desc,gross_kg,place_of_receipt,pol,pod,place_of_delivery,transshipment_ports,vessel_imo,voyage,declared_seals,booked_at
BKG1,BL1,CSQU3054383,45R1,P1,P2,,,MSCU,080390,Bananas,21500,ECGYE,ECGYE,NLRTM,NLRTM,PAMIT,9321483,031W,ML123456;ML123457,2025-02-20T10:00:00-05:00
BKG2,BL2,MSKU9070323,45R1,P1,P77,,,MSCU,080390,Bananas,21000,ECGYE,ECGYE,BEANR,BEANR,,9321483,031W,ML999,2025-02-21T10:00:00Z
""",
    "persons": """person_id,employer_party_id,role,badge_id,vetting_status,vetting_valid_until,employed_from,employed_until,authorised_zones
E1,P4,straddle carrier driver,B100,CLEARED,2026-01-01,2019-05-01,,YARD-B;QUAY
E2,P4,gate clerk,B200,EXPIRED,2024-06-30,2020-01-01,2025-01-31,GATE
""",
    "access": """ts,badge_id,facility,zone,direction,granted
2025-03-01T02:10:00Z,B100,ECGYE:CGSA,YARD-B,IN,true
2025-03-01T03:40:00Z,B100,ECGYE:CGSA,YARD-B,OUT,true
2025-03-01T03:41:00-05:00,B999,ECGYE:CGSA,REEFER-RACK-2,IN,false
""",
    "releases": """ts,container,bl_number,release_ref,action,authorised_party_id,actor_party_id,truck_plate,channel
2025-03-18T08:00:00Z,CSQU3054383,BL1,R-1,ISSUED,P3,P2,,PIN
2025-03-18T09:30:00Z,CSQU3054383,BL1,R-1,PICKED_UP,P3,P66,ABC-123,PIN
""",
    "inspections": """ts,container,booking_ref,locode,authority_party_id,method,result,substance,quantity_kg,concealment,insider_suspected,reference
2025-03-17T12:00:00Z,CSQU3054383,BKG1,NLRTM,P5,SCAN,NO_FINDING,,,,,INS-1
2025-03-17T15:00:00Z,CSQU3054383,BKG1,NLRTM,P5,PHYSICAL,SEIZURE,cocaine,120,RIP_ON_RIP_OFF,YES,INS-2
""",
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    return path


def test_every_register_reads_and_a_retry_stores_nothing_twice(
    engine: Engine, tmp_path: Path
) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson([event22()])), source="x", engine=engine)
    paths = [_write(tmp_path, name, text) for name, text in FILES.items()]
    _run, counts = ingest_paths(principal=p, paths=paths, engine=engine)
    expected = sum(t.count("\n") - 1 for t in FILES.values())
    assert (counts.read, counts.stored, counts.quarantined) == (expected, expected, 0)
    _run, again = ingest_paths(principal=p, paths=paths, engine=engine)
    assert (again.stored, again.duplicates) == (0, expected)
    with unit_of_work(engine) as s:
        parties, total = list_rows(s, principal=p, register="parties")
        assert total == 3
        p1 = next(r for r in parties if r["party_id"] == "P1")
        assert p1["aeo_certified"] is True and str(p1["registered_on"]) == "2011-04-02"
        manifest, _ = list_rows(s, principal=p, register="manifest")
        first = next(r for r in manifest if r["booking_ref"] == "BKG1")
        assert first["declared_seals"] == "ML123456;ML123457"
        assert first["booked_at"].isoformat() == "2025-02-20T15:00:00+00:00"
        assert first["flags"] is None
        second = next(r for r in manifest if r["booking_ref"] == "BKG2")
        assert "unknown party consignee_id=P77" in second["flags"]
        assert "unknown container container=MSKU9070323" in second["flags"]
        access, _ = list_rows(s, principal=p, register="access")
        late = next(r for r in access if r["badge_id"] == "B999")
        assert late["ts"].isoformat() == "2025-03-01T08:41:00+00:00" and late["granted"] is False
        assert late["flags"] == "unknown badge badge_id=B999"
        sites, _ = list_rows(s, principal=p, register="sites", filters={"site_id": "S2"})
        assert sites[0]["authorised_for"] == "STORAGE;INSPECTION;STUFFING"
        assert sites[0]["flags"] == "unknown party party_id=P9"


def test_a_changed_register_row_replaces_the_stored_one(engine: Engine, tmp_path: Path) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    ingest_paths(principal=p, paths=[_write(tmp_path, "parties", FILES["parties"])], engine=engine)
    changed = FILES["parties"].replace("2025-01-15,false", "2025-01-15,true")
    _run, counts = ingest_paths(principal=p, paths=[_write(tmp_path, "parties", changed)],
                                engine=engine)  # fmt: skip
    assert (counts.stored, counts.duplicates) == (1, 2)
    with unit_of_work(engine) as s:
        rows, total = list_rows(s, principal=p, register="parties", filters={"party_id": "P2"})
    assert total == 1 and rows[0]["aeo_certified"] is True


BAD_ROWS = [
    ("parties", "P9,X,SMUGGLER,EC,,,\n", "role", "one of SHIPPER"),
    ("parties", ",Nameless,SHIPPER,EC,,,\n", "party_id", "required"),
    ("parties", "P9,X,SHIPPER,EC,2025-13-01,,\n", "registered_on", "a date"),
    ("sites", "S9,P1,FARM,ECGYE,north,-79.9,100,STUFFING\n", "latitude", "a number"),
    ("sites", "S9,P1,FARM,ECGYE,-2,-79.9,100,PARTY\n", "authorised_for", "among STUFFING"),
    ("access", "2025-03-01 02:10,B1,ECGYE:CGSA,GATE,IN,true\n", "ts", "with an offset"),
    ("access", "2025-03-01T02:10:00Z,B1,ECGYE:CGSA,GATE,IN,maybe\n", "granted", "true or false"),
    ("releases", "2025-03-01T02:10:00Z,CSQU3054383,BL1,R1,STOLEN,,,,PIN\n", "action", "one of"),
    ("inspections", "2025-03-01T02:10:00Z,CSQU3054383,B,NL-RT,,SCAN,NO_FINDING,,,,,\n",
     "locode", "UN/LOCODE"),
]  # fmt: skip


@pytest.mark.parametrize(("register", "row", "field", "words"), BAD_ROWS)
def test_bad_rows_are_quarantined_with_line_and_field(
    engine: Engine, tmp_path: Path, register: str, row: str, field: str, words: str
) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    text = FILES[register] + row
    _run, counts = ingest_paths(principal=p, paths=[_write(tmp_path, register, text)],
                                engine=engine)  # fmt: skip
    good = FILES[register].count("\n") - 1
    assert (counts.stored, counts.quarantined) == (good, 1)
    with unit_of_work(engine) as s:
        [q], _ = service.list_quarantine(s, principal=p)
    assert q.location == f"line {good + 2}" and q.field == field, q.reason
    assert words in q.reason and q.format == f"csv-{register}"
    assert q.raw.splitlines()[0] == ",".join(REGISTERS[register].columns)


def test_extra_columns_are_ignored_with_a_note_and_missing_ones_refused(
    engine: Engine, tmp_path: Path
) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    lines = FILES["parties"].splitlines()
    extra = "\n".join([lines[0] + ",website"] + [line + ",x" for line in lines[1:]]) + "\n"
    _run, counts = ingest_paths(principal=p, paths=[_write(tmp_path, "parties", extra)],
                                engine=engine)  # fmt: skip
    assert counts.stored == 3 and any("website" in n for n in counts.notes)
    short = "party_id,name,role,country\nP1,X,SHIPPER,EC\n"
    with pytest.raises(Exception, match="nothing could be read"):
        ingest_paths(principal=p, paths=[_write(tmp_path, "parties", short)], engine=engine)
    with unit_of_work(engine) as s:
        items, _ = service.list_quarantine(s, principal=p)
    assert any("lacks columns: registered_on" in q.reason for q in items)


def test_personal_data_is_read_by_its_owner_and_by_granted_roles_only(
    engine: Engine, tmp_path: Path
) -> None:
    terminal = org_with_user(engine, "terminal", kind="TERMINAL")
    viewer = user_in(engine, "terminal", "terminal-viewer", "viewer")
    admin = user_in(engine, "terminal", "terminal-admin", "admin")
    customs = org_with_user(engine, "customs", kind="CUSTOMS")
    paths = [_write(tmp_path, n, FILES[n]) for n in ("persons", "access")]
    ingest_paths(principal=terminal, paths=paths, engine=engine)
    with unit_of_work(engine) as s:
        _rows, total = list_rows(s, principal=terminal, register="persons")
        assert total == 2
        with pytest.raises(PermissionDenied):
            list_rows(s, principal=viewer, register="access")
        assert list_rows(s, principal=customs, register="access") == ([], 0)
        grant_personal(s, principal=admin, grantee_slug="customs", role="analyst")
    with unit_of_work(engine) as s:
        _rows, total = list_rows(s, principal=customs, register="access",
                                filters={"badge_id": "B100"})  # fmt: skip
        assert total == 2
    from sqlalchemy import select

    from cargowatch.audit.models import AuditEntry

    with unit_of_work(engine) as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "access.read")).all()
        assert {r.actor for r in reads} == {"customs-user@customs"}
        assert reads[-1].entity_id == "badge_id=B100"


def test_a_folder_reads_parties_before_the_manifest_that_names_them(
    engine: Engine, tmp_path: Path
) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-manifest.csv").write_text(FILES["manifest"])
    (folder / "z-parties.csv").write_text(FILES["parties"])
    ingest_paths(principal=p, paths=[folder], engine=engine)
    with unit_of_work(engine) as s:
        rows, _ = list_rows(s, principal=p, register="manifest", filters={"booking_ref": "BKG1"})
    assert rows[0]["flags"] == "unknown container container=CSQU3054383"
