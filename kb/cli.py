"""The ``kb`` command: a thin dispatcher over kb and ingest functions.

Every failure a user can cause prints one line (``error: …``) and exits non-zero; no
traceback reaches the terminal for a KBError.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from kb.config import Settings, load_settings
from kb.errors import KBError
from kb.records.cli import add_parser as add_records_parser

EXIT_FAILED = 1
EXIT_USAGE = 2


def _settings(args: argparse.Namespace):
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return load_settings(**overrides)


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ingest.pipeline import Ingestor, expand_paths

    settings = _settings(args)
    files = expand_paths(args.paths)
    if not files:
        print("error: no documents found in the given paths (md, txt, pdf, docx, html)", file=sys.stderr)
        return EXIT_FAILED
    ingestor = Ingestor(settings)
    bar = tqdm(total=len(files), unit="file", disable=args.quiet, file=sys.stderr, dynamic_ncols=True)

    def on_file(result, _index: int, _total: int) -> None:
        bar.set_postfix_str(result.doc_key[-30:] or result.path[-30:], refresh=False)
        bar.update(1)

    try:
        report = ingestor.ingest(files, on_file=on_file)
    finally:
        bar.close()
        ingestor.close()
    for r in report.results:
        if r.status == "failed":
            print(f"FAILED  {r.message}", file=sys.stderr)
        elif not args.quiet and (args.verbose or r.status != "unchanged"):
            print(f"{r.status:9} {r.doc_key}  ({r.chunks} chunks, {r.seconds:.1f}s)  {r.path}")
    print(f"{report.count('added')} added, {report.count('replaced')} replaced, "
          f"{report.count('unchanged')} unchanged, {len(report.failed)} failed")
    if report.retokenized and not args.quiet:
        print(f"{report.retokenized} stored chunks re-tokenized: document names were added or removed")
    if report.count("added") or report.count("replaced"):
        _flag_questions(settings)
    return EXIT_FAILED if report.failed else 0


def _flag_questions(settings: Settings) -> None:
    """Questions citing provisions whose text changed go back to review (kb questions list --flagged)."""
    from kb.records.cli import flag_after_ingest

    try:
        flagged = flag_after_ingest(settings)
    except KBError as exc:
        print(f"warning: questions were not checked against the changed documents: {exc}", file=sys.stderr)
        return
    if flagged:
        print(f"{len(flagged)} questions cite provisions that changed and were flagged for review "
              "(kb questions list --flagged)")


def cmd_search(args: argparse.Namespace) -> int:
    from kb.retrieve import Retriever

    retriever = Retriever(_settings(args))
    queries = [" ".join(args.query)] if args.query else None
    if queries is None:
        if not sys.stdin.isatty():
            queries = [line for line in sys.stdin.read().splitlines() if line.strip()]
        else:
            return _prompt(lambda q: _print_search(retriever, q, args))
    for q in queries:
        _print_search(retriever, q, args)
    return 0


def _prompt(handle: Callable[[str], None]) -> int:
    print("输入检索问题（空行退出）/ type a query, empty line to quit")
    while True:
        try:
            q = input("kb> ").strip()
        except EOFError:
            return 0
        if not q:
            return 0
        handle(q)


def _print_search(retriever, query: str, args: argparse.Namespace) -> None:
    result = retriever.search(query, k=args.k, doc_types=args.type or None, mode=args.mode)
    for message in result.missing:
        print(f"（{message}）")
    if not result.hits:
        print("（没有找到相关条文 / nothing found）")
        return
    for i, h in enumerate(result.hits, 1):
        flag = "" if h.status == "current" else f" [{h.status}]"
        version = f"（{h.version}）" if h.version else ""
        print(f"{i}. {h.citation}{version}{flag}  score={h.score:.4f}")
        text = h.text.replace("\n", " ")
        print(f"   {text[:args.width]}{'…' if len(text) > args.width else ''}")


def cmd_ask(args: argparse.Namespace) -> int:
    from kb.answer import Answerer

    answerer = Answerer(_settings(args))
    question = " ".join(args.question)
    history: list[str] = []
    if question:
        _print_answer(answerer.answer(question, filters={"doc_types": args.type} if args.type else None))
        return 0
    print("输入问题（空行退出），可连续追问 / ask a question, empty line to quit")
    while True:
        try:
            q = input("问> ").strip()
        except EOFError:
            return 0
        if not q:
            return 0
        _print_answer(answerer.answer(q, history=history))
        history.append(q)


def _print_answer(a) -> None:
    print(a.text)
    notes = [f"注：{note}" for note in a.notes]
    if a.abstained and notes:  # where the answer probably lies, before what is only possibly related
        print("\n".join(notes))
        notes = []
    if a.abstained and a.related:
        print("\n可能相关的条文：")
        for c in a.related:
            print(f"  - {c.rendered}：{c.quote[:80]}")
    if a.citations:
        print("\n依据：")
        for c in a.citations:
            status = "" if c.status == "current" else f"【{c.status}】"
            print(f"  [{c.n}] {c.rendered}{status}")
    for note in notes:
        print(note)
    print(f"（{a.how}，置信度 {a.confidence:.2f}）")


def cmd_show(args: argparse.Namespace) -> int:
    from kb.library import resolve_document
    from kb.numerals import canonical_label
    from kb.retrieve import Retriever

    retriever = Retriever(_settings(args))
    doc = resolve_document(retriever.store, args.document)
    if not args.provision:
        print(f"《{doc.title}》 {doc.version} [{doc.status}] {doc.chunks} chunks — {doc.key}")
        return 0
    path = canonical_label(args.provision)
    parts = retriever.provision(doc.key, path)
    if not parts:
        print(f"error: 《{doc.title}》 has no provision {path}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{parts[0].breadcrumb}（{doc.version}，{doc.status}）")
    print("\n".join(p.text for p in parts))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from kb.library import list_documents
    from kb.store import open_store

    store = open_store(_settings(args))
    docs = list_documents(store)
    for d in docs:
        print(f"{d.doc_type:14} {d.status:8} {d.chunks:5}  {d.key}")
    # Whether the store scores lines (款/项) as well as whole chunks is fixed when it is created
    # (KB_PART_VECTORS); an older store silently lacks them, so say which kind this is.
    parts = f", part vectors: {'yes' if store.has_parts else 'no'}" if docs else ""
    print(f"{len(docs)} documents, {sum(d.chunks for d in docs)} chunks{parts}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from ingest.sparse_refresh import sync_sparse
    from kb.library import find_documents, remove_document
    from kb.store import open_store

    store = open_store(_settings(args))
    matches = find_documents(store, args.document)
    if len(matches) != 1:
        names = ", ".join(d.key for d in matches) or "none"
        print(f"error: {args.document!r} matches {len(matches)} documents ({names}); give the exact key",
              file=sys.stderr)
        return EXIT_FAILED
    n = remove_document(store, matches[0].key)
    sync_sparse(store)  # the names it took with it leave the other chunks' sparse vectors
    store.close()
    print(f"removed {matches[0].key} ({n} chunks)")
    _flag_questions(_settings(args))
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from kb.store import open_store
    from kb.store.transfer import copy_store, open_target

    settings = _settings(args)
    source = open_store(settings)
    target = open_target(args.target, args.collection or settings.collection, settings.qdrant_api_key)
    with tqdm(total=source.count(), unit="point", desc="copying", disable=args.quiet) as bar:
        n = copy_store(source, target, replace=args.replace, progress=bar.update)
    target.close()
    source.close()
    print(f"copied {n} points to {args.target}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.what == "report":
        from pathlib import Path

        from eval.gate import BASELINE
        from eval.report import main as report_main

        return report_main(_settings(args), quick=args.quick, out_dir=Path(args.out) if args.out else None,
                           baseline=Path(args.baseline) if args.baseline else BASELINE,
                           update_baseline=args.write_baseline, gold=args.gold, llm_sample=args.llm_sample)
    if args.what == "answers":
        from eval.answers import main as answers_main

        return answers_main(_settings(args), gold=args.gold, llm_questions=args.llm_questions,
                            show_misses=args.misses)
    from eval.retrieval import main as eval_main

    return eval_main(_settings(args), gold=args.gold, k_values=(1, 5, 10, 20, 100), show_misses=args.misses)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="ZhifaKB 执法知库 — knowledge base CLI")
    parser.add_argument("--data-dir", help="data folder (default ./data or KB_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest files or folders")
    p.add_argument("paths", nargs="+")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true", help="also list unchanged files")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="search provisions (no query: interactive prompt)")
    p.add_argument("query", nargs="*")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--type", action="append",
                   help="doc type filter (law, regulation, rule, policy, plan, case); repeatable")
    p.add_argument("--mode", choices=["hybrid", "dense", "sparse"], default="hybrid")
    p.add_argument("--width", type=int, default=120)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="ask a question; answers cite the exact provisions (no question: chat)")
    p.add_argument("question", nargs="*")
    p.add_argument("--type", action="append", help="limit to doc types; repeatable")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("show", help="show a document or one provision: kb show 行政处罚法 第三十三条")
    p.add_argument("document")
    p.add_argument("provision", nargs="?")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("docs", help="list documents")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("remove", help="remove a document by key or name")
    p.add_argument("document")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("copy", help="copy this knowledge base, vectors included, to a Qdrant server or another "
                                    "folder (nothing is re-embedded)")
    p.add_argument("target", help="http(s)://host:6333 (a Qdrant server), local:PATH (qdrant-client local "
                                  "mode) or a data folder (Qdrant Edge, as KB_DATA_DIR)")
    p.add_argument("--collection", help="collection on the target server (default KB_COLLECTION)")
    p.add_argument("--replace", action="store_true", help="empty a target that already holds points first")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_copy)

    p = sub.add_parser("eval", help="evaluate: kb eval [report [--quick]] | retrieval | answers")
    p.add_argument("what", nargs="?", choices=["report", "retrieval", "answers"], default="report",
                   help="report (default): everything, written to eval/reports/<date>/ and checked against "
                        "eval/baseline.json")
    p.add_argument("--gold", default="sample",
                   help="gold set: sample (default), national (eval/gold/national.jsonl) or a .jsonl file")
    p.add_argument("--quick", action="store_true",
                   help="report: the CI-sized run (retrieval, extractive answers, a quiz sample) and the gate only")
    p.add_argument("--out", help="report: folder for report.md, figures.json and the charts")
    p.add_argument("--baseline", help="report: tolerance file (default eval/baseline.json)")
    p.add_argument("--write-baseline", action="store_true",
                   help="report: store this run's gated figures as the new baseline (tolerances kept)")
    p.add_argument("--misses", action="store_true", help="print the questions whose gold provision was missed")
    p.add_argument("--llm-questions", type=int, default=40,
                   help="answers: in-scope questions also run in LLM mode (loopback server)")
    p.add_argument("--llm-sample", type=int, metavar="N",
                   help="report: gold questions answered by the configured LLM (KB_LLM_BASE_URL) and judged "
                        "with ragas' Faithfulness, ResponseRelevancy and FactualCorrectness (default 20; never "
                        "with --quick)")
    p.set_defaults(func=cmd_eval)

    add_records_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted; committed documents are safe, run the command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        log = _write_crash_log()
        print(f"error: unexpected {type(exc).__name__}: {exc}. This is a bug; details in {log}", file=sys.stderr)
        return EXIT_FAILED


def _write_crash_log() -> str:
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="kb-crash-", suffix=".log", delete=False) as fh:
        traceback.print_exc(file=fh)
        return fh.name


if __name__ == "__main__":
    sys.exit(main())
