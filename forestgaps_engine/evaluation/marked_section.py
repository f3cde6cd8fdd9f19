"""Generated markdown between ``<!-- NAME:begin -->`` / ``<!-- NAME:end -->`` markers.

Reports (benchmark, held-out sites, real sites) rewrite only their own section of a shared
document, so hand-written sections of the same file survive a rerun.
"""

from __future__ import annotations

import re
from pathlib import Path

from forestgaps_engine.files import write_text_atomic


def write_marked_section(target: str | Path, name: str, text: str, title: str = "") -> Path:
    """Replace the ``name`` section of a markdown file (appended when absent, file created).

    Args:
        target: markdown file.
        name: marker name (``benchmark``, ``default-model``).
        text: the section's new content.
        title: first line of a new file.
    """
    path = Path(target)
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    current = path.read_text("utf-8") if path.is_file() else (f"# {title}\n" if title else "")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _match: block, current)
    else:
        updated = current.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, updated)
