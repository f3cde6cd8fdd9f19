"""Give the C heap's free pages back to the system between the phases of ``predict``.

glibc serves buffers below its mmap threshold from the heap, and raises that threshold
(up to 32 MB) each time it frees a larger mapped buffer: most numpy arrays of a phase
then come from the heap, between GDAL's cached blocks, and their pages stay resident
after they are freed. At 16384² (one threshold, 80 MB block cache) post-processing peaked
44 MB higher than with a fixed threshold (``MALLOC_MMAP_THRESHOLD_``): 617 against 573 MB.
``malloc_trim(0)`` releases the free pages of the whole heap; once per phase it took that
peak from 574 to 550 MB (40 MB block cache). Once per strip it went lower (525 MB), but
post-processing then took a quarter longer.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to release
        return None


def release_free_heap() -> None:
    """Return the heap's free pages to the system (glibc); a no-op elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
