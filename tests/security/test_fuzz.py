"""Fuzzing every parser (hypothesis): whatever bytes sit between two good records, ingest
never raises, the run ends with a status, the bad part is in quarantine with a reason, and
the good neighbours are stored."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.ingest.models import IngestRun, QuarantineRecord
from tests.builders import event22, event30, org_with_user, uuid_for
from tests.conftest import DATA
from tests.telemetry.test_telemetry import message

EXAMPLES = 25
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))  # fmt: skip

# junk: raw bytes, text, JSON values nested deep, lines of another format
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
junk = st.one_of(
    st.binary(min_size=1, max_size=300).map(lambda b: b.replace(b"\n", b" ")),
    st.text(min_size=1, max_size=200).map(lambda t: t.replace("\n", " ").encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from(
        [
            b"\xef\xbb\xbf",
            b"\x00\x00",
            "\u00e9t\u00e9".encode("latin-1"),
            b"UNB+UNOA:2+X+Y'",
            b"party_id,name\n",
        ]
    ),
)


def _status(engine: Engine, run_id: int) -> str:
    with unit_of_work(engine) as s:
        run = s.get(IngestRun, run_id)
        assert run is not None
        return run.status


def _quarantined(engine: Engine, run_id: int) -> list[QuarantineRecord]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(QuarantineRecord).where(QuarantineRecord.run_id == run_id)))


def _fuzz_lines(
    engine: Engine, good: Callable[[int], bytes], stored: Callable[[int], bool]
) -> Callable[[bytes, int], None]:
    """A check: good record, junk line, good record; both good ones stored, the junk kept."""
    p = org_with_user(engine, "feeder")

    def check(bad: bytes, n: int) -> None:
        data = good(2 * n) + b"\n" + bad + b"\n" + good(2 * n + 1) + b"\n"
        run, counts = ingest_bytes(principal=p, stream=io.BytesIO(data), source=f"fuzz-{n}",
                                   engine=engine)  # fmt: skip
        assert _status(engine, run.id) in ("done", "partial", "failed")
        assert stored(2 * n) and stored(2 * n + 1), bad[:200]
        held = _quarantined(engine, run.id)
        assert len(held) == counts.quarantined
        assert all(q.reason and q.location for q in held)

    return check


def _event_stored(engine: Engine, key: str) -> bool:
    with unit_of_work(engine) as s:
        return bool(s.scalar(select(func.count()).where(Event.event_key == key)))


@pytest.mark.parametrize("version", ["2.2", "3.0"])
def test_dcsa_track_and_trace_survives_any_junk(engine: Engine, version: str) -> None:
    def good(i: int) -> bytes:
        ev = event22(eventID=f"fz-{i}") if version == "2.2" else event30(eventID=f"fz-{i}")
        return json.dumps(ev).encode()

    def key(i: int) -> str:
        return uuid_for(f"fz-{i}") if version == "2.2" else f"fz-{i}"

    check = _fuzz_lines(engine, good, lambda i: _event_stored(engine, key(i)))
    counter = iter(range(10_000))

    @FUZZ
    @given(bad=junk)
    def run(bad: bytes) -> None:
        check(bad, next(counter))

    run()


def test_telemetry_survives_any_junk(engine: Engine) -> None:
    def stored(i: int) -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM telemetry WHERE device_id = :d"),
                                     {"d": f"FZ-{i}"}).scalar())  # fmt: skip

    check = _fuzz_lines(
        engine, lambda i: json.dumps(message(i, device_id=f"FZ-{i}")).encode(), stored
    )
    counter = iter(range(10_000))

    @FUZZ
    @given(bad=junk)
    def run(bad: bytes) -> None:
        check(bad, next(counter))

    run()


PARTIES = "party_id,name,role,country,registered_on,aeo_certified,address"


def test_register_csv_survives_any_junk_row(engine: Engine) -> None:
    p = org_with_user(engine, "feeder")
    counter = iter(range(10_000))

    def stored(pid: str) -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM parties WHERE party_id = :p"),
                                     {"p": pid}).scalar())  # fmt: skip

    @FUZZ
    @given(bad=junk)
    def run(bad: bytes) -> None:
        n = next(counter)
        rows = [f"FZ{n}A,Alpha,SHIPPER,EC,2020-01-01,true,x".encode(), bad.replace(b"\r", b" "),
                f"FZ{n}B,Beta,CONSIGNEE,BE,2021-02-02,false,y".encode()]  # fmt: skip
        data = PARTIES.encode() + b"\n" + b"\n".join(rows) + b"\n"
        run_, counts = ingest_bytes(principal=p, stream=io.BytesIO(data), source=f"p{n}.csv",
                                    engine=engine)  # fmt: skip
        assert _status(engine, run_.id) in ("done", "partial", "failed")
        if b'"' not in bad:  # an unclosed quote swallows the rest: that is CSV
            assert stored(f"FZ{n}A") and stored(f"FZ{n}B"), bad
        assert len(_quarantined(engine, run_.id)) == counts.quarantined

    run()


@pytest.mark.parametrize("sample", ["codeco_d00b_gate.edi", "ebl-api-3.0.0-request.json",
                                    "tnt-300-response.json"])  # fmt: skip
def test_whole_documents_survive_any_corruption(engine: Engine, sample: str) -> None:
    p = org_with_user(engine, "feeder")
    original = (DATA / sample).read_bytes()
    counter = iter(range(10_000))

    @FUZZ
    @given(at=st.integers(0, len(original)), cut=st.integers(0, 50), bad=junk)
    def run(at: int, cut: int, bad: bytes) -> None:
        data = original[:at] + bad + original[at + cut :]
        n = next(counter)
        run_, counts = ingest_bytes(principal=p, stream=io.BytesIO(data), source=f"{sample}-{n}",
                                    engine=engine)  # fmt: skip
        assert _status(engine, run_.id) in ("done", "partial", "failed")
        assert counts.read >= 1
        assert len(_quarantined(engine, run_.id)) == counts.quarantined

    run()


def test_a_path_that_is_not_a_file_is_refused_cleanly(tmp_path: Path, engine: Engine) -> None:
    from cargowatch.exceptions import InvalidInput
    from cargowatch.ingest.flows import ingest_paths

    p = org_with_user(engine, "feeder")
    with pytest.raises(InvalidInput, match="no such file"):
        ingest_paths(principal=p, paths=[tmp_path / "missing.json"], engine=engine)
