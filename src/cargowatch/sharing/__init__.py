"""Explicit sharing of records between organisations."""
