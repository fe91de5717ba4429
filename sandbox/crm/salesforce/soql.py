"""A parser for the SOQL subset the connectors use, with Salesforce's error messages.

    SELECT field[, parent.field | COUNT()] FROM Object
      [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Conditions: AND / OR / NOT with parentheses (AND and OR never mixed without parentheses, as in
SOQL), = != <> < <= > >=, IN, NOT IN, LIKE; literals: 'strings', numbers, true/false, null,
dates, datetimes and date literals (TODAY, LAST_N_DAYS:n, ...). Everything else is answered
with MALFORMED_QUERY, naming the token, its row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DATE_LITERALS",
    "And",
    "Compare",
    "Condition",
    "Count",
    "FieldPath",
    "InList",
    "Like",
    "Literal_",
    "Not",
    "Or",
    "OrderItem",
    "Query",
    "SoqlError",
    "parse",
]


class SoqlError(Exception):
    """A query Salesforce would refuse: errorCode plus the message laid out as Salesforce does."""

    def __init__(self, code: str, detail: str, query: str, position: int | None) -> None:
        self.code = code
        self.detail = detail
        super().__init__(_layout(query, position, detail) if position is not None else detail)

    @property
    def message(self) -> str:
        return str(self)


def _layout(query: str, position: int, detail: str) -> str:
    position = max(0, min(position, len(query)))
    line_start = query.rfind("\n", 0, position) + 1
    line_end = query.find("\n", position)
    line = query[line_start : line_end if line_end >= 0 else len(query)]
    row = query.count("\n", 0, position) + 1
    column = position - line_start + 1
    offset = column - 1
    if len(line) > 100:
        start = max(0, offset - 40)
        comma = line.rfind(", ", 0, start + 1)
        if comma >= 0 and offset - comma < 80:
            start = comma + 2
        line = line[start : start + 100]
        offset -= start
    return f"\n{line}\n{' ' * offset}^\nERROR at Row:{row}:Column:{column}\n{detail}"


# Lexer --------------------------------------------------------------------------------------
TokenKind = Literal["ident", "string", "number", "date", "datetime", "op", "punct", "eof"]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?\d+(?:\.\d+)?(?![\w]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),.:])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "'": "'",
    '"': '"',
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None:
            text = query[pos]
            if text == "'":
                raise SoqlError(
                    "MALFORMED_QUERY",
                    "line 1:0 mismatched character '<EOF>' expecting '''",
                    query,
                    pos,
                )
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'", query, pos)
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))  # type: ignore[arg-type]
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(query)))
    return tokens


def _unquote(text: str, query: str, pos: int) -> str:
    out = []
    i = 1
    while i < len(text) - 1:
        char = text[i]
        if char == "\\":
            nxt = text[i + 1]
            if nxt not in _ESCAPES:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Invalid string literal '{text}'. "
                    f"Illegal character sequence '\\{nxt}' in string literal.",
                    query,
                    pos,
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


# AST ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Count:
    pos: int


LiteralKind = Literal["string", "number", "date", "datetime", "boolean", "null", "dateliteral"]


@dataclass(frozen=True)
class Literal_:
    kind: LiteralKind
    value: str | float | bool | None
    pos: int
    text: str
    n: int | None = None  # the n of LAST_N_DAYS:n


@dataclass(frozen=True)
class Compare:
    field: FieldPath
    op: str
    value: Literal_


@dataclass(frozen=True)
class InList:
    field: FieldPath
    negate: bool
    values: tuple[Literal_, ...]


@dataclass(frozen=True)
class Like:
    field: FieldPath
    pattern: Literal_


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | InList | Like | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    text: str
    select: list[FieldPath | Count]
    object_name: str
    object_pos: int
    where: Condition | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None

    @property
    def is_count(self) -> bool:
        return any(isinstance(item, Count) for item in self.select)


DATE_LITERALS = frozenset(
    {
        "TODAY",
        "YESTERDAY",
        "TOMORROW",
        "LAST_WEEK",
        "THIS_WEEK",
        "NEXT_WEEK",
        "LAST_MONTH",
        "THIS_MONTH",
        "NEXT_MONTH",
        "LAST_YEAR",
        "THIS_YEAR",
        "NEXT_YEAR",
        "LAST_90_DAYS",
        "NEXT_90_DAYS",
    }
)
DATE_N_LITERALS = frozenset(
    {
        "LAST_N_DAYS",
        "NEXT_N_DAYS",
        "N_DAYS_AGO",
        "LAST_N_WEEKS",
        "NEXT_N_WEEKS",
        "LAST_N_MONTHS",
        "NEXT_N_MONTHS",
    }
)
_RESERVED = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET"}
    | {"GROUP", "HAVING", "WITH", "FOR", "USING", "NULL", "TRUE", "FALSE", "INCLUDES", "EXCLUDES"}
    | {"ASC", "DESC", "NULLS", "TYPEOF", "END"}
)
_CLAUSE_STARTS = (
    "WHERE",
    "WITH",
    "GROUP",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "FOR",
    "USING",
    "UPDATE",
    "ALL",
)


# Parser ---------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tok
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: Token | None = None, detail: str | None = None) -> SoqlError:
        token = token or self.tok
        return SoqlError(
            "MALFORMED_QUERY", detail or f"unexpected token: '{token.text}'", self.query, token.pos
        )

    def at(self, kind: TokenKind) -> bool:
        return self.tok.kind == kind

    def keyword(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper == word

    def expect_keyword(self, word: str) -> Token:
        if not self.keyword(word):
            raise self.fail()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        if self.tok.kind != "punct" or self.tok.text != char:
            raise self.fail()
        return self.advance()

    # SELECT ... FROM ...
    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        select = self.select_list()
        self.expect_keyword("FROM")
        if self.tok.kind != "ident" or self.tok.upper in _RESERVED:
            raise self.fail()
        object_token = self.advance()
        query = Query(self.query, select, object_token.text, object_token.pos)
        if self.tok.kind == "ident" and self.tok.upper not in _CLAUSE_STARTS:
            raise self.fail()  # aliases and other FROM forms are not in the subset
        if self.keyword("WHERE"):
            self.advance()
            query.where = self.condition()
        if self.keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            query.order_by = self.order_list()
        if self.keyword("LIMIT"):
            self.advance()
            query.limit = self.integer()
        if self.keyword("OFFSET"):
            self.advance()
            query.offset = self.integer()
        if not self.at("eof"):
            raise self.fail()
        return query

    def integer(self) -> int:
        token = self.tok
        if token.kind != "number" or not token.text.lstrip("+").isdigit():
            raise self.fail()
        self.advance()
        return int(token.text)

    def select_list(self) -> list[FieldPath | Count]:
        items: list[FieldPath | Count] = []
        while True:
            token = self.tok
            if token.kind == "ident" and token.upper == "COUNT" and self.peek().text == "(":
                self.advance()
                self.advance()
                if self.tok.text != ")":
                    raise self.fail(
                        self.tok, "aggregate functions other than COUNT() are not supported"
                    )
                self.advance()
                items.append(Count(token.pos))
            elif token.kind == "punct" and token.text == "(":
                raise self.fail(token)  # relationship subqueries are not in the subset
            elif token.kind == "ident" and token.upper not in _RESERVED:
                if self.peek().text == "(":
                    raise self.fail(self.peek())  # functions: FIELDS(), toLabel(), ...
                items.append(self.field_path())
                if self.at("ident") and self.tok.upper not in _RESERVED:
                    alias = self.advance()  # Salesforce reads 'Id FRO' as a field and its alias
                    if not self.keyword("FROM") and not self.tok.text == ",":
                        raise self.fail()
                    detail = "Only aggregate expressions use field aliasing"
                    raise SoqlError("MALFORMED_QUERY", detail, self.query, alias.pos)
            else:
                raise self.fail()
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                continue
            counts = [i for i in items if isinstance(i, Count)]
            if counts and len(items) > 1:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    "COUNT() may only be used alone in the SELECT list",
                    self.query,
                    counts[0].pos,
                )
            return items

    def field_path(self) -> FieldPath:
        first = self.tok
        if first.kind != "ident" or first.upper in _RESERVED:
            raise self.fail()
        parts = [self.advance().text]
        while self.tok.kind == "punct" and self.tok.text == ".":
            self.advance()
            if not self.at("ident"):
                raise self.fail()
            parts.append(self.advance().text)
        return FieldPath(tuple(parts), first.pos)

    # WHERE
    def condition(self) -> Condition:
        first = self.unary()
        joiner: str | None = None
        parts = [first]
        while self.keyword("AND") or self.keyword("OR"):
            word = self.tok.upper
            if joiner is not None and word != joiner:
                raise self.fail()  # SOQL demands parentheses to mix AND and OR
            joiner = word
            self.advance()
            parts.append(self.unary())
        if joiner is None:
            return first
        return And(tuple(parts)) if joiner == "AND" else Or(tuple(parts))

    def unary(self) -> Condition:
        if self.keyword("NOT"):
            self.advance()
            return Not(self.unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.simple()

    def simple(self) -> Condition:
        path = self.field_path()
        token = self.tok
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Compare(path, op, self.literal())
        if token.kind == "ident":
            word = token.upper
            if word == "LIKE":
                self.advance()
                return Like(path, self.literal())
            if word == "IN":
                self.advance()
                return InList(path, False, self.literal_list())
            if word == "NOT" and self.peek().upper == "IN":
                self.advance()
                self.advance()
                return InList(path, True, self.literal_list())
        raise self.fail()

    def literal_list(self) -> tuple[Literal_, ...]:
        self.expect_punct("(")
        if self.keyword("SELECT"):
            raise self.fail()  # semi-joins are not in the subset
        values = [self.literal()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal_:
        token = self.tok
        if token.kind == "string":
            self.advance()
            return Literal_(
                "string", _unquote(token.text, self.query, token.pos), token.pos, token.text
            )
        if token.kind == "number":
            self.advance()
            return Literal_("number", float(token.text), token.pos, token.text)
        if token.kind in ("date", "datetime"):
            self.advance()
            kind: LiteralKind = "date" if token.kind == "date" else "datetime"
            return Literal_(kind, token.text, token.pos, token.text)
        if token.kind == "ident":
            word = token.upper
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal_("boolean", word == "TRUE", token.pos, token.text)
            if word == "NULL":
                self.advance()
                return Literal_("null", None, token.pos, token.text)
            if word in DATE_LITERALS:
                self.advance()
                return Literal_("dateliteral", word, token.pos, token.text)
            if word in DATE_N_LITERALS:
                self.advance()
                self.expect_punct(":")
                n_token = self.tok
                if n_token.kind != "number" or not n_token.text.isdigit():
                    raise self.fail()
                self.advance()
                return Literal_(
                    "dateliteral",
                    word,
                    token.pos,
                    f"{token.text}:{n_token.text}",
                    int(n_token.text),
                )
        if token.kind == "punct" and token.text == ":":
            raise self.fail()  # bind variables exist only in Apex
        raise self.fail()

    # ORDER BY
    def order_list(self) -> list[OrderItem]:
        items = []
        while True:
            path = self.field_path()
            descending = False
            if self.keyword("ASC") or self.keyword("DESC"):
                descending = self.advance().upper == "DESC"
            nulls_last = descending
            if self.keyword("NULLS"):
                self.advance()
                if not (self.keyword("FIRST") or self.keyword("LAST")):
                    raise self.fail()
                nulls_last = self.advance().upper == "LAST"
            items.append(OrderItem(path, descending, nulls_last))
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                continue
            return items


def parse(query: str) -> Query:
    return _Parser(query).parse()
