"""Chain of custody: trips, custodians, the seal ledger, and the alerts risk scoring reads."""
