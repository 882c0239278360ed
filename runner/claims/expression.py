"""A small, restricted expression language for ``expect:`` (``where`` and ``check``).

Shared YAML must not run code (DESIGN.md, Security), so an expression is parsed with
:mod:`ast` and only a whitelist of node types is accepted: comparisons (including
``in`` / ``not in`` a literal list), ``and`` / ``or`` / ``not``, ``+ - * /``, column
names (a workload parameter as ``workload.kib``), numbers, strings and ``True`` /
``False``. Calls, attributes, subscripts,
lambdas, comprehensions, ``**`` and everything else are refused before anything is
evaluated. Evaluation is vectorised: names are bound to columns (pandas Series or
numpy arrays) and the result is one boolean per row.

Standard library only at import time, so the sweep can validate expressions before
any cell runs without loading pandas.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MAX_LENGTH = 500
ALLOWED = "comparisons (< <= > >= == != in, not in [..]), and/or/not, + - * /, column names, numbers, strings"

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
# What a refused node is called in the message, so the user knows what to remove.
_REFUSED: dict[type[ast.AST], str] = {
    ast.Call: "a call",
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.NamedExpr: "an assignment",
    ast.IfExp: "a conditional expression",
    ast.Starred: "a starred expression",
    ast.JoinedStr: "an f-string",
    ast.Dict: "a dict",
    ast.Set: "a set",
}


class ExprError(ValueError):
    """An expression the lab refuses to evaluate; the message says why and what is allowed."""


def _segment(source: str, node: ast.AST) -> str:
    return ast.get_source_segment(source, node) or type(node).__name__


def _refuse(source: str, node: ast.AST, what: str) -> ExprError:
    return ExprError(f"{_segment(source, node)!r} is {what}, which is not allowed; allowed: {ALLOWED}")


def _name(node: ast.AST) -> str | None:
    """The column a name reads: ``speedup``, or a workload parameter as the tables name it,
    ``workload.kib`` (a name with a dot in it, looked up among the columns: no attribute access)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "workload":
        return f"workload.{node.attr}"
    return None


def _check(node: ast.AST, source: str, names: frozenset[str] | None, used: set[str]) -> None:
    name = _name(node)
    if name is not None:
        if names is not None and name not in names:
            raise ExprError(f"unknown name {name!r}; allowed names: {', '.join(sorted(names))}")
        used.add(name)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, bool | int | float | str):
            raise _refuse(source, node, "a constant other than a number, string, True or False")
    else:
        for child in _operands(node, source):
            _check(child, source, names, used)


def _operands(node: ast.AST, source: str) -> list[ast.expr]:
    """The sub-expressions of an allowed operation; anything else is refused."""
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise _refuse(source, node, "a bitwise operator")
        return [node.operand]
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITHMETIC:
            raise _refuse(source, node, "an operator other than + - * /")
        return [node.left, node.right]
    if isinstance(node, ast.Compare):
        operands = [node.left]
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.List | ast.Tuple) or not all(
                    isinstance(e, ast.Constant) for e in right.elts
                ):
                    raise _refuse(source, right, "'in' against something other than a literal list")
            elif type(op) not in _COMPARE:
                raise _refuse(source, node, "an identity test (is, is not)")
            else:
                operands.append(right)
        return operands
    raise _refuse(source, node, _REFUSED.get(type(node), f"a {type(node).__name__} expression"))


class Expr:
    """A parsed, whitelisted expression; ``names`` are the columns it reads."""

    def __init__(self, source: str, names: Iterable[str] | frozenset[str] | None = None) -> None:
        if not isinstance(source, str) or not source.strip():
            raise ExprError(f"expected a non-empty expression string, got {source!r}; allowed: {ALLOWED}")
        if len(source) > MAX_LENGTH:
            raise ExprError(f"expression longer than {MAX_LENGTH} characters")
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExprError(f"not a valid expression ({exc.msg}): {source!r}; allowed: {ALLOWED}") from None
        self.source = source.strip()
        self.tree = tree.body
        used: set[str] = set()
        allowed = names if isinstance(names, frozenset) or names is None else frozenset(names)
        _check(self.tree, self.source, allowed, used)
        self.names = frozenset(used)

    def evaluate(self, columns: Mapping[str, Any]) -> Any:
        """Evaluate over ``columns`` (name -> Series/array); booleans per row, or a scalar."""
        missing = sorted(self.names - set(columns))
        if missing:
            raise ExprError(f"unknown name {missing[0]!r}; allowed names: {', '.join(sorted(columns))}")
        try:
            return _eval(self.tree, columns)
        except (TypeError, ValueError) as exc:
            raise ExprError(f"cannot evaluate {self.source!r}: {exc}") from None


def _and(a: Any, b: Any) -> Any:
    import numpy as np

    return np.logical_and(a, b)


def _or(a: Any, b: Any) -> Any:
    import numpy as np

    return np.logical_or(a, b)


def _not(a: Any) -> Any:
    import numpy as np

    return np.logical_not(a)


def _isin(value: Any, options: list[Any]) -> Any:
    if hasattr(value, "isin"):
        return value.isin(options)
    import numpy as np

    return np.isin(value, options)


_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.Not: _not, ast.USub: operator.neg, ast.UAdd: operator.pos}


def _eval(node: ast.AST, columns: Mapping[str, Any]) -> Any:
    # Only the node types _check let through can reach here.
    name = _name(node)
    if name is not None:
        return columns[name]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Compare):
        return _eval_compare(node, columns)
    if isinstance(node, ast.BoolOp):
        combine = _and if isinstance(node.op, ast.And) else _or
        result = _eval(node.values[0], columns)
        for value in node.values[1:]:
            result = combine(result, _eval(value, columns))
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, columns)
        return _UNARY[type(node.op)](operand)
    assert isinstance(node, ast.BinOp), type(node).__name__
    left, right = _eval(node.left, columns), _eval(node.right, columns)
    if _text(left) or _text(right):  # "'a' * 10**11" would build a string of 100 GB from a received file
        raise TypeError("arithmetic on text; allowed: + - * / on numbers")
    return _ARITHMETIC[type(node.op)](left, right)


def _text(value: Any) -> bool:
    """A string, or a column of them (numpy's and pandas' text kinds)."""
    return isinstance(value, str) or getattr(getattr(value, "dtype", None), "kind", "") in ("O", "U", "S")


def _eval_compare(node: ast.Compare, columns: Mapping[str, Any]) -> Any:
    """A chain ``a < b <= c`` holds where each link holds, as in Python."""
    left = _eval(node.left, columns)
    held: Any = True
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        if isinstance(op, ast.In | ast.NotIn):
            options = [e.value for e in comparator.elts]  # type: ignore[attr-defined]
            step = _isin(left, options)
            held = _and(held, _not(step) if isinstance(op, ast.NotIn) else step)
            continue
        right = _eval(comparator, columns)
        held = _and(held, _COMPARE[type(op)](left, right))
        left = right
    return held
