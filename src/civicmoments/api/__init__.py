"""The HTTP API, versioned under /v1."""
