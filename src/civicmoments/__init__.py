"""Civic Moments: proactive government as durable, consented journeys."""

__version__ = "0.1.0"
