"""How query latency and memory grow with corpus size, Qdrant Edge against qdrant-client's local
mode, measured in one run (issue #7, item 5).

Why: the embedded default (Qdrant Edge) was chosen on a synthetic 20,000-point benchmark
(DESIGN.md §3) and measured end to end on the 1,961-chunk sample corpus; a provincial
deployment holds the national corpus (about 68,000 chunks). This builds indexes of growing
size with the real ingest code path, once per backend, then times the same questions against
each and records peak memory, so the growth of each cost is measured rather than assumed.

Run (builds <out>/edge-N and <out>/local-N; an index this script built earlier from the same
files is reused unless --rebuild)::

    python -m eval.bench_scale --corpus ../shared/corpus/national \\
        --cache /work/kb-national/embed_cache.sqlite --sizes 1000,10000 --out /tmp/scale --plot

Add an index that already exists without rebuilding it (``edge:<data_dir>`` or
``local:<data_dir>``, whose local-mode folder is ``<data_dir>/qdrant``), merged into the same
``<out>/scale.json``; only one process may open an Edge folder, so stop the app or ingest
using it first::

    python -m eval.bench_scale --existing edge:/work/kb-national --out /tmp/scale --plot

Redraw the table and the charts from a finished run::

    python -m eval.bench_scale --from-json /tmp/scale/scale.json --plot

How: files of the corpus are taken in sorted order until the chunk count reaches each target
size (chunked with the pipeline's own ``prepare``, nothing embedded). Each index is built by
``Ingestor.ingest`` in a subprocess sharing the embedding cache, so cached chunks are not
embedded again. Each index is then measured in its own subprocess, so the peak RSS
(``ru_maxrss``) belongs to that index alone: every question of the ``national`` and ``sample``
gold sets goes through ``Retriever.search(q, k=5)`` twice — first with the query vector
cache cleared (the query embedding included), then again with the vector memoised (query
analysis, the store query and ranking, no model). When one search takes longer than
--slow-seconds, that index is measured on at most --slow-cap questions and the table says so.
Raw timings go to ``<out>/scale.json``; --plot draws ``latency_vs_size.png`` and
``rss_vs_size.png`` under eval/reports/scale/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kb.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PLOTS_DIR = ROOT / "eval" / "reports" / "scale"
BACKENDS = ("edge", "local")
LABELS = {"edge": "Qdrant Edge", "local": "qdrant-client local mode"}
GOLD_SETS = ("national", "sample")
LIVE_CHUNKS = {"record": "chunk", "state": "live"}
# Refuse to start a run that would embed more than this many chunks (about 8 per second here)
# unless --allow-embedding is given: a typo in --sizes should not cost an afternoon.
MAX_UNCACHED = 2000
BUILD_MARKER = "bench_scale_build.json"  # written into a data folder after a complete build


class BenchError(Exception):
    """An expected failure: the message is shown on one line, without a traceback."""


# -- helpers ---------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (the same rule as eval/bench_query.py)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0, "max": 0.0}
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "mean": statistics.mean(ms), "max": max(ms)}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def disk_mib(path: Path) -> float:
    """Space actually allocated (Qdrant preallocates sparse files: their apparent size is larger)."""
    total = sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file()) if path.exists() else 0
    return total / 2**20


def backend_settings(backend: str, data_dir: Path, cache: str = "") -> Settings:
    """Settings for one backend: Edge under data_dir/qdrant, or local mode in the same folder.

    Indexes are built without part vectors: the figures in docs/scale.md were measured on
    chunk vectors alone, and the --allow-embedding guard counts chunks, not their lines."""
    from kb.config import load_settings

    url = "" if backend == "edge" else f"local:{data_dir / 'qdrant'}"
    overrides: dict[str, Any] = {"data_dir": data_dir, "qdrant_url": url, "part_vectors": False}
    if cache:
        overrides["embed_cache"] = cache
    return load_settings(**overrides)


def questions() -> list[str]:
    """Gold questions of every set, interleaved (so a capped run samples all of them), unique."""
    from eval.gold import load_gold

    sets = [[q.query for q in load_gold(name)] for name in GOLD_SETS]
    out: list[str] = []
    for i in range(max(len(s) for s in sets)):
        for s in sets:
            if i < len(s) and s[i] not in out:
                out.append(s[i])
    return out


# -- choosing files ----------------------------------------------------------------------------
@dataclass
class Selection:
    target: int
    files: list[str]
    chunks: int
    uncached: int


def select_files(corpus: Path, targets: list[int], cache: Path, model: str) -> list[Selection]:
    """The first files (sorted) whose chunks reach each target; counts chunks not in the cache."""
    from ingest.loaders import load
    from ingest.pipeline import expand_paths, prepare
    from kb.chunking import embed_text
    from kb.embed import EmbeddingCache
    from kb.errors import KBError

    conn = sqlite3.connect(f"{cache.resolve().as_uri()}?mode=ro", uri=True)
    picked: list[str] = []
    chunks = uncached = 0
    selections: list[Selection] = []
    pending = sorted(targets)
    try:
        for path in expand_paths([corpus]):
            try:
                _, parts, _ = prepare(load(path))
            except (KBError, OSError):
                continue
            picked.append(str(path))
            chunks += len(parts)
            uncached += _count_uncached(conn, model, [EmbeddingCache.text_hash(embed_text(c)) for c in parts])
            while pending and chunks >= pending[0]:
                selections.append(Selection(pending.pop(0), list(picked), chunks, uncached))
            if not pending:
                break
    finally:
        conn.close()
    for target in pending:
        print(f"note: the corpus has only {chunks} chunks; size {target} uses all of it", file=sys.stderr)
        selections.append(Selection(target, list(picked), chunks, uncached))
    return selections


def _count_uncached(conn: sqlite3.Connection, model: str, hashes: list[str]) -> int:
    unique = set(hashes)
    found = 0
    batch = list(unique)
    for i in range(0, len(batch), 500):
        part = batch[i:i + 500]
        marks = ",".join("?" * len(part))
        found += conn.execute(f"SELECT COUNT(*) FROM vectors WHERE model=? AND text_hash IN ({marks})",
                              [model, *part]).fetchone()[0]
    return len(unique) - found


# -- workers (run in their own process) ---------------------------------------------------------
def build_worker(backend: str, data_dir: Path, cache: str, files: list[str]) -> dict[str, Any]:
    """Ingest ``files`` into a fresh index with the real pipeline."""
    from ingest.pipeline import Ingestor

    settings = backend_settings(backend, data_dir, cache)
    t0, cpu0 = time.perf_counter(), time.process_time()
    ingestor = Ingestor(settings)
    setup = time.perf_counter() - t0
    report = ingestor.ingest(files)
    seconds = time.perf_counter() - t0
    live = ingestor.store.count(LIVE_CHUNKS)
    computed = ingestor.embedder.computed
    ingestor.close()
    return {"seconds": seconds, "setup_seconds": setup, "files": len(report.results),
            "added": report.count("added"), "unchanged": report.count("unchanged"),
            "failed": len(report.failed), "failures": [r.message for r in report.failed[:5]],
            "chunks": live, "computed": computed,
            "embed_seconds": sum(r.embed_seconds for r in report.results), "peak_rss_mib": peak_rss_mib(),
            "cpu_seconds": time.process_time() - cpu0}


def measure_worker(backend: str, data_dir: Path, k: int, slow_seconds: float, slow_cap: int) -> dict[str, Any]:
    """Open the index, time every question with and without the query embedding."""
    from kb.embed import load_embedder
    from kb.retrieve import Retriever
    from kb.sparse import query_vector

    settings = backend_settings(backend, data_dir)
    queries = questions()
    t0 = time.perf_counter()
    embedder = load_embedder(settings)
    query_vector(queries[0])  # loads the tokenizer's dictionary: a fixed cost, not the index's
    model_seconds = time.perf_counter() - t0
    baseline = peak_rss_mib()
    t0 = time.perf_counter()
    retriever = Retriever(settings, embedder=embedder)
    open_seconds = time.perf_counter() - t0
    if not retriever.documents:
        raise BenchError(f"the index at {data_dir} ({LABELS[backend]}) is empty; ingest documents first")
    chunks = retriever.store.count(LIVE_CHUNKS)
    result = {"chunks": chunks, "documents": len(retriever.documents), "model_seconds": model_seconds,
              "open_seconds": open_seconds, "baseline_rss_mib": baseline}
    result.update(_time_questions(retriever, queries, k, slow_seconds, slow_cap))
    result["peak_rss_mib"] = peak_rss_mib()
    retriever.close()
    return result


def _time_questions(retriever: Any, queries: list[str], k: int, slow_seconds: float,
                    slow_cap: int) -> dict[str, Any]:
    retriever.search(queries[0], k=k)  # warm-up: lazy state of the store and the ranking
    with_embedding: list[float] = []
    memoised: list[float] = []
    top: list[list[str]] = []
    started, cpu0 = time.perf_counter(), time.process_time()
    for i, query in enumerate(queries):
        if i >= slow_cap and with_embedding and max(with_embedding) > slow_seconds * 1000:
            break
        retriever._query_cache.clear()  # the first search below embeds the question
        t = time.perf_counter()
        retriever.search(query, k=k)
        with_embedding.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hits = retriever.search(query, k=k).hits
        memoised.append((time.perf_counter() - t) * 1000)
        top.append([h.chunk_key for h in hits])
    # CPU time against wall time shows how much the process waited for a core (a shared machine).
    return {"wall_seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu0,
            "questions": len(with_embedding), "questions_total": len(queries),
            "capped": len(with_embedding) < len(queries), "k": k,
            "with_embedding_ms": with_embedding, "memoised_ms": memoised, "top": top}


def run_worker(argv: list[str]) -> int:
    """Entry point of the subprocesses: ``_build`` or ``_measure``; writes JSON to --result."""
    ap = argparse.ArgumentParser(prog="eval.bench_scale worker")
    ap.add_argument("kind", choices=["_build", "_measure"])
    ap.add_argument("--backend", choices=BACKENDS, required=True)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--result", type=Path, required=True)
    ap.add_argument("--cache", default="")
    ap.add_argument("--files-from", type=Path)
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--slow-seconds", type=float, default=2.0)
    ap.add_argument("--slow-cap", type=int, default=60)
    args = ap.parse_args(argv)
    from kb.errors import KBError

    try:
        if args.kind == "_build":
            files = args.files_from.read_text(encoding="utf-8").splitlines()
            out = build_worker(args.backend, args.data_dir, args.cache, files)
        else:
            out = measure_worker(args.backend, args.data_dir, args.k, args.slow_seconds, args.slow_cap)
    except (KBError, BenchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.result.write_text(json.dumps(out), encoding="utf-8")
    return 0


def call_worker(kind: str, backend: str, data_dir: Path, extra: list[str]) -> dict[str, Any]:
    """Run a worker in a fresh interpreter and return what it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "eval.bench_scale", kind, "--backend", backend,
               "--data-dir", str(data_dir), "--result", str(result), *extra]
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        if proc.returncode != 0 or not result.exists():
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            if proc.returncode < 0:
                reason = f"stopped by signal {-proc.returncode}"
            else:
                reason = lines[-1].removeprefix("error: ") if lines else f"exit code {proc.returncode}"
            raise BenchError(f"{kind.strip('_')} of {data_dir} ({LABELS[backend]}) failed: {reason}")
        return json.loads(result.read_text(encoding="utf-8"))


# -- the run -------------------------------------------------------------------------------------
def build(backend: str, data_dir: Path, cache: Path, files: list[str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write("\n".join(files))
        listing = Path(fh.name)
    try:
        out = call_worker("_build", backend, data_dir, ["--cache", str(cache), "--files-from", str(listing)])
    finally:
        listing.unlink()
    out["disk_mib"] = disk_mib(data_dir / "qdrant")
    return out


def measure(backend: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    return call_worker("_measure", backend, data_dir, ["-k", str(args.k), "--slow-seconds", str(args.slow_seconds),
                                                        "--slow-cap", str(args.slow_cap)])


def run_sizes(args: argparse.Namespace) -> None:
    """Build (or reuse) and measure one index per size and backend."""
    from kb.embed import load_embedder

    model = load_embedder(backend_settings("edge", args.out, str(args.cache))).name
    selections = select_files(args.corpus, args.sizes, args.cache, model)
    uncached = max(s.uncached for s in selections)
    if uncached > MAX_UNCACHED and not args.allow_embedding:
        raise BenchError(f"{uncached} chunks of the largest size are not in the embedding cache (about "
                         f"{uncached / 8 / 60:.0f} min to embed); choose smaller --sizes or pass --allow-embedding")
    for sel in selections:
        print(f"size {sel.target}: {len(sel.files)} files, {sel.chunks} chunks, {sel.uncached} not cached",
              file=sys.stderr)
        for backend in args.backends:
            data_dir = args.out / f"{backend}-{sel.target}"
            record = {"backend": backend, "target": sel.target, "data_dir": str(data_dir),
                      "files": len(sel.files), "prepared_chunks": sel.chunks, "uncached": sel.uncached,
                      "build": _build_or_reuse(backend, data_dir, sel, args)}
            record["measure"] = _measure_logged(backend, data_dir, args)
            record["machine"] = machine()
            save_record(args.out, record)


def _build_or_reuse(backend: str, data_dir: Path, sel: Selection, args: argparse.Namespace) -> dict[str, Any]:
    """Build the index, or reuse one this script built earlier from the same files.

    A marker written after a successful build holds its figures; a folder without one (a
    build that was interrupted) or built from other files is rebuilt.
    """
    marker = data_dir / BUILD_MARKER
    files_hash = hashlib.sha256("\n".join(sel.files).encode("utf-8")).hexdigest()
    if marker.is_file() and not args.rebuild:
        previous = json.loads(marker.read_text(encoding="utf-8"))
        if previous.get("files_hash") == files_hash:
            print(f"  {LABELS[backend]}: reusing {data_dir} (pass --rebuild to build it again)", file=sys.stderr)
            return previous
        print(f"  {LABELS[backend]}: {data_dir} was built from other files; rebuilding", file=sys.stderr)
    elif data_dir.exists() and not args.rebuild:
        print(f"  {LABELS[backend]}: {data_dir} holds an unfinished build; rebuilding", file=sys.stderr)
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"  {LABELS[backend]}: building {data_dir} …", file=sys.stderr)
    out = build(backend, data_dir, args.cache, sel.files)
    out["files_hash"] = files_hash
    marker.write_text(json.dumps(out), encoding="utf-8")
    print(f"    {out['chunks']} chunks in {out['seconds']:.1f}s ({out['computed']} embedded, "
          f"{out['failed']} files failed)", file=sys.stderr)
    return out


def _measure_logged(backend: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    print(f"  {LABELS[backend]}: measuring {data_dir} …", file=sys.stderr)
    out = measure(backend, data_dir, args)
    memo = summary(out["memoised_ms"])
    capped = f" (capped at {out['questions']} of {out['questions_total']})" if out["capped"] else ""
    print(f"    {out['questions']} questions{capped}: memoised p50 {memo['p50']:.1f} ms, "
          f"peak RSS {out['peak_rss_mib']:.0f} MiB", file=sys.stderr)
    return out


def run_existing(specs: list[str], args: argparse.Namespace) -> None:
    for spec in specs:
        backend, data_dir = parse_existing(spec)
        record = {"backend": backend, "target": None, "data_dir": str(data_dir), "files": None,
                  "prepared_chunks": None, "uncached": None,
                  "build": {"disk_mib": disk_mib(data_dir / "qdrant"), "existing": True},
                  "measure": _measure_logged(backend, data_dir, args), "machine": machine()}
        save_record(args.out, record)


def parse_existing(spec: str) -> tuple[str, Path]:
    backend, sep, folder = spec.partition(":")
    if not sep or backend not in BACKENDS or not folder:
        raise BenchError(f"--existing {spec!r}: write edge:<data_dir> or local:<data_dir>")
    data_dir = Path(folder).expanduser().resolve()
    if not (data_dir / "qdrant").is_dir():
        raise BenchError(f"--existing {spec!r}: {data_dir / 'qdrant'} does not exist; give the data folder "
                         "(the one holding qdrant/)")
    return backend, data_dir


# -- results file ------------------------------------------------------------------------------
def merge(runs: list[dict[str, Any]], record: dict[str, Any]) -> None:
    """Replace the run of the same backend and folder, else append."""
    same = [i for i, r in enumerate(runs) if (r["backend"], r["data_dir"]) == (record["backend"], record["data_dir"])]
    if same:
        runs[same[0]] = record
    else:
        runs.append(record)


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit, "cpus": os.cpu_count(),
            "python": platform.python_version(), "qdrant_edge": version("qdrant-edge-py"),
            "qdrant_client": version("qdrant-client"), "load_average": os.getloadavg()}


def save_record(out: Path, record: dict[str, Any]) -> Path:
    """Merge one run into <out>/scale.json, read just before writing so that runs saved by
    another invocation in the meantime are kept; the file is replaced in one step."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scale.json"
    runs = load_runs(path)
    merge(runs, record)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"runs": runs}, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def load_runs(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        return list(json.loads(path.read_text(encoding="utf-8"))["runs"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{path}: not a scale.json written by this script ({exc})") from exc


# -- report --------------------------------------------------------------------------------------
def ordered(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(runs, key=lambda r: (r["measure"]["chunks"], BACKENDS.index(r["backend"])))


def latency_table(runs: list[dict[str, Any]]) -> str:
    lines = ["| backend | chunks | questions | with query embedding p50 / p95 / p99 / mean (ms) "
             "| vector memoised p50 / p95 / p99 / mean (ms) |", "|---|---|---|---|---|"]
    for r in ordered(runs):
        m = r["measure"]
        n = f"{m['questions']} of {m['questions_total']} (capped)" if m["capped"] else str(m["questions"])
        lines.append(f"| {LABELS[r['backend']]} | {m['chunks']:,} | {n} | {_fmt(summary(m['with_embedding_ms']))} "
                     f"| {_fmt(summary(m['memoised_ms']))} |")
    return "\n".join(lines)


def _fmt(s: dict[str, float]) -> str:
    return " / ".join(f"{s[key]:.1f}" for key in ("p50", "p95", "p99", "mean"))


def cost_table(runs: list[dict[str, Any]]) -> str:
    lines = ["| backend | chunks | files | build wall / CPU (s) | embedded | build peak RSS (MiB) "
             "| index on disk (MiB) | open (s) | search process: RSS before open / peak (MiB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in ordered(runs):
        m, b = r["measure"], r.get("build") or {}
        built = (f"{b['seconds']:.1f} / {b.get('cpu_seconds', 0):.1f}" if "seconds" in b
                 else ("existing" if b.get("existing") else "reused"))
        embedded = str(b["computed"]) if "computed" in b else "–"
        build_rss = f"{b['peak_rss_mib']:.0f}" if "peak_rss_mib" in b else "–"
        disk = f"{b['disk_mib']:.0f}" if "disk_mib" in b else "–"
        lines.append(f"| {LABELS[r['backend']]} | {m['chunks']:,} | {r.get('files') or '–'} | {built} | {embedded} "
                     f"| {build_rss} | {disk} | {m['open_seconds']:.2f} "
                     f"| {m['baseline_rss_mib']:.0f} / {m['peak_rss_mib']:.0f} |")
    return "\n".join(lines)


def agreement(runs: list[dict[str, Any]]) -> list[str]:
    """How often both backends returned the same top-k over the same chunks (a sanity check);
    indexes pair up by the chunk count they hold, so an existing index pairs with its copy."""
    out = []
    by_size: dict[int, dict[str, dict[str, Any]]] = {}
    for r in runs:
        by_size.setdefault(r["measure"]["chunks"], {})[r["backend"]] = r["measure"]
    for chunks, pair in sorted(by_size.items()):
        if len(pair) < 2:
            continue
        a, b = pair["edge"]["top"], pair["local"]["top"]
        n = min(len(a), len(b))
        same_1 = sum(a[i][:1] == b[i][:1] for i in range(n))
        overlap = statistics.mean(len(set(a[i]) & set(b[i])) / max(len(a[i]), 1) for i in range(n)) if n else 0.0
        out.append(f"{chunks:,} chunks: same top-1 on {same_1}/{n} questions, "
                   f"top-{pair['edge']['k']} sets overlap {overlap:.1%} on average")
    return out


def report(runs: list[dict[str, Any]]) -> str:
    parts = ["### Search latency (Retriever.search, k=5)", "", latency_table(runs), "",
             "### Build, disk and memory", "", cost_table(runs)]
    agree = agreement(runs)
    if agree:
        parts += ["", "Same results from both backends: " + "; ".join(agree) + "."]
    return "\n".join(parts)


# -- charts ------------------------------------------------------------------------------------------
def plot(runs: list[dict[str, Any]], folder: Path) -> list[Path]:
    from eval.charts import COLOURS, _style  # the project's chart style (fonts, spines)

    _style()
    folder.mkdir(parents=True, exist_ok=True)
    return [_plot_latency(runs, folder / "latency_vs_size.png", COLOURS),
            _plot_rss(runs, folder / "rss_vs_size.png", COLOURS)]


def _series(runs: list[dict[str, Any]], backend: str) -> list[dict[str, Any]]:
    return [r["measure"] for r in ordered(runs) if r["backend"] == backend]


def _log_axis(axis: Any, set_scale: Any, ticks: list[int] | None = None) -> None:
    """Log scale with plain numbers (1,000 rather than 10³); ``ticks``: label these values only."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    set_scale("log")
    if ticks:
        axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _sizes(runs: list[dict[str, Any]]) -> list[int]:
    return sorted({r["measure"]["chunks"] for r in runs})


def _label(ax: Any, xs: list[int], ys: list[float], colour: str, below: bool) -> None:
    for x, y in zip(xs, ys, strict=True):
        ax.annotate(f"{y:.1f}" if y < 100 else f"{y:,.0f}", (x, y), textcoords="offset points",
                    xytext=(5, -11 if below else 4), fontsize=7, color=colour)


def _plot_latency(runs: list[dict[str, Any]], path: Path, colours: tuple[str, ...]) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    panels = (("memoised_ms", "search with the query vector memoised (no model)"),
              ("with_embedding_ms", "whole search, query embedding included"))
    for ax, (field, title) in zip(axes, panels, strict=True):
        for i, backend in enumerate(BACKENDS):
            series = _series(runs, backend)
            if not series:
                continue
            xs = [m["chunks"] for m in series]
            for stat, style, face in (("p50", "-", colours[i * 2]), ("p95", "--", "white")):
                ys = [summary(m[field])[stat] for m in series]
                ax.plot(xs, ys, style, marker="o", color=colours[i * 2], markerfacecolor=face,
                        label=f"{LABELS[backend]} {stat}")
                _label(ax, xs, ys, colours[i * 2], below=stat == "p50")
        _log_axis(ax.xaxis, ax.set_xscale, _sizes(runs))
        _log_axis(ax.yaxis, ax.set_yscale)
        ax.set_xlabel("chunks in the index (log)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("milliseconds per search (log)")
    axes[1].legend(fontsize=8, frameon=False, loc="lower right")
    fig.suptitle("Search latency vs index size (k=5, 2 cores)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _plot_rss(runs: list[dict[str, Any]], path: Path, colours: tuple[str, ...]) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.4))
    for i, backend in enumerate(BACKENDS):
        series = _series(runs, backend)
        if not series:
            continue
        xs = [m["chunks"] for m in series]
        ys = [m["peak_rss_mib"] for m in series]
        ax.plot(xs, ys, "-", marker="o", color=colours[i * 2], label=f"{LABELS[backend]}: peak RSS")
        _label(ax, xs, ys, colours[i * 2], below=backend == "edge")
    base = [r["measure"]["baseline_rss_mib"] for r in runs]
    if base:
        ax.axhline(statistics.mean(base), color=colours[3], linestyle=":",
                   label="before opening the index (Python, model, jieba dictionary)")
    _log_axis(ax.xaxis, ax.set_xscale, _sizes(runs))
    ax.set_ylim(0, 1.3 * max(r["measure"]["peak_rss_mib"] for r in runs))  # room for the legend
    ax.set_xlabel("chunks in the index (log)")
    ax.set_ylabel("MiB")
    ax.set_title("Peak memory of a search process vs index size", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# -- command line ------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m eval.bench_scale",
                                 description="Query latency and memory vs corpus size, Qdrant Edge and local mode.")
    ap.add_argument("--corpus", type=Path, help="corpus folder; files are taken in sorted order")
    ap.add_argument("--cache", type=Path, help="embedding cache shared by the builds (SQLite)")
    ap.add_argument("--sizes", default="", help="target chunk counts, comma-separated (e.g. 1000,10000)")
    ap.add_argument("--out", type=Path, help="folder for the indexes and scale.json")
    ap.add_argument("--backends", default=",".join(BACKENDS), help="edge,local (default both)")
    ap.add_argument("--existing", action="append", default=[], metavar="BACKEND:DATA_DIR",
                    help="also measure an existing index as it is (edge:/work/kb-national); repeatable")
    ap.add_argument("--from-json", type=Path, help="redraw table and charts from a scale.json, measure nothing")
    ap.add_argument("--plot", action="store_true", help="draw the PNG charts")
    ap.add_argument("--plots-dir", type=Path, default=PLOTS_DIR)
    ap.add_argument("--rebuild", action="store_true", help="delete and rebuild indexes already under --out")
    ap.add_argument("--allow-embedding", action="store_true",
                    help=f"build even when more than {MAX_UNCACHED} chunks must be embedded")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--slow-seconds", type=float, default=2.0,
                    help="a search slower than this caps the questions for that index (default 2)")
    ap.add_argument("--slow-cap", type=int, default=60, help="questions measured on a slow index (default 60)")
    args = ap.parse_args(argv)
    check_args(args, ap)
    return args


def check_args(args: argparse.Namespace, ap: argparse.ArgumentParser) -> None:
    if args.from_json:
        if not args.from_json.is_file():
            raise BenchError(f"--from-json: {args.from_json} does not exist")
        return
    if not args.out:
        ap.error("--out is required (or --from-json)")
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes must be whole numbers separated by commas, not {args.sizes!r}")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if any(b not in BACKENDS for b in args.backends) or not args.backends:
        ap.error(f"--backends must name some of {', '.join(BACKENDS)}")
    if not args.sizes and not args.existing:
        ap.error("give --sizes, --existing or --from-json")
    if args.sizes:
        if not args.corpus or not args.corpus.is_dir():
            raise BenchError(f"corpus folder not found: {args.corpus}; give --corpus <folder>")
        if not args.cache or not args.cache.is_file():
            raise BenchError(f"embedding cache not found: {args.cache}; give --cache <file> (without one every "
                             "chunk is embedded, about 8 per second)")
    args.out = args.out.expanduser().resolve()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in {"_build", "_measure"}:
        return run_worker(argv)
    from kb.errors import KBError

    try:
        args = parse_args(argv)
        if args.from_json:
            runs = load_runs(args.from_json)
        else:
            if args.sizes:
                run_sizes(args)
            run_existing(args.existing, args)
            runs = load_runs(args.out / "scale.json")
            print(f"raw figures: {args.out / 'scale.json'}", file=sys.stderr)
        if not runs:
            raise BenchError("no measurements to report")
        print(report(runs))
        if args.plot:
            for path in plot(runs, args.plots_dir):
                print(f"chart: {path}", file=sys.stderr)
    except (BenchError, KBError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; figures measured so far are in scale.json", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
