"""Users, roles, API tokens and the principal every read goes through."""
