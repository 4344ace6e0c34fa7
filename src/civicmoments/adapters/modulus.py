"""Vocalink's modulus tables, read from the pack (``payments/payments.yaml`` names and dates them)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ..domain.bank_accounts import ModulusTables


@lru_cache(maxsize=4)
def tables(pack_dir: Path) -> ModulusTables:
    """The weight and substitution tables of the pack at ``pack_dir``. Raises FileNotFoundError if absent."""
    folder = Path(pack_dir) / "payments"
    meta = yaml.safe_load((folder / "payments.yaml").read_text(encoding="utf-8"))["tables"]
    with open(folder / meta["weights"], encoding="ascii") as w, open(folder / meta["substitutions"],
                                                                     encoding="ascii") as s:
        return ModulusTables.parse(w, s, str(meta["dated"]))


def settings(pack_dir: Path) -> dict:
    """The pack's payment settings (hold days, code lifetime, file size)."""
    doc = yaml.safe_load((Path(pack_dir) / "payments" / "payments.yaml").read_text(encoding="utf-8"))
    return {k: v for k, v in doc.items() if k != "tables"}
