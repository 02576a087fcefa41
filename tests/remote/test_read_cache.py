"""Reading a remote registry through the cache: one partial clone, then one fetch per call;
`--offline` reads the cache as it is; `tagreg cache list|clear` manage it."""

from __future__ import annotations

import json
import re
import shutil

from .helpers import error_line, git, mirrors, ok, only_mirror, tag_objects, tagreg


def _missing_objects(mirror) -> set[str]:
    """Objects a partial clone knows of but has not downloaded (listing them fetches nothing)."""
    listing = git(mirror, "rev-list", "--objects", "--all", "--missing=print")
    return {line[1:] for line in listing.splitlines() if line.startswith("?")}


def test_first_read_makes_one_partial_mirror_named_after_the_url(server, cache_dir, work):
    out = ok(tagreg(work, "show", "-r", server.url))
    assert re.search(r"│ m +│ v0\.0\.2 +│ v0\.0\.1 +│", out), out

    mirror = only_mirror(cache_dir)
    assert mirror.parent == cache_dir / "repos"
    assert re.fullmatch(rf"[A-Za-z0-9._-]*{re.escape(server.name)}-[0-9a-f]{{12}}", mirror.name), mirror.name
    assert git(mirror, "rev-parse", "--is-bare-repository").strip() == "true"
    assert tag_objects(mirror) == server.tag_objects()
    # A partial clone: the model files' blobs have not been downloaded just to show the registry.
    model_blobs = {server.git("rev-parse", f"{tag}:models/m.bin").strip() for tag in ("m@v0.0.1", "m@v0.0.2")}
    assert model_blobs <= _missing_objects(mirror)
    assert not list(work.iterdir()), "reading a remote wrote into the current folder"


def test_json_read_of_a_remote_is_quiet(server, work):
    result = tagreg(work, "show", "m", "--json", "-r", server.url)
    data = json.loads(ok(result))
    assert {v["version"] for v in data} >= {"v0.0.1", "v0.0.2"}
    assert result.stderr == ""


def test_second_read_fetches_into_the_same_mirror_and_sees_new_tags(server, cache_dir, work):
    ok(tagreg(work, "show", "m", "-r", server.url))
    mirror = only_mirror(cache_dir)
    inode = mirror.stat().st_ino
    packs = {p.name: p.stat().st_ino for p in (mirror / "objects" / "pack").iterdir()}
    assert any(name.endswith(".pack") for name in packs)

    server.add_tag("m#staging#2", "m@v0.0.2", "Assigning stage staging to artifact m version v0.0.2")
    out = ok(tagreg(work, "show", "m", "-r", server.url))

    assert re.search(r"│ m +│ v0\.0\.2 +│ staging +│", out), out
    assert only_mirror(cache_dir) == mirror
    assert mirror.stat().st_ino == inode, "the mirror folder was made again: the second call cloned"
    after = {p.name: p.stat().st_ino for p in (mirror / "objects" / "pack").iterdir()}
    assert {k: after.get(k) for k in packs} == packs, "the clone's packs were replaced: the second call cloned"
    assert tag_objects(mirror) == server.tag_objects()


def test_a_tag_deleted_on_the_server_goes_from_the_mirror_too(server, cache_dir, work):
    ok(tagreg(work, "show", "-r", server.url))
    server.git("tag", "-d", "bundle@v0.0.1")
    assert ok(tagreg(work, "latest", "bundle", "-r", server.url)) == ""
    assert tag_objects(only_mirror(cache_dir)) == server.tag_objects()


def test_offline_reads_the_cache_as_it_is(server, cache_dir, work):
    ok(tagreg(work, "show", "m", "-r", server.url))
    mirror = only_mirror(cache_dir)
    before = tag_objects(mirror)
    server.add_tag("m#staging#2", "m@v0.0.2", "Assigning stage staging to artifact m version v0.0.2")

    out = ok(tagreg(work, "show", "m", "-r", server.url, "--offline"))
    assert "staging" not in out
    assert re.search(r"│ m +│ v0\.0\.1 +│ prod +│", out), out
    assert tag_objects(mirror) == before, "--offline fetched"

    # It needs no network at all: the server can be gone.
    shutil.move(server.path, server.path.with_name(server.name + ".gone"))
    try:
        out = ok(tagreg(work, "which", "m", "prod", "-r", server.url, "--offline"))
        assert out == "v0.0.1\n"
        line = error_line(tagreg(work, "show", "m", "-r", server.url))  # online: says it cannot fetch
        assert server.name in line
    finally:
        shutil.move(server.path.with_name(server.name + ".gone"), server.path)


def test_offline_without_a_cached_mirror_fails_with_one_line(server, cache_dir, work):
    line = error_line(tagreg(work, "show", "-r", server.url, "--offline"))
    assert server.url in line
    assert "cache" in line
    assert mirrors(cache_dir) == []


def test_cache_list_shows_urls_and_clear_removes_mirrors(server, make_server, cache_dir, work):
    other = make_server()
    ok(tagreg(work, "show", "-r", server.url))
    ok(tagreg(work, "show", "-r", other.file_url))
    assert len(mirrors(cache_dir)) == 2

    listing = ok(tagreg(work, "cache", "list"))
    assert server.url in listing
    assert other.file_url in listing
    data = json.loads(ok(tagreg(work, "cache", "list", "--json")))
    assert sorted(m["url"] for m in data) == sorted([server.url, other.file_url])
    assert sorted(m["path"] for m in data) == sorted(str(p) for p in mirrors(cache_dir))

    out = ok(tagreg(work, "cache", "clear", server.url))
    assert "Removed 1 cached repository" in out
    remaining = mirrors(cache_dir)
    assert len(remaining) == 1 and git(remaining[0], "config", "tagreg.url").strip() == other.file_url

    out = ok(tagreg(work, "cache", "clear"))
    assert "Removed 1 cached repository" in out
    assert mirrors(cache_dir) == []
    assert "empty" in ok(tagreg(work, "cache", "list"))

    # Nothing is lost: the next read makes the mirror again.
    ok(tagreg(work, "which", "m", "prod", "-r", server.url))
    assert len(mirrors(cache_dir)) == 1


def test_reads_check_the_remote_while_reading_the_mirror_and_read_again_after_a_change(server, cache_dir, work):
    """`show --repo` reads the cached mirror while `ls-remote` runs; unchanged refs mean no fetch,
    changed ones mean a fetch and a second read (also of the whole-registry view and its cache)."""
    ok(tagreg(work, "show", "-r", server.url))
    mirror = only_mirror(cache_dir)
    stamp = mirror / "tagreg-fetched"
    stamp.write_text("0")
    before = json.loads(ok(tagreg(work, "show", "--json", "-r", server.url)))
    assert stamp.read_text() == "0", "nothing changed on the remote, yet the mirror was fetched"
    assert before["m"]["stage"].get("staging") != "v0.0.2"

    server.add_tag("m#staging#2", "m@v0.0.2", "Assigning stage staging to artifact m version v0.0.2")
    after = json.loads(ok(tagreg(work, "show", "--json", "-r", server.url)))
    assert after["m"]["stage"]["staging"] == "v0.0.2"
    assert stamp.read_text() != "0"
    assert tag_objects(mirror) == server.tag_objects()


def test_the_python_api_reads_a_remote_the_same_way(server, cache_dir, work):
    from tagreg import api

    assert [v.version for v in api.show(server.url, "m")][:1] == ["v0.0.2"]
    server.add_tag("m#staging#2", "m@v0.0.2", "Assigning stage staging to artifact m version v0.0.2")
    assert api.which(server.url, "m", "staging").version == "v0.0.2"


def test_a_stage_or_artifact_new_on_the_server_is_no_error_of_a_mirror_behind_it(server, cache_dir, work):
    ok(tagreg(work, "show", "m", "-r", server.url))  # the mirror has no staging, no n
    server.add_tag("m#staging#2", "m@v0.0.2", "Assigning stage staging to artifact m version v0.0.2")
    assert ok(tagreg(work, "which", "m", "staging", "-r", server.url)) == "v0.0.2\n"
    server.add_tag("n@v0.0.1", "m@v0.0.2", "Registering artifact n version v0.0.1")
    assert ok(tagreg(work, "latest", "n", "-r", server.url)) == "v0.0.1\n"
