"""Database: engine, sessions, portable column types and migrations."""
