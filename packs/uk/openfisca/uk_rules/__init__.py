"""The UK reference rules as an OpenFisca tax-benefit system.

Entities are person and household. Variables live in variables/, parameters in
parameters/ (YAML, each value dated and referenced). ``build_system()`` assembles them.
"""

from __future__ import annotations

from pathlib import Path

from openfisca_core.taxbenefitsystems import TaxBenefitSystem

from .entities import entities

HERE = Path(__file__).resolve().parent


class UkRules(TaxBenefitSystem):
    def __init__(self) -> None:
        super().__init__(entities)
        self.add_variables_from_directory(str(HERE / "variables"))
        self.load_parameters(str(HERE / "parameters"))


def build_system() -> UkRules:
    return UkRules()
