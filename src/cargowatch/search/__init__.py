"""One search box for every identifier an officer types: container, booking, B/L, seal, party,
truck plate, vessel, place."""
