"""Built-in risk rules, one module per family; importing this registers them."""

from cargowatch.risk.rules import (
    coherence,
    custody,
    insider,
    network,
    norms,
    parties,
    referrals,
    routing,
    watchlist,
)
from cargowatch.risk.rules.base import RULES, Finding, RiskRule

__all__ = [
    "RULES",
    "Finding",
    "RiskRule",
    "coherence",
    "custody",
    "insider",
    "network",
    "norms",
    "parties",
    "referrals",
    "routing",
    "watchlist",
]
