"""Formats of the values people type into the records, checked the same way on every backend.

Identifiers (username, 执法证号, unit code) have strict formats, so quotes, semicolons and
comment markers are refused with a message saying what is allowed. Free text (names, 执法领域)
is stored verbatim — queries are parameterised, so ``Robert'); DROP TABLE users;--`` is
just a strange name — but control characters and NUL (which PostgreSQL rejects and SQLite
keeps) are refused, and lengths are checked here because SQLite does not enforce VARCHAR(n).
"""

from __future__ import annotations

import re
import unicodedata

from kb.records.errors import ValidationError
from kb.records.models import ROLES

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
CERT_NO_RE = re.compile(r"[0-9A-Z\u4e00-\u9fff][0-9A-Z\u4e00-\u9fff-]{0,31}")
UNIT_CODE_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")
FIELD_SEPARATORS = re.compile(r"[、,，;；|]")

ROLE_ALIASES = {"执法人员": "officer", "教员": "trainer", "协调员": "coordinator", "管理员": "admin"}


def text(value: str | None, what: str, max_len: int, required: bool = True, multiline: bool = False) -> str:
    """Free text, stripped; verbatim otherwise. Raises ValidationError naming ``what``.
    ``multiline`` allows line breaks (an explanation quoting several 款), no other controls."""
    value = unicodedata.normalize("NFC", (value or "").strip())
    if not value:
        if required:
            raise ValidationError(f"{what} 不能为空 / {what} is required")
        return ""
    allowed = {"\n"} if multiline else set()
    if any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in allowed for ch in value):
        raise ValidationError(f"{what} 含有控制字符 / {what} contains control characters")
    if len(value) > max_len:
        raise ValidationError(f"{what} 过长（最多 {max_len} 字）/ {what} is longer than {max_len} characters")
    return value


def username(value: str | None) -> str:
    """Usernames are case-insensitive: full-width forms and capitals fold to ASCII lower case."""
    name = unicodedata.normalize("NFKC", (value or "").strip()).lower()
    if not USERNAME_RE.fullmatch(name):
        raise ValidationError(
            f"用户名 {_show(value)} 无效：2–64 位小写字母、数字或 . _ - / username {_show(value)} is invalid: "
            "2–64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def cert_no(value: str | None) -> str | None:
    """执法证号: digits, capital letters, Chinese characters and '-'; empty means none."""
    raw = unicodedata.normalize("NFKC", (value or "").strip()).upper()
    if not raw:
        return None
    if not CERT_NO_RE.fullmatch(raw):
        raise ValidationError(
            f"执法证号 {_show(value)} 无效：最多 32 位数字、字母、汉字或 - / certificate number {_show(value)} "
            "is invalid: up to 32 digits, letters, Chinese characters or '-'"
        )
    return raw


def unit_code(value: str | None) -> str:
    code = unicodedata.normalize("NFKC", (value or "").strip())
    if not UNIT_CODE_RE.fullmatch(code):
        raise ValidationError(
            f"单位代码 {_show(value)} 无效：最多 32 位字母、数字或 . _ - / unit code {_show(value)} is invalid: "
            "up to 32 letters, digits, '.', '_' or '-'"
        )
    return code


def role(value: str | None) -> str:
    """A role, in English or by its Chinese name (执法人员, 教员, 协调员, 管理员)."""
    raw = (value or "").strip()
    name = ROLE_ALIASES.get(raw, raw.lower())
    if name not in ROLES:
        raise ValidationError(f"角色 {_show(value)} 无效 / role {_show(value)} is not one of {', '.join(ROLES)}")
    return name


def fields(values: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """执法领域: a list, or one string split at 、 , ， ; ； |; duplicates dropped, order kept."""
    if values is None:
        return []
    items = FIELD_SEPARATORS.split(values) if isinstance(values, str) else list(values)
    cleaned = [text(v, "执法领域 / field", 32, required=False) for v in items]
    return list(dict.fromkeys(v for v in cleaned if v))


def _show(value: str | None) -> str:
    """A user's value quoted for an error message, cut short and with control characters escaped."""
    return repr(value if value is None or len(value) <= 40 else value[:40] + "…")
