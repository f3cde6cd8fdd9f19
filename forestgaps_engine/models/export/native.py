"""Native export: a clean model folder (safetensors weights + model card).

The copy is rebuilt from the loaded network rather than copied byte for byte, so a folder
holding a ``.pt`` checkpoint or a stale ``model_id`` comes out as a canonical folder whose
``model_id`` is the hash of the weights actually written.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from forestgaps_engine import partials
from forestgaps_engine.errors import ModelError
from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.models.card import CARD_FILE, WEIGHTS_FILE, load_model, save_model
from forestgaps_engine.models.export.result import ExportResult

logger = logging.getLogger(__name__)


def export_native(loaded: Any, out_dir: str | Path, check: bool = True) -> ExportResult:
    """Write a model folder (``model.safetensors`` + ``model_card.json``) with a fresh id.

    Args:
        loaded: ``LoadedModel`` or model path.
        out_dir: folder to write (created if needed; other files in it are left alone).
        check: reload the copy and compare it with the original.

    Returns:
        ``out_dir`` and the parity figures (None without ``check``).

    Raises:
        ModelError: not a model, or the copy does not reproduce the original.
        DataError: the folder cannot be written.
    """
    from forestgaps_engine.models.export.parity import check_parity, require_parity

    loaded = load_model(loaded)
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise ModelError(
            f"{target}: exists and is not a folder (a native export is a model folder)",
            hint="Pass a new or existing folder with --out.",
        )
    parent = ensure_writable_dir(target.absolute().parent)
    # Staged beside the target so the final renames stay on one file system.
    with partials.partial_directory(parent, target.name) as staging:
        staging.chmod(0o755)  # created private; the folder becomes the model folder
        card = loaded.card.model_copy(update={"model_id": ""})
        save_model(loaded.model, loaded.normalizer, card, staging)
        parity = require_parity(check_parity(loaded, staging, "native"), target) if check else None
        if not target.exists():
            os.replace(staging, target)
        else:
            ensure_writable_dir(target)
            # weights first: a folder with a card always has complete weights
            for name in (WEIGHTS_FILE, CARD_FILE):
                os.replace(staging / name, target / name)
    logger.info("exported %s as a model folder: %s", loaded.card.architecture, target)
    return ExportResult(path=target, format="native", parity=parity)

