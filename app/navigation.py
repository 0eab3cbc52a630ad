"""The pages and who sees them in the sidebar, derived from the core's permission table
(:data:`kb.records.access.PERMISSIONS`), so the menu and the refusals cannot disagree."""

from __future__ import annotations

from kb.records.access import has_permission
from kb.records.models import Actor

# (file, title, icon, permission needed or None for every signed-in user)
PAGES: list[tuple[str, str, str, str | None]] = [
    ("views/ask.py", "智能问答", ":material/forum:", None),
    ("views/library.py", "法规库", ":material/menu_book:", None),
    ("views/study.py", "学习与考试", ":material/school:", "quiz.take"),
    ("views/review.py", "题库审核", ":material/fact_check:", "content.manage"),
    ("views/drill_editor.py", "情景演练编辑", ":material/theater_comedy:", "content.manage"),
    ("views/hours.py", "学时统计", ":material/monitoring:", "records.export"),
    ("views/admin.py", "管理", ":material/settings:", "documents.manage"),
    ("views/account.py", "我的账户", ":material/person:", None),
]


def allowed_pages(actor: Actor) -> list[tuple[str, str, str, str | None]]:
    """The pages offered to ``actor``, in menu order."""
    return [p for p in PAGES if p[3] is None or has_permission(actor, p[3])]
