"""Legitimate twins: honest events that leave the same traces as a crime.

Every trace a planted crime leaves also happens on honest trips (a young importer, a haulier's
subcontractor, a carrier's reseal, a night shift, a reefer check at a depot, a GPS fix that jumps
kilometres), so that no single trace gives a crime away and targeting has to weigh them. Each
twin has a default rate, scaled by the world's noise level (--noise low, default or high)."""

from __future__ import annotations

from dataclasses import dataclass

# multiplier of every twin's rate per noise level
NOISE_LEVELS = {"low": 0.4, "default": 1.0, "high": 2.5}


@dataclass(frozen=True)
class Twin:
    """One kind of honest event and the crime traces it resembles."""

    name: str
    rate: float  # chance per unit (per), at the default noise level
    per: str  # what the rate counts: trip, device trip, trip picked up, person-day
    mimics: tuple[str, ...]  # crime traces (scenario truth names) it leaves too
    what: str  # one line for the docs


TWINS: dict[str, Twin] = {
    t.name: t
    for t in (
        Twin(
            "new_importer",
            0.004,
            "trip",
            ("recently_registered_consignee", "not_aeo_certified", "first_trade_on_lane"),
            "an honest importer registered weeks or months ago starts trading (often without AEO)",
        ),
        Twin(
            "notify_is_consignee",
            0.06,
            "trip",
            ("notify_party_is_consignee",),
            "the consignee names itself as notify party",
        ),
        Twin(
            "subcontracted_pickup",
            0.02,
            "trip picked up",
            ("pickup_by_party_without_release_right",),
            "the haulier holding the release sends a subcontractor (some not in the register)",
        ),
        Twin(
            "double_dispatch",
            0.25,
            "subcontracted pick-up",
            ("pickup_attempt_after_container_gone",),
            "after a subcontractor collected, the original haulier still turns up for the box",
        ),
        Twin(
            "release_changed_by_agent",
            0.02,
            "trip picked up",
            ("release_modified_by_unusual_actor",),
            "a forwarder or customs broker changes the release on the consignee's behalf",
        ),
        Twin(
            "quick_pickup",
            0.03,
            "trip picked up",
            ("early_pickup_after_discharge",),
            "a fast-track consignee collects within hours of discharge",
        ),
        Twin(
            "long_dwell",
            0.05,
            "trip",
            ("long_dwell_at_destination",),
            "the box waits days at the destination terminal (customs hold, free time, no truck)",
        ),
        Twin(
            "long_inland_leg",
            0.05,
            "trip",
            ("late_gate_in_after_long_inland_leg",),
            "the truck from the packhouse is held up for hours (roads, queues, papers)",
        ),
        Twin(
            "carrier_reseal",
            0.012,
            "trip",
            (
                "seal_changed_before_load",
                "seal_changed_at_transshipment",
                "seal_changed_between_discharge_and_gate_out",
                "reseal_without_inspection",
                "seal_mismatch_at_handover",
            ),
            "a carrier replaces a damaged seal at a terminal (an RSEA event or none at all), "
            "with no inspection on record",
        ),
        Twin(
            "seal_from_batch",
            0.012,
            "trip",
            ("seal_at_gate_in_differs_from_declared", "seal_mismatch_at_handover"),
            "the shipper uses another seal of its batch than the one typed on the B/L",
        ),
        Twin(
            "seal_added",
            0.01,
            "trip",
            ("seal_mismatch_at_handover", "seal_changed_at_transshipment"),
            "a second seal is added at a hand-over (the first stays on)",
        ),
        Twin(
            "phyto_check",
            0.03,
            "trip",
            (
                "door_opened_in_terminal_yard",
                "door_opened_at_destination_terminal",
                "door_opened_at_hub",
            ),
            "a phytosanitary or veterinary check opens the door in a terminal; no customs "
            "inspection is recorded",
        ),
        Twin(
            "depot_check",
            0.3,
            "device trip",
            ("door_opened_outside_any_site",),
            "a reefer pre-trip inspection or cleaning opens the empty box at or near a depot",
        ),
        Twin(
            "unlisted_premises",
            0.06,
            "device trip",
            ("door_opened_outside_any_site",),
            "the consignee strips at an address no site register lists, hours away from the "
            "reported stripping (or its event is missing)",
        ),
        Twin(
            "roadside_check",
            0.015,
            "device trip",
            ("door_opened_outside_any_site", "unplanned_stop_on_inland_leg"),
            "police, a road check or the driver opens the door on the road",
        ),
        Twin(
            "rest_stop",
            0.1,
            "device trip",
            ("unplanned_stop_on_inland_leg",),
            "the driver stops for an hour or more where no site is",
        ),
        Twin(
            "gps_outlier",
            0.06,
            "device trip",
            ("door_opened_outside_any_site",),
            "one position fix jumps kilometres away (sometimes the fix of a door opening)",
        ),
        Twin(
            "overtime",
            0.012,
            "person-day",
            ("insider_access",),
            "a terminal employee works an extra shift at hours they rarely work",
        ),
        Twin(
            "zone_cover",
            0.004,
            "person-day",
            ("insider_access",),
            "an employee covers a colleague in a zone their badge is not meant for",
        ),
        Twin(
            "late_revocation",
            0.3,
            "leaver",
            ("badge_after_employment",),
            "a leaver's badge is not revoked and keeps opening doors for some days",
        ),
        Twin(
            "badge_glitch",
            0.003,
            "person-day",
            ("insider_access",),
            "a badge is refused and then granted moments later",
        ),
        Twin(
            "number_misread",
            0.002,
            "trip",
            ("same_number_in_two_places",),
            "a terminal keys another box's number for a container's whole visit",
        ),
        Twin(
            "size_type_misreported",
            0.005,
            "trip",
            ("different_size_type",),
            "one event reports another ISO size-type for the box",
        ),
        Twin(
            "empty_leg",
            0.1,
            "trip",
            (),
            "an empty box is repositioned between depots: one or two events, no booking",
        ),
    )
}


def level(noise: str) -> float:
    """The rate multiplier of a noise level."""
    try:
        return NOISE_LEVELS[noise]
    except KeyError:
        raise ValueError(f"noise must be one of {', '.join(NOISE_LEVELS)}, got {noise!r}") from None
