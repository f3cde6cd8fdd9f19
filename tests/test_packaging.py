"""The engine ships as regular packages: a folder without __init__.py is left out of wheels."""

from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "forestgaps_engine"


def test_every_engine_folder_with_code_is_a_package():
    missing = [
        str(folder.relative_to(ENGINE.parent))
        for folder in [ENGINE, *ENGINE.rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").is_file()
    ]
    assert not missing, f"add __init__.py to: {missing}"
