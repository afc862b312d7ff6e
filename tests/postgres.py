"""Real PostgreSQL 15 servers for the tests: initdb + pg_ctl in a temporary folder, a free 127.0.0.1 port.

Minimal version written on branch i15 until branch i12's shared fixture module lands (same public interface:
``PostgresServer(tmpdir, *, wal_level="logical", extra_conf=None)`` with ``start()``, ``stop()``, ``dsn()``,
``port`` and context-manager support). PostgreSQL refuses to run as root, so when the tests run as root the server
runs as the ``postgres`` user (``runuser -u postgres --``) in a folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

BIN = Path(os.environ.get("PAYMIG_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throw-away PostgreSQL server (trust authentication on 127.0.0.1 only).

    Args:
        tmpdir: a folder for the data directory, socket and log (created; handed to ``postgres`` when root).
        wal_level: ``logical`` (default) for publications and subscriptions, or ``replica``.
        extra_conf: more ``postgresql.conf`` settings, name -> value.
    """

    def __init__(self, tmpdir: Path, *, wal_level: str = "logical", extra_conf: dict[str, Any] | None = None):
        self._user = "postgres" if os.geteuid() == 0 else None
        # as root, pytest's folders (/tmp/pytest-of-root, mode 0700) are closed to `postgres`: use a folder of
        # its own directly under the system temporary directory instead
        self.directory = Path(tempfile.mkdtemp(prefix=f"paymig-{Path(tmpdir).name}-")) if self._user else Path(tmpdir)
        self.data = self.directory / "data"
        self.port = free_port()
        self.settings = {"listen_addresses": "'127.0.0.1'", "port": self.port, "wal_level": wal_level,
                         "unix_socket_directories": f"'{self.directory}'", "max_replication_slots": 20,
                         "max_wal_senders": 20, "max_logical_replication_workers": 20, "fsync": "off",
                         "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "32MB",
                         "wal_sender_timeout": "5s", "wal_receiver_status_interval": "1s",
                         # logical replication workers start (and restart) within 100 ms, not 5 s
                         "wal_retrieve_retry_interval": "100ms",
                         **(extra_conf or {})}

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(BIN / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> PostgresServer:
        """initdb, write the settings and start the server (waits until it accepts connections)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in self.settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w", "-t", "60",
                  "start")
        return self

    def stop(self) -> None:
        """Stop the server immediately (nothing to keep) and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq connection string to ``dbname`` as ``user``."""
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
