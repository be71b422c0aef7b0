"""Ingest: adapters per format, quarantine for bad records, runs with counts."""
