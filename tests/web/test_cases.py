"""A trip worked as a case: assigned, its status moved (closing confirmed), notes, the outcome
in its history; shown on the trip, in the queue and in "my work"; audited; another
organisation's trip refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, select

from cargowatch.audit.models import AuditEntry
from cargowatch.cases import service as cases
from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import InvalidInput, NotFound
from tests.builders import org_with_user
from tests.web.test_pages import _signed_in


def test_an_officer_works_a_trip_as_a_case(engine: Engine) -> None:
    client = _signed_in(engine, trips=2)
    queue = client.get("/queue?include_inspected=1").text
    trip = re.search(r'href="/trips/(\d+)"', queue)
    assert trip is not None
    tid = trip.group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"/trips/{tid}").text)
    assert csrf is not None
    token = csrf.group(1)

    def act(**data: str) -> int:
        return client.post(f"/trips/{tid}/case", data={"csrf": token, **data}).status_code

    assert act(action="assign-me") == 303
    assert act(action="note", text="Driver insisted on a night pick-up.") == 303
    assert act(action="status", status="inspection-requested") == 303
    assert act(action="status", status="closed") == 422  # closing asks for confirmation
    outcome = {"csrf": token, "result": "SEIZURE", "method": "SCAN", "back": f"/trips/{tid}"}
    client.post(f"/trips/{tid}/outcome", data=outcome)
    page = client.get(f"/trips/{tid}").text
    assert "officer" in page and "Driver insisted" in page and "SEIZURE" in page
    assert '<small class="tag">inspected</small>' in page
    work = client.get("/work").text
    assert f'href="/trips/{tid}"' in work and "inspected" in work
    assert "inspected · officer" in client.get("/queue?include_inspected=1").text
    assert act(action="status", status="closed", confirm="1") == 303
    assert f'href="/trips/{tid}"' not in client.get("/work").text  # closed: off my list
    with unit_of_work(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("case.%"))))
    assert {"case.created", "case.assigned", "case.note", "case.status", "case.outcome"} <= actions


def test_cases_stay_within_what_the_caller_may_see(engine: Engine) -> None:
    _signed_in(engine, trips=1)
    stranger = org_with_user(engine, "stranger", kind="CUSTOMS")
    with unit_of_work(engine) as s:
        from cargowatch.custody.models import Trip

        trip = s.scalar(select(Trip.id))
        assert trip is not None
        with pytest.raises(NotFound):
            cases.add_note(s, principal=stranger, trip_id=trip, text="peek")
        with pytest.raises(NotFound):
            cases.view(s, principal=stranger, trip_id=trip)
        with pytest.raises(InvalidInput):
            cases.set_status(s, principal=stranger, trip_id=trip, status="nonsense")
