"""Loading a configuration: environment selection, ``config/<environment>.toml``, validation, the emulator endpoint.

``load_config`` parses the TOML file of an environment into ``config.models.MigrationConfig``, then checks every
AWS name derived from it (``config.naming``). Every problem is reported at once in a ``config.errors.ConfigError``
whose lines name the field, the value and the rule, before anything is synthesized.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.errors import ConfigError, ConfigProblem
from config.models import EMULATOR_ENVIRONMENT, MigrationConfig
from config.naming import naming_problems

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_ENVIRONMENT = "dev"
ENVIRONMENT_VARIABLE = "PAYMIG_ENVIRONMENT"
EMULATOR_ENDPOINT_VARIABLE = "PAYMIG_AWS_ENDPOINT_URL"
"""Environment variable with the emulator's endpoint (``http://127.0.0.1:<port>``), set by the project's
emulator commands (``emulator.process``); read when an ``emulator`` configuration is synthesized."""
SUFFIX_VARIABLE = "PAYMIG_SUFFIX"
"""Environment variable with a per-change environment suffix (``make deploy-local SUFFIX=pr123`` sets it); read
by ``load_config`` and ``ops.local.synthesize`` into ``MigrationConfig.suffix``."""

__all__ = [
    "CONFIG_DIR", "DEFAULT_ENVIRONMENT", "EMULATOR_ENDPOINT_VARIABLE", "EMULATOR_ENVIRONMENT", "ENVIRONMENT_VARIABLE",
    "SUFFIX_VARIABLE", "apply_suffix_variable", "config_path", "emulator_endpoint", "environments",
    "load_config", "parse_config", "selected_environment", "suffix_variable",
]


def emulator_endpoint() -> str:
    """The emulated AWS endpoint from ``$PAYMIG_AWS_ENDPOINT_URL``, checked to be loopback HTTP.

    Read when a configuration with ``emulator = true`` is synthesized (the endpoint is written into the provider
    and backend configuration of every stack); the project's emulator commands set the variable.

    Returns:
        ``http://<loopback host>:<port>`` without a trailing slash.

    Raises:
        ConfigError: the variable is unset, or is not an ``http://`` URL of 127.0.0.1, localhost or [::1] with a
            port (the emulator never leaves this machine).
    """
    value = os.environ.get(EMULATOR_ENDPOINT_VARIABLE, "").strip().rstrip("/")
    source = f"${EMULATOR_ENDPOINT_VARIABLE}"
    if not value:
        raise ConfigError(source, [ConfigProblem(
            EMULATOR_ENDPOINT_VARIABLE, "", "must be set to the emulator's endpoint (http://127.0.0.1:<port>) "
            "to synthesize an emulator environment; `make deploy-local` starts the emulator and sets it")])
    if not re.fullmatch(r"http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}", value):
        raise ConfigError(source, [ConfigProblem(
            EMULATOR_ENDPOINT_VARIABLE, value, "must be http://<loopback address>:<port> (127.0.0.0/8, "
            "localhost or [::1]); the emulated AWS never leaves this machine")])
    return value


def problems_of(error: ValidationError) -> list[ConfigProblem]:
    """One ``ConfigProblem`` per pydantic error.

    A field's own error (a type, a bound, a field validator's ``ValueError(rule)``) names the field's path and
    value. A rule across fields (a model validator) must raise ``ConfigProblem`` naming its field relative to the
    model; the model's path is put in front.

    Raises:
        TypeError: a model validator raised a plain ``ValueError``: it would not say which field is wrong.
    """
    problems = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"] if part != "[key]")  # a dict key's own error
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, ConfigProblem):
            problems.append(cause.under(path))
        elif isinstance(item.get("input"), dict) and item["type"] == "value_error":
            raise TypeError(f"a validator of {path or 'MigrationConfig'} raised {cause!r}: rules across fields "
                            "must raise config.errors.ConfigProblem(field, value, rule)")
        else:
            rule = str(item["msg"]).removeprefix("Value error, ")
            problems.append(ConfigProblem(path or "(configuration)", item.get("input"), rule))
    return problems


def parse_config(data: dict[str, Any], source: str = "<dict>") -> MigrationConfig:
    """Validate a configuration mapping (as read from TOML) and every AWS name derived from it.

    Args:
        data: the parsed TOML document.
        source: where it came from, for error messages.

    Returns:
        The frozen, validated ``MigrationConfig``.

    Raises:
        ConfigError: one line per broken rule, each naming the field, the value and the rule.
    """
    try:
        config = MigrationConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_of(exc)) from None
    problems = naming_problems(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def config_path(environment: str) -> Path:
    """Path of the configuration file of ``environment``: ``config/<environment>.toml``."""
    return CONFIG_DIR / f"{environment}.toml"


def environments() -> tuple[str, ...]:
    """The environments that have a configuration: the names of ``config/*.toml``, sorted (``dev``, ``local``,
    ``prod``, ...)."""
    return tuple(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))


def selected_environment(context_value: object = None) -> str:
    """The environment to synthesize: cdktf context ``environment``, else ``$PAYMIG_ENVIRONMENT``, else ``dev``."""
    if isinstance(context_value, str) and context_value:
        return context_value
    return os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_ENVIRONMENT


def load_config(environment: str | None = None) -> MigrationConfig:
    """Load and validate ``config/<environment>.toml``.

    Args:
        environment: environment name; ``None`` selects it with ``selected_environment``.

    Raises:
        ConfigError: the file is missing, is not valid TOML, names another environment, or breaks a rule.
    """
    environment = environment or selected_environment()
    path = config_path(environment)
    if not re.fullmatch(r"[a-z][a-z0-9]{1,11}", environment) or not path.is_file():
        known = ", ".join(environments())
        raise ConfigError(str(path), [ConfigProblem("environment", environment,
                                                    f"no such configuration (known: {known})")])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [ConfigProblem("(file)", path.name, f"must be valid TOML ({exc})")]) from None
    if data.get("environment", environment) != environment:
        raise ConfigError(str(path), [ConfigProblem("environment", data.get("environment"),
                                                    f"must equal the file name ({environment!r})")])
    data.setdefault("environment", environment)
    apply_suffix_variable(data)
    return parse_config(data, str(path.relative_to(CONFIG_DIR.parent)))


def suffix_variable() -> str | None:
    """The per-change suffix in ``$PAYMIG_SUFFIX`` (None when unset or empty; validated with the configuration)."""
    return os.environ.get(SUFFIX_VARIABLE, "").strip() or None


def apply_suffix_variable(data: dict[str, Any]) -> None:
    """Set ``data["suffix"]`` from ``$PAYMIG_SUFFIX`` when it is set and not empty (it wins over the file)."""
    suffix = suffix_variable()
    if suffix:
        data["suffix"] = suffix
