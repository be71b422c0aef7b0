"""Sample inputs shipped with cargowatch: DCSA's public Track & Trace examples (Apache-2.0)."""

from pathlib import Path

SAMPLES = Path(__file__).parent
