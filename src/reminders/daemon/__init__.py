"""The long-running service: the only package that imports APScheduler."""
