"""The canonical event store every source is mapped into."""
