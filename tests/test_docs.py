"""The docs name every command and every setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from cargowatch.cli import app
from cargowatch.config import Settings

DOCS = Path(__file__).parent.parent / "docs"


def _leaf_commands() -> list[str]:
    found: list[str] = []

    def walk(cmd: Any, path: list[str]) -> None:
        subs = getattr(cmd, "commands", {})
        if not subs and path:
            found.append(" ".join(path))
        for name, sub in subs.items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    missing = [c for c in _leaf_commands() if f"`cargowatch {c}" not in text]
    assert missing == []


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    missing = [
        f"CARGOWATCH_{name.upper()}"
        for name in Settings.model_fields
        if f"`CARGOWATCH_{name.upper()}`" not in text
    ]
    assert missing == []


def test_every_rule_finding_and_risk_setting_is_documented() -> None:
    import dataclasses

    from cargowatch.custody.checks import LEGS
    from cargowatch.risk.engine import RULES
    from cargowatch.risk.settings import RiskSettings

    text = (DOCS / "risk.md").read_text()
    names = [n for _, rule in RULES for n in (rule.slug, *rule.findings)]
    names += [f.name for f in dataclasses.fields(RiskSettings)]
    names += ["lane-anomaly", "model-adjustment"]
    # a finding named by a leg is documented with its base name and the legs' suffixes
    legs = tuple(f"-{leg}" for leg in LEGS)
    assert all(f"`{leg}`" in text for leg in legs)
    legged = ("seal-mismatch", "seal-changed", "reseal-without-inspection", "seal-removed")
    bases = [
        next((n.removesuffix(x) for x in legs if n.removesuffix(x) in legged), n) for n in names
    ]
    assert [n for n in bases if f"`{n}`" not in text] == []
