"""When torch.compile cannot work, it is known before anything compiles."""

from __future__ import annotations

from forestgaps_engine.models.compile import compile_unsupported_reason


def test_unsupported_platform_is_reported(build_tiny, monkeypatch) -> None:
    model = build_tiny("unet_film")
    monkeypatch.setattr("sys.platform", "win32")
    assert "Windows" in compile_unsupported_reason(model)


def test_missing_cpu_compiler_is_reported(build_tiny, monkeypatch) -> None:
    model = build_tiny("unet_film")
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert "C++ compiler" in compile_unsupported_reason(model)
