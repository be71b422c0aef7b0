"""Registers and logs kept as CSV by the parties: parties, sites, manifest, persons, access,
releases, inspections."""
