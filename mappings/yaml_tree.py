"""Rule files as YAML trees that remember where every value was written.

`load_tree` parses with PyYAML's safe composer (no tags that build objects, no code) and keeps
each node's position, so that schema errors can name file, line and column. Duplicate keys,
which plain YAML loading silently overwrites, are reported:

    >>> tree, problems = load_tree("a: 1\\nb: [x, y]\\n", "rules.yaml")
    >>> tree.get("b").items[1].value, str(tree.get("b").items[1].position)
    ('y', 'rules.yaml:2:8')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mappings.diagnostics import Diagnostic, Position

__all__ = ["YMap", "YNode", "YScalar", "YSeq", "load_tree", "plain"]

MAX_NODES = 200_000
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")
)  # an alias bomb expands to far more; a real rule file to far fewer

try:  # the C composer when libyaml is there; same nodes, faster
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(slots=True)
class YScalar:
    value: Any
    position: Position


@dataclass(slots=True)
class YSeq:
    items: list[YNode]
    position: Position


@dataclass(slots=True)
class YMap:
    entries: dict[str, tuple[Position, YNode]]
    position: Position
    order: list[str] = field(default_factory=list)

    def get(self, key: str) -> YNode | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_position(self, key: str) -> Position:
        return self.entries[key][0]


YNode = YScalar | YSeq | YMap


def _position(file: str, node: Node) -> Position:
    mark = node.start_mark
    return Position(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Diagnostic] = []
        self.nodes = 0
        self.constructor = SafeConstructor()

    def build(self, node: Node) -> YNode:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLarge(_position(self.file, node))
        position = _position(self.file, node)
        if node.tag not in _PLAIN_TAGS:
            self.problems.append(
                Diagnostic(
                    "error",
                    "yaml",
                    f"tag {node.tag!r} is not allowed: rule files hold plain values only",
                    position,
                )
            )
        if isinstance(node, ScalarNode):
            try:
                value = self.constructor.construct_object(node, deep=True)
            except ConstructorError as exc:
                self.problems.append(
                    Diagnostic("error", "yaml", f"cannot read this value: {exc.problem}", position)
                )
                value = node.value
            return YScalar(value, position)
        if isinstance(node, SequenceNode):
            return YSeq([self.build(item) for item in node.value], position)
        if isinstance(node, MappingNode):
            result = YMap({}, position)
            for key_node, value_node in node.value:
                key_position = _position(self.file, key_node)
                if not isinstance(key_node, ScalarNode):
                    self.problems.append(
                        Diagnostic("error", "yaml", "a key must be a plain name", key_position)
                    )
                    continue
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(
                        Diagnostic(
                            "error", "yaml", "merge keys (<<) are not supported", key_position
                        )
                    )
                    continue
                key = str(key_node.value)
                if key in result.entries:
                    first = result.entries[key][0]
                    self.problems.append(
                        Diagnostic(
                            "error",
                            "duplicate-key",
                            f"duplicate key {key!r} (first written at line {first.line})",
                            key_position,
                        )
                    )
                    continue
                result.entries[key] = (key_position, self.build(value_node))
                result.order.append(key)
            return result
        raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover


class _TooLarge(Exception):
    def __init__(self, position: Position) -> None:
        self.position = position


def load_tree(text: str, file: str) -> tuple[YNode | None, list[Diagnostic]]:
    """The tree of one YAML document, and every problem found reading it."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or exc.context or "not valid YAML"
        return None, [Diagnostic("error", "yaml", message, Position(file, line, column))]
    except yaml.YAMLError as exc:
        return None, [Diagnostic("error", "yaml", str(exc), Position(file, 1, 1))]
    if root is None:
        return None, [Diagnostic("error", "empty", "the file is empty", Position(file, 1, 1))]
    builder = _Builder(file)
    try:
        tree = builder.build(root)
    except _TooLarge as exc:
        return None, [
            Diagnostic(
                "error",
                "too-large",
                f"the document expands to more than {MAX_NODES} values (aliases?)",
                exc.position,
            )
        ]
    return tree, builder.problems


def plain(node: YNode) -> Any:
    """The node as plain JSON-able data (dates and times as ISO text)."""
    if isinstance(node, YScalar):
        value = node.value
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value
    if isinstance(node, YSeq):
        return [plain(item) for item in node.items]
    return {key: plain(node.entries[key][1]) for key in node.order}
