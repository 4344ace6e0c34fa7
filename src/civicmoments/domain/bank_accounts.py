"""UK bank account checks: the format of a sort code and account number, and Vocalink's modulus check.

The algorithm follows Vocalink's "Validating account numbers" (v3.10): weights by sort code range,
MOD10 / MOD11 / double-alternate sums, exceptions 1 to 14, and the non-standard account lengths (six
to ten digits). It is a port of the MIT-licensed ukmodulus 0.1.2 (Andrew Barrett). The tables are
data (``packs/uk/payments/valacdos.txt``, dated in ``payments.yaml``), passed in: this module is pure.

A sort code outside every range in the table cannot be checked and is accepted, as Vocalink says.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from operator import mul

DBLAL, MOD10, MOD11 = "DBLAL", "MOD10", "MOD11"
_MOD = {DBLAL: 10, MOD10: 10, MOD11: 11}
U, V, W, X, Y, Z, A, B, C, D, E, F, G, H = range(14)
COOPERATIVE = "08"


class BankDetailsError(ValueError):
    """Bank details that cannot be paid to; ``field`` is "sort_code" or "account_number", ``message`` the
    words for an error summary."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Weighting:
    start: int
    end: int
    algorithm: str
    weights: tuple[int, ...]
    exception: str | None = None


@dataclass(frozen=True, eq=False)
class ModulusTables:
    weightings: tuple[Weighting, ...]
    substitutions: dict[str, str]
    dated: str = ""

    @classmethod
    def parse(cls, weights: Iterable[str], substitutions: Iterable[str], dated: str = "") -> ModulusTables:
        rows = []
        for line in weights:
            cols = line.split()
            if not cols:
                continue
            if len(cols) not in (17, 18):
                raise ValueError(f"a weight table row has 17 or 18 columns: {line!r}")
            rows.append(Weighting(int(cols[0]), int(cols[1]), cols[2], tuple(int(x) for x in cols[3:17]),
                                  cols[17] if len(cols) == 18 else None))
        subs = dict(line.split()[:2] for line in substitutions if line.strip())
        return cls(tuple(rows), subs, dated)

    def for_sort_code(self, sort_code: str) -> list[Weighting]:
        """The checks for a sort code, in the table's order (none: it cannot be checked)."""
        found = self._found.get(sort_code)
        if found is None:
            n = int(sort_code)
            i = bisect.bisect_right(self._starts, n)
            found = [w for w in self.weightings[max(0, i - 8):i] if w.start <= n <= w.end]
            if len(self._found) < 100_000:
                self._found[sort_code] = found
        return found

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.weightings, key=lambda w: w.start))  # stable: a range's checks keep their order
        object.__setattr__(self, "weightings", ordered)
        object.__setattr__(self, "_starts", [w.start for w in ordered])
        object.__setattr__(self, "_found", {})


def clean(sort_code: str, account_number: str) -> tuple[str, str]:
    """Digits only, format checked: a sort code of 6 digits, an account number of 6 to 10 (8 usual).

    Spaces and hyphens are ignored. Raises BankDetailsError naming the field."""
    sc = (sort_code or "").replace("-", "")  # "20-00-00", as the registry keeps it: no regular expression
    if len(sc) != 6 or not sc.isdigit():
        sc = re.sub(r"[\s-]", "", sort_code or "")
    acc = (account_number if (account_number or "").isdigit() else re.sub(r"[\s-]", "", account_number or ""))
    if not sc:
        raise BankDetailsError("sort_code", "Enter a sort code")
    if not sc.isdigit() or not sc.isascii() or len(sc) != 6:
        raise BankDetailsError("sort_code", "Enter a valid sort code like 309430")
    if not acc:
        raise BankDetailsError("account_number", "Enter an account number")
    if not acc.isdigit() or not acc.isascii() or not 6 <= len(acc) <= 10:
        raise BankDetailsError("account_number", "Enter a valid account number like 00733445")
    return sc, acc


def _normalise(acc: str, sc: str) -> tuple[str, str]:
    if len(acc) == 10:
        return (acc[:8], sc) if sc.startswith(COOPERATIVE) else (acc[-8:], sc)
    if len(acc) == 9:  # Santander: the account's first digit replaces the sort code's last
        return acc[-8:], sc[:-1] + acc[0]
    return acc.zfill(8), sc


_DIGITS = bytes.maketrans(b"0123456789", bytes(range(10)))  # ASCII digits to their values
_DIGIT_SUMS = tuple(v // 10 + v % 10 for v in range(1000))  # a product's digits summed (DBLAL)


def _run(sc: str, acc: str, w: Weighting, tables: ModulusTables) -> bool:
    if w.exception == "5" and sc in tables.substitutions:
        sc = tables.substitutions[sc]
    elif w.exception == "8":
        sc = "090126"
    elif w.exception == "9":
        sc = "309634"
    n = sc + acc
    if w.exception == "3" and n[C] in "69":
        return True
    if w.exception == "6" and n[A] in "45678" and n[G] == n[H]:
        return True
    weights = w.weights
    if w.exception == "2":
        if n[A] != "0" and n[G] != "9":
            weights = (0, 0, 1, 2, 5, 3, 6, 4, 8, 7, 10, 9, 3, 1)
        elif n[A] != "0" and n[G] == "9":
            weights = (0, 0, 0, 0, 0, 0, 0, 0, 8, 7, 10, 9, 3, 1)
    elif (w.exception == "7" and n[G] == "9") or (w.exception == "10" and n[A] + n[B] in ("09", "99") and n[G] == "9"):
        weights = (0,) * (B + 1) + weights[B + 1:]
    digits = n.encode().translate(_DIGITS)  # bytes of the digits' values, 0 to 9
    if len(digits) != len(weights):
        raise ValueError(f"{n!r} is not 14 digits")
    products = map(mul, digits, weights)
    total = sum(map(_DIGIT_SUMS.__getitem__, products)) if w.algorithm == DBLAL else sum(products)
    if w.exception == "1":
        total += 27
    remainder = total % _MOD[w.algorithm]
    if w.exception == "5":
        if w.algorithm == DBLAL:
            return (remainder == 0 and n[H] == "0") or 10 - remainder == int(n[H])
        if remainder == 1:
            return False
        return (remainder == 0 and n[G] == "0") or 11 - remainder == int(n[G])
    if w.exception == "4":
        return remainder == int(n[G] + n[H])
    return remainder == 0


EITHER = ("2", "9", "10", "11", "12", "13", "14")


def modulus_ok(sort_code: str, account_number: str, tables: ModulusTables) -> bool:
    """Whether the (cleaned) sort code and account number pass Vocalink's modulus check."""
    acc, sc = _normalise(account_number, sort_code)
    checks = tables.for_sort_code(sc)
    if not checks:
        return True
    first = checks[0]
    if _run(sc, acc, first, tables):
        return len(checks) == 1 or first.exception in EITHER or _run(sc, acc, checks[1], tables)
    if first.exception == "14":
        if acc[7] not in "019":
            return False
        return _run(sc, ("0" + acc)[:8], first, tables)
    if len(checks) == 1 or first.exception not in EITHER:
        return False
    return _run(sc, acc, checks[1], tables)


def check(sort_code: str, account_number: str, tables: ModulusTables) -> tuple[str, str]:
    """The cleaned sort code and account number, or BankDetailsError (format, then modulus check)."""
    sc, acc = clean(sort_code, account_number)
    if not modulus_ok(sc, acc, tables):
        raise BankDetailsError("account_number", "Check the sort code and account number: they do not match "
                               "a real UK bank account")
    return sc, acc


def last_four(account_number: str) -> str:
    """The last four digits of an account number, the only part shown on a notice or a page."""
    return re.sub(r"\D", "", account_number or "")[-4:]
