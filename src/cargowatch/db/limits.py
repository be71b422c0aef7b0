"""Bounds that every identifier and count from outside is checked against at the edge, so an
out-of-range number is a 422 naming the field, never a database error."""

MAX_ID = 2**31 - 1  # the largest id an INTEGER key holds on PostgreSQL
MAX_OFFSET = 10_000_000  # deeper than any page a person reads; exports stream instead
