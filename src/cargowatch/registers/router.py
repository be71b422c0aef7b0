"""HTTP routes of registers, transport documents and telemetry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from cargowatch.api import Offset, PrincipalDep, SessionDep
from cargowatch.documents.service import documents_for_container
from cargowatch.registers.service import list_rows
from cargowatch.telemetry.service import readings_for_container

router = APIRouter(prefix="/api/v1", tags=["registers"])


class RegisterPage(BaseModel):
    """A page of a register's rows."""

    total: int
    items: list[dict[str, Any]]


class DocumentRead(BaseModel):
    """A transport document as it declares one container."""

    document_key: str
    transport_document_reference: str | None
    booking_refs: str | None
    type_code: str | None
    issue_date: date | None
    shipper: str | None
    consignee: str | None
    notify: str | None
    place_of_receipt: str | None
    port_of_loading: str | None
    port_of_discharge: str | None
    place_of_delivery: str | None
    vessel_name: str | None
    voyage: str | None
    container: str
    declared_seals: list[str]
    hs_codes: list[str]
    gross_kg: float | None


class ReadingRead(BaseModel):
    """One smart-container reading."""

    device_id: str
    container: str
    ts: datetime
    latitude: float | None
    longitude: float | None
    door: str | None
    light_lux: float | None
    shock_g: float | None
    temperature_c: float | None
    eseal_id: str | None
    eseal_status: str | None


@router.get("/registers/{name}", response_model=RegisterPage)
def register_rows(
    name: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    offset: Offset = 0,
) -> RegisterPage:
    """Rows of a register; any other query parameter filters a column (?badge_id=B100)."""
    filters = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}
    rows, total = list_rows(session, principal=principal, register=name, filters=filters,
                            limit=limit, offset=offset)  # fmt: skip
    return RegisterPage(total=total, items=rows)


@router.get("/containers/{container}/documents", response_model=list[DocumentRead])
def container_documents(
    container: str, session: SessionDep, principal: PrincipalDep
) -> list[DocumentRead]:
    """Transport documents that declare the container."""
    return [
        DocumentRead(
            document_key=d.document_key,
            transport_document_reference=d.transport_document_reference,
            booking_refs=d.booking_refs,
            type_code=d.type_code,
            issue_date=d.issue_date,
            shipper=d.shipper,
            consignee=d.consignee,
            notify=d.notify,
            place_of_receipt=d.place_of_receipt,
            port_of_loading=d.port_of_loading,
            port_of_discharge=d.port_of_discharge,
            place_of_delivery=d.place_of_delivery,
            vessel_name=d.vessel_name,
            voyage=d.voyage,
            container=e.container,
            declared_seals=(e.declared_seals or "").split(";") if e.declared_seals else [],
            hs_codes=(e.hs_codes or "").split(";") if e.hs_codes else [],
            gross_kg=e.gross_kg,
        )
        for d, e in documents_for_container(session, principal=principal, container=container)
    ]


@router.get("/containers/{container}/telemetry", response_model=list[ReadingRead])
def container_telemetry(
    container: str,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100000)] = 10000,
) -> list[ReadingRead]:
    """Smart-container readings of the container, oldest first."""
    return [
        ReadingRead.model_validate(r, from_attributes=True)
        for r in readings_for_container(
            session, principal=principal, container=container, limit=limit
        )
    ]
