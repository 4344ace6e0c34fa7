"""Packs: a jurisdiction's event schemas, moments and simple rules, read from YAML."""

from .loader import Pack, PackError, load_pack

__all__ = ["Pack", "PackError", "load_pack"]
