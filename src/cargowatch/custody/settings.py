"""Thresholds of the custody checks (documented in docs/custody.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CustodySettings:
    """Thresholds of the custody checks (documented in docs/custody.md)."""

    gap_hours: dict[str, float] = field(
        default_factory=lambda: {
            "haulier": 48,
            "shipper": 72,
            "terminal": 240,
            "vessel": 1080,
            "consignee": 120,
            "depot": 1440,
        }
    )
    destination_dwell_hours: float = 96
    quick_pickup_hours: float = 6
    planned_window_hours: float = 3
    light_lux_open: float = 50
    shock_g: float = 3.0
    stop_radius_m: float = 300
    stop_minutes: float = 45
    clone_overlap_hours: float = 12
    gps_tolerance_m: float = 250  # geofences are widened by this for position jitter
    outlier_speed_kmh: float = 150  # a fix reached faster than this from both sides is an outlier
    outlier_min_m: float = 3000  # ... when it is at least this far from both neighbours
    planned_place_m: float = 1500  # an opening this close to a reported stuffing or stripping
    # places where the doors of many unrelated consignees' boxes are opened: candidate sites
    common_place_cell_deg: float = 0.01  # grid cell (about 1 km)
    common_place_min_consignees: int = 3
    reseal_inspection_hours: float = 12  # an inspection this close to a seal change explains it


def custody_settings() -> CustodySettings:
    """The thresholds in force: CARGOWATCH_CUSTODY_SETTINGS (a TOML file) over the defaults."""
    from cargowatch.config import get_settings, settings_file

    return settings_file(CustodySettings, get_settings().custody_settings)
