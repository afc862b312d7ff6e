"""Configuration of the migration infrastructure: ``config/<environment>.toml``, typed and validated.

- ``config.models``: every pydantic model (one per TOML section, ``MigrationConfig`` for the file);
- ``config.loading``: environment selection, loading and validation, the emulator endpoint;
- ``config.naming``: every AWS name derived from a configuration, with the limit AWS puts on it;
- ``config.errors``: ``ConfigProblem(field, value, rule)`` and ``ConfigError`` (all problems at once).

Dependencies go one way: errors <- models <- naming <- loading.
"""

from config.errors import ConfigError, ConfigProblem
from config.loading import (
    EMULATOR_ENDPOINT_VARIABLE,
    EMULATOR_ENVIRONMENT,
    SUFFIX_VARIABLE,
    apply_suffix_variable,
    config_path,
    emulator_endpoint,
    load_config,
    parse_config,
    selected_environment,
    suffix_variable,
)
from config.models import MigrationConfig, PostgresInstance
from config.naming import Names

__all__ = [
    "EMULATOR_ENDPOINT_VARIABLE", "EMULATOR_ENVIRONMENT", "ConfigError", "ConfigProblem", "MigrationConfig", "Names",
    "PostgresInstance", "SUFFIX_VARIABLE", "apply_suffix_variable", "config_path", "emulator_endpoint", "load_config",
    "parse_config", "selected_environment", "suffix_variable",
]
