"""Reading the config directory (the edge around the pure core)."""

from .loader import DEFAULT_FILES, Config, find_config_dir, load_config

__all__ = ["DEFAULT_FILES", "Config", "find_config_dir", "load_config"]
