"""The DCSA Track & Trace API out: the events an organisation holds or may read, served as
DCSA T&T 2.2 (`/v2/events`) and 3.0 (`/v3/events`) to partners' systems."""
