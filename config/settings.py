"""Former home of the whole configuration, kept so that ``from config.settings import ...`` still works.

New code imports from ``config`` (the package re-exports the public names) or from the part that holds a name:
``config.models`` (every pydantic model), ``config.loading`` (loading, environment selection, the emulator
endpoint), ``config.errors`` (``ConfigProblem``, ``ConfigError``).
"""

from config.errors import ConfigError, ConfigProblem
from config.loading import (
    CONFIG_DIR,
    DEFAULT_ENVIRONMENT,
    EMULATOR_ENDPOINT_VARIABLE,
    ENVIRONMENT_VARIABLE,
    config_path,
    emulator_endpoint,
    load_config,
    parse_config,
    selected_environment,
)
from config.models import *  # noqa: F403  (every model and constant)
from config.models import EMULATOR_ENVIRONMENT  # noqa: F401

__all__ = [  # noqa: F405
    "CONFIG_DIR", "DEFAULT_ENVIRONMENT", "EMULATOR_ENDPOINT_VARIABLE", "EMULATOR_ENVIRONMENT", "ENVIRONMENT_VARIABLE",
    "ConfigError", "ConfigProblem", "config_path", "emulator_endpoint", "load_config", "parse_config",
    "selected_environment",
]
