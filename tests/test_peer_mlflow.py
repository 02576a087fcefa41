"""benchmarks/peer_mlflow.py without MLflow: its help, its refusal without MLflow, its table, and that the
tagreg registries it builds are the shapes it says (the answers MLflow is populated with). The real
comparison runs only when TAGREG_MLFLOW_PYTHON names a Python with mlflow installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tagreg import api

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPT = BENCHMARKS / "peer_mlflow.py"
sys.path.insert(0, str(BENCHMARKS))
import peer_mlflow  # noqa: E402  (the benchmarks folder is not a package)

# Read at import: the suite's autouse fixture clears TAGREG_* variables for each test.
MLFLOW_PYTHON = os.environ.get("TAGREG_MLFLOW_PYTHON")


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def registered(repo: Path, name: str) -> int:
    """Registered versions of name (`show NAME` also lists an annotated commit that is not one)."""
    return sum(version.is_registered for version in api.show(repo, name))


def test_help_says_how_to_install_mlflow():
    proc = run_script("--help")
    assert proc.returncode == 0, proc.stderr
    assert "--mlflow-python PATH" in proc.stdout and "--max-seconds" in proc.stdout
    assert "python3 -m venv /tmp/mlflow && /tmp/mlflow/bin/pip install mlflow" in " ".join(proc.stdout.split())


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is not None, reason="mlflow is installed here")
def test_a_python_without_mlflow_is_refused_with_the_install_line(tmp_path):
    proc = run_script("--mlflow-python", sys.executable, "--workdir", str(tmp_path / "work"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == (
        f"peer_mlflow.py: error: no mlflow for {sys.executable}: install it into a venv of its own: "
        "python3 -m venv /tmp/mlflow && /tmp/mlflow/bin/pip install mlflow")
    assert not (tmp_path / "work").exists()  # nothing made


def test_the_table_from_fixed_numbers():
    rows = [
        peer_mlflow.Row("1 model × 20 versions", "tagreg which deep-model prod", "curl -s (alias endpoint)",
                        [0.030, 0.028, 0.035], [0.020, 0.019, 0.021]),
        peer_mlflow.Row("1 model × 20 versions", "api.register(repo, ...), in process", "create_model_version",
                        [0.010], [0.050], note="answers: v1.0.20 / 21"),
        peer_mlflow.Row("100 models × 100 versions", "tagreg.api.show(repo), in process", "search_registered_models()",
                        [0.014, 0.012, 0.016], [12.5, 13.0, 12.0]),
        peer_mlflow.Row("100 models × 100 versions", "tagreg show --json", "curl -s (search endpoint)",
                        note="FAILED: curl -s: exit code 22"),
    ]
    assert peer_mlflow.render(rows, 3, markdown=True) == "\n".join([
        "| shape | tagreg | median (fastest) | MLflow | median (fastest) | tagreg ÷ MLflow |",
        "|---|---|---:|---|---:|---:|",
        "| 1 model × 20 versions | `tagreg which deep-model prod` | 30 ms (28 ms) | `curl -s (alias endpoint)` "
        "| 20 ms (19 ms) | 1.50× |",
        "| 1 model × 20 versions | `api.register(repo, ...), in process` | 10 ms (10 ms), 1 of 3 runs "
        "| `create_model_version` | 50 ms (50 ms), 1 of 3 runs | 0.20× |",
        "| 100 models × 100 versions | `tagreg.api.show(repo), in process` | 14 ms (12 ms) "
        "| `search_registered_models()` | 12.5 s (12.0 s) | 0.00× |",
        "| 100 models × 100 versions | `tagreg show --json` | not measured | `curl -s (search endpoint)` "
        "| not measured |  |",
        "",
        "Failures:",
        "- 100 models × 100 versions, tagreg show --json / curl -s (search endpoint): FAILED: curl -s: exit code 22",
    ])
    plain = peer_mlflow.render(rows[:1], 3, markdown=False).splitlines()
    assert plain[0].split("  ")[0] == "shape"
    assert plain[1].endswith("1.50×") and "30 ms (28 ms)" in plain[1]


def test_runs_alternate_stop_at_the_deadline_and_a_failing_side_is_noted():
    calls: list[str] = []

    def side(name: str, seconds: float, fails_at: int | None = None):
        def measure() -> tuple[float, str]:
            calls.append(name)
            if fails_at is not None and calls.count(name) >= fails_at:
                raise RuntimeError(f"{name} broke")
            return seconds, "v1.0.0"
        return measure

    good = peer_mlflow.Row("shape", "tagreg a", "mlflow a")
    bad = peer_mlflow.Row("shape", "tagreg b", "mlflow b")
    pairs = [(good, side("t", 0.010), side("m", 0.020)), (bad, side("tb", 0.001), side("mb", 0.002, fails_at=2))]
    peer_mlflow.interleave(pairs, repeat=3, warmup=1, deadline=peer_mlflow.Deadline(60))
    assert calls[:4] == ["t", "m", "tb", "mb"]  # in turn, pair by pair
    assert good.tagreg_times == [0.010] * 3 and good.mlflow_times == [0.020] * 3
    assert good.note == "answers: v1.0.0 / v1.0.0"
    assert bad.note == "FAILED: mb broke" and calls.count("mb") == 2  # not run again after it failed
    late = peer_mlflow.Row("shape", "tagreg", "mlflow")
    peer_mlflow.interleave([(late, side("t", 0.01), side("m", 0.01))], repeat=3, warmup=0,
                           deadline=peer_mlflow.Deadline(0))
    assert late.tagreg_times == [] and peer_mlflow.cell(late.tagreg_times, 3) == "not measured"


def test_one_deep_model_answers_what_mlflow_is_given(tmp_path):
    shape = peer_mlflow.Shape("deep-120", "1 model × 120 versions", ["deep-model"], 120)
    peer_mlflow.build_registry(tmp_path / "repo", shape)
    winners = shape.winners()
    assert winners == {"dev": 119, "staging": 110, "prod": 100}
    for stage, index in winners.items():
        assert api.which(tmp_path / "repo", "deep-model", stage).version == peer_mlflow.version_name(index)
    # MLflow's aliases name the same versions (MLflow counts from 1), its sources end with tagreg's names
    (model,) = peer_mlflow.mlflow_spec(shape)["models"]
    assert model["aliases"] == {"dev": 120, "staging": 111, "prod": 101}
    assert model["sources"][100] == "s3://bench/deep-model/v1.1.0"
    assert len(model["sources"]) == registered(tmp_path / "repo", "deep-model") == 120
    # HEAD is not registered: `register` makes the next version there, as the benchmark times it
    assert api.register(tmp_path / "repo", "deep-model").version == "v1.1.20"


def test_many_models_have_the_same_versions_and_stages(tmp_path):
    shape = peer_mlflow.Shape("models-3x12", "3 models × 12 versions", ["model-000", "model-001", "model-002"], 12)
    peer_mlflow.build_registry(tmp_path / "repo", shape)
    view = api.show(tmp_path / "repo")
    assert [a.name for a in view.artifacts] == shape.names
    spec = peer_mlflow.mlflow_spec(shape)
    assert [m["name"] for m in spec["models"]] == shape.names
    for model in spec["models"]:
        assert registered(tmp_path / "repo", model["name"]) == len(model["sources"]) == 12
        for stage, number in model["aliases"].items():
            found = api.which(tmp_path / "repo", model["name"], stage)
            assert model["sources"][number - 1].endswith("/" + found.version)


@pytest.mark.skipif(not MLFLOW_PYTHON,
                    reason="set TAGREG_MLFLOW_PYTHON to a Python with mlflow (see benchmarks/README.md)")
def test_side_by_side_with_a_real_mlflow_server(tmp_path):
    tagreg = Path(sys.executable).parent / "tagreg"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--mlflow-python", str(MLFLOW_PYTHON),
                           "--tagreg", str(tagreg), "--versions", "3", "--models", "2", "--model-versions", "2",
                           "--repeat", "1", "--warmup", "0", "--no-compile", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "FAILED" not in proc.stdout and "not measured" not in proc.stdout
    assert "`tagreg which deep-model prod`" not in proc.stdout  # plain text without --markdown
    assert "tagreg which deep-model prod" in proc.stdout and "search_registered_models" in proc.stdout
