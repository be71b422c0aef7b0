"""Weights, thresholds and lane lists of risk scoring (documented in docs/risk.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


def _origins() -> list[str]:
    # Countries whose ports are the usual departure points of cocaine shipments to Europe
    # (UNODC World Drug Report; EMCDDA/Europol EU Drug Markets: Cocaine).
    return [
        "BO",
        "BR",
        "CL",
        "CO",
        "CR",
        "DO",
        "EC",
        "GY",
        "HN",
        "MX",
        "PA",
        "PE",
        "PY",
        "SR",
        "UY",
        "VE",
    ]


def _hubs() -> list[str]:
    # Transshipment ports through which such shipments are routed to hide their origin.
    return [
        "PAMIT",
        "PABLB",
        "PACTB",
        "PAONX",
        "JMKIN",
        "DOCAU",
        "BSFPO",
        "MAPTM",
        "ESALG",
        "ESVLC",
        "PTSIE",
        "GRPIR",
        "TRMER",
        "MTMAR",
        "ITGIT",
    ]


def _commodities() -> list[str]:
    # HS headings often used as cover loads: bananas, fruit, coffee, cocoa, seafood, timber.
    return ["0803", "0804", "0805", "0810", "0901", "1801", "0306", "0303", "4407", "2008"]


@dataclass(frozen=True)
class RiskSettings:
    """Everything risk scoring weighs; a TOML file (CARGOWATCH_RISK_SETTINGS) overrides it."""

    # contribution of a custody alert by its severity (1 note .. 5 act now), before the weight
    severity_scores: dict[str, float] = field(
        default_factory=lambda: {"1": 0.03, "2": 0.12, "3": 0.35, "4": 0.6, "5": 0.85}
    )
    # a multiplier per rule slug (1.0 when absent); 0 switches a rule off
    weights: dict[str, float] = field(default_factory=dict)
    high_risk_origins: list[str] = field(default_factory=_origins)
    transshipment_hubs: list[str] = field(default_factory=_hubs)
    cover_commodities: list[str] = field(default_factory=_commodities)
    origin_score: float = 0.04
    hub_score: float = 0.04
    commodity_score: float = 0.03
    unusual_itinerary_share: float = 0.02  # an itinerary used by less than this share ...
    unusual_itinerary_min_trips: int = 50  # ... of a commodity's trips, when it has this many
    unusual_itinerary_score: float = 0.12
    dwell_quantile: float = 0.97  # a stay longer than this quantile of its facility's stays
    dwell_min_stays: int = 30  # facilities with fewer stays have no norm yet
    dwell_score: float = 0.15
    recent_registration_days: int = 365
    recent_registration_score: float = 0.3
    weeks_before_days: int = 90  # registered this close to the booking: set up for it?
    weeks_before_score: float = 0.4
    not_aeo_score: float = 0.08
    first_trade_score: float = 0.1
    first_trade_history_days: int = 30  # a lane needs this much history before a first trade counts
    notify_is_consignee_score: float = 0.04
    consignee_changed_score: float = 0.2  # the bill of lading names another consignee
    notify_changed_score: float = 0.1
    # all three at once (new, uncertified, first trade on the lane) is a front company's profile
    front_company_score: float = 0.5
    # insider exposure: a badge swipe that breaks its holder's pattern while the container was there
    insider_scores: dict[str, float] = field(
        default_factory=lambda: {
            "after-employment": 0.6,
            "vetting": 0.15,  # added to another kind when the holder's vetting has lapsed
            "unauthorised-zone": 0.45,
            "off-shift": 0.35,
            "denied-then-granted": 0.12,
            "denied": 0.05,
            "unknown-badge": 0.3,
        }
    )
    off_shift_share: float = 0.03  # an hour of day (or zone) the badge uses less than this share
    off_shift_min_swipes: int = 20  # badges with fewer swipes have no pattern yet
    retry_minutes: float = 30  # a denied swipe then a granted one within this is one attempt
    insider_near_hours: float = 3  # a swipe this close to a custody alert of the trip weighs full
    insider_far_factor: float = 0.35  # otherwise this share, divided by the containers present
    network_scores: dict[str, float] = field(
        default_factory=lambda: {
            "badge": 0.4,
            "truck": 0.35,
            "consignee": 0.2,
            "shipper": 0.1,
            "seal": 0.4,
        }
    )
    network_max_trips: int = 50  # an entity shared by more trips (a big consignee) links none
    anomaly_top_share: float = 0.1  # only the top share of a lane's anomaly ranks is a finding
    # learning what findings are worth (docs/risk.md, "The score")
    prior_base_rate: float = 0.005  # prior chance that a trip with no finding is contaminated
    prior_logodds_per_score: float = 8.0  # a finding's prior log-odds weight per unit of strength
    prior_rarity: float = 0.1  # share of crimes one finding may catch, at most, a priori
    rarity_pseudo_trips: int = 200  # how many trips a finding's firing share is smoothed over
    rarity_prior_share: float = 0.01  # ... towards this share (a store of a few trips)
    # how far outcomes may move a weight: as far as prior_strength inspections would hold it,
    # within these bounds (log-odds)
    prior_sd_min: float = 0.75
    prior_sd_max: float = 2.5
    intercept_sd: float = 2.0
    anomaly_prior: float = 0.4  # prior log-odds weight of the lane anomaly finding
    prior_strength: float = 4.0  # inspections a finding's prior counts as
    outcome_window_days: int = 365  # outcomes older than this teach nothing
    max_sample_weight: float = 3.0  # cap of an outcome's inverse-propensity weight (x mean)
    boost_min_positives: int = 25  # seizures before the boosted model may join the blend
    explore_share: float = 0.1  # share of the queue picked to explore (an organisation's own wins)
    reasons_kept: int = 5  # reasons stored with each score


def risk_settings() -> RiskSettings:
    """The settings in force: CARGOWATCH_RISK_SETTINGS (a TOML file) over the defaults."""
    from cargowatch.config import get_settings, settings_file

    return settings_file(RiskSettings, get_settings().risk_settings)
