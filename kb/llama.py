"""The retriever as a llama-index ``BaseRetriever``, so llama-index pipelines can compose it.

Nodes carry the citation fields in their metadata (document key, provision path, version,
status, breadcrumb), which a response synthesiser can show or check.
"""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from kb.retrieve import Retriever


class KBRetriever(BaseRetriever):
    """Wraps :class:`kb.retrieve.Retriever`; ``similarity_top_k`` results per query."""

    def __init__(self, retriever: Retriever, similarity_top_k: int = 5,
                 doc_types: list[str] | None = None) -> None:
        super().__init__()
        self._retriever = retriever
        self._k = similarity_top_k
        self._doc_types = doc_types

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self._retriever.search(query_bundle.query_str, k=self._k, doc_types=self._doc_types)
        nodes = []
        for h in result.hits:
            node = TextNode(
                id_=h.chunk_key, text=h.text,
                metadata={"citation": h.citation, "doc_key": h.doc_key, "path": h.path, "title": h.title,
                          "version": h.version, "status": h.status, "doc_type": h.doc_type,
                          "breadcrumb": h.breadcrumb},
                excluded_embed_metadata_keys=["doc_key", "path", "version", "status", "doc_type"],
            )
            nodes.append(NodeWithScore(node=node, score=h.score))
        return nodes
