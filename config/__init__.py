"""Configuration of the migration infrastructure: ``config/<environment>.toml`` validated by ``config.settings``."""

from config.naming import Names
from config.settings import ConfigError, MigrationConfig, load_config, parse_config, selected_environment

__all__ = ["ConfigError", "MigrationConfig", "Names", "load_config", "parse_config", "selected_environment"]
