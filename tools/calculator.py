"""Arithmetic for the `calculate` tool, evaluated on the syntax tree: no eval, no exponent bombs."""

from __future__ import annotations

import ast
import math
import operator

from tools.errors import ToolError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_ALLOWED_CHARACTERS = set("0123456789+-*/(). ")


def evaluate(expression: str) -> str:
    """The value of +, -, *, / over numbers and parentheses, rounded to 2 decimals."""
    if not expression.strip() or not set(expression) <= _ALLOWED_CHARACTERS or "**" in expression:
        raise ToolError("The expression may contain only numbers, + - * /, parentheses and spaces.")
    try:
        value = _value(ast.parse(expression, mode="eval").body)
    except ZeroDivisionError:
        raise ToolError("Division by zero.") from None
    except (SyntaxError, RecursionError):
        raise ToolError(f"'{expression}' is not a valid expression.") from None
    except OverflowError:
        raise ToolError("The numbers are too large to calculate with.") from None
    if not math.isfinite(value):
        raise ToolError("The numbers are too large to calculate with.")
    return str(round(value, 2))


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_value(node.left), _value(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    raise ToolError("The expression may contain only numbers, + - * /, parentheses and spaces.")
