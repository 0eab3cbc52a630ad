"""A populated site for the app's tests (load with ``pytest_plugins = ["tests.app_site"]``).

One knowledge base (行政处罚法 and the 罚款 regulation from the sample corpus, embedded with
the shared test cache) and one SQLite records database filled by ``kb demo``'s own code
(:func:`kb.records.demo.seed_demo`): units 440000 → 440100 → 440103, ``admin``, a trainer, a
coordinator, five officers, approved questions, two quizzes, attempts and offline hours.
Pages run in AppTest signed in as any of them: ``site.app("demo.officer1", "views/study.py")``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from tests.conftest import EMBED_CACHE, ROOT, make_settings, sample

DOCS = ["law_xingzheng-chufa-fa_2021.md", "reg_fakuan-jueding-yu-fakuan-shoujiao-fenli-shishi-banfa_1997.md"]
ADMIN_PASSWORD = "Guanli2026zfkb"
MAIN = str(ROOT / "app" / "main.py")


@dataclass
class Site:
    data_dir: Path

    def user_id(self, username: str) -> int:
        from sqlalchemy import select

        from kb.records.db import session_factory
        from kb.records.models import User

        with session_factory(make_settings(self.data_dir), migrate=False)() as s:
            return s.scalar(select(User.id).where(User.username == username))

    def sign_in(self, username: str) -> str:
        """A sign-in token for ``username``, as the sign-in form would have made."""
        from sqlalchemy import select

        from kb.records.db import session_factory
        from kb.records.models import User
        from kb.records.signins import open_sign_in

        with session_factory(make_settings(self.data_dir), migrate=False)() as s:
            return open_sign_in(s, s.scalar(select(User).where(User.username == username)))

    def app(self, username: str | None = None, page: str | None = None, *, file: str | None = None,
            timeout: float = 120) -> AppTest:
        """AppTest of the whole app (or of one page ``file`` run directly, as a typed URL
        would), signed in as ``username``, switched to ``page``, already run."""
        at = AppTest.from_file(str(ROOT / "app" / file) if file else MAIN, default_timeout=timeout)
        if username:
            at.session_state["zhifa_auth"] = {"user_id": self.user_id(username), "token": self.sign_in(username),
                                              "touched": time.time()}
        at.run()
        if page:
            at.switch_page(page).run()
        return at

    def session(self):
        """A records session on the site's database, for checking what a page did."""
        from kb.records.db import session_factory

        return session_factory(make_settings(self.data_dir), migrate=False)()


def build_site(tmp: Path) -> None:
    """Ingest DOCS into ``tmp`` and fill its records database with the demo data."""
    from ingest.pipeline import Ingestor
    from kb.records.bootstrap import ensure_first_admin
    from kb.records.db import session_factory
    from kb.records.demo import seed_demo
    from kb.store import open_store

    settings = make_settings(tmp)
    ing = Ingestor(settings)
    ing.ingest([sample(d) for d in DOCS])
    ing.close()
    store = open_store(settings)
    try:
        with session_factory(settings)() as s:
            ensure_first_admin(s, ADMIN_PASSWORD)
            seed_demo(s, store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from kb.records import auth

    mp = pytest.MonkeyPatch()
    mp.setattr(auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    auth._dummy_hash.cache_clear()
    tmp = tmp_path_factory.mktemp("site")
    build_site(tmp)
    mp.setenv("KB_DATA_DIR", str(tmp))
    mp.setenv("KB_EMBED_CACHE", str(EMBED_CACHE))
    mp.setenv("KB_DATABASE_URL", "")
    mp.delenv("KB_QDRANT_URL", raising=False)
    mp.delenv("KB_BACKGROUND_DIR", raising=False)
    mp.delenv("KB_BACKGROUND_COLLECTION", raising=False)
    yield Site(tmp)
    from app.resources import close_all

    close_all()
    mp.undo()
    auth._dummy_hash.cache_clear()
