"""DCSA eBL 3.0 transport documents: the DCSA examples, amendments, bad documents."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import Engine, select

from cargowatch.db.engine import unit_of_work
from cargowatch.documents.models import DocumentEquipment, TransportDocument
from cargowatch.documents.service import documents_for_container
from cargowatch.ingest import service
from cargowatch.ingest.flows import ingest_bytes, ingest_paths
from tests.builders import org_with_user
from tests.conftest import DATA

EXAMPLES = ["ebl-api-3.0.0-straight-bl.json", "ebl-api-3.0.0-negotiable-bl.json",
            "ebl-api-3.0.0-request.json", "eblissuance-v3.0.0-request.json"]  # fmt: skip


def test_every_dcsa_example_is_read_with_parties_equipment_seals_and_places(
    engine: Engine,
) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    _run, counts = ingest_paths(principal=p, paths=[DATA / n for n in EXAMPLES], engine=engine)
    assert (counts.read, counts.quarantined) == (4, 0)
    with unit_of_work(engine) as s:
        issued = s.scalar(select(TransportDocument).where(
            TransportDocument.transport_document_reference.is_not(None)))  # fmt: skip
        assert issued is not None
        assert issued.port_of_loading == "DEHAM" and issued.vessel_name == "King of the Seas"
        assert issued.carrier_code == "MMCU" and str(issued.issue_date) == "2020-12-12"
        assert issued.shipper == "SHIPPER_LEGAL_NAME_PLACEHOLDER"
        [(doc, box)] = documents_for_container(s, principal=p, container="NARU3472484")
        assert doc.id == issued.id and box.declared_seals == "VET123" and box.iso_type == "22G1"
        straight = documents_for_container(s, principal=p, container="MSCU9988776")
        assert any(b.declared_seals == "NSL13386" for _d, b in straight)
        assert any(d.hs_codes == "15152100" and d.booking_refs == "{CBR}" for d, _b in straight)
        assert any(b.gross_kg == 12000 for _d, b in straight)
    _run, again = ingest_paths(principal=p, paths=[DATA / n for n in EXAMPLES], engine=engine)
    assert (again.stored, again.duplicates) == (0, 4)


def _doc(**changes: object) -> dict[str, object]:
    doc = json.loads((DATA / "eblissuance-v3.0.0-request.json").read_text())["document"]
    doc.update(changes)
    return dict(doc)


def test_an_amended_document_replaces_the_stored_one(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    first = _doc(transportDocumentReference="TD1")
    ingest_bytes(principal=p, stream=io.BytesIO(json.dumps(first).encode()), source="a",
                 engine=engine)  # fmt: skip
    amended = _doc(
        transportDocumentReference="TD1",
        utilizedTransportEquipments=[
            {"equipment": {"equipmentReference": "CSQU3054383"}, "seals": [{"number": "NEW1"}]}
        ],
    )
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(json.dumps(amended).encode()),
                                source="b", engine=engine)  # fmt: skip
    assert counts.stored == 1
    with unit_of_work(engine) as s:
        boxes = s.scalars(select(DocumentEquipment)).all()
    assert [(b.container, b.declared_seals) for b in boxes] == [("CSQU3054383", "NEW1")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"utilizedTransportEquipments": None}, ""),
        ({"utilizedTransportEquipments": [{"seals": [{"number": "S1"}]}]},
         "utilizedTransportEquipments[0].equipmentReference"),
        ({"consignmentItems": [{"HSCodes": ["banana"]}]}, "consignmentItems[0].HSCodes[0]"),
        ({"issueDate": "12/12/2020"}, "issueDate"),
        ({"transports": {"portOfLoading": {"UNLocationCode": "Hamburg"}}},
         "transports.portOfLoading.UNLocationCode"),
    ],
)  # fmt: skip
def test_bad_documents_are_quarantined_naming_the_field(
    engine: Engine, changes: dict[str, object], field: str
) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    bad = {k: v for k, v in _doc(**changes).items() if v is not None}
    good = _doc(transportDocumentReference="GOOD1")
    body = (json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="docs.ndjson",
                                engine=engine)  # fmt: skip
    assert (counts.stored, counts.quarantined) == (1, 1)
    with unit_of_work(engine) as s:
        [q], _ = service.list_quarantine(s, principal=p)
    assert q.location == "line 2" and q.field == field, q.reason
