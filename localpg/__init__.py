"""Throwaway PostgreSQL servers on 127.0.0.1 (:mod:`localpg.server`): tests, rehearsal, local databases, benchmarks."""

from localpg.server import PostgresServer, enable_password_auth, free_port, postgres_bindir, stop_cluster

__all__ = ["PostgresServer", "enable_password_auth", "free_port", "postgres_bindir", "stop_cluster"]
