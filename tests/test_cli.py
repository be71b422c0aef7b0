"""The cargowatch command end to end, and --help on every command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
from sqlalchemy import Engine
from typer.testing import CliRunner

from cargowatch.cli import app
from tests.builders import event22, ndjson
from tests.conftest import DATA

runner = CliRunner()


def _all_commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    found: list[list[str]] = [[]]

    def walk(cmd: Any, path: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            found.append([*path, name])
            walk(sub, [*path, name])

    walk(root, [])
    assert len(found) > 20
    return found


ALL_COMMANDS = _all_commands()


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_admin_ingest_events_and_quarantine_from_the_command_line(
    engine: Engine, tmp_path: Path
) -> None:
    run("orgs", "create", "carrier-x", "--name", "Carrier X", "--kind", "carrier")
    run("users", "create", "olga", "--org", "carrier-x", "--role", "analyst")
    assert "olga" in run("users", "list")
    token_out = run("tokens", "create", "olga", "--name", "feed")
    assert token_out.strip().splitlines()[-1].startswith("cw_")

    feed = tmp_path / "feed.ndjson"
    feed.write_bytes(ndjson([event22(eventID="c1"), event22(eventID="c2", eventType="BAD")]))
    out = run("--as", "olga", "ingest", str(feed), str(DATA / "tnt-300-response.json"))
    assert "stored 6" in out and "quarantined 1" in out

    out = run("--as", "olga", "events", "--container", "CSQU3054383", "--json")
    [line] = out.strip().splitlines()
    assert json.loads(line)["event_code"] == "GTIN"

    listing = run("--as", "olga", "quarantine", "list")
    assert "eventType" in listing and "feed.ndjson" in listing
    shown = run("--as", "olga", "quarantine", "show", "1")
    assert '"BAD"' in shown
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(event22(eventID="c2")))
    out = run("--as", "olga", "quarantine", "fix", "1", "--file", str(fixed))
    assert "stored 1" in out
    assert "2 events" in run("--as", "olga", "events", "-c", "CSQU3054383")
    assert "partial" in run("--as", "olga", "runs")


def test_ingest_without_a_user_says_how_to_get_one(engine: Engine) -> None:
    result = runner.invoke(app, ["ingest", str(DATA / "tnt-220-response.json")])
    assert result.exit_code != 0
    assert "CARGOWATCH_USER" in str(result.exception)


def test_nothing_readable_exits_non_zero(engine: Engine, tmp_path: Path) -> None:
    from cargowatch.exceptions import NothingReadable

    run("orgs", "create", "carrier-x", "--name", "Carrier X")
    run("users", "create", "olga", "--org", "carrier-x")
    junk = tmp_path / "junk.json"
    junk.write_text('[{"eventType": "EQUIPMENT"}]')
    result = runner.invoke(app, ["--as", "olga", "ingest", str(junk)])
    assert isinstance(result.exception, NothingReadable)
    assert result.exception.exit_code == 3


def test_ingest_without_custody_then_rebuild(engine: Engine, tmp_path: Path) -> None:
    run("orgs", "create", "carrier-x", "--name", "Carrier X")
    run("users", "create", "olga", "--org", "carrier-x")
    feed = tmp_path / "feed.ndjson"
    feed.write_bytes(ndjson([event22(eventID="t1")]))
    run("--as", "olga", "ingest", "--no-custody", str(feed))
    result = runner.invoke(app, ["--as", "olga", "timeline", "CSQU3054383"])
    assert result.exit_code != 0  # no trip yet
    assert "1 trips, 0 alerts" in run("--as", "olga", "custody", "rebuild")
    assert "terminal" in run("--as", "olga", "timeline", "CSQU3054383")
