"""cargowatch: chain of custody and risk targeting for maritime containers."""

__version__ = "0.1.0"
