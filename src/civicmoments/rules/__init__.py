"""Rules: CEL conditions inside moments, and decision adapters."""
