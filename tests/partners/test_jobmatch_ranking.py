"""The job-matching partner's ranking, against expectations a person would hold."""

from __future__ import annotations

import re

import pytest
from partners.jobmatch.market import generate, haversine_miles, occupations, town
from partners.jobmatch.matching import Matcher, tokens


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(generate("Leeds", 2000, 200, 7), occupations())


def test_a_sales_representatives_nearest_occupations_are_in_sales_not_welding(matcher):
    top = matcher.similar_occupations("sales representative: selling products to business customers, "
                                      "negotiating contracts, meeting sales targets", top=10)
    labels = [label for label, _ in top]
    assert all("sales" in label or "seller" in label or "account" in label for label in labels), labels
    assert not any("weld" in label for label in labels)


def test_a_welders_nearest_occupations_are_in_welding(matcher):
    labels = [label for label, _ in matcher.similar_occupations("welder joining metal parts by arc welding", top=5)]
    assert all("weld" in label for label in labels), labels
    assert not any("sales" in label for label in labels)


def test_the_esco_labels_were_taken_from_the_published_text():
    found = {o.label for o in occupations()}
    assert {"welder", "commercial sales representative", "assistive technologist"} <= found
    assert len(occupations()) == 3658  # every row of the published CSV


def test_distances_are_great_circle_miles():
    leeds, york = town("Leeds"), town("York")
    assert 20 < haversine_miles(leeds.lat, leeds.lon, york.lat, york.lon) < 24
    assert haversine_miles(leeds.lat, leeds.lon, leeds.lat, leeds.lon) == 0


def test_the_market_is_the_same_for_the_same_seed_and_differs_for_another():
    a, b, c = generate("Leeds", 50, 5, 7), generate("Leeds", 50, 5, 7), generate("Leeds", 50, 5, 8)
    assert a.postings == b.postings and a.postings != c.postings


def local_occupation(matcher: Matcher) -> str:
    return occupations()[matcher.market.postings[0].occupation].label


def test_a_plan_ranks_jobs_within_the_radius_and_says_why(matcher):
    plan = matcher.plan({"occupation": local_occupation(matcher), "home_area": "Leeds"})
    jobs = plan["jobs"]
    assert jobs and plan["radius_miles"] == 10 and all(j["miles"] <= 10 for j in jobs)
    assert [j["fit"] for j in jobs] == sorted((j["fit"] for j in jobs), reverse=True)
    best = jobs[0]
    assert best["kind"] == "direct" and best["shared_skills"]
    assert re.search(r"(\d+ miles|1 mile|less than a mile) away", best["why"])
    assert best["shared_skills"][0] in best["why"]


def test_aspirations_and_a_wider_radius_bring_more_options_and_training_paths(matcher):
    base = {"occupation": local_occupation(matcher), "home_area": "Leeds"}
    first = matcher.plan(base)
    wider = matcher.plan({**base, "travel_radius_miles": 20, "aspirations": "nurse caring for hospital patients"})
    assert wider["options"] > first["options"]
    assert wider["paths"] and all(p["kind"] == "training" for p in wider["paths"])
    assert "course" in wider["paths"][0]["why"]


def test_an_unknown_home_area_is_a_clear_error(matcher):
    with pytest.raises(ValueError, match="home area 'Atlantis' is not a town we know"):
        matcher.plan({"occupation": "welder", "home_area": "Atlantis"})


def test_words_are_compared_by_their_stems():
    assert tokens("Welding welders") == tokens("welding welder")
