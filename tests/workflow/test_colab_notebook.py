"""notebooks/train_colab.ipynb runs headless on CPU (Colab-only cells skipped), and resumes.

Rules (see notebooks/make_train_colab.py): a code cell whose first line is ``# colab-only``
is skipped; every other code cell must be plain Python, without ``!``/``%`` magics. The
kept cells run with ``exec`` semantics as one script in a subprocess whose working folder,
data and checkpoint roots are in tmp_path.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from forestgaps_engine.config.loader import CONFIG_DIR

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "train_colab.ipynb"
COLAB_ONLY = "# colab-only"


def _load() -> dict:
    return json.loads(NOTEBOOK.read_text("utf-8"))


def headless_script(notebook: dict) -> str:
    """The code cells that run outside Colab, joined into one script."""
    kept = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if source.lstrip().startswith(COLAB_ONLY):
            continue
        magics = [line for line in source.splitlines() if line.lstrip()[:1] in ("!", "%")]
        assert not magics, f"shell magics outside a colab-only cell: {magics}"
        kept.append(source)
    return "\n\n".join(kept) + "\n"


def test_notebook_is_valid_nbformat4_and_matches_its_generator():
    notebook = _load()
    assert notebook["nbformat"] == 4
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("code", "markdown")
        assert isinstance(cell["source"], list)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    sys.path.insert(0, str(NOTEBOOK.parent))
    try:
        import make_train_colab
    finally:
        sys.path.remove(str(NOTEBOOK.parent))
    assert NOTEBOOK.read_text("utf-8") == make_train_colab.render()
    colab_only = [
        "".join(c["source"])
        for c in notebook["cells"]
        if "".join(c["source"]).startswith(COLAB_ONLY)
    ]
    assert any("drive.mount" in source for source in colab_only)
    assert any('pip install -q -e ".[torch,export]"' in source for source in colab_only)
    script = headless_script(notebook)
    for step in ('"prepare"', '"train"', '"--resume"', '"evaluate"', '"export"'):
        assert step in script


def _run(script: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


@pytest.mark.slow
def test_notebook_runs_headless_and_resumes_after_a_disconnect(tmp_path: Path):
    quick = yaml.safe_load((CONFIG_DIR / "quick.yaml").read_text())
    quick["synth"]["size_px"] = 128  # smaller sites, same code path
    quick["training"]["epochs"] = 1
    config = tmp_path / "notebook.yaml"
    config.write_text(yaml.safe_dump(quick))
    script = tmp_path / "notebook.py"
    script.write_text(headless_script(_load()))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "FORESTGAPS_DATA_ROOT": str(tmp_path / "drive" / "data"),
        "FORESTGAPS_CHECKPOINT_ROOT": str(tmp_path / "drive" / "runs"),
        "FORESTGAPS_CACHE_DIR": str(tmp_path / "cache"),
        "FORESTGAPS_NOTEBOOK_CONFIG": str(config),
        "OMP_NUM_THREADS": "2",
    }
    work = tmp_path / "work"
    work.mkdir()
    first = _run(script, work, env)
    run = tmp_path / "drive" / "runs" / "colab_run"
    assert "resuming from" not in first.stderr
    card = json.loads((run / "model" / "model_card.json").read_text())
    assert card["architecture"] == "unet_film"
    assert "| 5 m | dsm_only_baseline |" in (run / "evaluation" / "report.md").read_text()
    assert (run / "export" / "model.onnx").stat().st_size > 10_000

    # The session died after epoch 1 of 2: the same notebook picks the run up from Drive.
    manifest = tmp_path / "drive" / "data" / "prepared" / "manifest.json"
    prepared_mtime_ns = manifest.stat().st_mtime_ns
    quick["training"]["epochs"] = 2
    config.write_text(yaml.safe_dump(quick))
    second = _run(script, work, env)
    assert "resuming from" in second.stderr and "(epoch 2, step" in second.stderr
    assert manifest.stat().st_mtime_ns == prepared_mtime_ns  # prepared data reused
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 2 and len(last["history"]) == 2
