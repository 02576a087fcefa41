"""`tagreg serve` as a user types it: one clear line for each mistake, and the core CLI never
imports the server (nor its dependencies) on its start-up path."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from tagreg.cli.group import root as main


def run_tagreg(cwd, *args: str) -> subprocess.CompletedProcess:
    """`python -m tagreg ARGS` in cwd, as a user runs it (the autouse fixture cleared TAGREG_TOKEN)."""
    return subprocess.run([sys.executable, "-m", "tagreg", *args], cwd=cwd, capture_output=True, text=True)


def test_the_cli_does_not_import_the_server():
    code = ("import sys\nfrom tagreg.cli import main\n"
            "try:\n    main(['--help'], prog_name='tagreg')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn', 'jinja2')"
            " or m.startswith('tagreg.server')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "serve" in proc.stdout and "Serve the web dashboard and REST API" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_serve_help(tmp_path):
    result = run_tagreg(tmp_path, "serve", "--help")
    assert result.returncode == 0
    for option in ("--config", "--host", "--port", "--write", "TAGREG_TOKEN"):
        assert option in result.stdout


def test_write_needs_a_token(repo):
    result = run_tagreg(repo.path, "serve", "--write")
    assert result.returncode == 1
    assert result.stderr.strip() == ("❌ --write needs a token: set TAGREG_TOKEN to a long random secret, or list "
                                     "people's tokens under `tokens:` in the config")


def test_outside_a_repository_without_config(tmp_path):
    result = run_tagreg(tmp_path, "serve")
    assert result.returncode == 1
    assert "is not a git repository: start the server in one, or pass --config" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_config(tmp_path):
    result = run_tagreg(tmp_path, "serve", "--config", "nothing.yaml")
    assert result.returncode == 1 and "cannot read nothing.yaml" in result.stderr
    (tmp_path / "bad.yaml").write_text("repos:\n  - url: not a url\n")
    result = run_tagreg(tmp_path, "serve", "--config", "bad.yaml")
    assert result.returncode == 1 and "is not a URL" in result.stderr and "Traceback" not in result.stderr


def test_missing_extra_says_how_to_install_it(monkeypatch, repo):
    import tagreg.server

    monkeypatch.setattr(tagreg.server, "EXTRA", ("fastapi", "no_such_module_for_tagreg"))
    monkeypatch.chdir(repo.path)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "the server needs no_such_module_for_tagreg: add tagreg's server extra (tagreg[server]): " in result.output
    assert f"{sys.executable} -m pip install " in result.output and "[server]" in result.output


def test_push_is_a_remote_name_of_a_local_repository(tmp_path):
    (tmp_path / "repo").mkdir()
    for entry, said in (("  - url: https://example.com/r.git\n    push: origin\n", "'push' is for local repositories"),
                        ("  - path: repo\n    push: [origin]\n", "push must name a git remote"),
                        ("  - path: repo\n    push: --upload-pack=evil\n", "push must name a git remote")):
        (tmp_path / "bad.yaml").write_text("repos:\n" + entry)
        result = run_tagreg(tmp_path, "serve", "--config", "bad.yaml")
        assert result.returncode == 1 and said in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
