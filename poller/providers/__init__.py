"""Listening providers the poller reads: one folder each (client, normalizer, source)."""
