"""Sample inputs shipped with cargowatch: DCSA's public Track & Trace and eBL examples
(Apache-2.0) and an SMDG COARRI interchange (LGPL-3.0); sources in MANIFEST.tsv."""

from pathlib import Path

SAMPLES = Path(__file__).parent
