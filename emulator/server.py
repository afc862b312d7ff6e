"""Launcher of the emulated AWS: ``python -m emulator.server [--port N] [--parent-pid PID]``.

Imports moto, applies every compatibility fix of ``emulator.moto_compat`` in this process, then serves moto's
server application (the one ``moto_server`` runs) on 127.0.0.1 only. ``--port 0`` (the default) binds a free
port; once the socket is bound, one JSON line ``{"endpoint": "http://127.0.0.1:<port>", "pid": <pid>}`` is
printed on standard output, so the parent never races for a port. With ``--parent-pid``, the server exits when
that process is gone (no orphan emulator when a test run is killed).

AWS-managed IAM policies (``AmazonDMSVPCManagementRole`` ...) are loaded: ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``.

Exit codes: 0 stopped (SIGTERM, SIGINT or the parent's exit); 1 could not start (the port is taken, moto is not
installed); 2 bad usage. A failure to start is one line on stderr (``cli_common.boundary``), no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import threading
import time

from cli_common import ExpectedFailure

LOOPBACK = "127.0.0.1"

EXIT_CODES_HELP = "Exit codes: 0 stopped; 1 could not start (port taken, moto missing); 2 bad usage."


def _exit_with_parent(parent_pid: int, server) -> None:
    """Shut ``server`` down once ``parent_pid`` no longer exists (checked every second)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            server.shutdown()
            return
        except PermissionError:  # exists, owned by someone else
            continue


def main(argv: list[str] | None = None) -> int:
    """Run the patched moto server until SIGTERM/SIGINT (or the parent's exit). Returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m emulator.server", description=__doc__.splitlines()[0],
                                     epilog=EXIT_CODES_HELP)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    args = parser.parse_args(argv)

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    try:
        from werkzeug.serving import make_server

        from emulator import moto_compat
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    except ImportError as error:
        raise ExpectedFailure(f"cannot start the emulated AWS: {error}", hint="`make install` installs moto") from None

    moto_compat.apply_all()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # bound here: werkzeug exits on a taken port
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((LOOPBACK, args.port))
    except OSError as error:
        raise ExpectedFailure(f"cannot listen on {LOOPBACK}:{args.port}: {error.strerror or error}",
                              hint="give another --port, or 0 for a free one") from None
    listener.listen(128)
    server = make_server(LOOPBACK, args.port, DomainDispatcherApplication(create_backend_app), threaded=True,
                         request_handler=MotoRequestHandler, fd=listener.fileno())
    port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(port)  # moto builds some URLs (S3 presigned, SQS queue URLs) from it
    print(json.dumps({"endpoint": f"http://{LOOPBACK}:{port}", "pid": os.getpid()}), flush=True)

    def stop(_signum, _frame) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.parent_pid:
        threading.Thread(target=_exit_with_parent, args=(args.parent_pid, server), daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    from cli_common.boundary import guard
    from cli_common.terminal import Terminal

    guard(main, terminal=Terminal())
