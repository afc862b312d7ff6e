"""Throwaway PostgreSQL servers on this machine: the tests, the rehearsal, the local databases and the benchmarks.

Each server is a fresh cluster (``initdb``) in a folder owned by the ``postgres`` user, started with ``pg_ctl`` on a
free 127.0.0.1 port (``listen_addresses = '127.0.0.1'``, its Unix socket in its own folder) and stopped by
:meth:`PostgresServer.stop`. PostgreSQL refuses to run as root, so when this process is root every server command
runs as ``postgres`` through ``runuser -u postgres --``. Authentication is ``trust`` for loopback connections only
(:func:`enable_password_auth` asks for passwords): a throwaway cluster, never a pattern for a real one. Durability
is off (``fsync``, ``synchronous_commit``, ``full_page_writes``): a crash loses nothing these servers hold.

Binaries come from ``$PG_BINDIR``, ``pg_config --bindir`` or ``/usr/lib/postgresql/<newest>/bin``; ``make install``
installs Debian's ``postgresql`` package when none is found.

Follows https://www.postgresql.org/docs/15/app-initdb.html and https://www.postgresql.org/docs/15/app-pg-ctl.html.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SERVER_USER = "postgres"


def postgres_bindir() -> Path:
    """The folder of the PostgreSQL server binaries (``initdb``, ``pg_ctl``, ``postgres``).

    Raises:
        FileNotFoundError: no PostgreSQL server installation (``make install`` installs Debian's ``postgresql``).
    """
    candidates = [os.environ.get("PG_BINDIR", "")]
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name),
                         reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl): run `make install`, which installs "
                            "Debian's postgresql package, or set PG_BINDIR")


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when this process is root (PostgreSQL refuses root)."""
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


def _reachable_by_server_user(folder: Path) -> bool:
    """Whether the ``postgres`` user can create files in ``folder`` (pytest's tmp folders are often 0700 root)."""
    if os.geteuid() != 0:
        return os.access(folder, os.W_OK | os.X_OK)
    return subprocess.run(_as_server_user(["test", "-w", str(folder), "-a", "-x", str(folder)]),
                          check=False).returncode == 0


class PostgresServer:
    """One throwaway PostgreSQL cluster on 127.0.0.1.

    Args:
        tmpdir: where the cluster's folder goes (``<tmpdir>/postgres-<id>``); when the ``postgres`` user cannot
            write there (a 0700 root folder), the cluster goes into a new folder under the system temp directory
            instead, removed by :meth:`stop`.
        wal_level: ``minimal``, ``replica`` or ``logical`` (default ``logical``: publications and subscriptions,
            replication slots).
        extra_conf: more ``postgresql.conf`` settings, name to value (strings are quoted), applied last.

    Attributes:
        port: the TCP port (chosen free at :meth:`start`; 0 before).
        folder: the cluster's folder (data directory ``data/``, socket directory ``socket/``, ``server.log``).
    """

    def __init__(self, tmpdir: Path, *, wal_level: str = "logical", extra_conf: dict | None = None) -> None:
        self.tmpdir = Path(tmpdir)
        self.wal_level = wal_level
        self.extra_conf = dict(extra_conf or {})
        self.port = 0
        self.folder: Path | None = None
        self._own_folder = False
        self._running = False
        self.bindir = postgres_bindir()

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None, "server not started"
        return self.folder / "data"

    def _conf(self) -> dict[str, object]:
        conf: dict[str, object] = {
            "listen_addresses": "127.0.0.1", "port": self.port,
            "unix_socket_directories": str(self.folder / "socket"),
            "wal_level": self.wal_level, "max_wal_senders": 10 if self.wal_level != "minimal" else 0,
            "max_replication_slots": 10, "max_logical_replication_workers": 8, "max_worker_processes": 16,
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "shared_buffers": "128MB", "max_connections": 60, "logging_collector": "off",
            "wal_sender_timeout": "60s", "timezone": "UTC",
        }
        conf.update(self.extra_conf)
        return conf

    def start(self) -> PostgresServer:
        """``initdb`` a new cluster, configure it and start it (``pg_ctl start -w``).

        Raises:
            subprocess.CalledProcessError: initdb or pg_ctl failed (``server.log`` in :attr:`folder` says why).
        """
        name = f"postgres-{uuid.uuid4().hex[:8]}"
        if _reachable_by_server_user(self.tmpdir):
            self.folder = self.tmpdir / name
            self.folder.mkdir(parents=True)
        else:
            self.folder = Path(tempfile.mkdtemp(prefix=f"paymig-{name}-"))
            self._own_folder = True
        (self.folder / "socket").mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.folder, SERVER_USER, SERVER_USER)
            shutil.chown(self.folder / "socket", SERVER_USER, SERVER_USER)
        subprocess.run(_as_server_user([str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                                        "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True)
        self.port = free_port()
        lines = [f"{key} = {value if isinstance(value, int) else repr(str(value))}"
                 for key, value in self._conf().items()]
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# localpg\n" + "\n".join(lines) + "\n")
        # Loopback only, any role without a password (replication connections included): a test cluster.
        (self.data_dir / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
            encoding="utf-8")
        try:
            subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D",
                                            str(self.data_dir), "-l", str(self.folder / "server.log")]),
                           check=True, capture_output=True)
        except subprocess.CalledProcessError:
            log = self.folder / "server.log"
            raise RuntimeError(f"PostgreSQL did not start: {log.read_text() if log.exists() else 'no log'}")
        self._running = True
        return self

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m immediate``: nothing is kept) and remove a folder it created."""
        if self._running:
            subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D",
                                            str(self.data_dir)]), check=False, capture_output=True)
            self._running = False
        if self._own_folder and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._own_folder = False

    def dsn(self, dbname: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        """A libpq connection string for ``dbname`` as ``user`` over TCP on 127.0.0.1 (``password`` where
        :func:`enable_password_auth` made the server ask for one; default none: trust)."""
        dsn = f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"
        return dsn + (f" password={password}" if password else "")

    def reload(self) -> None:
        """``pg_ctl reload``: re-read ``pg_hba.conf`` and ``postgresql.conf``."""
        subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "reload", "-D", str(self.data_dir)]),
                       check=True, capture_output=True)

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Run ``sql`` (one or more statements, autocommit) in ``dbname`` as ``postgres``."""
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def enable_password_auth(server: PostgresServer) -> None:
    """Require SCRAM passwords for every role but ``postgres`` (so that a wrong password is refused), then reload."""
    (server.data_dir / "pg_hba.conf").write_text(
        "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n"
        "host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n",
        encoding="utf-8")
    server.reload()


def stop_cluster(data_dir: Path) -> bool:
    """Stop the server of the cluster in ``data_dir`` (``pg_ctl stop -m fast``), one that another process started;
    returns whether one was running there."""
    if not (data_dir / "postmaster.pid").exists():
        return False
    result = subprocess.run(_as_server_user([str(postgres_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D",
                                             str(data_dir)]), check=False, capture_output=True)
    return result.returncode == 0
