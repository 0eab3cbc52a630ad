"""`kb questions generate|list|approve` end to end: a real index, a real SQLite database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.conftest import EMBED_CACHE, ROOT, sample

REG = "reg_fakuan-jueding-yu-fakuan-shoujiao-fenli-shishi-banfa_1997.md"


def kb(*args, data):
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_EMBED_CACHE": str(EMBED_CACHE)}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_generate_review_and_regenerate(tmp_path):
    data = tmp_path / "data"
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(sample(REG), docs / REG)
    assert kb("ingest", str(docs), data=data).returncode == 0
    first = kb("questions", "generate", data=data)
    assert first.returncode == 0, first.stderr
    assert " new," in first.stdout and "generated 0 " not in first.stdout
    listing = kb("questions", "list", "--state", "draft", data=data)
    keys = [line.split("\t")[0] for line in listing.stdout.splitlines() if "\t" in line]
    assert keys
    approved = kb("questions", "approve", keys[0], data=data)
    assert approved.returncode == 0 and "1 questions now approved" in approved.stdout
    assert keys[0] in kb("questions", "list", "--state", "approved", data=data).stdout
    again = kb("questions", "generate", data=data)  # nothing new: the bank already holds them
    assert again.returncode == 0 and "generated 0 questions" in again.stdout
