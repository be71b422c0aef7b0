"""The caller every service read and write goes through."""

from __future__ import annotations

from dataclasses import dataclass

from cargowatch.exceptions import PermissionDenied

ROLES = ("admin", "analyst", "viewer", "ingester")

# What each role may do; admin manages its own organisation's users and tokens.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"events:read", "events:write", "quarantine:read", "quarantine:write", "users:manage",
         "shares:manage", "audit:read"}
    ),
    "analyst": frozenset(
        {"events:read", "events:write", "quarantine:read", "quarantine:write", "shares:manage"}
    ),
    "viewer": frozenset({"events:read"}),
    "ingester": frozenset({"events:write", "quarantine:read", "quarantine:write"}),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Principal:
    """A user acting for an organisation in a role."""

    user_id: int
    username: str
    org_id: int
    org_slug: str
    role: str

    @property
    def label(self) -> str:
        """How the audit log names this caller."""
        return f"{self.username}@{self.org_slug}"

    def can(self, permission: str) -> bool:
        """Whether this caller's role grants permission."""
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        """Raise PermissionDenied unless this caller's role grants permission."""
        if not self.can(permission):
            raise PermissionDenied(f"{self.label} ({self.role}) may not {permission}")
