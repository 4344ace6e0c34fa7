"""Moment files: YAML in, validated ``Moment`` objects out, or an error with file and line."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..domain.cases import CASE_RESOLVED, PRIORITIES
from ..domain.clock import InvalidDurationError, parse_duration
from ..domain.moments import (
    DEFAULT_ASK_REPLY,
    CancelRule,
    Moment,
    Objective,
    OnFailure,
    OnTimeout,
    RetryPolicy,
    Step,
    StepKind,
    Trigger,
)
from ..rules.cel import CelCondition, ConditionSyntaxError
from .yamlmap import Located, PackError, load

_ID = re.compile(r"^[a-z][a-z0-9-]*$")
_TOP = {"moment", "title", "description", "version", "trigger", "objective", "steps", "cancel_on"}
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_STEP_COMMON = {"id", "after", "when", "deadline", "on_timeout", "on_failure", "retry", "reply"}
_KINDS = {k.value: k for k in StepKind}


class _Reader:
    def __init__(self, doc: Located, known_types: set[str] | None, known_queues: set[str] | None = None) -> None:
        self.doc, self.known_types, self.known_queues = doc, known_types, known_queues

    def fail(self, path: tuple, message: str) -> PackError:
        return self.doc.error(path, message)

    def mapping(self, value: Any, path: tuple, allowed: set[str] | None, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{what} must be a mapping")
        for key in value:
            if allowed is not None and key not in allowed:
                raise self.fail(
                    path + (key,), f"unknown key {key!r} in {what}; allowed: {', '.join(sorted(allowed))}"
                )
        return value

    def string(self, value: Any, path: tuple, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"{what} must be a non-empty string")
        return value

    def event_type(self, value: Any, path: tuple, what: str) -> str:
        name = self.string(value, path, what)
        if self.known_types is not None and name not in self.known_types:
            raise self.fail(path, f"{what} {name!r} is not a registered event type")
        return name

    def duration(self, value: Any, path: tuple) -> timedelta:
        try:
            return parse_duration(value if isinstance(value, str) else "")
        except InvalidDurationError as exc:
            raise self.fail(path, str(exc)) from None

    def condition(self, value: Any, path: tuple) -> CelCondition | None:
        if value is None:
            return None
        try:
            return CelCondition(self.string(value, path, "'when'"))
        except ConditionSyntaxError as exc:
            raise self.fail(path, str(exc)) from None

    def enum(self, cls: type, value: Any, path: tuple, default: Any) -> Any:
        if value is None:
            return default
        try:
            return cls(value)
        except ValueError:
            options = ", ".join(m.value for m in cls)
            raise self.fail(path, f"{value!r} is not one of: {options}") from None


def load_moment(file: Path, known_types: set[str] | None = None, known_queues: set[str] | None = None) -> Moment:
    doc = load(file)
    r = _Reader(doc, known_types, known_queues)
    d = r.mapping(doc.data, (), _TOP, "a moment")
    moment_id = r.string(d.get("moment"), ("moment",), "'moment' (its id)")
    if not _ID.match(moment_id):
        raise r.fail(("moment",), "a moment id is lower-case letters, digits and hyphens")
    if "trigger" not in d:
        raise r.fail((), "a moment needs a 'trigger'")
    t = r.mapping(d["trigger"], ("trigger",), {"event", "when"}, "'trigger'")
    trigger_when = r.condition(t.get("when"), ("trigger", "when"))
    trigger = Trigger(
        r.event_type(t.get("event"), ("trigger", "event"), "trigger event"),
        trigger_when,
        t.get("when"),
    )
    objective = None
    if "objective" in d:
        o = r.mapping(d["objective"], ("objective",), {"event", "within", "when"}, "'objective'")
        objective = Objective(
            r.event_type(o.get("event"), ("objective", "event"), "objective event"),
            r.duration(o["within"], ("objective", "within")) if "within" in o else None,
            r.condition(o.get("when"), ("objective", "when")),
            o.get("when"),
        )
    cancel_rules = []
    for i, c in enumerate(d.get("cancel_on") or []):
        c = r.mapping(c, ("cancel_on", i), {"event", "when"}, "a 'cancel_on' rule")
        cancel_rules.append(
            CancelRule(
                r.event_type(c.get("event"), ("cancel_on", i, "event"), "cancel event"),
                r.condition(c.get("when"), ("cancel_on", i, "when")),
                c.get("when"),
            )
        )
    raw_steps = d.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise r.fail(("steps",), "a moment needs a non-empty list of 'steps'")
    steps = [_step(r, s, ("steps", i)) for i, s in enumerate(raw_steps)]
    _check_graph(r, steps)
    version = d.get("version")
    if version is not None:
        version = str(version)
        if not _VERSION.match(version):
            raise r.fail(("version",), "'version' is a short label such as v2 or 2026.11 (letters, digits, . _ -)")
    return Moment(
        id=moment_id,
        title=str(d.get("title") or moment_id),
        trigger=trigger,
        steps=tuple(steps),
        objective=objective,
        cancel_on=tuple(cancel_rules),
        source_file=str(file),
        version=version,
        digest=hashlib.sha256(Path(file).read_bytes()).hexdigest(),
    )


def _step(r: _Reader, raw: Any, path: tuple) -> Step:
    if not isinstance(raw, dict):
        raise r.fail(path, "a step must be a mapping with an 'id' and one kind")
    kinds = [k for k in raw if k in _KINDS]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        raise r.fail(path, f"a step has exactly one kind ({', '.join(_KINDS)}); found: {found}")
    kind = _KINDS[kinds[0]]
    r.mapping(raw, path, _STEP_COMMON | {kind.value}, "a step")
    step_id = r.string(raw.get("id"), path + ("id",), "a step 'id'")
    if not _ID.match(step_id):
        raise r.fail(path + ("id",), "a step id is lower-case letters, digits and hyphens")
    opts = {k: raw[k] for k in ("deadline", "on_timeout", "reply") if k in raw}
    spec, kpath = raw[kind.value], path + (kind.value,)
    spec = _kind_spec(r, kind, spec, kpath, opts)
    after = raw.get("after") or []
    if isinstance(after, str):
        after = [after]
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
        raise r.fail(path + ("after",), "'after' is a list of step ids")
    retry_raw = r.mapping(raw.get("retry") or {}, path + ("retry",), {"attempts", "backoff"}, "'retry'")
    attempts = retry_raw.get("attempts", 5)
    if not isinstance(attempts, int) or attempts < 1:
        raise r.fail(path + ("retry", "attempts"), "'attempts' is a whole number, at least 1")
    backoff = (
        r.duration(retry_raw["backoff"], path + ("retry", "backoff"))
        if "backoff" in retry_raw
        else timedelta(seconds=2)
    )
    reply = opts.get("reply")
    if kind is StepKind.ASK and reply is None:
        reply = DEFAULT_ASK_REPLY
    deadline = opts.get("deadline")
    return Step(
        id=step_id,
        kind=kind,
        spec=spec,
        after=tuple(after),
        when=r.condition(raw.get("when"), path + ("when",)),
        when_source=raw.get("when"),
        reply=r.event_type(reply, path + ("reply",), "reply event") if reply else None,
        deadline=r.duration(deadline, path + ("deadline",)) if deadline is not None else None,
        on_timeout=r.enum(OnTimeout, opts.get("on_timeout"), path + ("on_timeout",), OnTimeout.CONTINUE),
        on_failure=r.enum(OnFailure, raw.get("on_failure"), path + ("on_failure",), OnFailure.FAIL),
        retry=RetryPolicy(attempts, backoff),
        values={name: CelCondition(src).value for name, src in (spec.get("personalisation") or {}).items()}
        if kind is StepKind.NOTIFY else {"until": CelCondition(spec["until"]).value}
        if kind is StepKind.WAIT and "until" in spec else {},
    )


def _kind_spec(r: _Reader, kind: StepKind, spec: Any, path: tuple, opts: dict) -> dict[str, Any]:
    """Normalise each kind's short forms; lift deadline/reply/on_timeout to the step."""
    if kind is StepKind.DECIDE:
        if not isinstance(spec, list) or not spec or not all(isinstance(v, str) for v in spec):
            raise r.fail(path, "'decide' lists the variables to compute, e.g. [jsa_eligible]")
        return {"variables": spec}
    if kind is StepKind.WAIT:
        if isinstance(spec, str):
            opts["deadline"] = spec
            return {"for": spec}
        spec = r.mapping(spec, path, {"event", "within", "on_timeout", "until"}, "'wait'")
        if "until" in spec:  # a date worked out from the journey: wait until that day begins (UTC)
            if not isinstance(spec["until"], str) or set(spec) != {"until"}:
                raise r.fail(path, "'wait: {until: EXPRESSION}' takes only a CEL expression giving a date")
            r.condition(spec["until"], path + ("until",))
            return dict(spec)
        if "event" not in spec or "within" not in spec:
            raise r.fail(path, "'wait' is a duration (P3D), {event, within} or {until: DATE-EXPRESSION}")
        opts.setdefault("reply", spec["event"])
        opts.setdefault("deadline", spec["within"])
        if "on_timeout" in spec:
            opts.setdefault("on_timeout", spec["on_timeout"])
        return dict(spec)
    if kind is StepKind.OPEN_CASE:
        return _open_case(r, spec, path, opts)
    if isinstance(spec, str) and kind in (StepKind.NOTIFY, StepKind.OFFER, StepKind.GRANT):
        key = {"notify": "template", "offer": "service", "grant": "service", "open-case": "queue"}
        return {key[kind.value]: spec}
    if not isinstance(spec, dict):
        raise r.fail(path, f"'{kind.value}' must be a mapping")
    for lifted in ("deadline", "reply", "on_timeout"):
        if lifted in spec:
            opts.setdefault(lifted, spec[lifted])
    spec = {k: v for k, v in spec.items() if k not in ("deadline", "reply", "on_timeout")}
    required = {
        StepKind.SHARE: ("with", "purpose", "attributes"),
        StepKind.ASK: ("person",),
        StepKind.OPEN_CASE: ("queue",),
        StepKind.NOTIFY: ("template",),
        StepKind.OFFER: ("service",),
        StepKind.GRANT: ("service",),
        StepKind.RECORD: (),
    }[kind]
    for key in required:
        if key not in spec:
            raise r.fail(path, f"'{kind.value}' needs '{key}'")
    if kind is StepKind.NOTIFY and "personalisation" in spec:
        values = r.mapping(spec["personalisation"], path + ("personalisation",), None, "'personalisation'")
        for name, source in values.items():
            where = path + ("personalisation", name)
            if not isinstance(source, str):
                raise r.fail(where, f"placeholder {name!r} takes a CEL expression, such as "
                                    "steps.assess.result.outputs.weekly_amount")
            try:
                CelCondition(source)
            except ConditionSyntaxError as exc:
                raise r.fail(where, str(exc)) from None
    return spec


def _open_case(r: _Reader, spec: Any, path: tuple, opts: dict) -> dict[str, Any]:
    """``open-case: QUEUE`` or ``{queue, reason, priority, wait, request}``; ``wait: true`` waits for the
    outcome; ``request: true`` keeps the triggering event's data on the case (as a person's own
    ``civic.person.*`` request always is)."""
    if isinstance(spec, str):
        spec = {"queue": spec}
        qpath = path
    else:
        spec = dict(r.mapping(spec, path, {"queue", "reason", "priority", "wait", "request", "deadline",
                                                 "on_timeout"},
                              "'open-case'"))
        qpath = path + ("queue",)
    queue = r.string(spec.get("queue"), qpath, "'open-case' queue")
    if r.known_queues is not None and queue not in r.known_queues:
        raise r.fail(qpath, f"queue {queue!r} is not declared in cases/queues.yaml "
                            f"({', '.join(sorted(r.known_queues))})")
    if "reason" in spec:
        r.string(spec["reason"], path + ("reason",), "'reason'")
    if spec.get("priority", "normal") not in PRIORITIES:
        raise r.fail(path + ("priority",), f"'priority' is one of {', '.join(PRIORITIES)}")
    if not isinstance(spec.get("request", False), bool):
        raise r.fail(path + ("request",), "'request' is true or false")
    wait = spec.pop("wait", False)
    if not isinstance(wait, bool):
        raise r.fail(path + ("wait",), "'wait' is true or false")
    for lifted in ("deadline", "on_timeout"):
        if lifted in spec:
            opts.setdefault(lifted, spec.pop(lifted))
    if wait:
        opts.setdefault("reply", CASE_RESOLVED)
    return spec


def _check_graph(r: _Reader, steps: list[Step]) -> None:
    index = {}
    for i, step in enumerate(steps):
        if step.id in index:
            raise r.fail(("steps", i, "id"), f"step id {step.id!r} is used twice")
        index[step.id] = i
    for i, step in enumerate(steps):
        for dep in step.after:
            if dep not in index:
                raise r.fail(("steps", i, "after"), f"'after' names {dep!r}, which is not a step here")
    state: dict[str, int] = {}

    def visit(sid: str, trail: list[str]) -> None:
        if state.get(sid) == 2:
            return
        if state.get(sid) == 1:
            cycle = " -> ".join(trail[trail.index(sid):] + [sid])
            raise r.fail(("steps", index[sid], "after"), f"steps wait on each other in a cycle: {cycle}")
        state[sid] = 1
        for dep in steps[index[sid]].after:
            visit(dep, trail + [sid])
        state[sid] = 2

    for step in steps:
        visit(step.id, [])


def load_moments(directory: Path, known_types: set[str] | None = None,
                 known_queues: set[str] | None = None) -> dict[str, Moment]:
    """Load every ``*.yaml`` moment in a directory; errors name file and line."""
    moments: dict[str, Moment] = {}
    files = sorted(directory.glob("*.yaml"))
    for file in files:
        m = load_moment(file, known_types, known_queues)
        if m.id in moments:
            raise PackError(file, None, f"moment {m.id!r} is also declared in {moments[m.id].source_file}")
        moments[m.id] = m
    return moments
