"""The cached registry view of `tagreg show`: a cache hit must never show something stale."""

import json


def _show(repo, *args, env=None):
    result = repo.run("show", "--json", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_show_view_cache_follows_tags_head_config_and_options(repo, tmp_path):
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    repo.commit("model", files={"artifacts.yaml": "m:\n  type: model\n"})
    repo.tag("m@v1.0.0", message="Registering artifact m version v1.0.0")
    first = _show(repo, env=env)
    assert first["m"]["version"] == "v1.0.0"
    assert list((tmp_path / "cache" / "views").iterdir()), "the view was not cached"
    assert _show(repo, env=env) == first  # a hit gives the same answer

    repo.tag("m#prod#1", message="Assigning stage prod to artifact m version v1.0.0")  # a new tag
    assert _show(repo, env=env)["m"]["stage"] == {"prod": "v1.0.0"}
    repo.git("tag", "-d", "m#prod#1")  # a deleted tag
    assert _show(repo, env=env)["m"]["stage"] == {}

    repo.commit("declare n", files={"artifacts.yaml": "m:\n  type: model\nn:\n  type: model\n"})  # HEAD moves
    assert "n" in _show(repo, env=env)

    (repo.path / ".gto").write_text("stages: [dev, prod]\n")  # config changes the columns
    assert _show(repo, env=env)["m"]["stage"] == {"dev": None, "prod": None}

    assert "m" not in _show(repo, "--type", "dataset", env=env)  # options are part of the key
    assert _show(repo, env={**env, "TAGREG_NO_CACHE": "1"}) == _show(repo, env=env)
