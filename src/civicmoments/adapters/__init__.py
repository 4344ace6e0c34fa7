"""Adapters: the outside world (databases, providers) behind the engine's ports."""
