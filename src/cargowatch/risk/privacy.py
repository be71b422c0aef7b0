"""Personal data in risk reasons: a badge, its zone and hours, its holder's vetting. Shown only
to callers who may read the personal data of the organisation whose registers the trip's
findings came from (its admins and analysts, and roles it granted personal data to); every
read that shows them is audited. Everyone else sees the finding and its weight, not who."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal

PERSONAL_FINDINGS = {
    "insider-exposure": "Badge activity at a facility while the container was there broke its "
    "holder's usual pattern, when and where this trip's custody went wrong",
    "insider-on-site": "Badge activity at a facility while the container was there broke its "
    "holder's usual pattern",
}
WITHHELD = " (who, where and when are personal data: ask the owner for the personal-data grant)"
PERSONAL_EVIDENCE = ("access",)  # badge swipe ids
_SHARED_BADGE = re.compile(r"(?<=[Ss]hares )badge [^\s,;]+")


def carries_personal(finding: dict[str, Any]) -> bool:
    """Whether the finding names a person's badge, zone, hours or vetting."""
    evidence = finding.get("evidence") or {}
    return (
        finding.get("rule") in PERSONAL_FINDINGS
        or any(k in evidence for k in PERSONAL_EVIDENCE)
        or bool(_SHARED_BADGE.search(str(finding.get("reason", ""))))
    )


def redact(finding: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    """The finding without personal details: its rule, score and weight stay. With an
    agreement's pseudonym key, a badge it names becomes that agreement's pseudonym of it (the
    same badge reads the same across this partner's trips, and differently for any other)."""
    rule = str(finding.get("rule", ""))
    if rule in PERSONAL_FINDINGS:
        reason = PERSONAL_FINDINGS[rule] + WITHHELD + "."
        tail = str(finding.get("reason", "")).split(". ", 1)  # keep what it was worth here
        if len(tail) == 2 and tail[1].startswith(("Found in", "No inspected")):
            reason += " " + tail[1]
    else:

        def masked(m: re.Match[str]) -> str:
            if key is None:
                return "a badge"
            from cargowatch.sharing.service import pseudonym

            return "badge " + pseudonym(key, "badge", m.group(0).split(" ", 1)[1])

        reason = _SHARED_BADGE.sub(masked, str(finding.get("reason", "")))
    evidence = {k: v for k, v in (finding.get("evidence") or {}).items()
                if k not in PERSONAL_EVIDENCE}  # fmt: skip
    return {**finding, "reason": reason, "evidence": evidence, "redacted": True}


class PersonalGate:
    """Decides per trip owner whether the caller sees personal details, redacts the rest, and
    audits in one entry the trips whose personal details were shown."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self._allowed: dict[int, bool] = {}
        self._keys: dict[int, str | None] = {}
        self.shown: list[int] = []

    def allowed(self, owner_org_id: int) -> bool:
        """Whether the caller may read personal data owned by owner_org_id (cached)."""
        if owner_org_id not in self._allowed:
            from cargowatch.sharing.service import may_read_personal

            self._allowed[owner_org_id] = may_read_personal(
                self.session, self.principal, owner_org_id
            )
        return self._allowed[owner_org_id]

    def apply(
        self, findings: list[dict[str, Any]], *, owner_org_id: int, trip_id: int
    ) -> list[dict[str, Any]]:
        """findings as the caller may see them."""
        if not any(carries_personal(f) for f in findings):
            return findings
        if self.allowed(owner_org_id):
            self.shown.append(trip_id)
            return findings
        if owner_org_id not in self._keys:
            from cargowatch.sharing.service import pseudonym_key

            self._keys[owner_org_id] = pseudonym_key(self.session, self.principal, owner_org_id)
        key = self._keys[owner_org_id]
        return [redact(f, key) if carries_personal(f) else f for f in findings]

    def audit(self, where: str) -> None:
        """One audit entry for the trips whose personal details this read showed."""
        if not self.shown:
            return
        audit.record(
            self.session, actor=self.principal, action="risk.read-personal", entity_type="trip",
            entity_id=",".join(str(t) for t in self.shown[:20]),
            after={"where": where, "trips": len(self.shown), "first": self.shown[:50]},
        )  # fmt: skip
        self.shown = []
