"""The second world generator (scripts/otherworld.py), written apart from our simulator, and
`cargowatch incidents judge` on what it makes: seizures come in through inspections.csv, every
seizure's windows contain the act, and the figures the issue asks for are printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cargowatch.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_a_world_of_another_generator_is_judged_from_its_own_seizures(tmp_path: Path) -> None:
    world = tmp_path / "other"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "otherworld.py"), "--out", str(world),
                    "--trips", "2500", "--days", "70", "--seed", "5"], check=True)  # fmt: skip
    truth = json.loads((world / "truth.json").read_text())
    seized = [s for s in truth["scenarios"] if s.get("seized_at")]
    assert seized and truth["generator"] == "otherworld"
    result = CliRunner().invoke(app, ["incidents", "judge", str(world),
                                      "--store", str(tmp_path / "store.db")])  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads((world / "incidents-judged.json").read_text())
    assert got["seizures_from"] == "the world's inspections"
    assert got["seizures"] == len(seized)  # each seizure row became one incident, on its trip
    assert got["windows_contain_act"] == 1.0
    with_insider = sum(1 for s in seized if s["persons"])
    assert got["seizures_with_insider"] == with_insider
    assert 0.0 <= got["insider_in_first_10"] <= 1.0
    assert got["planted_corrupt_insiders"] == len(truth["insiders"])
