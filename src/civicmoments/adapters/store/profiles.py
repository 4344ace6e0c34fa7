"""The profile projection: each person's best fact per attribute, kept as facts are written.

``profiles`` holds, for every key person K, the best fact of K and of every record merged
into K (the same facts ``RegistryStore.facts_of`` gives for K), chosen as
``domain.people.profile`` chooses: the highest tier, then the newest ``observed_at``, then
``valid_from``, then the later recorded (``seq``); for newest-wins attributes the tier is
left out (``rank`` 0). Every change to facts or merges updates it in the same transaction:

* a write offers each new fact to its person's row and, for a merged record, to its
  survivor's (an upsert that keeps the better of the two);
* a merge, an unmerge or a deletion re-projects the rows of the people it touches from
  their facts;
* which attributes are newest-wins comes from the pack; ``profile_rules`` records the
  rule each attribute was projected by, and a pack that changes it re-projects that
  attribute at start-up.

On PostgreSQL the people concerned are row-locked (``FOR SHARE`` by writes, ``FOR UPDATE``
by merges and re-projections), so a write and a merge of the same person never interleave.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .schema import people, profile_rules
from .sql import chunks

COLUMNS = "person_id, attribute, fact_person, seq, value, source, basis, tier, rank, observed_at, valid_from"
ORDER = "rank DESC, observed_at DESC, valid_from DESC, seq DESC"


def _quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


class Projection:
    def __init__(self, dialect: str, newest_wins: Collection[str] = ()) -> None:
        self.pg = dialect == "postgresql"
        self.mark = "%s" if self.pg else "?"
        self.newest_wins = frozenset(newest_wins)

    def _rank(self, alias: str) -> str:
        tiers = f"CASE {alias}.tier WHEN 'gold' THEN 3 WHEN 'silver' THEN 2 ELSE 1 END"
        if not self.newest_wins:
            return tiers
        names = ", ".join(_quote(a) for a in sorted(self.newest_wins))
        return f"CASE WHEN {alias}.attribute IN ({names}) THEN 0 ELSE {tiers} END"

    columns = COLUMNS

    def _best(self, where: str, owners: str, newest: bool = False) -> str:
        """SELECT of the best fact per (key person, attribute) among the facts ``where`` picks;
        ``owners`` is 'both' (each fact's person and its survivor) or a condition on ``o.owner``.
        ``newest``: ``where`` picks the facts after a sequence number. SQLite is then told to read
        them by that number: left to itself, it walks the whole person-and-attribute index in
        the window's order (every fact ever recorded, for every write)."""
        facts = "facts f NOT INDEXED" if newest and not self.pg else "facts f"
        own = f"SELECT f.person_id AS owner, f.* FROM {facts} WHERE {where}"
        # CROSS JOIN: SQLite keeps the facts (read by ``where``) as the outer loop, PostgreSQL plans freely
        survivor = (f"SELECT p.merged_into AS owner, f.* FROM facts f CROSS JOIN people p "
                    f"WHERE p.id = f.person_id AND p.merged_into IS NOT NULL AND {where}")
        return (f"SELECT owner, attribute, person_id, seq, value, source, basis, tier, rank, observed_at, valid_from "
                f"FROM (SELECT o.*, {self._rank('o')} AS rank, ROW_NUMBER() OVER ("
                f"PARTITION BY o.owner, o.attribute ORDER BY {self._rank('o')} DESC, "
                f"o.observed_at DESC, o.valid_from DESC, o.seq DESC) AS n "
                f"FROM ({own} UNION ALL {survivor}) o WHERE {owners}) b WHERE n = 1")

    # -- writes ------------------------------------------------------------------------------
    def before_write(self, conn: Connection, person_ids: Iterable[str]) -> int:
        """Call before inserting facts, in the same transaction: holds the people (PostgreSQL) and
        returns the sequence number the new facts will follow."""
        if self.pg:
            for part in chunks(sorted(set(person_ids)), 5000):
                conn.exec_driver_sql("SELECT id FROM people WHERE id = ANY(%s) ORDER BY id FOR SHARE", (list(part),))
        return conn.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM facts").scalar()

    def after_write(self, conn: Connection, after_seq: int) -> None:
        """Offer the facts recorded after ``after_seq`` to the projection: each row keeps the better."""
        better = "(excluded.rank, excluded.observed_at, excluded.valid_from, excluded.seq) > " \
                 "(profiles.rank, profiles.observed_at, profiles.valid_from, profiles.seq)"
        sets = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS.split(", ")[2:])
        conn.exec_driver_sql(
            f"INSERT INTO profiles ({COLUMNS}) {self._best(f'f.seq > {int(after_seq)}', '1 = 1', newest=True)} "
            f"ON CONFLICT (person_id, attribute) DO UPDATE SET {sets} WHERE {better}")

    def lock(self, conn: Connection, person_ids: Iterable[str]) -> None:
        """Hold these people's rows until the transaction ends (PostgreSQL; SQLite has one writer),
        in id order, so that writes and merges touching the same people take turns."""
        if self.pg:
            for part in chunks(sorted(set(person_ids)), 5000):
                conn.exec_driver_sql("SELECT id FROM people WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (list(part),))

    # -- re-projection ---------------------------------------------------------------------
    def reproject(self, conn: Connection, keys: Iterable[str], attributes: Sequence[str] | None = None) -> None:
        """Re-project the rows of the key people ``keys`` (all their attributes, or ``attributes``)
        from their facts and those of the records merged into them."""
        keys = sorted(set(keys))
        for part in chunks(keys, 1000):
            marks = ", ".join([self.mark] * len(part))
            self.lock(conn, part)
            only = ""
            args: tuple = tuple(part)
            if attributes is not None:
                only = f" AND attribute IN ({', '.join([self.mark] * len(attributes))})"
                args += tuple(attributes)
            conn.exec_driver_sql(f"DELETE FROM profiles WHERE person_id IN ({marks}){only}", args)
            merged = f"SELECT id FROM people WHERE merged_into IN ({marks})"
            where = f"(f.person_id IN ({marks}) OR f.person_id IN ({merged}))" + only.replace("attribute", "f.attribute")
            conn.exec_driver_sql(f"INSERT INTO profiles ({COLUMNS}) {self._best(where, f'o.owner IN ({marks})')}",
                                 (*part, *part, *(attributes or ())) * 2 + tuple(part))

    def reproject_attributes(self, conn: Connection, attributes: Sequence[str]) -> None:
        """Re-project one or more attributes for everyone (a change of rule in the pack)."""
        if not attributes:
            return
        marks = ", ".join([self.mark] * len(attributes))
        conn.exec_driver_sql(f"DELETE FROM profiles WHERE attribute IN ({marks})", tuple(attributes))
        conn.exec_driver_sql(f"INSERT INTO profiles ({COLUMNS}) {self._best(f'f.attribute IN ({marks})', '1 = 1')}",
                             tuple(attributes) * 2)

    def keep_rules(self, conn: Connection) -> list[str]:
        """Bring the projection in line with the pack's newest-wins attributes; returns the
        attributes re-projected (none when the rule has not changed)."""
        if self.pg:
            conn.exec_driver_sql("LOCK TABLE profile_rules IN EXCLUSIVE MODE")
        recorded = {r.attribute for r in conn.execute(select(profile_rules.c.attribute))}
        changed = sorted(recorded ^ self.newest_wins)
        if changed:
            self.reproject_attributes(conn, changed)
            conn.execute(profile_rules.delete())
            if self.newest_wins:
                conn.execute(profile_rules.insert(), [{"attribute": a} for a in sorted(self.newest_wins)])
        return changed


def survivors(conn: Connection, person_ids: Iterable[str]) -> set[str]:
    """The people whose profile includes these records: each one and the one it is merged into."""
    out = set(person_ids)
    for part in chunks(sorted(out), 1000):
        out.update(m for m in conn.execute(select(people.c.merged_into).where(
            people.c.id.in_(list(part)), people.c.merged_into.is_not(None))).scalars())
    return out
