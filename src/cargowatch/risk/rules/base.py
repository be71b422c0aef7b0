"""The shape of a risk rule: an explainable indicator evaluated over all trips at once."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import polars as pl

from cargowatch.plugins import Registry
from cargowatch.risk.context import Context

FINDING_SCHEMA = {
    "trip_id": pl.Int64,
    "rule": pl.String,
    "score": pl.Float64,
    "reason": pl.String,
    "evidence": pl.String,
}
# what evidence may cite, and where each kind lives in the store
EVIDENCE_KINDS = {
    "events": "events.id",
    "telemetry": "telemetry.id",
    "releases": "releases.id",
    "alerts": "alerts.id",
    "access": "access.id",
    "inspections": "inspections.id",
    "manifest": "manifest.id",
    "documents": "transport_documents.id",
    "parties": "parties.party_id",
    "trips": "trips.id",
    "models": "risk_models.version",
    "referrals": "referrals.id",
    "bulletins": "bulletins.id",
}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One rule's finding on one trip, as stored and shown."""

    rule: str  # "seal-changed"
    rule_version: int
    score: float  # contribution, 0..1
    reason: str  # one sentence a targeting officer can act on
    evidence: Mapping[str, object]  # ids by kind (EVIDENCE_KINDS)


class RiskRule(abc.ABC):
    """One family of explainable indicators over trips (docs/risk.md lists them all).

    evaluate returns a frame with FINDING_SCHEMA's columns: at most one row per trip and
    finding name, score in 0..1 before the rule's weight, evidence as JSON of ids by kind."""

    slug: ClassVar[str]
    family: ClassVar[str]
    version: ClassVar[int] = 1
    findings: ClassVar[tuple[str, ...]]  # the finding names it may emit
    summary: ClassVar[str]

    @abc.abstractmethod
    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """The rule's findings over every trip in ctx."""


RULES: Registry[type[RiskRule]] = Registry("cargowatch.risk_rules")
R = TypeVar("R", bound=type[RiskRule])


def register(cls: R) -> R:
    """Register a built-in rule class under its slug."""
    RULES.register(cls.slug, cls)
    return cls


def empty() -> pl.DataFrame:
    """A frame of no findings."""
    return pl.DataFrame(schema=FINDING_SCHEMA)


def evidence(**parts: pl.Expr) -> pl.Expr:
    """Evidence JSON from list or scalar id columns, by kind ({"events": [1, 2], ...})."""
    return pl.struct(*(expr.alias(kind) for kind, expr in parts.items())).struct.json_encode()
