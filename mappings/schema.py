"""The rule-file language: YAML in, a typed `Ruleset` (or every error, with its place) out.

A rule file, in short (the shipped examples in `mappings/examples/` show every feature):

    name: Acme sales processes
    source: salesforce                # default for the processes below
    fields:                           # custom fields the rules may use, per stream
      Event: [Meeting_Outcome__c]
    processes:
      - key: smb
        name: SMB new business
        half_life_days: 180           # forecast recency: days, none or auto (default 365)
        segment:                      # conditions on the opportunity (and `related: account`)
          Type: New Business
        milestones:
          - key: replied
            name: Replied
            kind: writes              # does | says | writes
            guidance: Offer two times for a first call within a week.
            rules:
              - stream: EmailMessage
                when:
                  Incoming: true
                  Subject: {not_contains: "Automatic reply"}
                occurred_at: MessageDate
                attribution: [direct, contact, account]

Conditions: `field: value` (equals), `field: [a, b]` (in), `field: {op: value, ...}` with ops
equals, not_equals, in, not_in, contains, not_contains, starts_with, ends_with (text, ignoring
case), regex, exists, gt, gte, lt, lte (numbers, dates or times); `all: [...]`, `any: [...]`,
`not: {...}`; `related: contact.account` with `where: {...}` for fields of associated records.
A list of conditions means all of them. Nothing in a rule file is ever executed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast, get_args

from mappings.catalog import SOURCES, STREAMS, Source
from mappings.diagnostics import Diagnostic, Position
from mappings.model import (
    AllOf,
    AnyOf,
    Attribution,
    AttributionStep,
    Compare,
    Condition,
    FieldRef,
    HalfLife,
    Hop,
    Kind,
    Milestone,
    NotOf,
    Op,
    Pick,
    Process,
    Related,
    Rule,
    Ruleset,
    RuleSource,
)
from mappings.values import to_datetime
from mappings.yaml_tree import YMap, YNode, YScalar, YSeq, load_tree, plain

__all__ = ["MAX_REGEX_LENGTH", "OPERATORS", "parse_partial", "parse_ruleset"]

OPERATORS: tuple[str, ...] = get_args(Op)
KINDS: tuple[str, ...] = get_args(Kind)
STEPS: tuple[str, ...] = get_args(AttributionStep)
PICKS: tuple[str, ...] = get_args(Pick)
GROUP_KEYS = ("all", "any", "not", "related", "where")
HOP_ALIASES: dict[str, Hop] = {
    "contact": "contact",
    "account": "account",
    "company": "account",
    "opportunity": "opportunity",
    "deal": "opportunity",
}
MAX_REGEX_LENGTH = 300
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_TOP = ("name", "version", "source", "fields", "processes", "description")
_PROCESS = ("key", "name", "source", "segment", "milestones", "description", "half_life_days")
_MILESTONE = ("key", "name", "kind", "description", "guidance", "exception", "rules")
_RULE = ("key", "source", "stream", "when", "occurred_at", "attribution", "description")
_ATTRIBUTION = ("via", "pick")
_TEXT_OPS = ("contains", "not_contains", "starts_with", "ends_with")
_ORDER_OPS = ("gt", "gte", "lt", "lte")
_SCALARS = (str, int, float, bool, date, datetime)


def _one_of(values: tuple[str, ...] | list[str]) -> str:
    return "one of " + ", ".join(values)


@dataclass
class _Context:
    file: str
    problems: list[Diagnostic] = field(default_factory=list)

    def error(
        self, code: str, message: str, position: Position, expected: str | None = None
    ) -> None:
        self.problems.append(Diagnostic("error", code, message, position, expected))

    def mapping(self, node: YNode | None, what: str, allowed: tuple[str, ...]) -> YMap | None:
        if node is None:
            return None
        if not isinstance(node, YMap):
            self.error("type", f"{what} must be a mapping", node.position, "key: value pairs")
            return None
        for key in node.order:
            if key not in allowed:
                self.error(
                    "unknown-key",
                    f"unknown key {key!r} in {what}",
                    node.key_position(key),
                    _one_of(list(allowed)),
                )
        return node

    def text(
        self, parent: YMap, key: str, what: str, *, required: bool = True, default: str = ""
    ) -> str:
        node = parent.get(key)
        if node is None:
            if required:
                self.error("missing", f"{what} needs `{key}`", parent.position, f"`{key}: ...`")
            return default
        if not isinstance(node, YScalar) or not isinstance(node.value, str) or not node.value:
            self.error("type", f"`{key}` must be non-empty text", node.position, "text")
            return default
        return node.value.strip()

    def key(self, parent: YMap, what: str) -> str:
        node = parent.get("key")
        if node is None:
            self.error("missing", f"{what} needs `key`", parent.position, "`key: a_name`")
            return ""
        value = node.value if isinstance(node, YScalar) else None
        if not isinstance(value, str) or not _KEY.match(value):
            self.error(
                "bad-key",
                f"invalid key {value!r}",
                node.position,
                "lower-case letters, digits and _, starting with a letter, at most 64",
            )
            return ""
        return value

    def sequence(self, parent: YMap, key: str, what: str) -> list[YNode]:
        node = parent.get(key)
        if node is None:
            self.error("missing", f"{what} needs `{key}`", parent.position, f"`{key}:` with items")
            return []
        if not isinstance(node, YSeq):
            self.error("type", f"`{key}` must be a list", node.position, "a list (- item)")
            return []
        if not node.items:
            self.error("empty", f"`{key}` is empty in {what}", node.position, "at least one item")
        return node.items


def parse_ruleset(text: str, file: str = "<ruleset>") -> tuple[Ruleset | None, list[Diagnostic]]:
    """The ruleset, or None, and every structural problem found (positions 1-based)."""
    ruleset, problems = parse_partial(text, file)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return ruleset, problems


def parse_partial(text: str, file: str = "<ruleset>") -> tuple[Ruleset | None, list[Diagnostic]]:
    """Like `parse_ruleset`, but with errors still returns what could be read (the items that
    are themselves broken left out), so later checks can report their errors too."""
    ctx = _Context(file)
    tree, problems = load_tree(text, file)
    ctx.problems.extend(problems)
    if tree is None:
        return None, ctx.problems
    root = ctx.mapping(tree, "the ruleset", _TOP)
    if root is None:
        return None, ctx.problems
    name = ctx.text(root, "name", "the ruleset")
    version = root.get("version")
    if version is not None and not (isinstance(version, YScalar) and version.value == 1):
        ctx.error("version", "unsupported rule language version", version.position, "1")
    default_source = _source(ctx, root.get("source"), allow_any=False)
    custom = _custom_fields(ctx, root.get("fields"))
    processes: list[Process] = []
    seen: dict[str, Position] = {}
    for node in ctx.sequence(root, "processes", "the ruleset"):
        if _duplicate(ctx, node, seen, "process", "the ruleset"):
            continue
        process = _process(ctx, node, cast(Source | None, default_source))
        if process is not None:
            processes.append(process)
    checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Ruleset(name, file, tuple(processes), custom, checksum), ctx.problems


def _source(ctx: _Context, node: YNode | None, *, allow_any: bool) -> RuleSource | None:
    if node is None:
        return None
    allowed = (*SOURCES, "any") if allow_any else SOURCES
    value = node.value if isinstance(node, YScalar) else None
    if value not in allowed:
        ctx.error("bad-source", f"unknown source {value!r}", node.position, _one_of(allowed))
        return None
    return cast(RuleSource, value)


def _custom_fields(ctx: _Context, node: YNode | None) -> dict[tuple[Source, str], frozenset[str]]:
    result: dict[tuple[Source, str], frozenset[str]] = {}
    if node is None:
        return result
    streams = {name: source for (source, name) in STREAMS}
    mapping = ctx.mapping(node, "`fields`", tuple(streams))
    if mapping is None:
        return result
    for stream in mapping.order:
        if stream not in streams:
            continue
        names = mapping.get(stream)
        items = names.items if isinstance(names, YSeq) else None
        if items is None or not all(
            isinstance(i, YScalar) and isinstance(i.value, str) and _FIELD.match(i.value)
            for i in items
        ):
            assert names is not None
            ctx.error("type", f"`fields.{stream}` must be a list of field names", names.position)
            continue
        result[(streams[stream], stream)] = frozenset(cast(YScalar, i).value for i in items)
    return result


def _duplicate(
    ctx: _Context, node: YNode, seen: dict[str, Position], what: str, where: str
) -> bool:
    """Whether this item repeats an earlier item's key (reported), even if it has errors."""
    key_node = node.get("key") if isinstance(node, YMap) else None
    key = key_node.value if isinstance(key_node, YScalar) else None
    if not isinstance(key, str):
        return False
    assert isinstance(node, YMap)
    if key in seen:
        ctx.error(
            "duplicate-key",
            f"duplicate {what} key {key!r} in {where} (first at line {seen[key].line})",
            node.position,
        )
        return True
    seen[key] = node.position
    return False


def _process(ctx: _Context, node: YNode, default_source: Source | None) -> Process | None:
    mapping = ctx.mapping(node, "a process", _PROCESS)
    if mapping is None:
        return None
    errors_before = len(ctx.problems)
    key = ctx.key(mapping, "a process")
    name = ctx.text(mapping, "name", "a process")
    source = cast(Source | None, _source(ctx, mapping.get("source"), allow_any=False))
    source = source or default_source
    if source is None and mapping.get("source") is None:
        ctx.error(
            "missing",
            "a process needs `source` (or a `source` at the top of the file)",
            mapping.position,
            _one_of(SOURCES),
        )
    segment_node = mapping.get("segment")
    segment = _condition(ctx, segment_node) if segment_node is not None else None
    half_life = _half_life(ctx, mapping.get("half_life_days"), key)
    own_errors = len(ctx.problems) > errors_before
    milestones: list[Milestone] = []
    seen: dict[str, Position] = {}
    for item in ctx.sequence(mapping, "milestones", f"process {key or '?'}"):
        if _duplicate(ctx, item, seen, "milestone", f"process {key!r}"):
            continue
        milestone = _milestone(ctx, item, source)
        if milestone is not None:
            milestones.append(milestone)
    if own_errors or source is None:
        return None
    return Process(
        key=key,
        name=name,
        source=source,
        segment=segment,
        segment_document=plain(segment_node) if segment_node is not None else None,
        milestones=tuple(milestones),
        position=mapping.position,
        half_life_days=half_life,
    )


def _half_life(ctx: _Context, node: YNode | None, process: str) -> HalfLife | None:
    """A process's forecast half-life: days above 0, `none` or `auto` (None when not set)."""
    if node is None:
        return None
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, str) and value.strip().lower() in ("auto", "none"):
        return cast(HalfLife, value.strip().lower())
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e6:
        return float(value)
    ctx.error(
        "bad-half-life",
        f"process {process or '?'}: `half_life_days` {value!r} is not a half-life",
        node.position,
        "a number of days above 0 (365: a deal a year old counts half), `none` or `auto`",
    )
    return None


def _milestone(ctx: _Context, node: YNode, source: Source | None) -> Milestone | None:
    mapping = ctx.mapping(node, "a milestone", _MILESTONE)
    if mapping is None:
        return None
    errors_before = len(ctx.problems)
    key = ctx.key(mapping, "a milestone")
    name = ctx.text(mapping, "name", "a milestone")
    kind_node = mapping.get("kind")
    kind = kind_node.value if isinstance(kind_node, YScalar) else None
    if kind_node is None:
        ctx.error(
            "missing",
            "a milestone needs `kind`: what the customer does, says or writes",
            mapping.position,
            _one_of(KINDS),
        )
    elif kind not in KINDS:
        ctx.error("bad-kind", f"unknown kind {kind!r}", kind_node.position, _one_of(KINDS))
    description = ctx.text(mapping, "description", "a milestone", required=False)
    guidance = ctx.text(mapping, "guidance", "a milestone")
    exception: str | None = None
    if mapping.get("exception") is not None:
        exception = ctx.text(mapping, "exception", "a milestone") or None
    own_errors = len(ctx.problems) > errors_before
    rules: list[Rule] = []
    seen: dict[str, Position] = {}
    for index, item in enumerate(ctx.sequence(mapping, "rules", f"milestone {key or '?'}")):
        rule = _rule(ctx, item, source, index)
        if rule is None:
            continue
        if rule.key in seen:
            ctx.error(
                "duplicate-key",
                f"duplicate rule key {rule.key!r} in milestone {key!r} "
                f"(first at line {seen[rule.key].line}); give each rule its own `key`",
                rule.position,
            )
            continue
        seen[rule.key] = rule.position
        rules.append(rule)
    if own_errors:
        return None
    return Milestone(
        key=key,
        name=name,
        kind=cast(Kind, kind),
        description=description,
        guidance=guidance,
        rules=tuple(rules),
        exception=exception,
        position=mapping.position,
    )


def _rule(ctx: _Context, node: YNode, source: Source | None, index: int) -> Rule | None:
    mapping = ctx.mapping(node, "a rule", _RULE)
    if mapping is None:
        return None
    errors_before = len(ctx.problems)
    stream = ctx.text(mapping, "stream", "a rule")
    stream_node = mapping.get("stream")
    key_node = mapping.get("key")
    key = ctx.key(mapping, "a rule") if key_node is not None else ""
    if key_node is None and stream:
        key = re.sub(r"[^a-z0-9_]", "_", stream.lower())[:60] or "rule"
        key = key if index == 0 else f"{key}_{index + 1}"
    rule_source = _source(ctx, mapping.get("source"), allow_any=True)
    if rule_source not in (None, "any", source) and source is not None:
        source_node = mapping.get("source")
        assert source_node is not None
        ctx.error(
            "bad-source",
            f"this rule reads {rule_source} records but its process is a {source} process",
            source_node.position,
            f"`source: {source}` or `any`",
        )
    when_node = mapping.get("when")
    when: Condition | None = None
    if when_node is None:
        ctx.error(
            "missing",
            "a rule needs `when`: the conditions a record must meet",
            mapping.position,
            "`when:` with conditions",
        )
    else:
        when = _condition(ctx, when_node)
    occurred_at = _occurred_at(ctx, mapping.get("occurred_at"))
    attribution = _attribution(ctx, mapping.get("attribution"))
    if len(ctx.problems) > errors_before or when is None or source is None:
        return None
    assert stream_node is not None
    document = plain(mapping)
    document["key"] = key
    return Rule(
        key=key,
        source=cast(RuleSource, source),
        stream=stream,
        when=when,
        occurred_at=occurred_at,
        attribution=attribution,
        position=mapping.position,
        stream_position=stream_node.position,
        document=document,
    )


def _field_ref(ctx: _Context, text: Any, position: Position) -> FieldRef | None:
    if not isinstance(text, str) or not _FIELD.match(text):
        ctx.error(
            "bad-field",
            f"invalid field name {text!r}",
            position,
            "a field name, dotted for nested or parent fields (Account.Name)",
        )
        return None
    return FieldRef(text, tuple(text.split(".")), position)


def _occurred_at(ctx: _Context, node: YNode | None) -> tuple[FieldRef, ...]:
    if node is None:
        return ()
    items = node.items if isinstance(node, YSeq) else [node]
    refs: list[FieldRef] = []
    for item in items:
        value = item.value if isinstance(item, YScalar) else None
        ref = _field_ref(ctx, value, item.position)
        if ref is not None:
            refs.append(ref)
    if not items:
        ctx.error("empty", "`occurred_at` is empty", node.position, "a date or time field")
    return tuple(refs)


def _attribution(ctx: _Context, node: YNode | None) -> Attribution:
    if node is None:
        return Attribution()
    via_node: YNode | None = node
    pick: Pick = "nearest"
    if isinstance(node, YMap):
        ctx.mapping(node, "`attribution`", _ATTRIBUTION)
        via_node = node.get("via")
        pick_node = node.get("pick")
        if pick_node is not None:
            value = pick_node.value if isinstance(pick_node, YScalar) else None
            if value not in PICKS:
                ctx.error(
                    "bad-value", f"unknown pick {value!r}", pick_node.position, _one_of(PICKS)
                )
            else:
                pick = cast(Pick, value)
    if via_node is None:
        return Attribution(pick=pick)
    items = via_node.items if isinstance(via_node, YSeq) else [via_node]
    steps: list[AttributionStep] = []
    for item in items:
        value = item.value if isinstance(item, YScalar) else None
        if value not in STEPS:
            ctx.error(
                "bad-value", f"unknown attribution step {value!r}", item.position, _one_of(STEPS)
            )
        elif value in steps:
            ctx.error("duplicate-key", f"attribution step {value!r} listed twice", item.position)
        else:
            steps.append(cast(AttributionStep, value))
    if not items:
        ctx.error("empty", "`attribution` lists no step", via_node.position, _one_of(STEPS))
    return Attribution(tuple(steps) or Attribution().via, pick)


def _condition(ctx: _Context, node: YNode) -> Condition | None:
    if isinstance(node, YSeq):
        if not node.items:
            ctx.error("empty", "an empty list of conditions", node.position, "at least one")
            return None
        items = [_condition(ctx, item) for item in node.items]
        if any(item is None for item in items):
            return None
        return AllOf(tuple(cast(list[Condition], items)), node.position)
    if not isinstance(node, YMap):
        ctx.error(
            "bad-condition",
            f"expected a condition, found {plain(node)!r}",
            node.position,
            "`field: value`, `field: {op: value}`, or all / any / not / related",
        )
        return None
    if not node.order:
        ctx.error("empty", "an empty condition", node.position, "`field: value`")
        return None
    parts: list[Condition] = []
    failed = False
    for key in node.order:
        if key in ("all", "any", "not"):
            group = _group(ctx, key, node)
            failed = failed or group is None
            parts.extend([group] if group is not None else [])
        elif key == "related":
            related = _related(ctx, node)
            failed = failed or related is None
            parts.extend([related] if related is not None else [])
        elif key == "where":
            if "related" not in node.entries:
                ctx.error(
                    "missing",
                    "`where` needs `related`: which associated record",
                    node.key_position(key),
                    "`related: contact`, `account`, `contact.account` or `opportunity`",
                )
                failed = True
        else:
            found = _field_conditions(ctx, node, key)
            failed = failed or not found
            parts.extend(found)
    if failed:
        return None
    if len(parts) == 1:
        return parts[0]
    return AllOf(tuple(parts), node.position)


def _related(ctx: _Context, node: YMap) -> Condition | None:
    where_node = node.get("where")
    if where_node is None:
        ctx.error(
            "missing",
            "`related` needs `where:` conditions",
            node.key_position("related"),
            "`where:` beside `related:`",
        )
        return None
    hops = _hops(ctx, node.get("related"))
    where = _condition(ctx, where_node)
    if hops is None or where is None:
        return None
    return Related(hops, where, node.key_position("related"))


def _group(ctx: _Context, group: str, node: YMap) -> Condition | None:
    value = node.get(group)
    position = node.key_position(group)
    assert value is not None
    if group == "not":
        inner = _condition(ctx, value)
        return NotOf(inner, position) if inner is not None else None
    if not isinstance(value, YSeq) or not value.items:
        ctx.error(
            "type",
            f"`{group}` takes a non-empty list of conditions",
            value.position,
            "- condition items",
        )
        return None
    items = [_condition(ctx, item) for item in value.items]
    if any(item is None for item in items):
        return None
    conditions = tuple(cast(list[Condition], items))
    return AllOf(conditions, position) if group == "all" else AnyOf(conditions, position)


def _hops(ctx: _Context, node: YNode | None) -> tuple[Hop, ...] | None:
    value = node.value if isinstance(node, YScalar) else None
    position = node.position if node is not None else Position(ctx.file, 1, 1)
    if not isinstance(value, str) or not value:
        ctx.error("type", "`related` names an associated record", position, "e.g. contact.account")
        return None
    hops: list[Hop] = []
    for part in value.split("."):
        if part not in HOP_ALIASES:
            ctx.error(
                "bad-related",
                f"unknown associated record {part!r}",
                position,
                _one_of(list(HOP_ALIASES)),
            )
            return None
        hops.append(HOP_ALIASES[part])
    return tuple(hops)


def _field_conditions(ctx: _Context, node: YMap, key: str) -> list[Condition]:
    position = node.key_position(key)
    ref = _field_ref(ctx, key, position)
    value = node.get(key)
    assert value is not None
    if ref is None:
        return []
    if isinstance(value, YScalar):
        if value.value is None:
            return [Compare(ref, "exists", False, value.position)]
        checked = _operand(ctx, "equals", value)
        return [] if checked is _BAD else [Compare(ref, "equals", checked, value.position)]
    if isinstance(value, YSeq):
        checked = _operand(ctx, "in", value)
        return [] if checked is _BAD else [Compare(ref, "in", checked, value.position)]
    results: list[Condition] = []
    if not value.order:
        ctx.error("empty", f"no operator for {key!r}", value.position, _one_of(OPERATORS))
    for op in value.order:
        operand = value.get(op)
        assert operand is not None
        if op not in OPERATORS:
            ctx.error(
                "bad-operator",
                f"unknown operator {op!r}",
                value.key_position(op),
                _one_of(OPERATORS),
            )
            continue
        checked = _operand(ctx, op, operand)
        if checked is not _BAD:
            results.append(Compare(ref, cast(Op, op), checked, value.key_position(op)))
    return results


_BAD: Any = object()


def _operand(ctx: _Context, op: str, node: YNode) -> Any:
    checks: dict[str, Callable[[_Context, YNode], Any]] = {
        "equals": _scalar_operand,
        "not_equals": _scalar_operand,
        "in": _list_operand,
        "not_in": _list_operand,
        "regex": _regex_operand,
        "exists": _bool_operand,
    }
    if op in _TEXT_OPS:
        return _text_operand(ctx, node)
    if op in _ORDER_OPS:
        return _order_operand(ctx, node)
    return checks[op](ctx, node)


def _scalar_operand(ctx: _Context, node: YNode) -> Any:
    if isinstance(node, YScalar) and isinstance(node.value, _SCALARS):
        return node.value
    ctx.error(
        "bad-value", "expected one value", node.position, "text, a number, true/false or a date"
    )
    return _BAD


def _list_operand(ctx: _Context, node: YNode) -> Any:
    if (
        isinstance(node, YSeq)
        and node.items
        and all(isinstance(i, YScalar) and isinstance(i.value, _SCALARS) for i in node.items)
    ):
        return tuple(cast(YScalar, i).value for i in node.items)
    ctx.error("bad-value", "expected a non-empty list of values", node.position, "[a, b, ...]")
    return _BAD


def _text_operand(ctx: _Context, node: YNode) -> Any:
    items = node.items if isinstance(node, YSeq) else [node]
    values = [i.value for i in items if isinstance(i, YScalar) and isinstance(i.value, str)]
    if not items or len(values) != len(items) or not all(values):
        ctx.error("bad-value", "expected text (or a list of texts)", node.position, "text")
        return _BAD
    return tuple(values)


def _regex_operand(ctx: _Context, node: YNode) -> Any:
    value = node.value if isinstance(node, YScalar) else None
    if not isinstance(value, str) or not value:
        ctx.error("bad-value", "expected a regular expression", node.position, "text")
        return _BAD
    if len(value) > MAX_REGEX_LENGTH:
        ctx.error(
            "bad-value",
            "regular expression too long",
            node.position,
            f"at most {MAX_REGEX_LENGTH} characters",
        )
        return _BAD
    try:
        re.compile(value)
    except re.error as exc:
        ctx.error("bad-regex", f"invalid regular expression: {exc}", node.position)
        return _BAD
    return value


def _bool_operand(ctx: _Context, node: YNode) -> Any:
    if isinstance(node, YScalar) and isinstance(node.value, bool):
        return node.value
    ctx.error(
        "bad-value",
        f"`exists` takes true or false, not {plain(node)!r}",
        node.position,
        "true or false",
    )
    return _BAD


def _order_operand(ctx: _Context, node: YNode) -> Any:
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, date | datetime | str):
        moment = to_datetime(value)
        if moment is not None:
            return moment
    ctx.error(
        "bad-value",
        f"cannot compare with {value!r}",
        node.position,
        "a number, a date (2025-01-31) or a time (2025-01-31T09:00:00Z)",
    )
    return _BAD
