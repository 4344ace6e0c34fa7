"""People's names as text to compare: one written form for what people mean as the same.

``normalise_name`` applies Unicode NFKC, reads every typographic apostrophe (’ ‘ ʼ ′ ＇ `) as
', every hyphen and dash (‐ ‑ ‒ – — ― − ﹣ －) as -, makes case irrelevant (casefold)
and collapses white space. So O’Brien is O'Brien and Llewellyn–Jones is Llewellyn-Jones.
Accents are kept: Zoë and Zoe may be different people.
"""

from __future__ import annotations

import unicodedata

APOSTROPHES = "\u2019\u2018\u02bc\u2032\uff07\u0060\u00b4\u201b"
HYPHENS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\u00ad"
_TABLE = str.maketrans({**{c: "'" for c in APOSTROPHES}, **{c: "-" for c in HYPHENS}})


def normalise_name(text: str | None) -> str:
    """The name in its comparable form ('' for None)."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).translate(_TABLE).casefold()
    return " ".join(folded.replace(" - ", "-").split())
