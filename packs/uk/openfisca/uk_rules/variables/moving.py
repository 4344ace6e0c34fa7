"""Moving home: which agencies may be told of a new address."""

from openfisca_core.periods import DAY
from openfisca_core.variables import Variable
from uk_rules.entities import Person


class address_confidential(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "The person's address is protected by a confidentiality marker (for example, at risk of harm)"
    reference = "Representation of the People Act 1983, s.9B (anonymous registration)"


class onward_telling_allowed(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "A new address may be passed to every agency with an agreement to be told"
    reference = "UK GDPR Art. 6(1)(e) and Art. 21; Local Government Finance Act 1992, Sch. 2 (council tax)"
    documentation = """
    False for a person with a confidentiality marker: only the agencies the law requires (the
    council, for council tax) are told.
    """

    def formula(person, period, parameters):
        return ~person("address_confidential", period)
