"""Settings from KB_* variables: types coerced, bad values refused at start-up with the name."""

from __future__ import annotations

import pytest

from kb.config import doc_type_weights, load_settings
from kb.errors import ConfigError


def test_boolean_settings_from_the_environment(tmp_path, monkeypatch):
    absent = tmp_path / "absent.toml"
    assert load_settings(config_file=absent).part_vectors is True
    for text, want in (("false", False), ("0", False), ("OFF", False), ("yes", True), (" true ", True)):
        monkeypatch.setenv("KB_PART_VECTORS", text)
        assert load_settings(config_file=absent).part_vectors is want
    monkeypatch.setenv("KB_PART_VECTORS", "maybe")
    with pytest.raises(ConfigError, match="part_vectors: 'maybe'"):
        load_settings(config_file=absent)


def test_document_type_weights_parse_and_refuse_nonsense(tmp_path, monkeypatch):
    assert doc_type_weights("") == {}
    assert doc_type_weights("regulation=0.85, interpretation=0.5,") == {"regulation": 0.85, "interpretation": 0.5}
    for bad in ("statute=0.5", "rule", "rule=abc", "rule=0", "rule=-1"):
        with pytest.raises(ConfigError, match="doc_type_weights"):
            doc_type_weights(bad)
    monkeypatch.setenv("KB_DOC_TYPE_WEIGHTS", "rule=zero")
    with pytest.raises(ConfigError, match="'rule=zero'"):
        load_settings(config_file=tmp_path / "absent.toml")
