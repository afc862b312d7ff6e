"""A throwaway PostgreSQL 15 server for tests (minimal stand-in until branch i12's shared fixture lands; same
public interface: ``PostgresServer(tmpdir, *, wal_level="logical", extra_conf=None)``, ``start``, ``stop``,
``dsn``, ``port``, context manager).

PostgreSQL refuses to run as root: the cluster belongs to the ``postgres`` user (``runuser``) when the tests run
as root, and listens on a free 127.0.0.1 port only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in ``tmpdir`` (superuser ``postgres``, trust authentication on loopback)."""

    def __init__(self, tmpdir: Path, *, wal_level: str = "logical", extra_conf: dict | None = None):
        # pytest's tmp_path lives under a root-only folder the postgres user cannot enter: use a folder of its own
        tmpdir = Path(tempfile.mkdtemp(prefix=f"paymig-pg-{Path(tmpdir).name}-", dir="/tmp"))
        self.directory = Path(tmpdir) / "pgdata"
        self.port = _free_port()
        self.conf = {"wal_level": wal_level, "max_replication_slots": "10", "max_wal_senders": "10",
                     "listen_addresses": "'127.0.0.1'", "port": str(self.port), "fsync": "off",
                     "unix_socket_directories": f"'{Path(tmpdir)}'", **(extra_conf or {})}
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._tmpdir = Path(tmpdir)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_postgres, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self._tmpdir, "postgres")
        self._run(str(BIN / "initdb"), "-D", str(self.directory), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with open(self.directory / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in self.conf.items())
        self._run(str(BIN / "pg_ctl"), "-D", str(self.directory), "-w", "-l", str(self._tmpdir / "server.log"),
                  "start")
        return self

    def stop(self) -> None:
        if (self.directory / "postmaster.pid").exists():
            self._run(str(BIN / "pg_ctl"), "-D", str(self.directory), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def dsn(self, dbname: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        """libpq conninfo for ``user`` on ``dbname``."""
        dsn = f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"
        return dsn + (f" password={password}" if password else "")

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def enable_password_auth(server: PostgresServer) -> None:
    """Require SCRAM passwords for every role but ``postgres`` (so that a wrong password is refused), reload."""
    hba = server.directory / "pg_hba.conf"
    hba.write_text("host all postgres 127.0.0.1/32 trust\nlocal all postgres trust\n"
                   "host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n",
                   encoding="utf-8")
    server._run(str(BIN / "pg_ctl"), "-D", str(server.directory), "reload")
