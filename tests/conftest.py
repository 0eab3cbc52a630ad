"""Shared fixtures. Tests read the real corpora by path (never copies) and use the real
embedding model and real Qdrant stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "corpus" / "sample"
NATIONAL = SHARED / "corpus" / "national"


def sample(name: str) -> Path:
    path = SAMPLE / name
    if not path.exists():
        pytest.skip(f"sample corpus not found at {SAMPLE}")
    return path


def national(rel: str) -> Path:
    path = NATIONAL / rel
    if not path.exists():
        pytest.skip(f"national corpus not found at {NATIONAL}")
    return path


# Passage vectors are cached across test runs (and shared by every test's store), so a
# rerun does not pay for embedding again; CI starts empty and fills it once.
EMBED_CACHE = ROOT / ".cache" / "test-embeddings.sqlite"

SMALL_SET = (
    "law_xingzheng-chufa-fa_2021.md",
    "law_xingzheng-qiangzhi-fa_2011.md",
    "plan_liaozhengbanfa-2023-18_tisheng-xingzheng-zhifa-zhiliang.md",
    "case_spc-xingzheng-xieyi-dianxing-anli-pi2_01-zhongshan.md",
    "reg_fakuan-jueding-yu-fakuan-shoujiao-fenli-shishi-banfa_1997.md",
)


def make_settings(tmp: Path, **overrides):
    from kb.config import load_settings

    overrides.setdefault("embed_cache", str(EMBED_CACHE))
    # a developer's own background (README) must not reach the tests: each test says its own
    overrides.setdefault("background_dir", "")
    overrides.setdefault("background_collection", "")
    return load_settings(config_file=tmp / "absent.toml", data_dir=tmp, **overrides)


def _ingested(tmp_path_factory, name: str, paths: list[Path]):
    from ingest.pipeline import Ingestor

    if not SAMPLE.exists():
        pytest.skip(f"sample corpus not found at {SAMPLE}")
    settings = make_settings(tmp_path_factory.mktemp(name))
    ingestor = Ingestor(settings)
    report = ingestor.ingest(paths)
    ingestor.close()
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def small_kb(tmp_path_factory):
    """An Edge store holding five sample documents (laws, plan, case, regulation)."""
    return _ingested(tmp_path_factory, "small_kb", [SAMPLE / n for n in SMALL_SET])


@pytest.fixture(scope="session")
def sample_kb(tmp_path_factory):
    """An Edge store holding the whole sample corpus (39 documents)."""
    return _ingested(tmp_path_factory, "sample_kb", [SAMPLE])


# Three files of the national corpus as a background index (kb.background): two laws the
# sample corpus lacks and 行政处罚法, which it holds, so that one must never count.
BACKGROUND_FILES = ("行政法规/互联网上网服务营业场所管理条例(2022-03-29).md", "行政法规/快递暂行条例(2019-03-02).md",
                    "行政法/行政处罚法(2021-01-22).md")


@pytest.fixture(scope="session")
def background_dir(tmp_path_factory):
    """The data folder of a background index built with the real ingest pipeline."""
    from ingest.pipeline import Ingestor

    files = [national(f) for f in BACKGROUND_FILES]
    settings = make_settings(tmp_path_factory.mktemp("background"))
    ingestor = Ingestor(settings)
    report = ingestor.ingest(files)
    ingestor.close()
    assert not report.failed, report.failed
    return settings.data_dir
