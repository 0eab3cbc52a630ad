"""``kb ledger …`` and ``kb export`` as a coordinator types them: exit codes, one-line
errors, ``--as`` applying that user's rules, files written for their owner only."""

from __future__ import annotations

import csv
import io
import json
import stat

from openpyxl import load_workbook
from sqlalchemy import select

from kb.records.models import AuditEntry
from tests.test_records_fixtures import PASSWORD

pytest_plugins = ["tests.test_records_fixtures"]


def test_add_list_reverse_and_progress(kb):
    code, out, _ = kb("ledger", "add", "zhang.th", "--category", "集中轮训", "--hours", "10", "--date", "2026-02-20",
                      "--note", "签到表 2026-017", "--as", "coord.gz", prompts=(PASSWORD,))
    assert code == 0 and out == "added entry 1: zhang.th 2026-02-20 集中轮训 10.00 h (year 2026)\n"
    assert kb("ledger", "add", "li.yx", "--category", "lecture", "--hours", "31", "--date", "2026-02-21",
              "--note", "讲座")[0] == 0
    code, out, _ = kb("ledger", "reverse", "2", "--reason", "录错")
    assert code == 0 and "reverses entry 2 (-31.00 h" in out
    code, out, err = kb("ledger", "list", "li.yx", "--year", "2026")
    assert code == 0 and err.strip() == "2 entries, 0.00 h in 2026"
    assert [line.split("\t")[-1] for line in out.splitlines()] == ["reversed", "reverses #2"]
    code, out, err = kb("ledger", "progress", "--unit", "440100", "--year", "2026", "--date", "2026-03-01",
                        "--as", "coord.gz", prompts=(PASSWORD,))
    assert code == 0
    lines = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()}
    assert lines["zhang.th"][3:] == ["10.00", "9.86", "正常 on track"]
    assert lines["li.yx"][3:] == ["0.00", "9.86", "落后 behind 9.86"]
    assert "3 officers in 440100 and below, 2026: 0 met 60 h, 2 behind the 9.86 h expected by 2026-03-01" in err
    code, out, _ = kb("ledger", "progress", "--unit", "440100", "--year", "2026", "--date", "2026-03-01", "--behind")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["li.yx", "wang.gz"]


def test_bad_input_is_one_line_without_traceback(kb):
    add = ("ledger", "add", "zhang.th", "--category", "集中轮训", "--note", "n")
    for argv, expected in [
        ((*add, "--hours", "8", "--date", "2026-02-30"), "must be YYYY-MM-DD"),
        ((*add, "--hours", "abc", "--date", "2026-02-20"), "is not a number"),
        ((*add, "--hours", "8", "--date", "2999-01-01"), "in the future"),
        (("ledger", "reverse", "42", "--reason", "x"), "no ledger entry 42"),
        (("ledger", "progress", "--unit", "440100'--", "--year", "2026"), "unit code"),
        (("export", "--unit", "nowhere", "--year", "2026", "--format", "csv", "--out", "/dev/null"), "no unit"),
    ]:
        code, _, err = kb(*argv)
        assert code == 1 and err.startswith("error: ") and expected in err and "Traceback" not in err, err


def test_exports_to_files_for_their_owner_only(kb, tmp_path, world):
    kb("ledger", "add", "zhang.th", "--category", "集中轮训", "--hours", "8", "--date", "2026-02-20", "--note", "n")
    out = tmp_path / "gz.csv"
    code, _, err = kb("export", "--unit", "440100", "--year", "2026", "--format", "csv", "--out", str(out),
                      "--as", "coord.gz", prompts=(PASSWORD,))
    assert code == 0 and "exported 3 officers, 1 credited items of 440100 and below, 2026" in err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {r["姓名"]: r["累计学时"] for r in table} == {"张三": "8.00", "李四": "0.00", "王五": "0.00"}
    xlsx = tmp_path / "gz.xlsx"
    assert kb("export", "--unit", "440100", "--year", "2026", "--format", "xlsx", "--out", str(xlsx))[0] == 0
    assert load_workbook(xlsx).sheetnames == ["汇总", "学时明细"]
    xapi = tmp_path / "gz.json"
    assert kb("export", "--unit", "440100", "--year", "2026", "--format", "xapi", "--out", str(xapi),
              "--xapi-base", "https://training.gd.example")[0] == 0
    statement = json.loads(xapi.read_text(encoding="utf-8"))[0]
    assert statement["actor"]["account"] == {"homePage": "https://training.gd.example", "name": "zhang.th"}
    code, _, err = kb("export", "--unit", "440300", "--year", "2026", "--format", "csv", "--out",
                      str(tmp_path / "sz.csv"), "--as", "coord.gz", prompts=(PASSWORD,))
    assert code == 1 and "not allowed: records.export export:440300/2026" in err
    assert not (tmp_path / "sz.csv").exists()
    with world.Session() as s:
        outcomes = [e.outcome for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "records.export")
                                                  .order_by(AuditEntry.id))]
        assert outcomes == ["ok", "ok", "ok", "refused"]


def test_kb_cli_registers_ledger_and_export():
    from kb.cli import build_parser

    args = build_parser().parse_args(["export", "--unit", "440100", "--year", "2026", "--format", "xapi",
                                      "--out", "x.json"])
    assert args.func.__module__ == "kb.records.cli"
    assert build_parser().parse_args(["ledger", "progress", "--unit", "440100"]).func.__name__ == "cmd_ledger_progress"
