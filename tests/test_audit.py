"""The audit log: every state change and sensitive read, append-only."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError

from cargowatch.audit.models import AuditEntry
from cargowatch.audit.service import list_entries
from cargowatch.db.engine import unit_of_work
from cargowatch.events.service import list_events
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.sharing.service import grant
from tests.builders import event22, ndjson, org_with_user, user_in


def _actions(engine: Engine) -> list[str]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_admin_changes_and_ingest_runs_are_audited(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    org_with_user(engine, "customs")
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson([event22()])), source="x", engine=engine)
    with unit_of_work(engine) as s:
        grant(s, principal=p, grantee_slug="customs", scope="all-events")
    actions = _actions(engine)
    assert actions.count("org.create") == 2 and actions.count("user.create") == 2
    assert "ingest.run" in actions and "agreement.grant" in actions
    with unit_of_work(engine) as s:
        run_entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "ingest.run"))
        assert run_entry is not None and run_entry.actor == "carrier-user@carrier"
        assert run_entry.after is not None and '"stored":1' in run_entry.after


def test_reading_customs_selections_is_audited(engine: Engine) -> None:
    p = org_with_user(engine, "customs")
    evs = [event22(eventID="plain"),
           event22(eventID="sel", equipmentEventTypeCode="CUSS")]  # fmt: skip
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson(evs)), source="x", engine=engine)
    before = _actions(engine).count("events.read-customs")
    with unit_of_work(engine) as s:
        list_events(s, principal=p, container="CSQU3054383")
    assert _actions(engine).count("events.read-customs") == before + 1


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_audit_log_refuses_updates_and_deletes(engine: Engine, statement: str) -> None:
    org_with_user(engine, "carrier")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))


def test_audit_entries_are_read_by_admins_of_the_same_org_only(engine: Engine) -> None:
    analyst = org_with_user(engine, "carrier")
    admin = user_in(engine, "carrier", "carrier-admin", "admin")
    ingest_bytes(principal=analyst, stream=io.BytesIO(ndjson([event22()])), source="x",
                 engine=engine)  # fmt: skip
    from cargowatch.exceptions import PermissionDenied

    with unit_of_work(engine) as s:
        entries = list_entries(s, principal=admin)
        assert [e.action for e in entries] == ["ingest.run"]
        with pytest.raises(PermissionDenied):
            list_entries(s, principal=analyst)
