"""`.gto` and GTO_* variables read through the declared Config: defaults, the environment over the
file, lists as JSON or words, and GTO's one line for a value of the wrong kind."""

from __future__ import annotations

import pytest

from tagreg import config as C


def test_defaults_without_a_file(tmp_path):
    loaded = C.load(tmp_path, environ={})
    assert (loaded.stages, loaded.types, loaded.index, loaded.emojis, loaded.debug, loaded.enrichments,
            loaded.source) == (None, None, "artifacts.yaml", True, False, [], None)


def test_the_environment_wins_over_the_file(tmp_path):
    (tmp_path / ".gto").write_text("stages: [dev, prod]\nTYPES: [model]\nindex: models.yaml\ndebug: true\n")
    from_file = C.load(tmp_path, environ={})
    assert (from_file.stages, from_file.types, from_file.index, from_file.debug) == (
        ["dev", "prod"], ["model"], "models.yaml", True)
    assert from_file.source == str(tmp_path / ".gto")
    env = {"GTO_STAGES": '["qa"]', "gto_types": "model, dataset", "GTO_INDEX": "other.yaml", "GTO_DEBUG": "no",
           "GTO_ENRICHMENTS": '[{"type": "x"}]'}
    loaded = C.load(tmp_path, environ=env)
    assert (loaded.stages, loaded.types, loaded.index, loaded.debug, loaded.enrichments) == (
        ["qa"], ["model", "dataset"], "other.yaml", False, [{"type": "x"}])


def test_the_file_name_and_a_bare_repositorys_text(tmp_path):
    (tmp_path / "gto.yaml").write_text("stages: [prod]\n")
    loaded = C.load(tmp_path, environ={"GTO_CONFIG_FILE_NAME": "gto.yaml"})
    assert (loaded.stages, loaded.config_file_name) == (["prod"], "gto.yaml")
    assert C.load(None, environ={}, text=b"types: [model]\n").types == ["model"]


@pytest.mark.parametrize("text", ["stages: 5\n", "stages: [a#b]\n", "emojis: maybe\n", "enrichments: {a: 1}\n",
                                  "[a list]\n", "stages: [\n"])
def test_a_wrong_value_is_gtos_one_line(tmp_path, text):
    (tmp_path / ".gto").write_text(text)
    with pytest.raises(C.ConfigError) as caught:
        C.load(tmp_path, environ={})
    assert str(caught.value) == f"Wrong config file '{(tmp_path / '.gto').resolve()}'"


def test_a_wrong_environment_variable(tmp_path):
    with pytest.raises(C.ConfigError, match=r"^Wrong GTO_\* environment variable$"):
        C.load(tmp_path, environ={"GTO_STAGES": '["bad#stage"]'})
