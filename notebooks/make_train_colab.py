"""Write notebooks/train_colab.ipynb (nbformat 4) from the cells below.

Run ``python notebooks/make_train_colab.py`` after editing a cell. Conventions, checked by
tests/workflow/test_colab_notebook.py, which runs the notebook headless on CPU:

- a code cell whose first line is ``# colab-only`` runs on Colab alone (clone, install,
  Drive, TensorBoard magics); the test skips it;
- every other code cell is plain Python (no ``!`` or ``%`` magics), so it runs anywhere;
- paths come from the environment (``FORESTGAPS_DATA_ROOT``, ``FORESTGAPS_CHECKPOINT_ROOT``)
  and the config from ``FORESTGAPS_NOTEBOOK_CONFIG``, which the test points at tmp_path and
  configs/quick.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path

NOTEBOOK = Path(__file__).with_name("train_colab.ipynb")

CELLS: list[tuple[str, str]] = [
    (
        "markdown",
        """# ForestGaps: train a gap model on Colab

Prepare a dataset, train with checkpoints on Google Drive (a disconnect loses nothing: run
the notebook again and training resumes from the last checkpoint), evaluate against the
baselines and export to ONNX. Runtime > Change runtime type > GPU first.

Cells starting with `# colab-only` run on Colab alone; the others run anywhere.""",
    ),
    (
        "code",
        """# colab-only
# Clone and install the engine. Colab's own torch already satisfies the [torch] extra,
# so pip keeps it (no CUDA wheel is downloaded over it).
# The project publishes no public URL yet: paste the git URL of the copy you work from.
import os

REPOSITORY_URL = ""  # @param {type:"string"}
if not os.path.isdir("/content/forestgaps"):
    if not REPOSITORY_URL:
        raise SystemExit("Set REPOSITORY_URL above to your ForestGaps git URL, then run again.")
    !git clone --depth 1 {REPOSITORY_URL} /content/forestgaps
%cd /content/forestgaps
!pip install -q -e ".[torch,export]"
import torch

torch.__version__, torch.cuda.is_available()""",
    ),
    (
        "code",
        """# colab-only
# Checkpoints, TensorBoard logs and the prepared data go to Drive when it is mounted.
from google.colab import drive

drive.mount("/content/drive")""",
    ),
    (
        "code",
        """import os

from forestgaps_engine.cli.main import main
from forestgaps_engine.environment import activate_environment

environment = activate_environment()  # on Colab: roots on Drive, 2-4 loader workers
CONFIG = os.environ.get("FORESTGAPS_NOTEBOOK_CONFIG", "configs/colab.yaml")
PREPARED = environment.data_root() / "prepared"
HELD_OUT = environment.data_root() / "held_out_site"
RUN = environment.checkpoint_root() / "colab_run"


def forestgaps(*args: object) -> None:
    \"\"\"Run one `forestgaps` command in this kernel; raise if it fails.\"\"\"
    code = main([str(arg) for arg in args])
    if code != 0:
        raise RuntimeError(f"forestgaps {args[0]} failed with exit code {code}")""",
    ),
    (
        "markdown",
        """## Prepare
Synthetic sites, labels at every threshold, tiles, a site split and tar shards. Skipped when
a prepared dataset is already on Drive.""",
    ),
    (
        "code",
        """if not (PREPARED / "manifest.json").is_file():
    forestgaps("prepare", "--config", CONFIG, "--set", f"data.output_dir={PREPARED}")
sorted(path.name for path in PREPARED.iterdir())""",
    ),
    (
        "markdown",
        """## Train
`--resume` continues from `checkpoints/last.pt` on Drive when an earlier session left one;
a finished run is not trained again.""",
    ),
    (
        "code",
        """resume = ["--resume"] if (RUN / "checkpoints" / "last.pt").is_file() else []
data, output = f"data.output_dir={PREPARED}", f"training.output_dir={RUN}"
forestgaps("train", "--config", CONFIG, "--set", data, "--set", output, *resume)""",
    ),
    (
        "code",
        """# colab-only
%load_ext tensorboard
%tensorboard --logdir {RUN}/tensorboard""",
    ),
    (
        "markdown",
        """## Evaluate
A held-out synthetic forest (its seed differs from the training sites'); the report puts
the model next to the DSM-only baseline and the CHM-threshold ceiling.""",
    ),
    (
        "code",
        """forestgaps("synth", "--out", HELD_OUT, "--seed", 999, "--config", CONFIG)
inputs = ["--dsm", HELD_OUT / "dsm.tif", "--chm", HELD_OUT / "chm.tif"]
outputs = ["--model", RUN / "model", "--out", RUN / "evaluation"]
forestgaps("evaluate", *inputs, *outputs, "--config", CONFIG)""",
    ),
    (
        "code",
        """# colab-only
from IPython.display import Markdown

Markdown((RUN / "evaluation" / "report.md").read_text())""",
    ),
    (
        "markdown",
        """## Export
ONNX with the normalisation inside (checked against PyTorch), for `forestgaps predict`,
the QGIS plugin or ONNX Runtime anywhere.""",
    ),
    (
        "code",
        """onnx_path = RUN / "export" / "model.onnx"
forestgaps("export", RUN / "model", "--format", "onnx", "--out", onnx_path)
onnx_path""",
    ),
]


def _source(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def build_notebook() -> dict:
    """The notebook as nbformat 4 JSON (a dict)."""
    cells = []
    for kind, text in CELLS:
        cell = {"cell_type": kind, "metadata": {}, "source": _source(text)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "accelerator": "GPU",
            "colab": {"provenance": []},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "cells": [dict(cell, id=f"cell-{index}") for index, cell in enumerate(cells)],
    }


def render() -> str:
    """The file's text (stable, so a rerun without edits changes nothing)."""
    return json.dumps(build_notebook(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    NOTEBOOK.write_text(render(), "utf-8")
