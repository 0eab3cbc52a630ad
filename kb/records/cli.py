"""``kb users …``, ``kb units …``, ``kb ledger …`` and ``kb export``: thin dispatchers over
:mod:`kb.records.people`, :mod:`kb.records.units`, :mod:`kb.records.ledger` and
:mod:`kb.records.export`.

Registered by ``kb.cli`` through :func:`add_parser`. Heavy imports (SQLAlchemy, argon2) wait
until a records command runs, so other ``kb`` commands start as fast as before.

Who acts: without ``--as`` the person at the shell is the :class:`~kb.records.models.Operator`
(admin rights, audited by OS account name: they hold the database credentials anyway); with
``--as USERNAME`` the command runs as that user, after their password, under that user's rules.
Passwords are read with getpass (never echoed) or, with ``--password-stdin``, from the first
line of standard input; they are never taken as command-line arguments.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kb.quiz.model import Question
    from kb.records.models import Actor


def add_parser(subparsers: Any) -> None:
    """Register ``users`` and ``units`` on the ``kb`` command's subparsers."""
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--as", dest="as_user", metavar="USERNAME",
                       help="act as this user (asks for their password); default: the local operator, as admin")

    users = subparsers.add_parser("users", help="training users: add, import, reset-password, deactivate, "
                                  "activate, list")
    sub = users.add_subparsers(dest="users_command", required=True)

    p = sub.add_parser("add", parents=[actor], help="add one user (asks for the initial password)")
    p.add_argument("username")
    p.add_argument("--name", required=True, help="display name (姓名)")
    p.add_argument("--role", required=True,
                   help="officer | trainer | coordinator | admin (or 执法人员/教员/协调员/管理员)")
    p.add_argument("--unit", help="unit code (单位代码); required for officers and coordinators")
    p.add_argument("--cert-no", help="执法证号")
    p.add_argument("--field", action="append", default=[], help="执法领域; repeatable")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_users_add)

    p = sub.add_parser("import", parents=[actor], help="import users from a CSV file: all rows or none")
    p.add_argument("csv_file")
    p.add_argument("--passwords-out", metavar="FILE",
                   help="write generated passwords here (default: print them on standard output)")
    p.set_defaults(func=cmd_users_import)

    p = sub.add_parser("reset-password", parents=[actor], help="set a new password and unlock the account")
    p.add_argument("username")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    group.add_argument("--generate", action="store_true", help="generate one and print it")
    p.set_defaults(func=cmd_users_reset_password)

    for verb, active, what in (("deactivate", False, "the account can no longer sign in and every browser signed "
                                "in as it is signed out; its hours and records stay"),
                               ("activate", True, "the account can sign in again")):
        p = sub.add_parser(verb, parents=[actor], help=what)
        p.add_argument("username")
        p.set_defaults(func=cmd_users_set_active, active=active)

    p = sub.add_parser("bootstrap", help="create the first admin account if there is none "
                       "(password from KB_ADMIN_PASSWORD, else generated and printed once)")
    p.set_defaults(func=cmd_users_bootstrap)

    p = sub.add_parser("list", parents=[actor], help="list the users you may see")
    p.add_argument("--unit", help="only this unit and its sub-units")
    p.add_argument("--role")
    p.set_defaults(func=cmd_users_list)

    units = subparsers.add_parser("units", help="units (单位): add, list")
    sub = units.add_subparsers(dest="units_command", required=True)
    p = sub.add_parser("add", parents=[actor], help="add a unit: kb units add 440100 广州市 --parent 440000")
    p.add_argument("code")
    p.add_argument("name")
    p.add_argument("--parent", help="code of the parent unit")
    p.set_defaults(func=cmd_units_add)
    p = sub.add_parser("list", parents=[actor], help="list the units you may see")
    p.set_defaults(func=cmd_units_list)

    ledger = subparsers.add_parser("ledger", help="training hours (学时): add or import offline training, "
                                   "reverse, progress")
    sub = ledger.add_subparsers(dest="ledger_command", required=True)
    p = sub.add_parser("add", parents=[actor], help="enter offline training: kb ledger add zhang.th "
                       "--category 集中轮训 --hours 8 --date 2026-03-02 --note '签到表 2026-017'")
    p.add_argument("username")
    p.add_argument("--category", required=True, help="集中轮训 | 岗位练兵 | 专题讲座 (or rotation | drill | lecture)")
    p.add_argument("--hours", required=True, help="学时, e.g. 8 or 1.5")
    p.add_argument("--date", required=True, help="date of the training, YYYY-MM-DD")
    p.add_argument("--note", required=True, help="evidence (证明材料): sign-in sheet, notice number…")
    p.add_argument("--force", action="store_true", help="add it even if an identical entry exists")
    p.set_defaults(func=cmd_ledger_add)
    p = sub.add_parser("import", parents=[actor], help="enter offline training from a CSV file (columns 用户名,类别,"
                       "学时,日期,证明材料): all rows or none")
    p.add_argument("csv_file")
    p.add_argument("--force", action="store_true", help="accept rows identical to an existing entry or to each other")
    p.set_defaults(func=cmd_ledger_import)
    p = sub.add_parser("reverse", parents=[actor], help="correct an entry by adding its reversal (never an edit)")
    p.add_argument("entry_id", type=int)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_ledger_reverse)
    p = sub.add_parser("list", parents=[actor], help="one person's entries for a year")
    p.add_argument("username")
    p.add_argument("--year", type=int, help="default: this year")
    p.set_defaults(func=cmd_ledger_list)
    p = sub.add_parser("progress", parents=[actor], help="hours toward 60 of every officer of a unit and its sub-units")
    p.add_argument("--unit", required=True, help="unit code (单位代码)")
    p.add_argument("--year", type=int, help="default: this year")
    p.add_argument("--date", help="judge who is behind as of this date (YYYY-MM-DD; default: today)")
    p.add_argument("--behind", action="store_true", help="only those behind the pro-rata expectation")
    p.set_defaults(func=cmd_ledger_progress)

    questions = subparsers.add_parser("questions", help="question bank: generate from the knowledge base, list, review")
    sub = questions.add_subparsers(dest="questions_command", required=True)
    p = sub.add_parser("generate", parents=[actor], help="generate draft questions from the indexed provisions: "
                       "kb questions generate --doc 行政处罚法 --type 单选 -n 50 [--llm]")
    p.add_argument("--doc", action="append", help="document name or key (kb docs); repeatable; default: all")
    p.add_argument("--type", dest="qtypes", action="append", type=_question_type, metavar="TYPE",
                   help="单选 | 多选 | 判断 | 填空 (or single | multiple | judge | blank); repeatable; default: all")
    p.add_argument("-n", "--count", type=_positive, help="at most this many questions in all "
                   "(with --llm the default is 20: each LLM call takes seconds)")
    p.add_argument("--limit-per-type", type=_positive, help="at most this many of each type")
    p.add_argument("--llm", action="store_true", help="have the configured LLM (KB_LLM_BASE_URL, KB_LLM_MODEL) write "
                   "them; each is proved by the same validator as the rule-based ones")
    p.set_defaults(func=cmd_questions_generate)
    p = sub.add_parser("list", parents=[actor], help="list questions")
    p.add_argument("--state", choices=["draft", "approved", "retired"])
    p.add_argument("--flagged", action="store_true", help="only questions whose source changed")
    p.set_defaults(func=cmd_questions_list)
    for state, verb in (("approved", "approve"), ("retired", "retire"), ("draft", "reopen")):
        p = sub.add_parser(verb, parents=[actor], help=f"set questions to {state}")
        p.add_argument("keys", nargs="+")
        p.set_defaults(func=cmd_questions_state, state=state)

    drills = subparsers.add_parser("drills", help="scenario drills (情景演练): import, list, publish, retire")
    sub = drills.add_subparsers(dest="drills_command", required=True)
    p = sub.add_parser("import", parents=[actor], help="import drill YAML files or folders, all or none, and publish")
    p.add_argument("paths", nargs="+")
    p.add_argument("--draft", action="store_true", help="store as drafts; do not publish")
    p.set_defaults(func=cmd_drills_import)
    p = sub.add_parser("list", parents=[actor], help="list drills with their state and quiz")
    p.set_defaults(func=cmd_drills_list)
    for verb in ("publish", "retire"):
        p = sub.add_parser(verb, parents=[actor], help=f"{verb} a drill by its id")
        p.add_argument("code")
        p.set_defaults(func=cmd_drills_state, verb=verb)

    scenarios = subparsers.add_parser("scenarios", help="scenario drill files (情景演练 YAML): validate")
    sub = scenarios.add_subparsers(dest="scenarios_command", required=True)
    p = sub.add_parser("validate", help="check drill YAML files or folders against the knowledge base, "
                       "importing nothing; every problem with its file, line and field")
    p.add_argument("paths", nargs="+")
    p.set_defaults(func=cmd_scenarios_validate)

    p = subparsers.add_parser("close-expired", parents=[actor], help="grade and close every attempt whose time "
                              "limit has passed (for a scheduled job; pages also do it when opened)")
    p.set_defaults(func=cmd_close_expired)

    p = subparsers.add_parser("demo", help="add demo units, users, quizzes and hours so every page has "
                              "something to show (never on a production database)")
    p.set_defaults(func=cmd_demo)

    p = subparsers.add_parser("export", parents=[actor],
                              help="export a unit's training hours for a year: CSV, XLSX or xAPI statements")
    p.add_argument("--unit", required=True, help="unit code; its sub-units are included")
    p.add_argument("--year", required=True, type=int)
    p.add_argument("--format", required=True, choices=["csv", "xlsx", "xapi"])
    p.add_argument("--out", required=True, metavar="FILE", help="file to write (readable by its owner only)")
    p.add_argument("--xapi-base", metavar="IRI", help="base IRI of accounts and activities in xAPI statements")
    p.set_defaults(func=cmd_export)


def flag_after_ingest(settings: Any) -> list[str]:
    """After ``kb ingest`` changed documents: flag the questions whose source text changed.
    Skipped when there is no records database yet (then there are no questions either)."""
    from kb.records.db import session_factory
    from kb.records.models import Operator
    from kb.records.questions import flag_changed_in_store
    from kb.store import open_store

    if not settings.database_url and not (settings.data_dir / "records.sqlite").exists():
        return []
    store = open_store(settings)
    try:
        with session_factory(settings)() as session:
            return flag_changed_in_store(session, Operator(name=_os_user()), store)
    finally:
        store.close()


def _session(args: argparse.Namespace) -> Session:
    from kb.config import load_settings
    from kb.records.db import session_factory

    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    return session_factory(load_settings(**overrides))()


def _actor(session: Session, args: argparse.Namespace) -> Actor:
    from kb.records.auth import authenticate
    from kb.records.models import Operator

    if args.as_user:
        password = getpass.getpass(f"{args.as_user} 的密码 / password: ")
        return authenticate(session, args.as_user, password)
    return Operator(name=_os_user())


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _new_password(args: argparse.Namespace) -> str:
    """From stdin's first line, or typed twice at a prompt that does not echo."""
    from kb.records.errors import ValidationError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("标准输入中没有密码 / no password on standard input")
        return password
    first = getpass.getpass("新密码 / new password: ")
    if getpass.getpass("再输入一次 / again: ") != first:
        raise ValidationError("两次输入的密码不一致 / the passwords differ")
    return first


def cmd_users_bootstrap(args: argparse.Namespace) -> int:
    from kb.records.bootstrap import ensure_first_admin

    with _session(args) as session:
        created = ensure_first_admin(session)
    if created:
        username, password = created
        print(f"已创建首个管理员账户 / first admin account created: {username}")
        print(f"初始密码（只显示这一次，首次登录后须修改）/ initial password (shown once, change it at first sign-in): "
              f"{password}")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    from kb.records.people import UserSpec, add_user

    with _session(args) as session:
        actor = _actor(session, args)
        spec = UserSpec(args.username, args.name, args.role, args.unit, args.cert_no, args.field,
                        _new_password(args))
        user = add_user(session, actor, spec)
        print(f"added {user.username} ({user.role}{', ' + user.unit.code if user.unit else ''})")
    return 0


def cmd_users_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kb.records.errors import ImportRejected
    from kb.records.people import import_users_csv

    with _session(args) as session:
        actor = _actor(session, args)
        try:
            result = import_users_csv(session, actor, Path(args.csv_file))
        except ImportRejected as exc:
            print(f"error: {exc.source}: nothing imported (all-or-none); fix these rows and import again:",
                  file=sys.stderr)
            for problem in exc.errors:
                print(f"  {problem}", file=sys.stderr)
            return 1
    if result.generated_passwords:
        lines = "".join(f"{name}\t{pw}\n" for name, pw in result.generated_passwords.items())
        if args.passwords_out:
            out = Path(args.passwords_out)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # readable by its owner only
            with open(fd, "w", encoding="utf-8") as fh:
                fh.write("username\tpassword\n" + lines)
            print(f"generated passwords for {len(result.generated_passwords)} users in {out}", file=sys.stderr)
        else:
            sys.stdout.write(lines)
    print(f"imported {len(result.created)} users", file=sys.stderr)
    return 0


def cmd_users_reset_password(args: argparse.Namespace) -> int:
    from kb.records.people import reset_password

    with _session(args) as session:
        actor = _actor(session, args)
        new = None if args.generate else _new_password(args)
        password = reset_password(session, actor, args.username, new)
    if args.generate:
        print(password)
    print(f"password of {args.username} reset; the account is unlocked", file=sys.stderr)
    return 0


def cmd_users_set_active(args: argparse.Namespace) -> int:
    from kb.records.people import set_active

    with _session(args) as session:
        set_active(session, _actor(session, args), args.username, args.active)
    print(f"{args.username} {'activated' if args.active else 'deactivated and signed out everywhere'}",
          file=sys.stderr)
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from kb.records.models import utcnow
    from kb.records.people import list_users

    with _session(args) as session:
        users = list_users(session, _actor(session, args), unit_code=args.unit, role=args.role)
        now = utcnow()
        for u in users:
            state = "inactive" if not u.active else "locked" if u.locked_until and u.locked_until > now else "ok"
            print("\t".join([u.username, u.role, u.unit.code if u.unit else "-", u.display_name,
                             u.cert_no or "-", "、".join(u.fields) or "-", state]))
    print(f"{len(users)} users", file=sys.stderr)
    return 0


def cmd_units_add(args: argparse.Namespace) -> int:
    from kb.records.units import add_unit

    with _session(args) as session:
        unit = add_unit(session, _actor(session, args), args.code, args.name, args.parent)
        print(f"added unit {unit.code} {unit.path}")
    return 0


def cmd_units_list(args: argparse.Namespace) -> int:
    from kb.records.units import list_units

    with _session(args) as session:
        units = list_units(session, _actor(session, args))
        for unit in units:
            print(f"{unit.code}\t{unit.path}")
    print(f"{len(units)} units", file=sys.stderr)
    return 0


def _date(value: str, what: str = "date"):
    from datetime import date

    from kb.records.errors import ValidationError

    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError(f"日期 {value[:20]!r} 应为 YYYY-MM-DD / {what} {value[:20]!r} "
                              "must be YYYY-MM-DD") from exc


def _this_year() -> int:
    from kb.records.ledger import local_date
    from kb.records.models import utcnow

    return local_date(utcnow()).year


def _question_type(value: str) -> str:
    """单选/多选/判断/填空 or single/multiple/judge/blank → the model's type name."""
    from kb.quiz.model import TYPE_ZH

    names = {**{t: t for t in ("single", "multiple", "judge", "blank")},
             **{TYPE_ZH[t]: t for t in ("single", "multiple", "judge", "blank")}}
    key = value.strip().removesuffix("题").lower()
    if key not in names:
        raise argparse.ArgumentTypeError(f"题型只能是 单选/多选/判断/填空 / type must be single, multiple, judge or "
                                         f"blank (got {value!r})")
    return names[key]


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"应为正整数 / expected a positive whole number (got {value!r})")
    return number


def _cap_total(questions: list[Question], count: int) -> list[Question]:
    """At most ``count`` questions, taken round-robin across source documents and types so a
    cap does not keep only the first law's first type."""
    from collections import defaultdict

    queues: dict[tuple[str, str], list[Question]] = defaultdict(list)
    for q in questions:
        queues[(q.sources[0].doc_key, q.qtype)].append(q)
    out: list[Question] = []
    while len(out) < count and any(queues.values()):
        for queue in queues.values():
            if queue and len(out) < count:
                out.append(queue.pop(0))
    return out


def cmd_questions_generate(args: argparse.Namespace) -> int:
    from kb.config import load_settings
    from kb.library import resolve_document
    from kb.quiz.generate import generate_questions
    from kb.quiz.llm_generate import DEFAULT_COUNT, check_llm_settings, generate_with_llm
    from kb.records.questions import list_questions, save_questions, to_model
    from kb.store import open_store

    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    settings = load_settings(**overrides)
    if args.llm:
        check_llm_settings(settings)  # before any work: a clear error when no LLM is configured
    store = open_store(settings)
    try:
        doc_keys = [resolve_document(store, name).key for name in args.doc] if args.doc else None
        with _session(args) as session:
            actor = _actor(session, args)
            existing = [to_model(q) for q in list_questions(session)]
            if args.llm:
                report = generate_with_llm(store, settings, doc_keys, args.qtypes, args.count or DEFAULT_COUNT,
                                           args.limit_per_type, existing)
            else:
                report = generate_questions(store, doc_keys, args.limit_per_type, existing)
                if args.qtypes:
                    report.questions = [q for q in report.questions if q.qtype in args.qtypes]
                    report.rejected = [r for r in report.rejected if r.qtype in args.qtypes]
            rate = report.rejection_rate  # of the candidates made, before a cap leaves good ones out
            if args.count and not args.llm:
                report.questions = _cap_total(report.questions, args.count)
            if args.llm:
                print(f"{report.calls} calls to {report.model}, {report.failed_calls} failed; "
                      f"{len(report.rejected)} candidates rejected by the validator", file=sys.stderr)
                for reason, n in report.top_reasons():
                    print(f"  {n}\t{reason}", file=sys.stderr)
                if report.stopped:
                    print(f"warning: {report.stopped}", file=sys.stderr)
            if not report.questions:
                print("generated 0 questions: the bank already holds everything the documents yield"
                      if not args.llm else "generated 0 questions: no LLM candidate passed the validator")
                return 0
            result = save_questions(session, actor, report.questions, source="llm" if args.llm else "generator")
    finally:
        store.close()
    print(f"generated {len(report.questions)} questions ({rate:.1%} of candidates rejected "
          f"by the validator); bank: {len(result.created)} new, {len(result.updated)} updated, "
          f"{len(result.unchanged)} unchanged, {len(result.back_to_draft)} back to draft for review")
    return 0


def cmd_scenarios_validate(args: argparse.Namespace) -> int:
    """Check drill files as ``kb drills import`` would, without a database or an import."""
    from kb.quiz.drills import DrillError, drill_files, load_drills
    from kb.quiz.resolve import KBResolver
    from kb.records.drills import message_zh

    files = drill_files(args.paths)
    if not files:
        print(f"error: 没有找到演练文件（*.yaml、*.yml） / no drill files (*.yaml, *.yml) in {' '.join(args.paths)}",
              file=sys.stderr)
        return 1
    store = _resolver_store(args)
    try:
        drills = load_drills(files, KBResolver(store))
    except DrillError as exc:
        for problem in exc.problems:
            print(f"{problem}\n    {message_zh(problem)}")
        print(f"{len(exc.problems)} problem(s) in {len(files)} file(s); 请按提示修改演练文件 / fix the drill files",
              file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"{len(drills)} drills in {len(files)} files are valid against the knowledge base / 全部通过校验")
    return 0


def _resolver_store(args: argparse.Namespace):
    from kb.config import load_settings
    from kb.store import open_store

    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    return open_store(load_settings(**overrides))


def cmd_drills_import(args: argparse.Namespace) -> int:
    from kb.quiz.resolve import KBResolver
    from kb.records.drills import import_drill_files

    store = _resolver_store(args)
    try:
        with _session(args) as session:
            records = import_drill_files(session, _actor(session, args), args.paths, KBResolver(store),
                                         publish=not args.draft)
            for r in records:
                print(f"{r.code}\t{r.state}\t{r.title}")
    finally:
        store.close()
    print(f"{len(records)} drills imported" + ("" if args.draft else " and published"))
    return 0


def cmd_drills_list(args: argparse.Namespace) -> int:
    from kb.records.drills import list_drills

    with _session(args) as session:
        rows = list_drills(session, _actor(session, args))
        for r in rows:
            print(f"{r.code}\t{r.state}\t{r.quiz.code if r.quiz else '-'}\t{r.title}")
    print(f"{len(rows)} drills")
    return 0


def cmd_drills_state(args: argparse.Namespace) -> int:
    from kb.quiz.resolve import KBResolver
    from kb.records.drills import publish_drill, retire_drill

    store = _resolver_store(args)
    try:
        with _session(args) as session:
            actor = _actor(session, args)
            if args.verb == "publish":
                print(f"{args.code}\tpublished\t{publish_drill(session, actor, args.code, KBResolver(store)).code}")
            else:
                print(f"{retire_drill(session, actor, args.code).code}\tretired")
    finally:
        store.close()
    return 0


def cmd_close_expired(args: argparse.Namespace) -> int:
    from kb.records.attempts import close_expired

    with _session(args) as session:
        closed = close_expired(session, _actor(session, args))
    for c in closed:
        a = c.attempt
        print(f"attempt {a.id}\t{a.percent:.0f}%\t{'passed' if a.passed else 'failed'}\t"
              f"{c.credit.hours if c.credit else 0} h")
    print(f"{len(closed)} expired attempts graded and closed")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kb.config import load_settings
    from kb.records.demo import seed_demo
    from kb.store import open_store

    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    store = open_store(load_settings(**overrides))
    try:
        with _session(args) as session:
            report = seed_demo(session, store)
    finally:
        store.close()
    if not report.created:
        print("demo data already present; nothing changed")
    else:
        print(f"demo data added: {len(report.users)} users, {report.questions} approved questions, "
              f"quizzes {', '.join(report.quizzes) or '(none: no questions could be generated)'}, "
              f"{report.drills} drills" + ("" if report.drills else " (the knowledge base lacks laws they cite)"))
    print(f"sign in as {', '.join(report.users)} with password {report.password}")
    return 0


def cmd_questions_list(args: argparse.Namespace) -> int:
    from kb.quiz.model import TYPE_ZH
    from kb.records.questions import list_questions

    with _session(args) as session:
        _actor(session, args)
        rows = list_questions(session, state=args.state, flagged=True if args.flagged else None)
        for q in rows:
            flag = " [source changed]" if q.flagged else ""
            print(f"{q.key}\t{q.state}\t{TYPE_ZH.get(q.qtype, q.qtype)}\t{q.stem[:60]}{flag}")
        print(f"{len(rows)} questions")
    return 0


def cmd_questions_state(args: argparse.Namespace) -> int:
    from kb.records.questions import set_state

    with _session(args) as session:
        changed = set_state(session, _actor(session, args), args.keys, args.state)
        print(f"{len(changed)} questions now {args.state}")
    return 0


def cmd_ledger_add(args: argparse.Namespace) -> int:
    from kb.records.ledger import add_offline

    with _session(args) as session:
        entry = add_offline(session, _actor(session, args), args.username, args.category, args.hours,
                            _date(args.date), args.note, force=args.force)
        print(f"added entry {entry.id}: {args.username} {entry.on_date} {entry.category} {entry.hours} h "
              f"(year {entry.year})")
    return 0


def cmd_ledger_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kb.records.errors import ImportRejected
    from kb.records.offline_import import import_offline_csv

    with _session(args) as session:
        actor = _actor(session, args)
        try:
            result = import_offline_csv(session, actor, Path(args.csv_file), force=args.force)
        except ImportRejected as exc:
            print(f"error: {exc.source}: nothing imported (all-or-none); fix these rows and import again:",
                  file=sys.stderr)
            for problem in exc.errors:
                print(f"  {problem}", file=sys.stderr)
            return 1
    print(f"imported {len(result.entry_ids)} entries for {result.people} people, {result.hours} h in all")
    return 0


def cmd_ledger_reverse(args: argparse.Namespace) -> int:
    from kb.records.ledger import reverse_entry

    with _session(args) as session:
        entry = reverse_entry(session, _actor(session, args), args.entry_id, args.reason)
        print(f"added entry {entry.id}: reverses entry {entry.reverses_id} ({entry.hours} h, year {entry.year})")
    return 0


def cmd_ledger_list(args: argparse.Namespace) -> int:
    from decimal import Decimal

    from kb.records.ledger import entries

    year = args.year or _this_year()
    with _session(args) as session:
        rows = entries(session, _actor(session, args), args.username, year)
        reversed_ids = {r.reverses_id for r in rows if r.reverses_id}
        for r in rows:
            mark = f"reverses #{r.reverses_id}" if r.reverses_id else "reversed" if r.id in reversed_ids else ""
            print("\t".join([str(r.id), r.on_date.isoformat(), r.kind, r.category, str(r.hours), r.note, mark]))
        total = sum((r.hours for r in rows), Decimal("0.00"))
    print(f"{len(rows)} entries, {total} h in {year}", file=sys.stderr)
    return 0


def cmd_ledger_progress(args: argparse.Namespace) -> int:
    from kb.records.ledger import GOAL_HOURS, behind, local_date, progress
    from kb.records.models import utcnow

    year = args.year or _this_year()
    as_of = _date(args.date) if args.date else local_date(utcnow())
    with _session(args) as session:
        rows = progress(session, _actor(session, args), args.unit, year, as_of=as_of)
    shown = behind(rows) if args.behind else rows
    for p in shown:
        state = "达标 met" if p.met else f"落后 behind {p.shortfall}" if p.behind else "正常 on track"
        print("\t".join([p.username, p.display_name, p.unit_code, str(p.hours), str(p.expected), state]))
    expected = rows[0].expected if rows else "-"
    print(f"{len(rows)} officers in {args.unit} and below, {year}: {sum(p.met for p in rows)} met {GOAL_HOURS} h, "
          f"{sum(p.behind for p in rows)} behind the {expected} h expected by {as_of}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kb.records.export import export_unit

    with _session(args) as session:
        result = export_unit(session, _actor(session, args), args.unit, args.year, args.format,
                             base_iri=args.xapi_base or None)
    out = Path(args.out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # names and 执法证号: owner only
    with open(fd, "wb") as fh:
        fh.write(result.data)
    print(f"exported {result.officers} officers, {result.items} credited items of {result.unit_code} and below, "
          f"{result.year}, to {out} ({args.format}, sha256 {result.sha256[:12]})", file=sys.stderr)
    return 0
