"""Reference partner systems. Each runs as its own process and talks to the platform only
over its public API."""
