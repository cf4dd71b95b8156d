"""Replay fixtures of real providers: local HTTP servers answering as their documentation shows."""
