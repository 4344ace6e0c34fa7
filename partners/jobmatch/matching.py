"""Ranking jobs and paths back to work for a pseudonymous profile.

Similarity is BM25 over the ESCO occupation texts (labels and descriptions): the query
is the person's occupation and skills; a second query, their aspirations. A posting's
fit combines skill similarity, aspiration similarity, distance (haversine, within the
person's radius) and wage fit. Each match says why: the words its occupation shares
with the person's profile, the distance and the wage.

Paths:
- ``direct``: a job in the person's own occupation, or one very like it;
- ``adjacent``: a job in a related occupation, where their skills carry over;
- ``training``: a course, then a job, for an occupation they aspire to but are not
  trained for.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .market import Market, Occupation, haversine_miles, town

STOP = frozenset("""a an and are as at be by for from has have in into is it its of on or that the their them
they this to was were which who will with within such other others also use using used work works working
including include includes may can must well e g ie etc new various different related types""".split())
_WORD = re.compile(r"[a-z][a-z]+")
DEFAULT_RADIUS = 10
SPREAD = 3.5  # postings lie within 3 miles of their town's middle (market.generate)
DIRECT, ADJACENT = 0.7, 0.3  # skill similarity, as a share of the best, for each kind of path
WEIGHTS = {"skills": 0.55, "aspirations": 0.2, "distance": 0.15, "wage": 0.1}


def stem(word: str) -> str:
    for suffix in ("ing", "ers", "er", "ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokens(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP]


class Bm25:
    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.lengths = []
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, doc in enumerate(docs):
            counts = Counter(tokens(doc))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((i, tf))
        self.n = len(docs)
        self.avg = sum(self.lengths) / max(1, self.n)
        self.idf = {t: math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def contribution(self, term: str, tf: int, doc: int) -> float:
        norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.avg)
        return self.idf[term] * tf * (self.k1 + 1) / norm

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for term in set(query):
            for doc, tf in self.postings.get(term, ()):
                out[doc] += self.contribution(term, tf, doc)
        return out

    def shared(self, query: Sequence[str], doc: int, words: dict[str, str], top: int = 3) -> list[str]:
        """The query's words that count most towards this document's score, as the person wrote them."""
        found = []
        for term in set(query):
            for d, tf in self.postings.get(term, ()):
                if d == doc:
                    found.append((self.contribution(term, tf, doc), words.get(term, term)))
                    break
        return [w for _, w in sorted(found, reverse=True)[:top]]


def _normalised(scores: dict[int, float]) -> dict[int, float]:
    best = max(scores.values(), default=0.0)
    return {k: v / best for k, v in scores.items()} if best > 0 else {}


def _words(text: str) -> dict[str, str]:
    return {stem(w): w for w in _WORD.findall(text.lower()) if w not in STOP}


@dataclass(eq=False)
class Matcher:
    market: Market
    occupations: Sequence[Occupation]

    def __post_init__(self) -> None:
        self.index = Bm25([o.text for o in self.occupations])
        self.by_town: dict[str, list] = defaultdict(list)
        for p in self.market.postings:
            self.by_town[p.town].append(p)
        self.town_at = {p.town: town(p.town) for p in self.market.postings}

    def add(self, posting) -> None:
        """A new posting joins the market (and the town index), so later plans may include it."""
        self.market.postings.append(posting)
        self.by_town[posting.town].append(posting)
        self.town_at.setdefault(posting.town, town(posting.town))
        self.nearby.cache_clear()

    @lru_cache(maxsize=1024)  # noqa: B019 - one matcher lives as long as the process; ``add`` clears it
    def nearby(self, home: str, radius: float) -> tuple[tuple[tuple[float, Any], ...], tuple[tuple[Any, float], ...]]:
        """The postings within ``radius`` miles of the town ``home`` with their distances, and every course
        with its distance: people from one town share these, so each plan no longer measures them again."""
        at = town(home)
        near = tuple((miles, p) for name, t in self.town_at.items()
                     if haversine_miles(at.lat, at.lon, t.lat, t.lon) <= radius + SPREAD
                     for p in self.by_town[name]
                     for miles in (haversine_miles(at.lat, at.lon, p.lat, p.lon),) if miles <= radius)
        courses = tuple((c, haversine_miles(at.lat, at.lon, c.lat, c.lon)) for c in self.market.courses)
        return near, courses

    @lru_cache(maxsize=8192)  # noqa: B019 - one matcher lives as long as the process
    def similarity(self, text: str) -> dict[int, float]:
        """Each occupation's similarity to the text, 0 to 1; people who share an occupation share this."""
        return _normalised(self.index.scores(tokens(text)))

    def similar_occupations(self, text: str, top: int = 10) -> list[tuple[str, float]]:
        scores = self.similarity(text)
        best = sorted(((s, i) for i, s in scores.items() if not self.occupations[i].group), reverse=True)[:top]
        return [(self.occupations[i].label, round(s, 3)) for s, i in best]

    def plan(self, profile: dict[str, Any], top_jobs: int = 10, top_paths: int = 5) -> dict[str, Any]:
        home = town(str(profile.get("home_area") or ""))
        if home is None:
            raise ValueError(f"home area {profile.get('home_area')!r} is not a town we know")
        radius = float(profile.get("travel_radius_miles") or DEFAULT_RADIUS)
        skills_text = " ".join(str(profile.get(k) or "") for k in ("occupation", "skills"))
        aspirations = str(profile.get("aspirations") or "")
        skill = self.similarity(skills_text)
        wish = self.similarity(aspirations) if aspirations else {}
        expected = profile.get("expected_wage_pence")
        words = {**_words(skills_text), **_words(aspirations)}
        jobs, paths = [], []
        near, courses = self.nearby(home.name, radius)
        for miles, p in near:
            s, a = skill.get(p.occupation, 0.0), wish.get(p.occupation, 0.0)
            if max(s, a) < ADJACENT:
                continue
            kind = "direct" if s >= DIRECT else "adjacent" if s >= ADJACENT else "aspiration"
            wage_fit = 1 - min(1.0, abs(p.wage_pence - expected) / expected) if expected else 0.5
            fit = (WEIGHTS["skills"] * s + WEIGHTS["aspirations"] * a + WEIGHTS["distance"] * (1 - miles / radius)
                   + WEIGHTS["wage"] * wage_fit)
            jobs.append((fit, kind, miles, s, a, p))
        for fit, kind, miles, _s, a, p in sorted(jobs, key=lambda j: -j[0]):
            if kind != "aspiration":
                continue
            near = [(m, c) for c, m in courses if c.occupation == p.occupation and m <= radius]
            if near:
                m, c = min(near, key=lambda x: x[0])
                paths.append(self._path(fit, p, miles, c, m, a))
        ranked = [self._job(fit, kind, miles, s, p, words) for fit, kind, miles, s, a, p in
                  sorted(jobs, key=lambda j: -j[0]) if kind != "aspiration"]
        seen, unique_paths = set(), []
        for path in paths:
            if path["job"]["occupation"] not in seen:
                seen.add(path["job"]["occupation"])
                unique_paths.append(path)
        return {"radius_miles": radius, "home_area": home.name, "options": len(ranked) + len(unique_paths),
                "jobs": ranked[:top_jobs], "paths": unique_paths[:top_paths]}

    def _job(self, fit: float, kind: str, miles: float, s: float, p, words: dict[str, str]) -> dict[str, Any]:
        shared = self.index.shared(list(words), p.occupation, words)
        why = (f"{kind} match: shares {', '.join(shared) or 'general skills'} with your experience; "
               f"{_distance(miles)} away; £{p.wage_pence / 100:,.0f} a year")
        return {"id": p.id, "title": p.title, "employer": p.employer, "town": p.town, "kind": kind,
                "occupation": self.occupations[p.occupation].id, "fit": round(fit, 3),
                "miles": round(miles, 1), "wage_pence": p.wage_pence, "hours": p.hours, "shared_skills": shared,
                "why": why}

    def _path(self, fit: float, p, miles: float, course, course_miles: float, a: float) -> dict[str, Any]:
        return {"kind": "training", "fit": round(fit, 3),
                "course": {"id": course.id, "title": course.title, "provider": course.provider,
                           "town": course.town, "weeks": course.weeks, "miles": round(course_miles, 1)},
                "job": {"id": p.id, "title": p.title, "employer": p.employer, "town": p.town,
                        "occupation": self.occupations[p.occupation].id, "miles": round(miles, 1),
                        "wage_pence": p.wage_pence},
                "why": f"you said you would like to work as {_a(p.title)}: a {course.weeks}-week course "
                       f"{_distance(course_miles)} away leads to jobs like this one, {_distance(miles)} away"}


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _distance(miles: float) -> str:
    """A distance as people say it: "less than a mile", "1 mile", "3 miles"."""
    n = int(miles + 0.5)
    return "less than a mile" if miles < 1 else ("1 mile" if n == 1 else f"{n} miles")
