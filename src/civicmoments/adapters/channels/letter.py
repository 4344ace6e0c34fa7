"""Letters: a tagged PDF (PDF/UA-1) made by WeasyPrint, put in the print queue folder.

The print supplier takes letters from the queue through the API and says when each was
posted; until then a letter is "sending". Large print is 18 point, as RNIB advises.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from ... import formats
from ...domain.clock import Clock, SystemClock
from ...domain.messages import Channel, Outcome, Status
from ...engine.ports import Outgoing
from ...packs.templates import to_html

LETTER = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="author" content="{sender}"><meta name="description" content="{title}">
<style>
@page {{ size: A4; margin: 25mm 20mm; }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: {size}; line-height: 1.5; color: #000; }}
address {{ font-style: normal; margin-bottom: 12mm; }}
h1 {{ font-size: 1.4em; margin: 8mm 0 4mm; }}
ul {{ padding-left: 6mm; }}
</style></head>
<body>
<header><p>{sender}</p></header>
<address>{address}</address>
<p>{today}</p>
<main><h1>{title}</h1>
{body}
</main>
<footer><p>Reference: {reference}</p></footer>
</body></html>"""


def address_lines(to: dict) -> list[str]:
    """The address block, as checked by ``domain.postal.check_address`` (name first, postcode last)."""
    return [str(line) for line in to["lines"]]


class PdfLetters:
    channel = Channel.LETTER

    def __init__(self, name: str, folder: Path, sender: str = "Civic Moments", clock: Clock | None = None,
                 tz: str | ZoneInfo = formats.UK) -> None:
        """A letter bears the day its text was written (``Outgoing.written_at``, the day its deadlines
        count from), else the day on ``clock``; ``tz`` is the zone whose calendar date is printed,
        as "14 March 2048" or in Welsh."""
        self.name, self.folder, self.sender = name, Path(folder), sender
        self.clock, self.tz = clock or SystemClock(), tz

    def render(self, m: Outgoing) -> bytes:
        from weasyprint import HTML  # the letters extra; imported when the first letter is made

        page = LETTER.format(
            lang=html.escape(m.locale), title=html.escape(m.subject), sender=html.escape(self.sender),
            size="18pt" if m.large_print else "12pt",
            address="<br>".join(html.escape(line) for line in address_lines(m.to)),
            today=html.escape(formats.day(m.written_at or self.clock.now(), m.locale, self.tz)),
            body=to_html(m.long), reference=html.escape(m.message))
        return HTML(string=page).write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)

    def _one(self, m: Outgoing) -> Outcome:
        try:
            pdf = self.render(m)
        except ImportError:
            return Outcome(Status.PERMANENT_FAILURE, "letters need the 'letters' extra: "
                           "pip install 'civicmoments[letters]'", provider=self.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{m.message}.pdf"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(pdf)
        tmp.replace(path)  # the supplier never sees half a letter
        return Outcome(Status.SENDING, f"in the print queue as {path.name}", reference=path.name,
                       provider=self.name, body_sha256=hashlib.sha256(pdf).hexdigest())

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return [self._one(m) for m in batch]
