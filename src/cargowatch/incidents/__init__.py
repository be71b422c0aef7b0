"""Incidents: the seizure database, post-incident analysis and insider link analysis."""
