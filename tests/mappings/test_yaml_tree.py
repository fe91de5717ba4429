"""Rule files are read with the position of every value, and YAML's traps are reported."""

from __future__ import annotations

from mappings.yaml_tree import YMap, YScalar, YSeq, load_tree, plain


def test_every_value_keeps_its_line_and_column() -> None:
    tree, problems = load_tree("name: x\nitems:\n  - a\n  - {b: 2}\n", "f.yaml")
    assert problems == []
    assert isinstance(tree, YMap)
    items = tree.get("items")
    assert isinstance(items, YSeq)
    second = items.items[1]
    assert isinstance(second, YMap)
    value = second.get("b")
    assert isinstance(value, YScalar) and value.value == 2
    assert (value.position.line, value.position.column) == (4, 9)
    assert tree.key_position("items").line == 2


def test_duplicate_keys_are_errors_with_both_places() -> None:
    _, problems = load_tree("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [(p.code, p.position.line, p.position.column) for p in problems] == [
        ("duplicate-key", 3, 1)
    ]
    assert "first written at line 1" in problems[0].message


def test_a_syntax_error_points_at_the_problem() -> None:
    tree, problems = load_tree("a: [1, 2\nb: 3\n", "f.yaml")
    assert tree is None
    assert problems[0].code == "yaml"
    assert problems[0].position.file == "f.yaml" and problems[0].position.line >= 2


def test_python_tags_are_not_constructed() -> None:
    tree, problems = load_tree("a: !!python/object/apply:os.system ['true']\n", "f.yaml")
    assert tree is None or problems
    assert problems and problems[0].severity == "error"


def test_an_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 8):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    tree, problems = load_tree("\n".join(lines) + "\n", "bomb.yaml")
    assert tree is None
    assert problems[0].code == "too-large"


def test_empty_files_and_merge_keys_are_errors() -> None:
    assert load_tree("", "f.yaml")[1][0].code == "empty"
    _, problems = load_tree("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml")
    assert problems[0].message == "merge keys (<<) are not supported"


def test_plain_turns_dates_into_text() -> None:
    tree, _ = load_tree("when: 2025-01-31\nn: [1, true]\n", "f.yaml")
    assert tree is not None
    assert plain(tree) == {"when": "2025-01-31", "n": [1, True]}
