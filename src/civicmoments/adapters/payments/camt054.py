"""The bank's report: ISO 20022 ``camt.054.001.02`` debit/credit notifications, validated before use.

Each entry's transaction details name the payment's end-to-end id (``Refs/EndToEndId``); an entry with
return information (``RtrInf``, e.g. reason code AC04 "account closed") is a return, a booked debit
(``Sts`` BOOK, ``CdtDbtInd`` DBIT) without it is paid. Raises InvalidReportError for a report that does not
validate against the shipped XSD, so that nothing is marked from it.
"""

from __future__ import annotations

from pathlib import Path

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"
XSD = Path(__file__).parent / "schemas" / "camt.054.001.02.xsd"


class InvalidReportError(ValueError):
    """A bank report that is not a valid camt.054.001.02 document: refused, nothing marked."""


def read(path: Path) -> list[dict[str, str]]:
    """[{end_to_end, outcome: paid|returned, reason}] from a valid report. Raises InvalidReportError."""
    from lxml import etree

    try:
        doc = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidReportError(f"{Path(path).name}: not well-formed XML: {exc}") from None
    xsd = etree.XMLSchema(etree.parse(str(XSD)))
    if not xsd.validate(doc):
        raise InvalidReportError(f"{Path(path).name}: {xsd.error_log.last_error}")
    ns = {"c": NS}
    out = []
    for entry in doc.iterfind(".//c:Ntry", ns):
        booked = entry.findtext("c:Sts", namespaces=ns) == "BOOK"
        debit = entry.findtext("c:CdtDbtInd", namespaces=ns) == "DBIT"
        for tx in entry.iterfind("c:NtryDtls/c:TxDtls", ns):
            e2e = tx.findtext("c:Refs/c:EndToEndId", namespaces=ns)
            if not e2e:
                continue
            ret = tx.find("c:RtrInf", ns)
            if ret is not None:
                out.append({"end_to_end": e2e, "outcome": "returned",
                            "reason": ret.findtext("c:Rsn/c:Cd", namespaces=ns) or "returned"})
            elif booked and debit:
                out.append({"end_to_end": e2e, "outcome": "paid", "reason": ""})
    return out
