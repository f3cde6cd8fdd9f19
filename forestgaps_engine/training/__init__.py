"""Training: losses, optimisers, schedules, callbacks, the trainer, augmentation, ``train()``.

Import submodules directly (``forestgaps_engine.training.trainer``); this package does not
import torch on its own so the CLI stays fast.
"""
