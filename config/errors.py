"""Configuration errors: one ``ConfigProblem`` per broken rule, all of them at once in a ``ConfigError``.

The line format ``<field> = <value>: <rule>`` is made by ``ConfigProblem`` alone: validators say which field,
which value and which rule, never how the line looks. Field validators raise a plain ``ValueError(rule)`` (pydantic
knows the field and the value); rules across fields (model validators) raise ``ConfigProblem`` naming the field
relative to the model they validate, and ``config.loading`` puts the model's path in front.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ConfigProblem(ValueError):
    """A broken rule: ``field`` (dotted path, e.g. ``service.desired_count``), its ``value`` and the ``rule``.

    A ``ValueError``, so that a pydantic validator can raise it; ``str()`` renders the line
    ``<field> = <value!r>: <rule>`` (``shown`` replaces ``repr(value)`` where the value is not a Python value,
    e.g. a derived name that spans several fields).
    """

    def __init__(self, field: str, value: Any, rule: str, *, shown: str | None = None):
        if not field or not rule:
            raise TypeError("a ConfigProblem names a field and a rule")
        self.field, self.value, self.rule, self.shown = field, value, rule, shown
        super().__init__(self.line())

    def line(self) -> str:
        """``<field> = <value>: <rule>``."""
        return f"{self.field} = {self.shown if self.shown is not None else repr(self.value)}: {self.rule}"

    def under(self, path: str) -> ConfigProblem:
        """The same problem with ``path`` (a model's location, e.g. ``regions``) in front of its field."""
        if not path:
            return self
        return ConfigProblem(f"{path}.{self.field}", self.value, self.rule, shown=self.shown)

    def __str__(self) -> str:
        return self.line()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigProblem) and (self.field, self.line()) == (other.field, other.line())

    def __hash__(self) -> int:
        return hash(self.line())


class ConfigError(ValueError):
    """A configuration breaks one or more rules.

    Attributes:
        source: where the configuration came from (``config/dev.toml``, ``$PAYMIG_AWS_ENDPOINT_URL``, ...).
        details: every ``ConfigProblem``, in the order found.
        problems: their lines, ``<field> = <value>: <rule>`` each.
    """

    def __init__(self, source: str, problems: Iterable[ConfigProblem]):
        self.source = source
        self.details = tuple(problems)
        if not self.details or not all(isinstance(problem, ConfigProblem) for problem in self.details):
            raise TypeError("ConfigError needs one ConfigProblem or more")
        self.problems = [problem.line() for problem in self.details]
        super().__init__(f"invalid configuration {source}:\n" + "\n".join(f"  - {p}" for p in self.problems))
