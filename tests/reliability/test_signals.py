"""SIGTERM and SIGINT mid-run leave no partial file and no half-written output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from forestgaps_engine import partials
from tests.reliability.helpers import (
    assert_reads_whole,
    dead_pid,
    leftovers,
    run_cli,
    start_cli,
    stop,
    wait_for_partial,
    write_chm,
)


@pytest.mark.parametrize(
    ("signal_number", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)]
)
def test_synth_stopped_while_writing_leaves_whole_files_only(
    tmp_path: Path, signal_number: int, exit_code: int
) -> None:
    out = tmp_path / "syn"
    process = start_cli("synth", "--size", "2048", "--out", out)
    wait_for_partial(out, process)

    code, stderr = stop(process, signal_number)

    assert code == exit_code, stderr
    assert "temporary files removed" in stderr
    assert leftovers(out) == []
    for path in out.glob("*.tif"):  # those renamed before the signal are whole
        assert_reads_whole(path)


def test_predict_stopped_mid_stream_leaves_nothing(tmp_path: Path) -> None:
    dsm = write_chm(tmp_path / "dsm.tif", 2048)
    out = tmp_path / "pred"
    process = start_cli("predict", dsm, "--threshold", "5", "--out", out, "--device", "cpu")
    wait_for_partial(out, process, timeout_s=120)

    code, stderr = stop(process)

    assert code == 143, stderr
    assert not out.exists(), "the folder this run made goes with its files"


def test_a_stop_signal_swallowed_by_c_code_is_raised_again_between_units_of_work() -> None:
    """GDAL's module import clears Python errors, which lost the handler's exception."""
    code = textwrap.dedent(
        """
        import os, signal, sys
        from forestgaps_engine import signals
        from forestgaps_engine.progress import Reporter
        signals.install_stop_handlers()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except signals.Stopped:
            pass  # what C code that clears errors does to it
        try:
            Reporter().check()
        except signals.Stopped as stopped:
            sys.exit(stopped.exit_code)
        sys.exit(0)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 143, result.stderr


def test_gaps_from_chm_stopped_leaves_all_or_nothing(tmp_path: Path) -> None:
    chm = write_chm(tmp_path / "chm.tif", 2048)
    out = tmp_path / "gaps"
    process = start_cli("gaps-from-chm", chm, "--threshold", "5", "--out", out)
    wait_for_partial(out, process)

    code, stderr = stop(process)

    assert code == 143, stderr
    assert not out.exists(), "the folder this run made goes with its files"


def test_a_later_run_removes_the_leftovers_of_dead_runs_only(tmp_path: Path) -> None:
    out = tmp_path / "syn"
    out.mkdir()
    gone = dead_pid()
    host = partials.host_label()
    stale_file = out / f".dsm.{host}.{gone}-abcd1234.partial.tif"
    stale_file.write_bytes(b"half a raster")
    stale_dir = out / f".forestgaps-cut.{host}.{gone}-abcd1234.partial"
    stale_dir.mkdir()
    (stale_dir / "cut_t5.tif").write_bytes(b"x")
    # Owned by a live process (this one): another run may be writing it.
    live = out / f".chm.{host}.{os.getpid()}-abcd1234.partial.tif"
    live.write_bytes(b"in progress")
    # Another machine's run on a shared file system: its PID means nothing here.
    other_host = out / f".dtm.other-node-7.{gone}-abcd1234.partial.tif"
    other_host.write_bytes(b"in progress elsewhere")

    result = run_cli("synth", "--size", "64", "--out", out)

    assert result.returncode == 0, result.stderr
    assert not stale_file.exists() and not stale_dir.exists()
    assert live.exists() and other_host.exists()
    lines = [line for line in result.stderr.splitlines() if "leftover temporary" in line]
    assert len(lines) == 1 and "removed 2 leftover temporary file(s)" in lines[0]


def test_a_reused_pid_younger_than_the_file_does_not_keep_it() -> None:
    """PID reuse: the live process started after the file was written, so is not its owner."""
    assert partials._owner_alive(os.getpid(), mtime_s=0.0) is False


def test_prepare_staging_killed_with_sigkill_is_swept_by_the_next_run(tmp_path: Path) -> None:
    target = tmp_path / "prepared"
    code = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from forestgaps_engine.data.records import staged_directory
        with staged_directory(Path({str(target)!r})) as staging:
            (staging / "shard-000.bin").write_bytes(b"x" * 1000)
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert len(leftovers(tmp_path)) >= 1, "kill -9 cannot clean up"

    swept = partials.stale_partials(tmp_path)

    assert [path.parent for path in swept] == [tmp_path] and swept[0].is_dir()
    partials.sweep_stale_partials(tmp_path)
    assert leftovers(tmp_path) == []
