"""The embedded emulated AWS: moto's server on 127.0.0.1, with the project's compatibility fixes.

- ``emulator.server``: the launcher (``python -m emulator.server``) that applies the fixes and serves moto.
- ``emulator.moto_compat``: every fix for a way in which moto differs from AWS as seen by hashicorp/aws 5.100.0,
  each naming the AWS behaviour it restores. Nothing of it belongs in the stacks.
- ``emulator.process``: start, wait for and stop the server (``Emulator``), the developer's long-lived one
  (``LocalSession``).
- ``emulator.clients``: boto3 clients on a running emulator, emptying versioned buckets before a destroy.
"""

from emulator.clients import emulator_client, empty_buckets
from emulator.process import ENDPOINT_VARIABLE, Emulator, EmulatorError, LocalSession

__all__ = ["ENDPOINT_VARIABLE", "Emulator", "EmulatorError", "LocalSession", "emulator_client", "empty_buckets"]
