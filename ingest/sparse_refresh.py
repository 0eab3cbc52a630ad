"""Re-tokenizing stored chunks once the names of documents ingested after them are known.

The tokenizer keeps a law's name whole (「行政许可法」, not 「行政」「许可」「法」) only once it has
been taught that name, and names are learned from the documents themselves
(kb.sparse.add_terms). A chunk stored before the document it names was ingested was
therefore tokenized without that name: the same corpus gave different sparse vectors
depending on the order and history of ingests (9 of 1,961 sample chunks in a fresh ingest),
while questions, tokenized with every stored name known, met those chunks less well. After a
run that learned names, every chunk whose text contains one is tokenized again and its sparse
vector replaced where it changed; nothing is re-embedded, so the cost is a scan of the chunk
texts. (Learning a name changes nothing else: kb.sparse never moves jieba's dictionary total.)

The names the stored vectors were tokenized with are kept in a record of their own, written
after the chunks are redone, so a run killed before that point is made good by the next one.
When a document is removed, its names are forgotten and the chunks that contain them cut
again without them, so the knowledge base is what a fresh ingest of the remaining files gives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kb.chunking import stored_embed_text
from kb.library import list_documents
from kb.sparse import sparse_vector, taught_names, use_names
from kb.store import StoredPoint, VectorStore, point_id

BATCH = 256
NAMES_RECORD = point_id("tokenizer-names")


class NameFinder:
    """Which of many names occur in a text: names are indexed by their first two characters,
    so a text is read once however many names there are (the national corpus teaches about
    2,000 in its first ingest)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        for name in {n for n in names if len(n) >= 2}:
            self._by_prefix[name[:2]].append(name)

    def __bool__(self) -> bool:
        return bool(self._by_prefix)

    def occurs_in(self, text: str) -> bool:
        prefixes = {text[i:i + 2] for i in range(len(text) - 1)} & self._by_prefix.keys()
        return any(name in text for p in prefixes for name in self._by_prefix[p])


def refresh_sparse(store: VectorStore, changed_names: Iterable[str]) -> int:
    """Re-tokenize the stored chunks that contain one of ``changed_names`` (names the
    tokenizer has just learned or forgotten) and rewrite those whose sparse vector changed;
    returns how many changed.
    Most chunks that contain a name were cut after it was learned (every chunk names its own
    document in its breadcrumb) and are left alone."""
    finder = NameFinder(changed_names)
    if not finder:
        return 0
    fresh: dict[str, tuple[list[int], list[float]]] = {}
    rewritten = 0

    def write_changed() -> int:
        stored = store.sparse_vectors(list(fresh))
        # A chunk gone meanwhile (another writer on a shared Qdrant server) is not written back.
        changed = {i: v for i, v in fresh.items() if i in stored and stored[i] != v}
        store.set_sparse(changed)
        fresh.clear()
        return len(changed)

    for match in store.scroll({"record": "chunk"}):
        text = stored_embed_text(match.payload)
        if finder.occurs_in(text):
            fresh[match.id] = sparse_vector(text)
        if len(fresh) >= BATCH:
            rewritten += write_changed()
    return rewritten + write_changed()


def tokenized_names(store: VectorStore) -> set[str]:
    """The document names the stored sparse vectors were tokenized with."""
    found = store.get([NAMES_RECORD])
    return set(found[0].payload.get("names", [])) if found else set()


def sync_sparse(store: VectorStore) -> int:
    """Bring every stored sparse vector in line with the names of the stored documents, and
    the tokenizer too; returns how many chunks were rewritten. Ingest calls it before a run
    (repairing a killed run or a removal) and after; removing a document calls it as well."""
    names = {n for d in list_documents(store) for n in d.names()}
    done = tokenized_names(store)
    # Names this process taught that no stored document has (a file that failed after its
    # names were taught, another store's) may have cut chunks written meanwhile.
    stale = taught_names() - names
    use_names(names)
    rewritten = refresh_sparse(store, (names ^ done) | stale)
    if names and names != done:
        store.upsert([StoredPoint(NAMES_RECORD, {"record": "tokenizer", "names": sorted(names)})])
    elif done and not names:  # the last document went: leave an empty knowledge base empty
        store.delete({"record": "tokenizer"})
    return rewritten
