"""The job market the partner knows: ESCO occupations, towns, and synthetic postings and courses.

Postings and courses are generated, seeded so that every run is the same. A local
economy is a few hundred occupations; postings are spread over the towns around a
centre, a few miles from each town's middle, with a yearly wage for the occupation.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
EARTH_RADIUS_MILES = 3958.8


@dataclass(frozen=True)
class Occupation:
    id: str
    label: str
    group: bool
    text: str


@dataclass(frozen=True)
class Town:
    name: str
    lat: float
    lon: float
    population: int


@dataclass(frozen=True)
class Posting:
    id: str
    occupation: int  # index into the occupations
    title: str
    employer: str
    town: str
    lat: float
    lon: float
    wage_pence: int  # a year
    hours: int  # a week


@dataclass(frozen=True)
class Course:
    id: str
    occupation: int
    title: str
    provider: str
    town: str
    lat: float
    lon: float
    weeks: int


# ESCO preferred labels the data file cut at a comma or turned round, as ESCO publishes them.
PUBLISHED = {
    "57e87533-e523-4ee5-bf21-94a39fcc279b": "health, safety and environmental manager",
    "95cda6a9-a70a-4a93-9442-11d573cb4a02": "midwife",
    "bd7c070b-333f-4b9d-a70a-25f135ff931e": "furniture, carpets and lighting equipment distribution manager",
}


@lru_cache(maxsize=1)
def occupations() -> tuple[Occupation, ...]:
    with gzip.open(DATA / "occupations.json.gz", "rt", encoding="utf-8") as f:
        return tuple(Occupation(**{**o, "label": PUBLISHED.get(o["id"], o["label"])}) for o in json.load(f))


@lru_cache(maxsize=1)
def towns() -> dict[str, Town]:
    rows = json.loads((DATA / "towns.json").read_text())
    return {t["name"].lower(): Town(**t) for t in rows}


def town(name: str) -> Town | None:
    return towns().get(name.strip().lower())


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(a))


def _offset(lat: float, lon: float, miles: float, bearing: float) -> tuple[float, float]:
    d = miles / EARTH_RADIUS_MILES
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return round(math.degrees(p2), 5), round(math.degrees(l2), 5)


def yearly_wage(occupation: Occupation) -> int:
    """A stable wage for an occupation: £21,000 to £48,000, from its id."""
    h = int(hashlib.sha256(occupation.id.encode()).hexdigest()[:8], 16)
    return (21_000 + (h % 28) * 1_000) * 100


EMPLOYERS = ["Aire Valley", "Northern", "Pennine", "Riverside", "Crown", "Ridings", "Moorside", "Canal Wharf",
             "Castle", "Millbank"]
KINDS = ["Ltd", "Group", "Services", "Works", "Partners", "Co-operative"]
PROVIDERS = ["City College", "Further Education Centre", "Skills Academy", "Training Trust"]


@dataclass
class Market:
    centre: Town
    economy: list[int]  # occupation indices of the local economy
    postings: list[Posting]
    courses: list[Course]


def generate(centre: str, postings: int = 2000, courses: int = 200, seed: int = 7, radius_miles: float = 20,
             economy_size: int = 300) -> Market:
    """A seeded local market around a town: the same arguments give the same market."""
    home = town(centre)
    if home is None:
        raise ValueError(f"no town called {centre!r} in the towns data")
    rng = random.Random(seed)
    near = [t for t in towns().values() if haversine_miles(home.lat, home.lon, t.lat, t.lon) <= radius_miles]
    weights = [t.population for t in near]
    jobs = [i for i, o in enumerate(occupations()) if not o.group]
    economy = rng.sample(jobs, min(economy_size, len(jobs)))
    occ = occupations()
    out_postings = []
    for n in range(postings):
        t = rng.choices(near, weights)[0]
        o = rng.choice(economy)
        lat, lon = _offset(t.lat, t.lon, rng.uniform(0, 3), rng.uniform(0, 2 * math.pi))
        wage = int(yearly_wage(occ[o]) * rng.uniform(0.9, 1.15)) // 100 * 100
        out_postings.append(Posting(f"job-{seed}-{n}", o, occ[o].label, f"{rng.choice(EMPLOYERS)} {rng.choice(KINDS)}",
                                    t.name, lat, lon, wage, rng.choice([37, 37, 37, 30, 24, 16])))
    out_courses = []
    for n in range(courses):
        t = rng.choices(near, weights)[0]
        o = rng.choice(economy)
        lat, lon = _offset(t.lat, t.lon, rng.uniform(0, 2), rng.uniform(0, 2 * math.pi))
        article = "an" if occ[o].label[:1] in "aeiou" else "a"
        out_courses.append(Course(f"course-{seed}-{n}", o, f"Becoming {article} {occ[o].label}",
                                  f"{t.name} {rng.choice(PROVIDERS)}", t.name, lat, lon, rng.choice([4, 8, 12, 26])))
    return Market(home, economy, out_postings, out_courses)
