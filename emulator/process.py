"""Starting, waiting for and stopping the emulated AWS (``python -m emulator.server``) as a child process.

Two ways to hold one:

- ``Emulator`` (a context manager): a private emulator for one run (tests, one-off commands); it exits with its
  parent.
- ``LocalSession``: the developer's long-lived emulator behind ``make deploy-local`` / ``make state`` /
  ``make destroy-local``, recorded in ``.state/local/emulator.json`` (endpoint and process id) so that the
  next command finds it; ``make destroy-local`` (or ``make emulator-stop``) stops it.

Only loopback is ever used: the server binds 127.0.0.1 and the endpoint is ``http://127.0.0.1:<port>``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The project checkout (the server runs there; the developer's emulator is recorded in its ``.state/local``)."""

ENDPOINT_VARIABLE = "PAYMIG_AWS_ENDPOINT_URL"
"""Environment variable that carries the emulator's endpoint URL into synthesis and Terraform runs."""

START_TIMEOUT_SECONDS = 60.0
"""How long ``start`` waits for the server to bind and answer, seconds."""


class EmulatorError(RuntimeError):
    """The emulator could not be started, did not answer in time, or no running emulator was found."""


def _answers(endpoint: str, timeout: float = 2.0) -> bool:
    """Whether moto's own API answers at ``endpoint`` (``GET /moto-api/config``)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/config", timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Emulator:
    """A moto server child process on 127.0.0.1 with the project's compatibility fixes.

    Use as ``with Emulator(log_path) as emulator: ...`` (``emulator.endpoint`` is the URL), or call ``start``
    and ``stop``. ``detached`` servers outlive this process (``LocalSession``); the others exit when it does.

    Attributes:
        log_path: file receiving the server's request log (standard error).
        detached: start in a new session that survives the parent.
        endpoint: ``http://127.0.0.1:<port>`` once started.
        pid: process id once started.
    """

    log_path: Path
    detached: bool = False
    endpoint: str | None = None
    pid: int | None = None
    _process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> Emulator:
        """Start the server and wait until it answers.

        Raises:
            EmulatorError: the server exited or did not answer within ``timeout`` seconds (log tail attached).
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "emulator.server", "--port", "0"]
        if not self.detached:
            command += ["--parent-pid", str(os.getpid())]
        with open(self.log_path, "a", encoding="utf-8") as log:
            self._process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
                start_new_session=self.detached,
            )
        line = self._first_line(self._process.stdout, timeout)
        announced = json.loads(line)
        self.endpoint, self.pid = announced["endpoint"], announced["pid"]
        deadline = time.monotonic() + timeout
        while not _answers(self.endpoint):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmulatorError(f"emulator at {self.endpoint} did not answer: {self._log_tail()}")
            time.sleep(0.1)
        return self

    def _first_line(self, stream: IO[str] | None, timeout: float) -> str:
        """The server's announcement line (it prints it once its socket is bound)."""
        assert stream is not None and self._process is not None
        deadline = time.monotonic() + timeout
        while not select.select([stream], [], [], 0.1)[0]:
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._process.kill()
                raise EmulatorError(f"emulator did not start: {self._log_tail()}")
        line = stream.readline()
        stream.close()
        if not line:
            raise EmulatorError(f"emulator exited before it started: {self._log_tail()}")
        return line

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` seconds). Idempotent."""
        if self.pid is None and self._process is None:
            return
        stop_process(self.pid or self._process.pid, timeout)  # type: ignore[union-attr]
        if self._process is not None:
            self._process.wait(timeout=timeout)
        self.pid = self._process = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def stop_process(pid: int, timeout: float = 10.0) -> None:
    """Send SIGTERM to ``pid`` and wait up to ``timeout`` seconds for it to end, then SIGKILL it."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _reaped(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reaped(pid: int) -> bool:
    """Reap ``pid`` if it is a finished child of this process (so a zombie does not look alive)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


class LocalSession:
    """The developer's long-lived emulator, recorded in ``<state_dir>/emulator.json``.

    Args:
        state_dir: where the record and the log live (default ``.state/local``).
    """

    def __init__(self, state_dir: Path = PROJECT_ROOT / ".state" / "local"):
        self.state_dir = state_dir
        self.record = state_dir / "emulator.json"
        self.log_path = state_dir / "emulator.log"

    def running_endpoint(self) -> str | None:
        """The recorded emulator's endpoint if it still answers, else None (a stale record is removed)."""
        try:
            recorded = json.loads(self.record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if _answers(recorded["endpoint"]):
            return recorded["endpoint"]
        self.record.unlink(missing_ok=True)
        return None

    def ensure_running(self) -> tuple[str, bool]:
        """Return ``(endpoint, started)``: the running emulator, or a new detached one (``started`` True)."""
        endpoint = self.running_endpoint()
        if endpoint:
            return endpoint, False
        emulator = Emulator(self.log_path, detached=True).start()
        self.record.write_text(json.dumps({"endpoint": emulator.endpoint, "pid": emulator.pid}), encoding="utf-8")
        return str(emulator.endpoint), True

    def require_endpoint(self) -> str:
        """The running emulator's endpoint.

        Raises:
            EmulatorError: none is running (``make deploy-local`` starts one).
        """
        endpoint = self.running_endpoint()
        if not endpoint:
            raise EmulatorError("no local emulator is running: `make deploy-local` starts one and deploys onto it")
        return endpoint

    def stop(self) -> bool:
        """Stop the recorded emulator; returns whether one was running."""
        try:
            recorded = json.loads(self.record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        running = _answers(recorded["endpoint"])
        if running:
            stop_process(int(recorded["pid"]))
        self.record.unlink(missing_ok=True)
        return running
