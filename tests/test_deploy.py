"""The deployment files name commands cargowatch has and settings it reads."""

from __future__ import annotations

from pathlib import Path

import typer.main
import yaml

from cargowatch.cli import app
from cargowatch.config import Settings

DEPLOY = Path(__file__).parent.parent / "deploy"


def _runs(argv: list[str]) -> bool:
    """Whether argv (after 'cargowatch') names a command, with options it has."""
    cmd = typer.main.get_command(app)
    words = list(argv)
    while words and hasattr(cmd, "commands") and words[0] in cmd.commands:
        cmd = cmd.commands[words.pop(0)]
    options = {o for p in cmd.params for o in getattr(p, "opts", [])}
    return not hasattr(cmd, "commands") and all(w in options for w in words if w.startswith("--"))


def test_compose_services_run_real_commands_with_known_settings() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    commands = [s["command"] for s in compose["services"].values()
                if s.get("command", [""])[0] == "cargowatch"]  # fmt: skip
    assert len(commands) == 2 and all(_runs(c[1:]) for c in commands)
    known = {f"CARGOWATCH_{n.upper()}" for n in Settings.model_fields}
    env = [line.split("=", 1)[0] for line in (DEPLOY / "cargowatch.env.example").read_text()
           .splitlines() if line and not line.startswith("#")]  # fmt: skip
    assert {e for e in env if e.startswith("CARGOWATCH_")} <= known
    assert not _runs(["worker", "--no-such-option"])


def test_systemd_units_run_real_commands() -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        start = next(line for line in unit.read_text().splitlines()
                     if line.startswith("ExecStart="))  # fmt: skip
        argv = start.split("=", 1)[1].split()
        assert argv[0].endswith("/cargowatch") and _runs(argv[1:]), unit.name
