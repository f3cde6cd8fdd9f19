import json
import subprocess
import sys

from forestgaps_engine.cli.main import main
from forestgaps_engine.version import __version__


def test_version_flag(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert __version__ in capsys.readouterr().out


def test_user_error_exits_2_with_one_line_and_hint(capsys):
    code = main(["config", "--set", "training.optimiser.lr=0.1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown key 'training.optimiser'" in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(capsys):
    code = main(["--debug", "config", "--set", "training.epochs=0"])
    assert code == 2
    assert "Traceback" in capsys.readouterr().err


def test_log_file_gets_json_lines_with_traceback(tmp_path, capsys):
    log_file = tmp_path / "run.log"
    main(["--log-file", str(log_file), "config", "--set", "training.epochs=0"])
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert any(r["level"] == "ERROR" and "training.epochs" in r["message"] for r in records)
    assert any("Traceback" in r["message"] for r in records)


def test_json_log_format(capsys):
    main(["--log-format", "json", "config", "--set", "training.epochs=0"])
    first = capsys.readouterr().err.splitlines()[0]
    assert json.loads(first)["level"] == "ERROR"


def test_info_reports_versions():
    completed = subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", "info", "--json"],
        capture_output=True, text=True, check=True,
    )
    info = json.loads(completed.stdout)
    assert info["forestgaps"] == __version__
    assert info["torch"] != ""
    assert info["environment"] == "local"


def test_engine_imports_without_qt_or_qgis():
    code = (
        "import sys, importlib, pkgutil, forestgaps_engine\n"
        "for m in pkgutil.walk_packages(forestgaps_engine.__path__, 'forestgaps_engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('qgis', 'PyQt5', 'PyQt6')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
