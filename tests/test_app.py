"""The app's pages with streamlit's AppTest, over a real (tiny) knowledge base."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ingest.pipeline import Ingestor
from tests.conftest import EMBED_CACHE, ROOT, make_settings, sample

REG = "reg_fakuan-jueding-yu-fakuan-shoujiao-fenli-shishi-banfa_1997.md"


@pytest.fixture(scope="module")
def app_kb(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app_kb")
    ing = Ingestor(make_settings(tmp))
    ing.ingest([sample(REG)])
    ing.close()
    mp = pytest.MonkeyPatch()
    mp.setenv("KB_DATA_DIR", str(tmp))
    mp.setenv("KB_EMBED_CACHE", str(EMBED_CACHE))
    yield tmp
    import streamlit as st

    from app.resources import answerer

    answerer().retriever.store.close()  # release the Qdrant Edge lock for later tests
    st.cache_resource.clear()
    mp.undo()


def test_ask_page_answers_with_citations(app_kb):
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "智能问答"
    at.chat_input[0].set_value("罚款决定与罚款收缴分离实施办法第三条").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "[1]" in shown and "第三条" in " ".join(e.label for e in at.expander)
    at.chat_input[0].set_value("护照怎么办理").run()
    assert "知识库中未找到相关依据" in " ".join(m.value for m in at.markdown)


def test_search_page(app_kb):
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120).run()
    at.switch_page("views/search.py").run()
    assert not at.exception and at.title[0].value == "法规检索"
    at.text_input[0].set_value("罚款收缴").run()
    assert any("罚款决定与罚款收缴分离实施办法" in m.value for m in at.markdown)
