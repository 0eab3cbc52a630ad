"""Process-wide resources for the pages, built once per configuration (the embedding model,
the store handle and the database engine are expensive; a page never reloads them).

Each is keyed by the settings it was built from, so a process that changes ``KB_DATA_DIR``
or ``KB_DATABASE_URL`` (the tests do) gets its own instead of a stale one.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from kb.answer import Answerer
from kb.config import Settings, load_settings


def settings() -> Settings:
    return load_settings()


_opened: list[Answerer] = []


@st.cache_resource(show_spinner="正在加载知识库与向量模型…")
def _answerer(data_dir: str, qdrant_url: str, embed_cache: str, background: tuple[str, str]) -> Answerer:
    made = Answerer(load_settings())
    _opened.append(made)
    return made


def answerer() -> Answerer:
    """One Answerer (one Retriever, one embedding model, one store handle) per knowledge base."""
    s = settings()
    return _answerer(str(s.data_dir), s.qdrant_url, s.embed_cache, (s.background_dir, s.background_collection))


@st.cache_resource(show_spinner=False)
def _records(data_dir: str, database_url: str) -> sessionmaker[Session]:
    from kb.records.bootstrap import ensure_first_admin
    from kb.records.db import session_factory

    factory = session_factory(load_settings())
    with factory() as session:
        created = ensure_first_admin(session)
    if created:  # the server's console: whoever started the app reads it once
        print(f"ZhifaKB: first admin account {created[0]!r}, initial password {created[1]} "
              "(shown once; change it at first sign-in)", flush=True)
    return factory


def records() -> sessionmaker[Session]:
    """The records database's session factory, migrated, with the first admin ensured."""
    s = settings()
    return _records(str(s.data_dir), s.database_url)



def close_all() -> None:
    """Close every store handle opened here and forget the cached resources, so another
    process (or test) can open the same Qdrant Edge folder, which allows one holder."""
    while _opened:
        _opened.pop().retriever.close()
    st.cache_resource.clear()
