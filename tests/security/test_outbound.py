"""cargowatch sends nothing of its own (subscription callbacks, referral webhooks, TAXII pulls)
to this machine or its private network unless the operator allows it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cargowatch.config import get_settings
from cargowatch.exceptions import InvalidInput
from cargowatch.outbound import check_address


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/x", "http://localhost/cb", "https://10.1.2.3/cb",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]:9000/", "http://192.168.0.7/",
    "ftp://example.org/", "http:///nohost",
])  # fmt: skip
def test_private_and_odd_addresses_are_refused(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CARGOWATCH_ALLOW_PRIVATE_CALLBACKS", "false")
    get_settings.cache_clear()
    with pytest.raises(InvalidInput):
        check_address(url)
    monkeypatch.setenv("CARGOWATCH_ALLOW_PRIVATE_CALLBACKS", "true")
    get_settings.cache_clear()
    if url.startswith("http") and "nohost" not in url:
        check_address(url)  # the operator allowed its internal network
    get_settings.cache_clear()


def test_a_subscription_to_this_machine_is_never_called(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The callback points at loopback: the delivery records the refusal, sends nothing."""
    import io

    from sqlalchemy import select

    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.flows import ingest_bytes
    from cargowatch.jobs.runner import run_pending
    from cargowatch.trackandtrace import subscriptions
    from cargowatch.trackandtrace.models import EventSubscription
    from tests.builders import event22, ndjson, org_with_user

    monkeypatch.setenv("CARGOWATCH_ALLOW_PRIVATE_CALLBACKS", "false")
    get_settings.cache_clear()
    carrier = org_with_user(engine, "carrier", kind="CARRIER")
    with unit_of_work(engine) as s:
        subscriptions.create(
            s,
            principal=carrier,
            body={
                "callbackUrl": "http://127.0.0.1:9/steal",
                "secret": "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
            },
        )
    ingest_bytes(principal=carrier, stream=io.BytesIO(ndjson([event22(eventID="x1")])),
                 source="x", engine=engine)  # fmt: skip
    subscriptions.queue_due(engine)
    assert run_pending(engine)[1] == 1
    with unit_of_work(engine) as s:
        row = s.scalar(select(EventSubscription))
        assert (
            row is not None and row.delivered == 0 and "private address" in (row.last_error or "")
        )
    get_settings.cache_clear()
