"""The overview a security manager or targeting officer opens every morning."""
