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


def _table(repo, env, *args):
    result = repo.run("show", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rows_are_cached_per_artifact_and_only_changed_artifacts_are_read_again(repo, tmp_path):
    """After tags of one artifact change, the others' rows come from the cache folder: tampering
    with a kept row of an unchanged artifact shows through, the changed one is read afresh."""
    import pickle

    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    repo.tag("a@v1.0.0", message="Registering artifact a version v1.0.0")
    repo.tag("b@v1.0.0", message="Registering artifact b version v1.0.0")
    assert _show(repo, env=env)["b"]["version"] == "v1.0.0"
    [rows_file] = (tmp_path / "cache" / "rows").iterdir()
    key, kept = pickle.loads(rows_file.read_bytes())
    assert set(kept) == {"a", "b"}
    kept["b"][1][0].info.latest = "v9.9.9"  # what only the cache knows
    rows_file.write_bytes(pickle.dumps((key, kept)))

    repo.tag("a#prod#1", message="Assigning stage prod to artifact a version v1.0.0")
    shown = _show(repo, env=env)
    assert shown["a"]["stage"] == {"prod": "v1.0.0"}  # read again: its tags changed
    assert shown["b"]["version"] == "v9.9.9"  # kept: its tags did not


def test_cached_rows_always_equal_a_fresh_read(repo, tmp_path):
    """Every kind of change, each followed by a cached and an uncached show (table and JSON)."""
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    fresh = {**env, "TAGREG_NO_CACHE": "1"}
    first = repo.git("rev-parse", "HEAD").strip()
    second = repo.commit("second")
    steps = [
        lambda: repo.tag("a@v1.0.0", first, "Registering artifact a version v1.0.0"),
        lambda: repo.tag("dir/sub=m@v0.1.0", second, "Registering artifact dir/sub:m version v0.1.0"),
        lambda: repo.tag("a#prod#1", first, "Assigning stage prod to artifact a version v1.0.0"),
        lambda: repo.tag("a@v1.1.0", second, "Registering artifact a version v1.1.0"),
        lambda: repo.tag("dir/sub=m#team/dev#2", second, "Assigning stage team/dev"),
        lambda: repo.tag("a#prod#3", second, "Assigning stage prod to artifact a version v1.1.0"),
        lambda: repo.tag("a#prod!#4", second, "Unassigning stage prod"),
        lambda: repo.tag("foreign-release"),  # lightweight, nobody's
        lambda: repo.tag("b#dev#1", second, "Assigning stage dev to a commit"),  # a sha-named version
        lambda: repo.tag("b@deprecated", second, "Deprecating artifact b"),
        lambda: repo.git("tag", "-d", "a@v1.1.0"),
        lambda: repo.tag("a@v1.0.0!#5", first, "Deregistering artifact a version v1.0.0"),
        lambda: repo.commit("annotated", files={"artifacts.yaml": "c:\n  type: model\n"}),
    ]
    for step in steps:
        step()
        for args in ((), ("-d",), ("--vs", "-1"), ("--sort", "semver")):
            assert _show(repo, *args, env=env) == _show(repo, *args, env=fresh), (step, args)
            assert _table(repo, env, *args) == _table(repo, fresh, *args), (step, args)
            assert _table(repo, env, "--json", *args) == _table(repo, fresh, "--json", *args), (step, args)
