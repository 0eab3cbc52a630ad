"""The `kb` command as a user runs it: real subprocesses, real store, exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.conftest import EMBED_CACHE, ROOT, sample

REG = "reg_fakuan-jueding-yu-fakuan-shoujiao-fenli-shishi-banfa_1997.md"


def kb(*args, data, stdin=None):
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_EMBED_CACHE": str(EMBED_CACHE)}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600, input=stdin)


def test_cli_round_trip(tmp_path):
    data = tmp_path / "data"
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(sample(REG), docs / REG)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    out = kb("ingest", str(docs), data=data)
    assert out.returncode == 1  # one file failed
    assert "1 added" in out.stdout and "1 failed" in out.stdout
    assert "broken.pdf" in out.stderr and "Traceback" not in out.stderr

    again = kb("ingest", str(docs / REG), data=data)
    assert again.returncode == 0 and "1 unchanged" in again.stdout

    listing = kb("docs", data=data)
    assert "罚款决定与罚款收缴分离实施办法@1997-11-17" in listing.stdout
    assert listing.stdout.rstrip().endswith("part vectors: yes")  # the default for a new store

    found = kb("search", "罚款收缴分离", "-k", "2", data=data)
    assert found.returncode == 0 and "《罚款决定与罚款收缴分离实施办法》" in found.stdout

    piped = kb("search", data=data, stdin="罚款决定与罚款收缴分离实施办法第三条\n")
    assert "第三条" in piped.stdout

    shown = kb("show", "罚款决定与罚款收缴分离实施办法", "第3条", data=data)
    assert shown.returncode == 0 and shown.stdout.splitlines()[1].startswith("第三条")

    asked = kb("ask", "罚款决定与罚款收缴分离实施办法第三条", data=data)
    assert asked.returncode == 0 and asked.stdout.rstrip().endswith("（条文原文，置信度 1.00）")  # the mode in words

    missing = kb("show", "不存在的法", data=data)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no document matches")

    removed = kb("remove", "罚款决定与罚款收缴分离实施办法", data=data)
    assert removed.returncode == 0 and "17 chunks" in removed.stdout
    assert "0 documents" in kb("docs", data=data).stdout


def test_cli_usage_errors(tmp_path):
    out = kb("ingest", str(tmp_path / "nothing-here"), data=tmp_path / "d")
    assert out.returncode == 1 and "Traceback" not in out.stderr
