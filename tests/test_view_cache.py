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


def _kept_rows(cache_dir):
    """{bucket file: (key, {tag prefix: (digest, [row])})} as the cache folder holds them."""
    import marshal

    return {path: marshal.loads(path.read_bytes()) for path in (cache_dir / "rows").glob("*.marshal")}


def _tamper(cache_dir, prefix, latest, key=None):
    """Make the kept row of prefix say latest (what only the cache knows), with another key if given."""
    import marshal

    for path, (stored_key, part) in _kept_rows(cache_dir).items():
        if prefix in part:
            digest, [row] = part[prefix]
            part[prefix] = (digest, [(*row[:3], latest, *row[4:])])
            path.write_bytes(marshal.dumps((key or stored_key, part)))
            return path
    raise AssertionError(f"no kept row of {prefix}")


def test_rows_are_cached_per_artifact_and_only_changed_artifacts_are_read_again(repo, tmp_path):
    """After tags of one artifact change, the others' rows come from the cache folder: tampering
    with a kept row of an unchanged artifact shows through, the changed one is read afresh."""
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    repo.tag("a@v1.0.0", message="Registering artifact a version v1.0.0")
    repo.tag("b@v1.0.0", message="Registering artifact b version v1.0.0")
    assert _show(repo, env=env)["b"]["version"] == "v1.0.0"
    assert {prefix for _, part in _kept_rows(tmp_path / "cache").values() for prefix in part} == {"a", "b"}
    _tamper(tmp_path / "cache", "b", "v9.9.9")

    repo.tag("a#prod#1", message="Assigning stage prod to artifact a version v1.0.0")
    shown = _show(repo, env=env)
    assert shown["a"]["stage"] == {"prod": "v1.0.0"}  # read again: its tags changed
    assert shown["b"]["version"] == "v9.9.9"  # kept: its tags did not


def test_one_new_tag_rewrites_only_the_file_of_its_artifact(repo, tmp_path):
    """Rows are kept in several files: a new tag of one artifact rewrites the one holding it."""
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    for i in range(40):
        repo.tag(f"m{i}@v1.0.0", message=f"Registering artifact m{i} version v1.0.0")
    assert len(_show(repo, env=env)) == 40
    before = {path: path.read_bytes() for path in _kept_rows(tmp_path / "cache")}
    assert len(before) > 10
    repo.tag("m7#prod#1", message="Assigning stage prod to artifact m7 version v1.0.0")
    assert _show(repo, env=env)["m7"]["stage"] == {"prod": "v1.0.0"}
    after = {path: path.read_bytes() for path in _kept_rows(tmp_path / "cache")}
    assert [path for path in after if after[path] != before.get(path)] == [
        path for path, (_, part) in _kept_rows(tmp_path / "cache").items() if "m7" in part]


def test_rows_kept_in_an_older_format_are_read_again(repo, tmp_path):
    """Rows kept by a build that read the same tags another way (same version string, an older
    format of the rows) are a miss, not the answer."""
    from tagreg.api.view import ROWS_FORMAT

    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    repo.tag("b@v1.0.0", message="Registering artifact b version v1.0.0")
    assert _show(repo, env=env)["b"]["version"] == "v1.0.0"
    [(key, _)] = _kept_rows(tmp_path / "cache").values()
    assert key.startswith(f"{ROWS_FORMAT}:")
    _tamper(tmp_path / "cache", "b", "v9.9.9", key=key.replace(f"{ROWS_FORMAT}:", f"{ROWS_FORMAT - 1}:", 1))
    for views in (tmp_path / "cache" / "views").iterdir():
        views.unlink()
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


def test_a_big_registry_reads_the_same_in_parallel_parts(repo, tmp_path):
    """The first `show` on a big registry reads its tags with one git per core, each on a share:
    the rows are those of the API's one read of every tag."""
    from tagreg import api

    _many_tags(repo, 2500)
    env = {"TAGREG_CACHE_DIR": str(tmp_path / "cache")}
    cold = {**env, "TAGREG_NO_CACHE": "1"}
    for args in ((), ("-d",), ("--sort", "semver")):
        expected = repo.run("show", *args, env=cold)
        view = api.show_registry(repo.path, deprecated="-d" in args, sort=args[-1] if args[:1] == ("--sort",)
                                 else "timestamp", cached=False)
        assert expected.returncode == 0, expected.stderr
        data = json.loads(repo.run("show", "--json", *args, env=cold).stdout)
        assert list(data) == [a.name for a in view.artifacts]
        assert data == {a.name: a.to_gto(view.stages) for a in view.artifacts}
        assert _table(repo, env, *args) == expected.stdout  # cached rows: the same table


def test_api_show_reuses_the_cached_view_and_sees_new_tags_and_annotation_edits(repo, tmp_path, monkeypatch):
    """`api.show(repo)` answers from the cache folder as the CLI does (a tampered view shows
    through), and a new tag or a committed annotation edit is seen at once; cached=False reads
    every tag."""
    import pickle

    from tagreg import api

    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("TAGREG_CACHE_DIR", str(cache_dir))
    repo.commit("model", files={"artifacts.yaml": "m:\n  type: model\n  description: first\n"})
    repo.tag("m@v1.0.0", message="Registering artifact m version v1.0.0")
    (first,) = api.show(repo.path).artifacts
    assert (first.latest, first.annotation.description) == ("v1.0.0", "first")
    [views] = (cache_dir / "views").iterdir()
    key, view = pickle.loads(views.read_bytes())
    view.artifacts[0].latest = "v9.9.9"  # what only the cache knows
    views.write_bytes(pickle.dumps((key, view)))
    assert api.show(repo.path).artifacts[0].latest == "v9.9.9"
    assert api.show(repo.path, cached=False).artifacts[0].latest == "v1.0.0"

    repo.tag("m#prod#1", message="Assigning stage prod to artifact m version v1.0.0")
    (shown,) = api.show(repo.path).artifacts
    assert (shown.latest, shown.stages) == ("v1.0.0", {"prod": ["v1.0.0"]})
    repo.commit("describe", files={"artifacts.yaml": "m:\n  type: model\n  description: second\n"})
    assert api.show(repo.path).artifacts[0].annotation.description == "second"
    assert api.show(repo.path) == api.show(repo.path, cached=False)


def test_rows_after_one_new_tag_equal_a_fresh_read(repo, tmp_path, monkeypatch):
    """On a big registry, after one new tag of each kind, the rows (the others' from the cache
    folder) are those of a read of every tag."""
    from tagreg import api

    monkeypatch.setenv("TAGREG_CACHE_DIR", str(tmp_path / "cache"))
    _many_tags(repo, 2500)
    assert api.show(repo.path, deprecated=True) == api.show(repo.path, deprecated=True, cached=False)
    for tag, message in (("churn-0#prod#9000", "Assigning stage prod"), ("mm-1@v9.0.0", "Registering"),
                         ("mm-2#prod!#9001", "Unassigning stage prod"), ("fresh@v0.0.1", "Registering"),
                         ("mm-4@deprecated", "Deprecating")):
        repo.tag(tag, message=message)
        cached, fresh = api.show(repo.path, deprecated=True), api.show(repo.path, deprecated=True, cached=False)
        assert cached == fresh, tag
        assert [a.name for a in cached.artifacts] == [a.name for a in fresh.artifacts]  # GTO's order too


def _cached(folder):
    """(file, key, value) of the one entry in a cache folder of one artifact's reads (plain values)."""
    import marshal

    [file] = folder.iterdir()
    key, value = marshal.loads(file.read_bytes())
    return file, key, value


def _store(file, key, value):
    import marshal

    file.write_bytes(marshal.dumps((key, value)))


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
    active, _, latest, stages = kept
    _store(file, key, (active, {}, latest, stages))  # what only the cache says: prod is empty
    repo.commit("three")
    kept_answer = repo.run("which", "m", "prod", env=env)
    assert (kept_answer.returncode, kept_answer.stdout) == (0, "")
    assert repo.run("which", "m", "prod", env={**env, "TAGREG_NO_CACHE": "1"}).stdout == "v1.0.0\n"

    repo.tag("m#dev#2", first, "Assigning stage dev to artifact m version v1.0.0")  # a tag of m changes
    assert repo.run("which", "m", "prod", env=env).stdout == "v1.0.0\n"
    assert repo.run("which", "m", "dev", env=env).stdout == "v1.0.0\n"
