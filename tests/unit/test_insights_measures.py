"""The insights measures on a synthetic population, with values worked out by hand."""

from __future__ import annotations

import pytest

from civicmoments.domain.insights import (
    JourneyFacts,
    Suppressed,
    Thresholds,
    UnitCosts,
    compare,
    measures,
    percentile,
    secondary_suppression,
    split,
)

COSTS = UnitCosts(channel={"sms": 2, "letter": 80}, case_hour=3000, partner_call=5, minutes_per_case_action=15)


def population() -> list[JourneyFacts]:
    """40 journeys: 20 online reach work in 10..29 days; 20 not online, 10 of whom reach work in
    40..130 days (every tenth day); each gets one text (online) or one letter (not online)."""
    rows = []
    for i in range(20):
        rows.append(JourneyFacts(version="v1", status="completed", reached=True, outcome_days=10 + i,
                                 first_notice_days=0.01, questions=4, contacts=1, first_channel=1,
                                 channels=(("sms", 1),), online="online", age_band="25-34",
                                 awarded=True, partner_calls=1))
    for i in range(20):
        reached = i < 10
        rows.append(JourneyFacts(version="v1", status="completed" if reached else "active", reached=reached,
                                 outcome_days=40 + 10 * i if reached else None, first_notice_days=1.0,
                                 questions=4, contacts=1, channels=(("letter", 1),), online="not-online",
                                 age_band="50-64", awarded=True, applied=True, cases=1, case_actions=2,
                                 eligible=True))
    return rows


def test_each_measure_matches_the_hand_worked_value():
    got = measures(population(), 180.0, COSTS)
    impact, exp, eff = got["impact"], got["experience"], got["efficiency"]
    assert impact["journeys"] == 40 and impact["reached"] == 30
    assert impact["reached_rate"] == 0.75
    # outcome days: 10..29 and 40,50,...,130; 30 values, median between the 15th (24) and 16th (25)
    assert impact["outcome_days_median"] == 24.5
    assert impact["outcome_days_p90"] == 100  # nearest rank 27 of 30: the 7th of 40, 50, ... = 100
    assert impact["back_in_work_30d_rate"] == 0.5  # 20 of 40
    assert impact["back_in_work_90d_rate"] == 0.65  # 20 + (40..90: 6) = 26 of 40
    assert exp["first_notice_days_median"] == pytest.approx(0.505)
    assert exp["first_notice_days_p95"] == 1.0
    assert exp["questions_per_person"] == 4.0 and exp["contacts_per_person"] == 1.0
    assert exp["first_channel_rate"] == 0.5
    assert eff["zero_touch_rate"] == 0.5  # 20 awards with no application nor officer of 40
    assert eff["cases_per_100"] == 50.0
    assert eff["officer_hours"] == 10.0  # 40 actions x 15 minutes
    # 20 texts x 2p + 20 letters x 80p + 10 hours x 3000p + 20 partner calls x 5p
    assert eff["cost_pence"] == 40 + 1600 + 30000 + 100
    assert eff["cost_per_outcome_pence"] == round(31740 / 30)
    assert got["take_up"] == {"eligible": 20, "receiving": 20, "take_up_rate": 1.0}


def test_a_cell_of_fewer_than_ten_people_is_suppressed():
    got = measures(population()[:9], 180.0, COSTS)
    assert got["impact"]["journeys"] == Suppressed()
    assert got["impact"]["reached_rate"] == Suppressed()
    assert got["impact"]["outcome_days_median"] == Suppressed()
    assert str(got["efficiency"]["cost_pence"]) == "fewer than 10"
    # even a zero says something about each of nine people: every cell is withheld
    assert all(v == Suppressed() for area in got.values() for v in area.values())


def test_a_count_beside_its_total_is_suppressed_when_its_complement_is_small():
    rows = population()[:25]  # 20 reached online, 5 not online of whom 5 reached
    rows = rows[:20] + [JourneyFacts(version="v1", status="active", online="not-online")] * 5
    got = measures(rows, 180.0, COSTS)["impact"]
    assert got["journeys"] == 25
    assert got["reached"] == Suppressed()  # 25 - 20 = 5 not reached would show
    assert got["reached_rate"] == Suppressed()


def test_secondary_suppression_hides_a_second_group_so_the_first_cannot_be_subtracted():
    assert secondary_suppression({"a": 30, "b": 12, "c": 4}) == {"b", "c"}
    assert secondary_suppression({"a": 30, "b": 3, "c": 4}) == {"b", "c"}
    assert secondary_suppression({"a": 30, "b": 12}) == set()


def test_a_split_by_online_flags_the_group_left_behind():
    rows = population() + [JourneyFacts(version="v1", status="active", online="unknown")] * 5
    got = split(rows, "online", 180.0, COSTS, Thresholds())
    assert got["unknown"]["people"] == Suppressed()
    # the 5 unknown alone would be total less the others: the next smallest group hides too
    assert sum(isinstance(g["people"], Suppressed) for g in got.values()) == 2
    rows = population()
    got = split(rows, "online", 180.0, COSTS, Thresholds())
    assert got["online"]["people"] == 20 and got["not-online"]["people"] == 20
    assert any("objective reached 50%" in f for f in got["not-online"]["flags"])
    assert any("median time to outcome" in f for f in got["online"]["flags"])


def test_comparing_two_versions_shows_the_change_and_never_differences_a_hidden_cell():
    v1 = population()
    v2 = [JourneyFacts(**{**r.__dict__, "version": "v2", "questions": 3}) for r in v1]
    got = compare(v1, v2, 180.0, COSTS)
    assert got["experience"]["questions_per_person"] == {"from": 4.0, "to": 3.0, "change": -1.0}
    small = compare(v1, v2[:5], 180.0, COSTS)
    assert small["impact"]["journeys"]["change"] is None


def test_percentile_is_nearest_rank():
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile([], 50) is None
