"""Errors of the training records, each a :class:`kb.errors.KBError` a person can act on.

Messages are bilingual (中文 / English) because they reach officers through the app as well as
administrators through the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import KBError


class RecordsError(KBError):
    """Base class for the records: a refused or impossible operation, nothing was changed."""


class DatabaseError(RecordsError):
    """The records database is unreachable, or its schema is not what this code expects."""


class ValidationError(RecordsError):
    """A value does not meet its format or policy (username, password, 执法证号, role...)."""


class AuthError(RecordsError):
    """Sign-in failed. The message is the same whatever the cause, so it never tells a caller
    whether the username exists, the password was wrong, or the account is locked."""

    MESSAGE = "用户名或密码错误，或账户已被暂时锁定 / wrong username or password, or the account is temporarily locked"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class AccessDenied(RecordsError):
    """The actor may not do this; the refusal has been written to the audit log."""

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"无权执行此操作 / not allowed: {action} ({reason})")


class NotFound(RecordsError):
    """A user or unit named by the caller does not exist (or is not visible to them)."""


@dataclass(frozen=True)
class RowError:
    """One bad row of an import: its line number in the file, the column and what is wrong."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportRejected(RecordsError):
    """An import found bad rows; it is all-or-none, so nothing was imported."""

    def __init__(self, source: str, errors: list[RowError]) -> None:
        self.source = source
        self.errors = errors
        lines = sorted({e.line for e in errors})
        shown = "; ".join(str(e) for e in errors[:20])
        more = f"; … {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(
            f"{source}: {len(errors)} problem(s) in {len(lines)} row(s), nothing imported "
            f"(导入未执行，请修正后重新导入): {shown}{more}"
        )


class StateError(RecordsError):
    """The thing is not in a state that allows this (a retired question approved, an attempt
    already closed, no attempts left...)."""


class NotInAttempt(ValidationError):
    """An answer names a question that is not part of the attempt; nothing was saved."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        shown = ", ".join(keys[:10]) + (" …" if len(keys) > 10 else "")
        super().__init__(f"这些题目不在本次答题中，未保存任何答案 / not questions of this attempt, "
                         f"nothing was saved: {shown}")


class TimeLimitExceeded(StateError):
    """The attempt's time limit (plus the grace period) has passed; the late request changed nothing."""

    def __init__(self, attempt_id: int, deadline: str) -> None:
        self.attempt_id = attempt_id
        super().__init__(f"答题时间已到（截止 {deadline}），本次提交未被接受 / the time limit of attempt "
                         f"{attempt_id} ended at {deadline}; this submission was not accepted")
