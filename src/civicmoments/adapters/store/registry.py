"""Storage for the registry, consent, agreements, pseudonyms and the access log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine

from ...domain.audit import GENESIS, Entry
from ...domain.consent import Agreement, ConsentRecord, ConsentState, Mode
from ...domain.people import Basis, Fact, Tier
from .bulk import Bulk, collector_paused, json_text
from .profiles import Projection
from .schema import (
    access_log,
    agreements,
    audit_checkpoints,
    consents,
    eligibility_state,
    facts,
    household_members,
    identifiers,
    match_keys,
    merges,
    people,
    profiles,
    pseudonyms,
    question_counts,
)
from .sql import chunks, pairs_in, utc


def _time_reader(pg: bool):
    """How a raw driver's timestamp becomes an aware UTC datetime (SQLite stores text)."""
    if pg:
        return utc

    @lru_cache(maxsize=4096)
    def read(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return read


# Statements the portal runs on every page, built once (building one costs more than running it).
_PERSON = select(people).where(people.c.id == bindparam("person_id"))
_IDENTIFIERS = select(identifiers.c.scheme, identifiers.c.value).where(identifiers.c.person_id == bindparam("person_id"))
_FACTS_VERSION = select(func.max(facts.c.seq)).where(facts.c.person_id.in_(bindparam("person_ids", expanding=True)))
_HOUSEHOLD_OF = select(household_members.c.household_id).where(
    household_members.c.person_id == bindparam("person_id")).limit(1)


def _among(pg: bool, column: str, ids: Sequence[str]) -> str:
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (a short statement, which
    the driver parses once and prepares; sent in binary, which the driver writes without
    escaping each item), one parameter each on SQLite; see ``_ids``."""
    return f"{column} = ANY(%b)" if pg else f"{column} IN ({', '.join(['?'] * len(ids))})"


def _ids(pg: bool, ids: Sequence[str]) -> list[Any]:
    """The parameters ``_among`` takes for ``ids``."""
    return [list(ids)] if pg else list(ids)


# Five arrays in binary (%b): the driver writes them without escaping each item.
_APPEND_PG = ("INSERT INTO access_log (seq, prev, hash, body, person_id) "
              "SELECT s, p, h, b::jsonb, w FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[]) "
              "AS t(s, p, h, b, w)")


@lru_cache(maxsize=8)
def _append_sqlite(n: int) -> str:
    """The statement that inserts ``n`` access-log entries on SQLite (5 parameters each)."""
    return f"INSERT INTO access_log (seq, prev, hash, body, person_id) VALUES {', '.join(['(?, ?, ?, ?, ?)'] * n)}"


class RegistryStore:
    def __init__(self, engine: Engine, reader: Engine) -> None:
        self.engine, self.reader = engine, reader
        self.pg = engine.dialect.name == "postgresql"
        self.bulk = Bulk(engine.dialect.name)
        self.projection = Projection(engine.dialect.name)

    def keep_profiles(self, newest_wins: frozenset[str] | set[str]) -> list[str]:
        """Project newest-wins ``attributes`` (the pack's) by time alone; re-projects any attribute
        whose rule changed since the projection was made and returns their names."""
        self.projection.newest_wins = frozenset(newest_wins)
        with self.engine.begin() as conn:
            return self.projection.keep_rules(conn)

    # -- people and identifiers -------------------------------------------------------
    def add_people(self, rows: Sequence[dict[str, Any]], ids: Sequence[dict[str, Any]],
                   ignore_conflicts: bool = True) -> None:
        """Insert people and their identifiers in one transaction. With ``ignore_conflicts`` False an
        identifier already held raises IntegrityError and nothing is written (bulk loads pass True)."""
        with self.engine.begin() as conn:
            for part in chunks(list(rows), 5000):
                self.bulk.insert(conn, people, list(part))
            for part in chunks(list(ids), 5000):
                self.bulk.insert(conn, identifiers, list(part), ignore_conflicts=ignore_conflicts)

    def person(self, person_id: str) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            row = conn.execute(_PERSON, {"person_id": person_id}).first()
            if row is None:
                return None
            ids = conn.execute(_IDENTIFIERS, {"person_id": person_id}).all()
        return {**row._mapping, "identifiers": {r.scheme: r.value for r in ids}}

    def facts_version(self, person_ids: Sequence[str]) -> int:
        """The newest fact's sequence number for these people: it changes whenever a fact is added."""
        with self.reader.connect() as conn:
            return conn.execute(_FACTS_VERSION, {"person_ids": list(person_ids)}).scalar() or 0

    def existing(self, person_ids: Sequence[str]) -> set[str]:
        """Which of these ids are people in the registry."""
        found: set[str] = set()
        with self.reader.connect() as conn:
            for part in chunks(list(person_ids)):
                found.update(conn.execute(select(people.c.id).where(people.c.id.in_(part))).scalars())
        return found

    def by_identifier(self, scheme: str, value: str) -> str | None:
        with self.reader.connect() as conn:
            return conn.execute(select(identifiers.c.person_id).where(
                identifiers.c.scheme == scheme, identifiers.c.value == value)).scalar()

    def add_member(self, household: str, person_id: str, role: str, since: datetime) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, household_members, [
                {"household_id": household, "person_id": person_id, "role": role, "since": since}],
                ignore_conflicts=True)

    def household(self, household: str) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(household_members).where(household_members.c.household_id == household))
            return [dict(r._mapping) for r in rows]

    def households_of(self, person_id: str) -> list[dict[str, Any]]:
        """Everyone in the person's (first) household, the person included."""
        with self.reader.connect() as conn:
            hid = conn.execute(_HOUSEHOLD_OF, {"person_id": person_id}).scalar()
        return self.household(hid) if hid else []

    # -- facts --------------------------------------------------------------------------
    def add_facts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append facts and update the profile projection, in one transaction."""
        with self.engine.begin() as conn:
            self.insert_facts(conn, rows)

    def insert_facts(self, conn, rows: Sequence[dict[str, Any]]) -> None:
        """Append facts and update the profile projection in the caller's transaction ``conn``
        (bulk loads that write people and facts together)."""
        if not rows:
            return
        after = self.projection.before_write(conn, {r["person_id"] for r in rows})
        for part in chunks(list(rows), 5000):
            self.bulk.insert(conn, facts, list(part))
        self.projection.after_write(conn, after)

    def profile_facts(self, person_ids: Sequence[str], attributes: Sequence[str] | None = None
                      ) -> dict[str, dict[str, Fact]]:
        """Each person's best fact per attribute (all, or only ``attributes``), read from the
        profile projection: the same as ``domain.people.profile`` over ``facts_of``."""
        out: dict[str, dict[str, Fact]] = {p: {} for p in person_ids}
        tiers, bases = {t.value: t for t in Tier}, {b.value: b for b in Basis}
        when = _time_reader(self.pg)
        with self.reader.connect() as conn:
            cur = conn.connection.driver_connection.cursor()
            for part in chunks(list(person_ids), 5000):
                names = list(part) + list(attributes or ())
                only = f" AND attribute IN ({', '.join([self.projection.mark] * len(attributes))})" if attributes else ""
                cur.execute(f"SELECT person_id, attribute, fact_person, seq, value, source, basis, tier, observed_at, "
                            f"valid_from FROM profiles WHERE person_id IN "
                            f"({', '.join([self.projection.mark] * len(part))}){only}", names)
                for person, attribute, owner, seq, value, source, basis, tier, observed, valid in cur.fetchall():
                    if not self.pg and isinstance(value, str | bytes):
                        value = orjson.loads(value)
                    out[person][attribute] = Fact(owner, attribute, value, source, bases[basis], tiers[tier],
                                                  when(observed), when(valid), str(seq))
            cur.close()
        return out

    def profile_values(self, person_ids: Sequence[str], attributes: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each person's best value per attribute in ``attributes``, read from the profile
        projection: ``{person: {attribute: value}}``, the values of ``profile_facts`` without
        their provenance (for answers computed from values alone, such as a check). People with
        none of the attributes are left out."""
        out: dict[str, dict[str, Any]] = {}
        if not attributes:
            return out
        mark, loaded = self.projection.mark, {}
        only = ", ".join([mark] * len(attributes))
        with self.reader.connect() as conn:
            cur = conn.connection.driver_connection.cursor()
            for part in chunks(list(person_ids), 5000):
                cur.execute(f"SELECT person_id, attribute, value FROM profiles WHERE {_among(self.pg, 'person_id', part)} "
                            f"AND attribute IN ({only})", _ids(self.pg, part) + list(attributes))
                for person, attribute, value in cur.fetchall():
                    if not self.pg and isinstance(value, str | bytes):
                        text, value = value, loaded.get(value, loaded)
                        if value is loaded:  # a batch's values repeat: each text is parsed once
                            value = loaded[text] = orjson.loads(text)
                    held = out.get(person)
                    if held is None:
                        held = out[person] = {}
                    held[attribute] = value
            cur.close()
        return out

    def facts_of(self, person_ids: Sequence[str], attributes: Sequence[str] | None = None) -> dict[str, list[Fact]]:
        """The facts of these people (all, or only the named attributes), merged records included
        under the survivor."""
        out: dict[str, list[Fact]] = {p: [] for p in person_ids}
        with self.reader.connect() as conn:
            for part in chunks(list(person_ids)):
                alias = dict(conn.execute(select(people.c.id, people.c.merged_into)
                                          .where(people.c.merged_into.in_(part))).all())
                q = select(facts).where(facts.c.person_id.in_(list(part) + list(alias)))
                if attributes is not None:
                    q = q.where(facts.c.attribute.in_(list(attributes)))
                for r in conn.execute(q):
                    owner = alias.get(r.person_id, r.person_id)
                    out[owner].append(Fact(r.person_id, r.attribute, r.value, r.source, Basis(r.basis), Tier(r.tier),
                                           utc(r.observed_at), utc(r.valid_from), str(r.seq)))
        return out

    def people_pages(self, batch: int):
        """Everyone (merged records excepted), in id order, ``batch`` ids at a time."""
        after = ""
        while True:
            with self.reader.connect() as conn:
                ids = conn.execute(select(people.c.id).where(people.c.id > after, people.c.merged_into.is_(None))
                                   .order_by(people.c.id).limit(batch)).scalars().all()
            if not ids:
                return
            yield ids
            after = ids[-1]

    def profile_batches(self, batch: int = 10_000):
        """Every person's best fact per attribute, a batch of people at a time (memory stays
        bounded by the batch): a range scan of the profile projection, in person order, each
        person's profile put together as one JSON object by the database. Merged records are
        left out. Yields {person: {attribute: [value, tier, source]}}."""
        if self.pg:
            sql = ("SELECT person_id, jsonb_object_agg(attribute, jsonb_build_array(value, tier, source))::text "
                   "FROM profiles WHERE person_id > %s AND person_id <= %s GROUP BY person_id")
        else:
            sql = ("SELECT person_id, json_group_object(attribute, json_array(json(value), tier, source)) "
                   "FROM profiles WHERE person_id > ? AND person_id <= ? GROUP BY person_id")
        mark = self.projection.mark
        page = (f"SELECT id FROM people WHERE id > {mark} AND merged_into IS NULL ORDER BY id LIMIT {int(batch)}")
        after = ""
        loads = orjson.loads
        while True:
            with self.reader.connect() as conn, collector_paused():
                cur = conn.connection.driver_connection.cursor()
                cur.execute(page, (after,))
                ids = [r[0] for r in cur.fetchall()]
                if not ids:
                    cur.close()
                    return
                cur.execute(sql, (after, ids[-1]))
                rows = cur.fetchall()
                cur.close()
                out: dict[str, dict[str, list]] = dict.fromkeys(ids)
                for person, held in rows:
                    if person in out:  # not a merged record
                        out[person] = loads(held)
                for person in ids:
                    if out[person] is None:  # no facts
                        out[person] = {}
            yield out
            after = ids[-1]

    def count_people(self) -> int:
        with self.reader.connect() as conn:
            return conn.execute(select(func.count()).select_from(people)
                                .where(people.c.merged_into.is_(None))).scalar()

    def input_batches(self, specs, batch: int = 50_000, part: tuple[int, int] | None = None):
        """(ids, {variable: values}, household ids, roles) for everyone, a batch at a time, from
        their best facts. Households are never split across batches: their members come
        first, in household order, then everyone who lives in no recorded household.

        ``part`` (k, n) keeps only part k of n: the households, and the people in none, whose id
        falls in it (``partitions.part_of``), so n processes may each take a part."""
        from .partitions import part_of

        def mine(key: str) -> bool:
            return part is None or part_of(key, part[1]) == part[0]

        members = []
        with self.reader.connect() as conn:
            members = conn.execute(select(household_members.c.household_id, household_members.c.person_id,
                                          household_members.c.role)
                                   .order_by(household_members.c.household_id)).all()
        in_household = {m.person_id for m in members}
        groups: list[list[tuple[str, str, str]]] = []
        for m in members:
            if not groups or groups[-1][0][0] != m.household_id:
                groups.append([])
            groups[-1].append((m.household_id, m.person_id, m.role))
        chunk: list[tuple[str, str, str]] = []
        for group in groups:
            if not mine(group[0][0]):
                continue
            if chunk and len(chunk) + len(group) > batch:
                yield self._inputs_for(chunk, specs)
                chunk = []
            chunk.extend(group)
        if chunk:
            yield self._inputs_for(chunk, specs)
        for ids in self.people_pages(batch):
            alone = [(p, p, "adult") for p in ids if p not in in_household and mine(p)]
            if alone:
                yield self._inputs_for(alone, specs, (ids[0], ids[-1]))

    def _inputs_for(self, rows: Sequence[tuple[str, str, str]], specs, span: tuple[str, str] | None = None):
        """The batch's input columns from each person's best fact, read from the profile projection
        (one row per person and attribute, merged records' facts included: see ``profiles.py``).

        ``span`` (the first and last id of a page of people in id order) reads a range of the
        projection's key instead of a list of ids: the daily sweep's bulk read."""
        wanted = sorted({s.attribute for s in specs.values()})
        ids = [r[1] for r in rows]
        q = select(profiles.c.person_id, profiles.c.attribute, profiles.c.value).where(
            profiles.c.attribute.in_(wanted))
        best: dict[tuple[str, str], Any] = {}
        with self.reader.connect() as conn:
            if span is not None:
                parts = [q.where(profiles.c.person_id >= span[0], profiles.c.person_id <= span[1])]
            else:
                parts = [q.where(profiles.c.person_id.in_(list(part))) for part in chunks(ids, 5000)]
            for part in parts:
                for pid, attribute, value in conn.execute(part).all():
                    best[(pid, attribute)] = value
        columns = {}
        for variable, spec in specs.items():
            column = [best.get((p, spec.attribute)) for p in ids]
            columns[variable] = [spec.read(c) if c is not None else None for c in column]
        return ids, columns, [r[0] for r in rows], ["child" if r[2] == "child" else "adult" for r in rows]

    def eligibility_states(self, person_ids: Sequence[str],
                           span: tuple[str, str] | None = None) -> dict[tuple[str, str], bool]:
        """Each (person, service) eligibility last recorded; ``span`` reads a range of ids instead
        of a list (people in id order: the sweep), keeping only those asked for."""
        out = {}
        q = select(eligibility_state.c.person_id, eligibility_state.c.service, eligibility_state.c.eligible)
        with self.reader.connect() as conn:
            if span is not None:
                wanted = set(person_ids)
                for pid, service, eligible in conn.execute(q.where(eligibility_state.c.person_id >= span[0],
                                                                   eligibility_state.c.person_id <= span[1])).all():
                    if pid in wanted:
                        out[(pid, service)] = bool(eligible)
                return out
            for part in chunks(list(person_ids), 5000):
                for pid, service, eligible in conn.execute(q.where(eligibility_state.c.person_id.in_(part))).all():
                    out[(pid, service)] = bool(eligible)
        return out

    def set_eligibility_states(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            for match in pairs_in(eligibility_state.c.service, eligibility_state.c.person_id,
                                  [(r["service"], r["person_id"]) for r in rows], 500):
                conn.execute(eligibility_state.delete().where(match))
            self.bulk.insert(conn, eligibility_state, list(rows))

    # -- merges ---------------------------------------------------------------------------
    def merge(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, merges, [row])
            self.projection.lock(conn, [row["merged"], row["survivor"]])
            before = conn.execute(select(people.c.merged_into).where(people.c.id == row["merged"])).scalar()
            conn.execute(update(people).where(people.c.id == row["merged"]).values(merged_into=row["survivor"]))
            self.projection.reproject(conn, {row["survivor"], before} - {None})  # a record merged elsewhere leaves

    def unmerge(self, merge_id: str, now: datetime) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(merges).where(merges.c.id == merge_id, merges.c.reversed_at.is_(None))).first()
            if row is None:
                return None
            conn.execute(update(merges).where(merges.c.id == merge_id).values(reversed_at=now))
            self.projection.lock(conn, [row.merged, row.survivor])
            now_in = conn.execute(select(people.c.merged_into).where(people.c.id == row.merged)).scalar()
            conn.execute(update(people).where(people.c.id == row.merged).values(merged_into=None))
            self.projection.reproject(conn, {row.survivor, now_in} - {None})
            return dict(row._mapping)

    def add_match_keys(self, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            for part in chunks(list(rows), 5000):
                self.bulk.insert(conn, match_keys, list(part), ignore_conflicts=True)

    def candidates(self, keys: Sequence[str], limit: int = 500) -> list[str]:
        """People sharing any blocking key (a date of birth, a postcode) with a record."""
        if not keys:
            return []
        with self.reader.connect() as conn:
            q = (select(match_keys.c.person_id).where(match_keys.c.key.in_(list(keys)))
                 .distinct().limit(limit))
            return list(conn.execute(q).scalars())

    # -- questions ---------------------------------------------------------------------
    def count_questions(self, form: str, asked: int, known: int) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, question_counts, [{"form": form, "asked": 0, "known": 0}], ignore_conflicts=True)
            conn.execute(update(question_counts).where(question_counts.c.form == form).values(
                asked=question_counts.c.asked + asked, known=question_counts.c.known + known))

    def question_counts(self) -> dict[str, dict[str, int]]:
        with self.reader.connect() as conn:
            return {r.form: {"asked": r.asked, "known": r.known} for r in conn.execute(select(question_counts))}

    # -- consent --------------------------------------------------------------------------
    def add_consent(self, record: ConsentRecord) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, consents, [{
                "id": record.id, "person_id": record.person, "purpose": record.purpose,
                "notice_version": record.notice_version, "state": record.state.value, "at": record.at,
                "channel": record.channel}])

    @staticmethod
    def _consent(r: Any) -> ConsentRecord:
        return ConsentRecord(r.id, r.person_id, r.purpose, r.notice_version, ConsentState(r.state), utc(r.at),
                             r.channel)

    def consents_of(self, person_id: str) -> list[ConsentRecord]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(consents).where(consents.c.person_id == person_id)
                                .order_by(consents.c.at, consents.c.id))
            return [self._consent(r) for r in rows]

    def latest_consents(self, person_ids: Sequence[str], purpose: str) -> dict[str, ConsentRecord]:
        out: dict[str, ConsentRecord] = {}
        mark, when = self.projection.mark, _time_reader(self.pg)
        with self.reader.connect() as conn:
            cur = conn.connection.driver_connection.cursor()
            for part in chunks(list(person_ids), 5000):
                cur.execute(f"SELECT id, person_id, purpose, notice_version, state, at, channel FROM consents "
                            f"WHERE purpose = {mark} AND {_among(self.pg, 'person_id', part)} "
                            f"ORDER BY at, id", [purpose, *_ids(self.pg, part)])
                for id_, person, purpose_, notice, state, at, channel in cur.fetchall():
                    # ordered: the newest wins
                    out[person] = ConsentRecord(id_, person, purpose_, notice, ConsentState(state), when(at), channel)
            cur.close()
        return out

    # -- agreements ------------------------------------------------------------------------
    def add_agreement(self, a: Agreement) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, agreements, [{
                "id": a.id, "version": a.version, "recipient": a.recipient, "purpose": a.purpose,
                "attributes": list(a.attributes), "checks": list(a.checks), "events": list(a.events),
                "mode": a.mode.value,
                "retention_days": a.retention_days, "created_at": a.created_at, "revoked_at": None}])

    def revoke_agreement(self, agreement_id: str, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(update(agreements).where(agreements.c.id == agreement_id,
                                                         agreements.c.revoked_at.is_(None))
                                .values(revoked_at=now)).rowcount

    @staticmethod
    def _agreement(r: Any) -> Agreement:
        return Agreement(r.id, r.recipient, r.purpose, tuple(r.attributes), Mode(r.mode), r.retention_days,
                         r.version, utc(r.created_at), utc(r.revoked_at), tuple(r.checks), tuple(r.events or ()))

    def agreement_versions(self, agreement_id: str) -> list[Agreement]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(agreements).where(agreements.c.id == agreement_id)
                                .order_by(agreements.c.version))
            return [self._agreement(r) for r in rows]

    def current_agreement(self, recipient: str, purpose: str) -> Agreement | None:
        """The newest version of the newest agreement for this recipient and purpose, if in force."""
        with self.reader.connect() as conn:
            row = conn.execute(select(agreements).where(agreements.c.recipient == recipient,
                                                        agreements.c.purpose == purpose)
                               .order_by(agreements.c.created_at.desc(), agreements.c.version.desc())
                               .limit(1)).first()
        return self._agreement(row) if row else None

    # -- pseudonyms ------------------------------------------------------------------------
    def remember_pseudonyms(self, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, pseudonyms, list(rows), ignore_conflicts=True)

    def reidentify(self, pseudonym: str, partner: str, purpose: str) -> str | None:
        with self.reader.connect() as conn:
            return conn.execute(select(pseudonyms.c.person_id).where(
                pseudonyms.c.pseudonym == pseudonym, pseudonyms.c.partner == partner,
                pseudonyms.c.purpose == purpose)).scalar()

    # -- the access log ----------------------------------------------------------------------
    def append_log(self, bodies: Sequence[dict[str, Any]], seal, checkpoint=None) -> tuple[int, str]:
        """Append entries after the current head, in one transaction (serialised per database);
        returns the new head (seq, hash).

        ``seal(prev, bodies)`` gives each entry's hash and the JSON text the hash covers when it
        may be kept as its body (``domain.audit.seal``); the others are written by orjson.
        ``checkpoint``, if given, is ``(due, make)``: when ``due(head_seq)``, a checkpoint is taken
        in the same transaction, as ``take_checkpoint(make)`` takes one."""
        with self.engine.begin() as conn:
            self._lock_log(conn)
            last = conn.execute(select(access_log.c.seq, access_log.c.hash)
                                .order_by(access_log.c.seq.desc()).limit(1)).first()
            prev, first = (last.hash, last.seq + 1) if last else (GENESIS, 1)
            hashes, texts = seal(prev, bodies)
            prevs = [prev, *hashes]
            n = len(bodies)
            rows = [text if text is not None else json_text(body) for body, text in zip(bodies, texts, strict=True)]
            persons = [body.get("person") for body in bodies]
            if self.pg:  # one statement of five arrays: short, so the driver parses and prepares it once
                conn.exec_driver_sql(_APPEND_PG, (list(range(first, first + n)), prevs[:n], hashes, rows, persons))
            else:  # one statement per thousand entries
                for lo in range(0, n, 1000):
                    hi = min(n, lo + 1000)
                    params: list[Any] = []
                    for i in range(lo, hi):
                        params += (first + i, prevs[i], hashes[i], rows[i], persons[i])
                    conn.exec_driver_sql(_append_sqlite(hi - lo), tuple(params))
            head = (first + n - 1, prevs[n]) if n else (first - 1, prev)
            if checkpoint is not None and n:
                due, make = checkpoint
                if due(head[0]):
                    self._checkpoint_in(conn, make, head)
        return head

    def _lock_log(self, conn) -> None:
        # One writer of the log at a time: an advisory lock on PostgreSQL; on SQLite the write
        # transaction (BEGIN IMMEDIATE) is already the only one.
        if self.pg:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(271828)")

    def log_entries(self, after: int = 0, batch: int = 10_000):
        """Every entry in order, read in batches so memory stays bounded."""
        mark = self.projection.mark
        sql = (f"SELECT seq, prev, hash, body, person_id FROM access_log WHERE seq > {mark} "
               f"ORDER BY seq LIMIT {int(batch)}")
        while True:
            with self.reader.connect() as conn:  # the driver's rows: verification reads every entry
                cur = conn.connection.driver_connection.cursor()
                cur.execute(sql, (after,))
                rows = cur.fetchall()
                cur.close()
            if not rows:
                return
            for seq, prev, hash_, body, person in rows:
                yield Entry(seq, prev, hash_, body if self.pg else orjson.loads(body), person)
            after = rows[-1][0]

    def log_for(self, person_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """The person's entries, newest first. The column finds them; the hashed body must agree."""
        with self.reader.connect() as conn:
            rows = conn.execute(select(access_log.c.seq, access_log.c.body)
                                .where(access_log.c.person_id == person_id)
                                .order_by(access_log.c.seq.desc()).limit(limit))
            return [{"seq": r.seq, **r.body} for r in rows if r.body.get("person") == person_id]

    def take_checkpoint(self, make) -> dict[str, Any] | None:
        """In one transaction holding the log's lock: ``make(last_row, seq, head)`` returns the
        next checkpoint row (or None for nothing to do), which is stored before the commit."""
        with self.engine.begin() as conn:
            self._lock_log(conn)
            head = conn.execute(select(access_log.c.seq, access_log.c.hash)
                                .order_by(access_log.c.seq.desc()).limit(1)).first()
            return self._checkpoint_in(conn, make, (head.seq, head.hash) if head else (0, GENESIS))

    def _checkpoint_in(self, conn, make, head: tuple[int, str]) -> dict[str, Any] | None:
        last = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.number.desc()).limit(1)).first()
        row = make(dict(last._mapping) if last else None, *head)
        if row is not None:
            self.bulk.insert(conn, audit_checkpoints, [row])
        return row

    def checkpoint_rows(self) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(audit_checkpoints)
                                                           .order_by(audit_checkpoints.c.number))]

    def last_checkpoint(self) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(audit_checkpoints)
                               .order_by(audit_checkpoints.c.number.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def log_head(self) -> tuple[int, str]:
        with self.reader.connect() as conn:
            row = conn.execute(select(access_log.c.seq, access_log.c.hash)
                               .order_by(access_log.c.seq.desc()).limit(1)).first()
        return (row.seq, row.hash) if row else (0, GENESIS)
