"""Reading CSV files that people made in Excel or WPS: UTF-8 (with or without BOM) or GB18030
(what a Chinese Windows Excel saves), headers in English or Chinese, every row with its line
number so an import can point at the exact line to fix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kb.records.errors import ImportRejected, RowError, ValidationError

T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    """One data row: its first line in the file, its cells by canonical column name, and what
    is wrong with its shape (None when it has one cell per column)."""

    line: int
    cells: dict[str, str]
    problem: str | None = None


def decode(data: bytes, source: str) -> str:
    """Text of a CSV file: UTF-8 first, then GB18030; anything else is refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(f"{source}: 无法识别的文件编码，请另存为 UTF-8 CSV / "
                          "neither UTF-8 nor GB18030 text; save it as CSV UTF-8")


def read_rows(data: bytes, source: str, aliases: Mapping[str, str], required: set[str]) -> Iterator[Row]:
    """Rows of ``data`` keyed by canonical column (``aliases`` maps every accepted header,
    lower-cased, to its column). Unknown or missing columns reject the whole file; a row
    with the wrong number of cells is a row error, reported with the others."""
    reader = csv.reader(io.StringIO(decode(data, source), newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ValidationError(f"{source}: 文件为空或不是 CSV / empty or not a CSV file") from exc
    columns = [aliases.get(h.strip().lower()) for h in header]
    expected = ", ".join(sorted(set(aliases.values())))
    problems = [RowError(1, h, f"无法识别的列名 / unknown column; expected one of: {expected}")
                for h, c in zip(header, columns, strict=True) if c is None]
    repeated = {c for c in columns if c and columns.count(c) > 1}
    problems += [RowError(1, c, "列名重复 / duplicate column") for c in repeated]
    problems += [RowError(1, c, "缺少此列 / missing column") for c in sorted(required - set(columns))]
    if problems:
        raise ImportRejected(source, problems)
    previous_end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem = RowError(previous_end + 1, "", f"CSV 格式无法读取 / unreadable CSV: {exc}")
            raise ImportRejected(source, [problem]) from exc
        line, previous_end = previous_end + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(columns):
            yield Row(line, {}, (f"该行有 {len(cells)} 个单元格，表头有 {len(columns)} 列 / "
                             f"has {len(cells)} cells, the header has {len(columns)}"))
            continue
        yield Row(line, {c: v for c, v in zip(columns, cells, strict=True) if c})


def take_cell(errors: list[RowError], line: int, column: str, check: Callable[..., T], *args: Any) -> T | None:
    """``check(*args)``, or None with its ValidationError added to ``errors`` as a row error:
    an import checks every cell of every row first and reports them all, all-or-none."""
    try:
        return check(*args)
    except ValidationError as exc:
        errors.append(RowError(line, column, str(exc)))
        return None
