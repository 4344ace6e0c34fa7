"""Evidence: documents a person attaches to one of their cases (a payslip, a letter), and an
officer reads from the case.

A document is accepted only as PDF, JPEG or PNG, decided from its first bytes (the ``filetype``
library's signatures), never from its name or the type the browser claims, and only up to
``max_bytes``. It is sealed with AES-256-GCM (the data keys, bound to the person and the
document's id) before it is stored. Attaching is on the case timeline; an officer's reading is
in the person's access log ("Who saw my data"), as that officer, their role and the queue's
purpose.

Errors: EvidenceRejectedError (422, with ``reason``: empty, too-large, wrong-type),
CaseNotFoundError (404, also for a case that is not the person's), NotPermittedError (403).
"""

from __future__ import annotations

import hashlib
from typing import Any

import filetype

from ..domain.cases import CASE_ACTIVE, CaseNotFoundError
from ..domain.ids import uuid7
from ..domain.staff import Officer
from .errors import _problem

ACCEPTED = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
class EvidenceRejectedError(_problem("evidence-rejected", 422, "The document cannot be attached")):
    """Why a document was refused; ``reason`` is empty, too-large or wrong-type."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail, [{"pointer": "/document", "message": detail, "reason": reason}])
        self.reason = reason


def media_type(data: bytes) -> str | None:
    """The document's type from its leading bytes, if it is one we accept: application/pdf,
    image/jpeg or image/png; else None."""
    kind = filetype.guess(data[:8192])
    return kind.mime if kind is not None and kind.mime in ACCEPTED else None


class Evidence:
    def __init__(self, store, cases, cipher, gate, clock, max_bytes: int) -> None:
        self.store, self.cases, self.cipher, self.gate = store, cases, cipher, gate
        self.clock, self.max_bytes = clock, max_bytes

    def check(self, data: bytes) -> str:
        """The accepted media type of ``data``. Raises EvidenceRejectedError with its reason."""
        if not data:
            raise EvidenceRejectedError("the file is empty", "empty")
        if len(data) > self.max_bytes:
            raise EvidenceRejectedError(f"the file is {len(data)} bytes; the limit is {self.max_bytes}", "too-large")
        kind = media_type(data)
        if kind is None:
            raise EvidenceRejectedError("the file is not a PDF, JPEG or PNG", "wrong-type")
        return kind

    def open_cases(self, person: str) -> list:
        """The person's cases that are still open, to which they may attach a document."""
        return [c for c in self.cases.list(person=person, status=[s.value for s in CASE_ACTIVE], limit=50)]

    def attach(self, person: str, case_id: str, filename: str, data: bytes, *, by: Officer | None = None,
               channel: str = "portal") -> dict[str, Any]:
        """Attach a document to the person's own open case; returns its listing (no content).
        ``by`` is an officer attaching it for the person (assisted service)."""
        case = self.cases.store.get(case_id)
        if case is None or case.person != person or case.status not in CASE_ACTIVE:
            raise CaseNotFoundError(f"no open case {case_id!r} of this person")
        if by is not None:
            self.cases.permit(by, "act", case.queue, case.id)
        kind = self.check(data)
        evidence_id = uuid7()
        name = _shortened((filename or "document").replace("/", "_").replace("\\", "_").strip()) or "document"
        row = {"id": evidence_id, "case_id": case.id, "person_id": person, "filename": name, "media_type": kind,
               "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
               "content": self.cipher.seal(data, f"{person}|evidence|{evidence_id}"),
               "uploaded_at": self.clock.now(), "uploaded_by": by.id if by else None, "channel": channel}
        self.store.add(row)
        self.cases.log(case.id, by, "evidence-added", {"evidence": evidence_id, "filename": name,
                                                       "media_type": kind, "size": len(data), "channel": channel})
        return {k: v for k, v in row.items() if k != "content"}

    def listed(self, case_id: str) -> list[dict[str, Any]]:
        return self.store.for_case(case_id)

    def of_case(self, officer: Officer, case_id: str) -> list[dict[str, Any]]:
        """The documents on a case an officer may view the person on, oldest first, without their
        content: [{id, case_id, person_id, filename, media_type, size, sha256, uploaded_at,
        uploaded_by, channel}]. Raises CaseNotFoundError, NotPermittedError."""
        case = self.cases.get(case_id, officer=officer)
        self.cases.permit(officer, "view-person", case.queue, case.id)
        return self.listed(case.id)

    def read(self, officer: Officer, case_id: str, evidence_id: str) -> tuple[dict[str, Any], bytes]:
        """An officer opens a document of a case they may view the person on: (listing, bytes),
        logged in the person's access log. Raises CaseNotFoundError, NotPermittedError."""
        case = self.cases.get(case_id, officer=officer)
        self.cases.permit(officer, "view-person", case.queue, case.id)
        row = self.store.get(evidence_id)
        if row is None or row["case_id"] != case.id:
            raise CaseNotFoundError(f"no document {evidence_id!r} on case {case_id!r}")
        data = self.cipher.open(row.pop("content"), f"{row['person_id']}|evidence|{evidence_id}")
        role = self.cases.policy.role_for(officer, "view-person", case.queue)
        self.gate.staff_document(officer, role.id, case.person, self.cases.queue(case.queue).purpose,
                                 evidence_id, row["filename"])
        return row, data


def _shortened(name: str, limit: int = 200) -> str:
    """``name`` cut to ``limit`` characters, keeping its extension (".pdf") so the officer's download
    still opens as what it is."""
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 10:
        return stem[:limit - len(ext) - 1] + "." + ext
    return name[:limit]
