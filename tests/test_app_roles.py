"""Every page for every role: the sidebar offers exactly the pages the role may use, each of
them renders without an exception, and every other page, opened directly as a typed address
would, is refused by the core with a Chinese message."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.app_site"]

PAGES = {  # file → its title
    "views/ask.py": "智能问答", "views/library.py": "法规库", "views/study.py": "学习与考试",
    "views/review.py": "题库审核", "views/drill_editor.py": "情景演练编辑", "views/hours.py": "学时统计",
    "views/admin.py": "管理", "views/account.py": "我的账户",
}
EVERYONE = {"views/ask.py", "views/library.py", "views/study.py", "views/account.py"}
ALLOWED = {
    "demo.officer1": EVERYONE,
    "demo.trainer": EVERYONE | {"views/review.py", "views/drill_editor.py"},
    "demo.coord": EVERYONE | {"views/hours.py"},
    "admin": set(PAGES),
}


@pytest.mark.parametrize("username", list(ALLOWED))
def test_each_role_reaches_its_pages_and_is_refused_the_others(site, username):
    for page, title in PAGES.items():
        at = site.app(username, file=page)
        assert not at.exception, (username, page, at.exception)
        refused = any("无权访问此页面" in e.value for e in at.error)
        if page in ALLOWED[username]:
            assert not refused and at.title and at.title[0].value == title, (username, page)
        else:
            assert refused and not at.title, (username, page)


@pytest.mark.parametrize("username", list(ALLOWED))
def test_the_sidebar_offers_exactly_the_allowed_pages(site, username):
    from sqlalchemy import select

    from app.navigation import allowed_pages
    from kb.records.models import User

    with site.session() as s:
        offered = {f for f, _, _, _ in allowed_pages(s.scalar(select(User).where(User.username == username)))}
    assert offered == ALLOWED[username]
