"""Typed registries for the extension points (ingest adapters, later rules and notifiers)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> implementation, built-ins registered explicitly, third parties by entry point."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._items: dict[str, T] = {}
        self._loaded_entry_points = False

    def register(self, name: str, item: T) -> T:
        """Add one implementation under a unique name."""
        if name in self._items and self._items[name] is not item:
            raise ValueError(f"{self.group}: {name!r} is registered twice")
        self._items[name] = item
        return item

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=self.group):
            self.register(ep.name, ep.load())

    def get(self, name: str) -> T:
        """The implementation registered under name (KeyError names the known ones)."""
        self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise KeyError(f"unknown {self.group} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load_entry_points()
        return sorted(self._items)

    def __iter__(self) -> Iterator[tuple[str, T]]:
        self._load_entry_points()
        return iter(sorted(self._items.items()))
