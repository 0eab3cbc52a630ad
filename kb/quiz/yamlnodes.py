"""Read YAML keeping the line of every value, so an error in a trainer's drill file can say
「scenarios/hearing.yaml:23: steps[2].question.answer: …」 instead of a traceback.

Values are read from the composed node tree (yaml.compose), never constructed: scalars stay
the strings the trainer typed, so YAML 1.1 surprises (``no`` → False, ``1e3`` → float) cannot
change an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class Reader:
    """Typed access to a node tree; every failure is recorded as a Problem, not raised, so
    one pass over a file reports everything wrong with it."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node | None, field: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.file, line, field, message))

    def mapping(self, node: yaml.Node, field: str, allowed: set[str]) -> dict[str, yaml.Node] | None:
        """Key → value node; unknown and repeated keys are problems (a typo must not vanish)."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, field, "expected a mapping of fields")
            return None
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = f"{field}.{key}" if field else key
            if key in out:
                self.problem(key_node, where, "field given twice")
            elif key not in allowed:
                self.problem(key_node, where, f"unknown field (expected one of: {', '.join(sorted(allowed))})")
            out[key] = value_node
        return out

    def text(self, fields: dict[str, yaml.Node], names: tuple[str, ...], parent: yaml.Node, field: str,
             required: bool = True) -> tuple[str, yaml.Node] | None:
        """A non-empty string under the first of ``names`` present (「领域」 or 「field」)."""
        for name in names:
            if name in fields:
                node = fields[name]
                if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
                    self.problem(node, _join(field, name), "expected non-empty text")
                    return None
                return str(node.value).strip(), node
        if required:
            self.problem(parent, _join(field, names[0]), "missing required field")
        return None

    def texts(self, node: yaml.Node, field: str) -> list[str] | None:
        """A list of non-empty strings (a single string is accepted as a list of one)."""
        if isinstance(node, yaml.ScalarNode) and str(node.value).strip():
            return [str(node.value).strip()]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, field, "expected a non-empty list")
            return None
        out = []
        for i, item in enumerate(node.value, 1):
            if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
                self.problem(item, f"{field}[{i}]", "expected non-empty text")
                return None
            out.append(str(item.value).strip())
        return out

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, field, "expected a non-empty list")
            return None
        return list(node.value)


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def compose(text: str, reader: Reader) -> yaml.Node | None:
    """The node tree of one YAML document; a syntax error becomes a Problem with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        reader.problems.append(Problem(reader.file, line, "(yaml)", f"malformed YAML: {reason}"))
        return None
    if node is None:
        reader.problems.append(Problem(reader.file, 1, "(file)", "the file is empty"))
    return node
