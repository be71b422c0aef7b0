"""A trip's file: gathered once for its page and its exports."""
