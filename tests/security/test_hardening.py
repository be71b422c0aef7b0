"""Smaller holes, each with its regression test: CSV cells that a spreadsheet would run,
missing security headers, Swagger from a CDN, an analyst handing out personal data."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import InvalidInput, PermissionDenied
from cargowatch.exports import safe_cell, write_csv
from cargowatch.sharing.models import Agreement
from cargowatch.sharing.service import grant, grant_personal, revoke
from tests.builders import org_with_user, token_for, user_in


@pytest.mark.parametrize(
    "value",
    ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1+1"],
)
def test_cells_a_spreadsheet_would_evaluate_are_escaped(value: str) -> None:
    out = io.StringIO()
    write_csv(out, ["booking_ref", "score"], [[value, 12.5]])
    row = next(iter(csv.reader(io.StringIO(out.getvalue()), strict=True)))
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert row[0] == "'" + value and row[1] == "12.5"


def test_plain_cells_and_numbers_stay_as_they_are() -> None:
    assert safe_cell("BKG-1") == "BKG-1" and safe_cell(-3) == -3 and safe_cell(None) == ""


def test_every_response_carries_security_headers(engine: Engine) -> None:
    client = TestClient(create_app(engine=engine))
    for path in ("/login", "/health", "/docs", "/api/v1/me", "/static/app.css"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "script-src 'self';" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in headers  # plain http: no HSTS
    secure = TestClient(create_app(engine=engine), base_url="https://cargowatch.test")
    assert "max-age" in secure.get("/health").headers["strict-transport-security"]


def test_the_api_reference_loads_nothing_from_outside(engine: Engine) -> None:
    client = TestClient(create_app(engine=engine))
    page = client.get("/docs").text
    assert "http" not in page.replace("/openapi.json", "")  # no absolute URL at all
    for asset in ("/static/vendor/swagger-ui-bundle.js", "/static/vendor/swagger-ui.css",
                  "/static/api-docs.js"):  # fmt: skip
        assert asset in page and client.get(asset).status_code == 200
    assert client.get("/redoc").status_code == 404


def test_only_admins_hand_out_or_withdraw_personal_data(engine: Engine) -> None:
    analyst = org_with_user(engine, "terminal", kind="TERMINAL")
    admin = user_in(engine, "terminal", "terminal-admin", "admin")
    org_with_user(engine, "customs")
    with unit_of_work(engine) as s:
        given = grant_personal(s, principal=admin, grantee_slug="customs", role="analyst")
        given_id = given.id
    with unit_of_work(engine) as s, pytest.raises(PermissionDenied):
        grant(s, principal=analyst, grantee_slug="customs", scope="personal-data")
    with unit_of_work(engine) as s, pytest.raises(PermissionDenied):
        revoke(s, principal=analyst, share_id=given_id)
    with unit_of_work(engine) as s, pytest.raises(InvalidInput, match="grant-personal"):
        grant(s, principal=admin, grantee_slug="customs", scope="personal-data")
    client = TestClient(create_app(engine=engine))
    token = token_for(engine, "terminal-user")
    sent = client.post("/api/v1/shares", json={"grantee": "customs", "scope": "personal-data"},
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert sent.status_code == 403
    gone = client.delete(f"/api/v1/shares/{given_id}", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 403
    with unit_of_work(engine) as s:
        kept = s.scalar(select(Agreement).where(Agreement.id == given_id))
        assert kept is not None and kept.revoked_at is None
    with unit_of_work(engine) as s:
        revoke(s, principal=admin, share_id=given_id)  # the admin may
