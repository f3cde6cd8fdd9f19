"""Training callbacks: one concern per file, called through the hooks of ``base.Callback``."""
