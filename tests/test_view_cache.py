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


def test_rows_kept_in_an_older_format_are_read_again(repo, tmp_path):
    """Rows kept by a build that read the same tags another way (same version string, an older
    format of the rows) are a miss, not the answer."""
    import pickle

    from tagreg.api.view import ROWS_FORMAT

    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    repo.tag("b@v1.0.0", message="Registering artifact b version v1.0.0")
    assert _show(repo, env=env)["b"]["version"] == "v1.0.0"
    [rows_file] = (tmp_path / "cache" / "rows").iterdir()
    key, kept = pickle.loads(rows_file.read_bytes())
    assert key.startswith(f"{ROWS_FORMAT}:")
    kept["b"][1][0].info.latest = "v9.9.9"
    rows_file.write_bytes(pickle.dumps((key.replace(f"{ROWS_FORMAT}:", f"{ROWS_FORMAT - 1}:", 1), kept)))
    assert _show(repo, env=env)["b"]["version"] == "v1.0.0"


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


def _many_tags(repo, count):
    """count annotated registry tags over ~count/10 artifacts whose names share first letters."""
    import subprocess

    commit = repo.git("rev-parse", "HEAD").strip()
    names = []
    for i in range(count):
        artifact = f"{'mm' if i % 3 else 'churn'}-{i % (count // 10)}"
        if i % 7 == 0:
            names.append(f"{artifact}#prod#{i}")
        elif i % 11 == 0:
            names.append(f"{artifact}@v0.0.{i}!")
        else:
            names.append(f"{artifact}@v1.{i}.0")
    names += ["x@v1.0.0", "x#team/prod#1", "dir/sub=m@v1.0.0", "dir/sub=m#dev#2", "m2@deprecated"]
    stream = "".join(f"tag {n}\nfrom {commit}\ntagger T <t@example.com> {1700000000 + i % 500} +0000\n"
                     f"data {len(n)}\n{n}\n" for i, n in enumerate(names))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.path, input=stream.encode(), check=True)
    return names


def test_the_two_halves_of_a_big_registry_hold_every_artifact_once(repo):
    from tagreg.api.view import _counts, _halves
    from tagreg.git import Git

    _many_tags(repo, 2500)
    git = Git(repo.path)
    counts = _counts(git.list_tags())
    halves = _halves(counts)
    assert halves is not None
    parts = [{t.tag for t in git.tags(patterns)} for patterns in halves]
    every = {t.tag for t in git.tags()}
    assert parts[0] | parts[1] == every and not parts[0] & parts[1]
    owner = {}
    for i, part in enumerate(parts):
        for tag in part:
            artifact = tag.split("@")[0].split("#")[0]
            assert owner.setdefault(artifact, i) == i, f"{artifact} is in both halves"
    sizes = sorted(len(p) for p in parts)
    assert sizes[0] >= 0.3 * len(every)


def test_a_big_registry_reads_the_same_with_a_forked_half(repo, tmp_path):
    """The first `show` on a big registry builds half of it in a forked copy of the process."""
    _many_tags(repo, 2500)
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    cold = {**env, "TAGREG_NO_CACHE": "1"}
    for args in ((), ("-d",), ("--sort", "semver")):
        expected = repo.run("show", *args, env=cold)  # forked, and compared with the API's own read
        from tagreg import api

        view = api.show_registry(repo.path, deprecated="-d" in args, sort=args[-1] if args[:1] == ("--sort",)
                                 else "timestamp")
        assert expected.returncode == 0, expected.stderr
        data = json.loads(repo.run("show", "--json", *args, env=cold).stdout)
        assert list(data) == [a.name for a in view.artifacts]
        assert data == {a.name: a.to_gto(view.stages) for a in view.artifacts}
        assert _table(repo, env, *args) == expected.stdout  # cached rows: the same table


def _cached(folder):
    """(file, key, value) of the one entry in a cache folder."""
    import pickle

    [file] = folder.iterdir()
    key, value = pickle.loads(file.read_bytes())
    return file, key, value


def _store(file, key, value):
    import pickle

    file.write_bytes(pickle.dumps((key, value)))


def test_an_artifacts_tags_are_read_once_by_tag_id(repo, tmp_path):
    """A tag object never changes, so a per-artifact read takes what it read before from the cache
    folder by the tag's id (tampering shows through), and reads only tags with a new id."""
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    repo.commit("model")
    repo.tag("m@v1.0.0", message="Registering artifact m version v1.0.0")
    repo.tag("m#prod#1", message="Assigning stage prod to artifact m version v1.0.0")
    assert repo.run("which", "m", "prod", env=env).stdout == "v1.0.0\n"
    file, key, kept = _cached(tmp_path / "cache" / "tags")
    assert len(kept) == 2
    for oid, fields in kept.items():
        kept[oid] = (*fields[:3], "Cached Tagger", *fields[4:])
    _store(file, key, kept)
    assert json.loads(repo.run("check-ref", "m#prod#1", "--json", env=env).stdout)["author"] == "Cached Tagger"

    repo.git("tag", "-d", "m#prod#1")
    repo.tag("m#prod#1", message="Assigning stage prod to artifact m version v1.0.0 (again)")  # another object
    found = json.loads(repo.run("check-ref", "m#prod#1", "--json", env=env).stdout)
    assert found["author"] != "Cached Tagger"
    assert json.loads(repo.run("check-ref", "m@v1.0.0", "--json", env=env).stdout)["author"] == "Cached Tagger"
    assert len(_cached(tmp_path / "cache" / "tags")[2]) == 2  # the replaced tag's entry is dropped


def test_which_answers_are_kept_per_artifact_by_its_tags(repo, tmp_path):
    """`which` keeps each stage's versions for an artifact's tags as they are: a kept answer is
    used (tampering shows through) until one of its tags changes; HEAD moving changes nothing."""
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    first = repo.commit("one")
    repo.tag("m@v1.0.0", first, "Registering artifact m version v1.0.0")
    repo.commit("two")
    repo.tag("m@v1.0.1", message="Registering artifact m version v1.0.1")
    repo.tag("m#prod#1", first, "Assigning stage prod to artifact m version v1.0.0")
    assert repo.run("which", "m", "prod", env=env).stdout == "v1.0.0\n"
    file, key, kept = _cached(tmp_path / "cache" / "kept")
    _store(file, key, kept._replace(winners={}))  # what only the cache says: prod is empty
    repo.commit("three")
    kept_answer = repo.run("which", "m", "prod", env=env)
    assert (kept_answer.returncode, kept_answer.stdout) == (0, "")
    assert repo.run("which", "m", "prod", env={**env, "TAGREG_NO_CACHE": "1"}).stdout == "v1.0.0\n"

    repo.tag("m#dev#2", first, "Assigning stage dev to artifact m version v1.0.0")  # a tag of m changes
    assert repo.run("which", "m", "prod", env=env).stdout == "v1.0.0\n"
    assert repo.run("which", "m", "dev", env=env).stdout == "v1.0.0\n"
