"""Durable jobs: work that follows a commit (custody rebuilds, rescoring), written to the store
in the same transaction as the data it follows (an outbox), run by a worker, retried, never
lost by a kill."""
