"""Ingest adapters, one module per format, registered in ADAPTERS."""
