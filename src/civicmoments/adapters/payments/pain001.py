"""ISO 20022 ``pain.001.001.03`` customer credit transfer files in GBP, for a bank's bulk import.

One file is one message (``MsgId`` = the file's reference) with one payment information block per
execution day; each transaction names the creditor's sort code (``ClrSysMmbId``, ``GBDSC``) and account
number, the amount in pounds and an end-to-end id (the payment's (award, period) key, hashed to 35
characters). Files are written streaming, to a temporary name, validated against the shipped XSD with
libxml2 (lxml), and only then renamed into the outbox folder, so the folder a bank connector watches
holds only whole, valid files. Raises InvalidPaymentFileError (nothing moved) if a file does not validate.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

from ...domain.payments import end_to_end_id  # noqa: F401 - the id each transfer carries

NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
XSD = Path(__file__).parent / "schemas" / "pain.001.001.03.xsd"


class InvalidPaymentFileError(ValueError):
    """A payment file does not validate against its ISO 20022 schema; it was not put in the outbox."""


class Transfer(NamedTuple):
    """One credit transfer: ``amount`` in pence to ``sort_code``/``account`` with ``reference`` (≤ 18 chars
    shown). A tuple: a run makes one for every payment."""

    end_to_end: str
    amount: int
    sort_code: str
    account: str
    reference: str
    name: str = ""


@dataclass(frozen=True)
class Debtor:
    """The paying department's own account."""

    name: str
    sort_code: str
    account: str


@lru_cache(maxsize=4)
def schema(path: Path = XSD):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(path)))


def _gbp(pence: int) -> str:
    return f"{pence // 100}.{pence % 100:02d}"


def _acct(sort_code: str, account: str) -> str:
    return (f"<FinInstnId><ClrSysMmbId><ClrSysId><Cd>GBDSC</Cd></ClrSysId><MmbId>{sort_code}</MmbId>"
            f"</ClrSysMmbId></FinInstnId>")


def write(folder: Path, ref: str, created: datetime, execute_on: date, debtor: Debtor,
          transfers: Iterable[Transfer], count: int, total: int) -> Path:
    """Write, validate and move into ``folder`` the file ``<ref>.xml``; returns its path.

    ``count`` and ``total`` (pence) go into the header before the transfers are streamed; a mismatch
    makes the file invalid by its own sums and raises InvalidPaymentFileError."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{ref}.xml"
    tmp = folder / f".{ref}.xml.part"
    n = s = 0
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}"><CstmrCdtTrfInitn>'
                  f"<GrpHdr><MsgId>{escape(ref)}</MsgId><CreDtTm>{created.strftime('%Y-%m-%dT%H:%M:%S')}</CreDtTm>"
                  f"<NbOfTxs>{count}</NbOfTxs><CtrlSum>{_gbp(total)}</CtrlSum>"
                  f"<InitgPty><Nm>{escape(debtor.name)}</Nm></InitgPty></GrpHdr>"
                  f"<PmtInf><PmtInfId>{escape(ref)}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>false</BtchBookg>"
                  f"<NbOfTxs>{count}</NbOfTxs><CtrlSum>{_gbp(total)}</CtrlSum>"
                  f"<PmtTpInf><LclInstrm><Prtry>BACS</Prtry></LclInstrm></PmtTpInf>"
                  f"<ReqdExctnDt>{execute_on.isoformat()}</ReqdExctnDt>"
                  f"<Dbtr><Nm>{escape(debtor.name)}</Nm></Dbtr>"
                  f"<DbtrAcct><Id><Othr><Id>{debtor.account}</Id></Othr></Id><Ccy>GBP</Ccy></DbtrAcct>"
                  f"<DbtrAgt>{_acct(debtor.sort_code, debtor.account)}</DbtrAgt>")
        buf: list[str] = []
        escaped: dict[str, str] = {}  # references repeat (a service and a period): escaped once
        for end_to_end, amount, sort_code, account, reference, name in transfers:
            n += 1
            s += amount
            ref_x = escaped.get(reference)
            if ref_x is None:
                ref_x = escaped[reference] = escape(reference[:140])
            cdtr = f"<Cdtr><Nm>{escape(name[:70])}</Nm></Cdtr>" if name else ""
            buf.append(f"<CdtTrfTxInf><PmtId><EndToEndId>{end_to_end}</EndToEndId></PmtId>"
                       f'<Amt><InstdAmt Ccy="GBP">{amount // 100}.{amount % 100:02d}</InstdAmt></Amt>'
                       f"<CdtrAgt><FinInstnId><ClrSysMmbId><ClrSysId><Cd>GBDSC</Cd></ClrSysId><MmbId>{sort_code}"
                       f"</MmbId></ClrSysMmbId></FinInstnId></CdtrAgt>{cdtr}"
                       f"<CdtrAcct><Id><Othr><Id>{account}</Id></Othr></Id></CdtrAcct>"
                       f"<RmtInf><Ustrd>{ref_x}</Ustrd></RmtInf></CdtTrfTxInf>")
            if len(buf) >= 1000:
                out.write("".join(buf))
                buf.clear()
        out.write("".join(buf) + "</PmtInf></CstmrCdtTrfInitn></Document>\n")
        out.flush()
        os.fsync(out.fileno())
    if n != count or s != total:
        tmp.unlink(missing_ok=True)
        raise InvalidPaymentFileError(f"{ref}: header says {count} payments, {total}p; body has {n}, {s}p")
    validate(tmp)
    os.replace(tmp, final)
    return final


def validate(path: Path) -> None:
    """Raises InvalidPaymentFileError unless ``path`` is a valid pain.001.001.03 document."""
    from lxml import etree

    try:
        doc = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidPaymentFileError(f"{path.name}: not well-formed XML: {exc}") from None
    xsd = schema()
    if not xsd.validate(doc):
        raise InvalidPaymentFileError(f"{path.name}: {xsd.error_log.last_error}")


def read(path: Path) -> list[dict[str, str]]:
    """The transfers of a valid file: [{end_to_end, amount (pence), sort_code, account, reference}] (for checks)."""
    from lxml import etree

    validate(path)
    ns = {"p": NS}
    out = []
    for tx in etree.parse(str(path)).iterfind(".//p:CdtTrfTxInf", ns):
        pounds, pence = tx.findtext("p:Amt/p:InstdAmt", namespaces=ns).split(".")
        out.append({"end_to_end": tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns),
                    "amount": int(pounds) * 100 + int(pence),
                    "sort_code": tx.findtext("p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=ns),
                    "account": tx.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=ns),
                    "reference": tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns)})
    return out
