"""Processing speaks QGIS: one readable line per error, no traceback but for bugs, no CLI flags.

Run in process (processing.run with a recording feedback) and headless under qgis_process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

PLUGIN_NAME = "forestgaps"
GAPS_FROM_CHM = "forestgaps:gapsfromchm"
CLI_FLAG_RE = re.compile(r"(?<![\w`])--[a-z][a-z-]+")


def recording_feedback() -> Any:
    """A QgsProcessingFeedback keeping every line an algorithm pushes, as (kind, text)."""
    from qgis.core import QgsProcessingFeedback

    class RecordingFeedback(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[tuple[str, str]] = []

        def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802
            self.lines.append(("error", error))

        def pushInfo(self, info: str) -> None:  # noqa: N802
            self.lines.append(("info", info))

        def pushWarning(self, warning: str) -> None:  # noqa: N802
            self.lines.append(("warning", warning))

        def pushDebugInfo(self, info: str) -> None:  # noqa: N802
            self.lines.append(("debug", info))

        def pushConsoleInfo(self, info: str) -> None:  # noqa: N802
            self.lines.append(("console", info))

        def text(self) -> str:
            return "\n".join(text for _, text in self.lines)

    return RecordingFeedback()


def blocked_folder(tmp_path: Path) -> Path:
    """An output folder that cannot be created (a file stands where its parent should be).

    A read-only folder would not do: the tests may run as root, who writes anywhere.
    """
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file, not a folder\n")
    return blocker / "out"


def test_an_engine_error_is_one_line_in_qgis_words_without_traceback(
    qgis_processing: None, started_plugin: Any, small_chm: Path, tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    feedback = recording_feedback()
    out_dir = blocked_folder(tmp_path)
    with pytest.raises(QgsProcessingException) as caught:
        processing.run(
            GAPS_FROM_CHM, {"INPUT": str(small_chm), "OUTPUT_FOLDER": str(out_dir)},
            feedback=feedback,
        )  # fmt: skip

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"output folder {str(out_dir)!r} cannot be created")
    assert "“Output folder”" in message
    assert not CLI_FLAG_RE.search(message)
    assert "Traceback" not in feedback.text()
    assert not CLI_FLAG_RE.search(feedback.text())


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"THRESHOLD": -1}, "Height threshold is -1 m; enter at least 0.01"),
        ({"MAX_AREA": -5}, "Maximum gap area is -5 m²; enter at least 0"),
        ({"INPUT": "/nowhere/chm.tif"}, "Canopy height model: '/nowhere/chm.tif' is not a raster"),
    ],
)
def test_a_bad_parameter_is_named_with_its_value_and_the_fix(
    qgis_processing: None,
    started_plugin: Any,
    small_chm: Path,
    tmp_path: Path,
    parameters: dict[str, Any],
    expected: str,
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    defaults = {"INPUT": str(small_chm), "OUTPUT_FOLDER": str(tmp_path / "out")}
    with pytest.raises(QgsProcessingException) as caught:
        processing.run(GAPS_FROM_CHM, {**defaults, **parameters})

    assert expected in str(caught.value)
    assert "Incorrect parameter value" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_detectgaps_names_the_thresholds_parameter_and_its_value(
    qgis_processing: None, started_plugin: Any, small_chm: Path, tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as caught:
        processing.run(
            "forestgaps:detectgaps",
            {"INPUT": str(small_chm), "THRESHOLDS": "5,-1", "OUTPUT_FOLDER": str(tmp_path)},
        )

    assert "Height thresholds: '5,-1'" in str(caught.value)
    assert "positive" in str(caught.value)


def test_a_bug_keeps_exactly_one_traceback(
    qgis_processing: None,
    started_plugin: Any,
    small_chm: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    def broken_gaps_from_chm(*args: Any, **kwargs: Any) -> None:
        return {}["thresholds"]  # a bug: not a ForestGapsError

    # The engine module the plugin imports (the zip's copy or the checkout's).
    pipeline = sys.modules["forestgaps_engine.gaps.pipeline"]
    monkeypatch.setattr(pipeline, "gaps_from_chm", broken_gaps_from_chm)
    feedback = recording_feedback()
    with pytest.raises(QgsProcessingException) as caught:
        processing.run(
            GAPS_FROM_CHM, {"INPUT": str(small_chm), "OUTPUT_FOLDER": str(tmp_path / "o")},
            feedback=feedback,
        )  # fmt: skip

    message = str(caught.value)
    assert message.startswith("Internal error: KeyError: 'thresholds' (hint: This is a bug")
    assert "\n" not in message
    assert feedback.text().count("Traceback (most recent call last)") == 1
    assert "broken_gaps_from_chm" in feedback.text()


def venv_site_packages() -> str:
    """The test interpreter's site-packages, where pydantic & co live (the .venv)."""
    paths = sysconfig.get_paths()
    return os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]]))


@pytest.fixture
def qgis_process(require_qgis: None, plugins_dir: Path, tmp_path: Path) -> Any:
    """Run ``qgis_process`` on the unzipped plugin with a fresh profile; returns a runner."""
    executable = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if executable is None:
        if os.environ.get("FORESTGAPS_REQUIRE_QGIS") == "1":
            pytest.fail("qgis_process is required (FORESTGAPS_REQUIRE_QGIS=1) but not found")
        pytest.skip("qgis_process is not installed")
    home = tmp_path / "home"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_PLUGINPATH": str(plugins_dir),
        "QGIS_CUSTOM_CONFIG_PATH": str(home / "qgis"),
        "QGIS_OPTIONS_PATH": str(home / "qgis"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "FORESTGAPS_DEPS_PATH": venv_site_packages(),
    }

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [executable, *arguments], capture_output=True, text=True, timeout=120, env=env
        )

    enabled = run("plugins", "enable", PLUGIN_NAME)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return run


def reported_lines(run: subprocess.CompletedProcess, needle: str) -> list[str]:
    """The lines of stdout and stderr that carry ``needle``, "ERROR:\\t" prefix removed."""
    lines = (run.stdout + "\n" + run.stderr).splitlines()
    return [line.removeprefix("ERROR:\t") for line in lines if needle in line]


@pytest.mark.slow
def test_qgis_process_reports_an_engine_error_as_qgis_reports_its_own(
    qgis_process: Any, small_chm: Path, tmp_path: Path
) -> None:
    out_dir = blocked_folder(tmp_path)
    ours = qgis_process(
        "run", GAPS_FROM_CHM, "--", f"INPUT={small_chm}", f"OUTPUT_FOLDER={out_dir}"
    )
    # QGIS's own failing algorithm: how often qgis_process echoes one exception's message.
    native = qgis_process("run", "native:raiseexception", "--", "MESSAGE=forestgaps-probe")

    output = ours.stdout + ours.stderr
    assert ours.returncode != 0
    assert "Traceback" not in output
    assert not CLI_FLAG_RE.search(output)
    lines = reported_lines(ours, "cannot be created")
    assert len(set(lines)) == 1, lines
    assert "“Output folder”" in lines[0]
    native_lines = reported_lines(native, "forestgaps-probe")
    assert len(lines) == native_lines.count("forestgaps-probe")
    assert output.count("ERROR:") == 1


@pytest.mark.slow
def test_qgis_process_names_a_negative_threshold(
    qgis_process: Any, small_chm: Path, tmp_path: Path
) -> None:
    run = qgis_process(
        "run", GAPS_FROM_CHM, "--", f"INPUT={small_chm}", "THRESHOLD=-1",
        f"OUTPUT_FOLDER={tmp_path / 'out'}",
    )  # fmt: skip

    output = run.stdout + run.stderr
    assert "Height threshold is -1 m; enter at least 0.01" in output
    assert "Incorrect parameter value" not in output
    assert "Traceback" not in output
    assert not (tmp_path / "out").exists()


def test_detectgaps_turns_a_config_validation_error_into_one_line_of_labels(
    qgis_processing: None, started_plugin: Any
) -> None:
    from qgis.core import QgsApplication

    from forestgaps_engine.config.inference import InferenceConfig

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("forestgaps:detectgaps")
    with pytest.raises(ValueError) as caught:
        InferenceConfig(tile_size_px=8, batch_size=0)

    line = algorithm.config_problem(caught.value)

    assert "\n" not in line
    assert line.startswith("Tile size: Input should be greater than or equal to 32; Batch size:")
