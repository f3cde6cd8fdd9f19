"""Loaded with ``-p`` (pyproject's addopts) before pytest-qgis starts its QgsApplication.

A fresh QGIS authentication database per session: tests that store a master password and
token configurations must not write into the profile kept in ``.qgis-settings``, and QGIS
reads ``QGIS_AUTH_DB_DIR_PATH`` only when it starts, before any conftest is imported.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "QGIS_AUTH_DB_DIR_PATH" not in os.environ:
    _AUTH_DIR = tempfile.mkdtemp(prefix="forestgaps-qgis-auth-")
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = _AUTH_DIR
    atexit.register(shutil.rmtree, _AUTH_DIR, True)
