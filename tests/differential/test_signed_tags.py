"""Signed tags (SSH and by tagreg's `--sign`) read the same in GTO and in tagreg: a signature is
part of the tag object, never of the message either of them shows. So do the tags `tagreg serve`
makes for a person: their tagger, the `Tagreg-Server:` trailer, the server's signature."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need

from .harness import Read, assert_same, build, cli, commit, raw_git

pytestmark = pytest.mark.differential

READS = [Read(["show", "--json"]), Read(["show", "churn", "--json"]), Read(["history", "--json"]),
         Read(["history", "churn", "--plain"], "text"), Read(["check-ref", "churn#prod#2", "--json"]),
         Read(["show", "churn@v0.0.2", "--json"]), Read(["show"], "text")]


def _key(root):
    need("ssh-keygen")
    key = root / "signer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return f"{key}.pub"


def _by_hand(root, tools):
    signing = ("-c", "gpg.format=ssh", "-c", f"user.signingKey={_key(root)}")
    script = [
        commit("c1", {"model.pkl": "1\n"}),
        raw_git(*signing, "tag", "-s", "churn@v0.0.1", "-m", "Registering artifact churn version v0.0.1"),
        commit("c2", {"model.pkl": "2\n"}),
        raw_git(*signing, "tag", "-s", "churn@v0.0.2", "-m", "Registering artifact churn version v0.0.2"),
        raw_git(*signing, "tag", "-s", "churn#prod#1", "-m", "Assigning stage prod to artifact churn version v0.0.2"),
        raw_git("tag", "-a", "churn#prod#2", "-m", "Assigning stage prod to artifact churn version v0.0.2"),
    ]
    return build("tagreg", script, READS, root, tools)


def _by_tagreg(root, tools):
    key = _key(root)
    script = [
        raw_git("config", "gpg.format", "ssh"),
        raw_git("config", "user.signingKey", key),
        commit("c1", {"model.pkl": "1\n"}),
        cli("register", "churn", "--sign"),
        commit("c2", {"model.pkl": "2\n"}),
        cli("register", "churn", "--sign"),
        cli("assign", "churn", "--version", "v0.0.2", "--stage", "prod", "--sign"),
        cli("assign", "churn", "--version", "v0.0.2", "--stage", "prod", "--force", "--sign"),
    ]
    return build("tagreg", script, READS, root, tools)


# What the server's writes do (server.service.Dashboard.writer): the person as tagger, the trailer,
# the server's key; run through tagreg.api as the server runs it, in the scenario's environment.
SERVER_WRITES = """
import sys
from tagreg import api
from tagreg.api.repository import Writer
from tagreg.git import SigningKey

writer = Writer(tagger=("Alice Doe", "alice@example.com"), trailers=(("Tagreg-Server", "ml-registry"),),
                signing=SigningKey("ssh", sys.argv[1]))

def repo():
    r = api.Repository(".")
    r.writer = writer
    return r

api.register(repo(), "churn", ref="HEAD~1")
api.register(repo(), "churn")
api.assign(repo(), "churn", "prod", version="v0.0.2", message="Ship it")
api.assign(repo(), "churn", "prod", version="v0.0.1")
"""


def _by_server(root, tools):
    key = _key(root)[: -len(".pub")]
    script = [commit("c1", {"model.pkl": "1\n"}), commit("c2", {"model.pkl": "2\n"})]

    def write(built):
        subprocess.run([sys.executable, "-c", SERVER_WRITES, key], cwd=built.path, env=built.env, check=True)

    return build("tagreg", script, [], root, tools, extra_read_sets=[(write, READS, lambda built: None, "")])


SCENARIOS = {"signed-by-hand": _by_hand, "signed-by-tagreg": _by_tagreg, "written-by-the-server": _by_server}


@pytest.mark.parametrize("key", sorted(SCENARIOS))
@pytest.mark.parametrize("read", READS, ids=lambda r: r.id)
def test_signed_tags_read_the_same(builds, key, read):
    built = builds.get(key)
    gto, tagreg = built.reads[read.id]
    assert_same(read.args, read.kind, gto, tagreg)


def test_tagreg_signed_its_tags(builds):
    built = builds.get("signed-by-tagreg")
    key = subprocess.run(["git", "config", "user.signingKey"], cwd=built.path, env=built.env, capture_output=True,
                         text=True, check=True).stdout.strip()
    allowed = built.path.parent / "allowed_signers"
    allowed.write_text(f"signer {Path(key).read_text()}")
    for tag in ("churn@v0.0.1", "churn@v0.0.2", "churn#prod#1", "churn#prod#2"):
        proc = subprocess.run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag", tag],
                              cwd=built.path, env=built.env, capture_output=True, text=True)
        assert proc.returncode == 0 and 'Good "git" signature for signer' in proc.stderr, (tag, proc.stderr)


def test_the_servers_tags_name_the_person_and_the_server(builds):
    built = builds.get("written-by-the-server")
    tags = subprocess.run(["git", "tag", "-l"], cwd=built.path, env=built.env, capture_output=True, text=True,
                          check=True).stdout.split()
    assert sorted(tags) == ["churn#prod#1", "churn#prod#2", "churn@v0.0.1", "churn@v0.0.2"]
    for tag in tags:
        out = subprocess.run(["git", "tag", "-l", tag, "--format=%(taggername) %(taggeremail)%00%(contents)"],
                             cwd=built.path, env=built.env, capture_output=True, text=True, check=True).stdout
        who, _, contents = out.partition("\0")
        assert who == "Alice Doe <alice@example.com>"
        assert "\n\nTagreg-Server: ml-registry\n-----BEGIN SSH SIGNATURE-----" in contents, contents
    history = built.reads["history --json"][0]  # GTO's own reading
    rows = json.loads(history.out)
    assert len(rows) == 4 and all(row["author"] == "Alice Doe" and row["author_email"] == "alice@example.com"
                                  and "\n\nTagreg-Server: ml-registry" in row["message"] for row in rows), rows
