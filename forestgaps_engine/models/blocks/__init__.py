"""Building blocks shared by the architectures: conditioning, attention, norms, residuals."""
