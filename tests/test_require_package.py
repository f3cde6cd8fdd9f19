"""Optional dependencies: imported when present, else one ConfigError naming the fix."""

from __future__ import annotations

import json

import pytest

from forestgaps_engine.errors import ConfigError, require_package


def test_a_present_package_is_imported() -> None:
    assert require_package("json", "reading reports", "pip install nothing") is json


def test_a_missing_package_names_what_needs_it_and_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        require_package("forestgaps_no_such_pkg", "region mode", 'pip install ".[region]"',
                        "dask.distributed")  # fmt: skip
    assert caught.value.message.startswith(
        "region mode needs dask.distributed, which is not installed"
    )
    assert caught.value.hint == 'pip install ".[region]"'
