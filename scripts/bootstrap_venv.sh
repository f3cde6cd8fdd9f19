#!/usr/bin/env bash
# Create .venv once and keep it: a second run with unchanged requirements installs nothing.
# The venv is made from an interpreter that can import QGIS's Python bindings when they are
# installed (Debian's /usr/bin/python3), with --system-site-packages, so QGIS, its GDAL and
# Debian's numpy/scipy/rasterio are shared instead of shadowed by incompatible wheels.
set -euo pipefail

VENV=${VENV:-.venv}
STAMP="$VENV/.forestgaps-installed"
EXTRAS=${FORESTGAPS_EXTRAS:-torch,export,dev,serve,tune,region,lidar}
want=$(cat pyproject.toml scripts/bootstrap_venv.sh | sha256sum | cut -c1-16)-$EXTRAS

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

pick_interpreter() {
  local candidate
  for candidate in ${FORESTGAPS_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import qgis.core' >/dev/null 2>&1; then
      echo "$candidate"; return
    fi
  done
  echo "${FORESTGAPS_PYTHON:-python3}"
}

if [ ! -x "$VENV/bin/python" ]; then
  interpreter=$(pick_interpreter)
  echo "bootstrap: creating $VENV from $interpreter (--system-site-packages)"
  "$interpreter" -m venv --system-site-packages "$VENV"
fi
py="$VENV/bin/python"

# Pin what the system already provides and QGIS was built against: an upgraded numpy breaks
# Debian's scipy and QGIS's own Python modules.
constraints="$VENV/constraints.txt"
"$py" - "$constraints" <<'PY'
import importlib.metadata as md
import sys

lines = []
for name in ("numpy", "scipy", "GDAL", "rasterio", "pyproj"):
    try:
        lines.append(f"{name}=={md.version(name)}")
    except md.PackageNotFoundError:
        pass
if not any(line.startswith("numpy==") for line in lines):
    lines.append("numpy<2.3")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
echo "bootstrap: constraints $(tr '\n' ' ' < "$constraints")"

pip_install() { "$py" -m pip install --disable-pip-version-check -q -c "$constraints" "$@"; }

if "$py" -c 'import torch' >/dev/null 2>&1; then
  echo "bootstrap: keeping the torch already importable ($("$py" -c 'import torch; print(torch.__version__)'))"
else
  # pip's configured index decides the build: set FORESTGAPS_TORCH_INDEX (e.g.
  # https://download.pytorch.org/whl/cpu) where it would serve the multi-GB CUDA one.
  echo "bootstrap: installing torch==2.13.0${FORESTGAPS_TORCH_INDEX:+ from $FORESTGAPS_TORCH_INDEX}"
  pip_install "torch==2.13.0" ${FORESTGAPS_TORCH_INDEX:+--index-url "$FORESTGAPS_TORCH_INDEX"}
fi
pip_install -e ".[$EXTRAS]"
echo "$want" > "$STAMP"
echo "bootstrap: $VENV ready"
