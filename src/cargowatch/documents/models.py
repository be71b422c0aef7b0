"""ORM models of transport documents and the equipment they declare."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base


class TransportDocument(Base):
    """A bill of lading or sea waybill (or its shipping instructions), as declared."""

    __tablename__ = "transport_documents"
    __table_args__ = (UniqueConstraint("org_id", "document_key", name="uq_documents_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    document_key: Mapped[str] = mapped_column(String(200))
    transport_document_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    shipping_instructions_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    booking_refs: Mapped[str | None] = mapped_column(Text, nullable=True)
    type_code: Mapped[str | None] = mapped_column(String(3), nullable=True)
    status: Mapped[str | None] = mapped_column(String(50), nullable=True)
    issue_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    shipped_on_board_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    carrier_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    place_of_receipt: Mapped[str | None] = mapped_column(String(5), nullable=True)
    port_of_loading: Mapped[str | None] = mapped_column(String(5), nullable=True)
    port_of_discharge: Mapped[str | None] = mapped_column(String(5), nullable=True)
    place_of_delivery: Mapped[str | None] = mapped_column(String(5), nullable=True)
    vessel_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    voyage: Mapped[str | None] = mapped_column(String(50), nullable=True)
    shipper: Mapped[str | None] = mapped_column(String(200), nullable=True)
    consignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    notify: Mapped[str | None] = mapped_column(String(200), nullable=True)
    parties: Mapped[str | None] = mapped_column(Text, nullable=True)
    hs_codes: Mapped[str | None] = mapped_column(Text, nullable=True)
    goods: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DocumentEquipment(Base):
    """A container declared on a transport document, with its declared seals."""

    __tablename__ = "document_equipment"
    __table_args__ = (Index("ix_document_equipment_container", "container"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    document_id: Mapped[int] = mapped_column(
        ForeignKey("transport_documents.id", ondelete="CASCADE")
    )
    container: Mapped[str] = mapped_column(String(15))
    iso_type: Mapped[str | None] = mapped_column(String(4), nullable=True)
    declared_seals: Mapped[str | None] = mapped_column(Text, nullable=True)
    hs_codes: Mapped[str | None] = mapped_column(Text, nullable=True)
    gross_kg: Mapped[float | None] = mapped_column(nullable=True)
    warnings: Mapped[str | None] = mapped_column(Text, nullable=True)
