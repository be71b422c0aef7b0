"""Organisations: Customs, port authorities, terminals, carriers, exporters."""
