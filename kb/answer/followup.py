"""Follow-up questions: 「那听证要提前几天通知？」 after a question about 听证 means the same
subject. Without an LLM to rewrite it, a follow-up that leans on the previous turn (starts
with 那/那么/还有/这个…, or is a fragment like 「期限呢？」) is searched together with the
previous question. A short question with its own subject (「护照怎么办理」) stands alone.
"""

from __future__ import annotations

import re

_LEANS_ON_CONTEXT = re.compile(r"^(那|那么|那如果|还有|另外|这个|这种|这些|那个|它|其|该|上述|此外|如果是|要是|同样)")
_FRAGMENT_CHARS = 6


def resolve_followup(question: str, history: list[str] | None) -> str:
    """The question to search for, given the previous questions of the conversation (oldest first)."""
    if not history:
        return question
    previous = next((h for h in reversed(history) if h.strip()), "")
    if not previous:
        return question
    if _LEANS_ON_CONTEXT.match(question) or len(question.rstrip("？?呢吗。 ")) < _FRAGMENT_CHARS:
        return f"{previous} {question}"
    return question
