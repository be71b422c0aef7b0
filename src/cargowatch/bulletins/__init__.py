"""Bulletins on emerging threats: marked, sent to groups, turned into watchlists."""
