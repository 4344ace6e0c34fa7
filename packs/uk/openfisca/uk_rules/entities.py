"""Who the rules apply to: people, and the households they live in."""

from openfisca_core.entities import build_entity

Household = build_entity(
    key="household",
    plural="households",
    label="People who live together",
    roles=[
        {"key": "adult", "plural": "adults", "label": "Adults"},
        {"key": "child", "plural": "children", "label": "Children"},
    ],
)

Person = build_entity(key="person", plural="persons", label="A person", is_person=True)

entities = [Household, Person]
