"""Classic canopy gap detection with ForestGapR semantics: labels, per-gap stats, size laws.

``gaps_from_chm`` (in ``pipeline``) is the one public call front ends use; the pieces are
importable from their modules for the evaluation baselines and the label builder.
"""
