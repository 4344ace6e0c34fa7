"""The pure model: no I/O, no frameworks, only the standard library."""
