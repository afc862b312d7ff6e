"""The writer name through DNS, as the payments service sees it: a small DNS server on 127.0.0.1 that answers from
the emulated Route 53 zone, and a client resolver that caches each answer for its TTL.

- :class:`ZoneDNSServer` (dnslib, UDP on a free port of 127.0.0.1) answers a query for a name with the record the
  zone holds now (``lookup(name)`` -> ``(value, ttl)``, e.g. the writer CNAME read with
  :meth:`cutover.writer.Route53WriterRecord.value`/``ttl``), as the VPC resolver answers from a private hosted
  zone. Any other name: NXDOMAIN.
- :class:`CachingResolver` asks that server and keeps the answer for its TTL (seconds), as a stub resolver or a
  JVM's DNS cache does: after the writer name moves, a client follows only once its cached answer expired, which
  is why the rehearsal measures ``client_write_gap_seconds`` on the client side.

Follows RFC 1035 (TTL: how long an answer may be cached) and the Route 53 developer guide ("Values that you
specify when you create or edit Amazon Route 53 records": TTL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ZoneDNSServer:
    """A DNS server on ``127.0.0.1`` (UDP, a free port) answering CNAME queries from ``lookup``.

    Args:
        lookup: name (without the trailing dot) -> ``(value, ttl seconds)`` or ``None`` (NXDOMAIN).

    Use as a context manager; :attr:`port` is the port it listens on.
    """

    def __init__(self, lookup: Callable[[str], tuple[str, int] | None]) -> None:
        from dnslib.server import DNSLogger, DNSServer

        self.lookup = lookup
        self._server = DNSServer(self, port=0, address="127.0.0.1", logger=DNSLogger(logf=lambda line: None))
        self.port = int(self._server.server.server_address[1])

    def resolve(self, request, handler):  # noqa: ANN001, ANN201 - dnslib's resolver interface
        from dnslib import CNAME, QTYPE, RCODE, RR

        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        try:
            found = self.lookup(name)
        except Exception:  # noqa: BLE001 - the zone could not be read: SERVFAIL, as a resolver answers
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if found is None:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            value, ttl = found
            reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(value), ttl=ttl))
        return reply

    def __enter__(self) -> ZoneDNSServer:
        self._server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self._server.server.server_close()


class CachingResolver:
    """Resolve ``name`` (its CNAME target) through the DNS server at ``127.0.0.1:port``, caching for the TTL.

    Args:
        name: the name to resolve (the writer name).
        port: the DNS server's UDP port; timeout: seconds per query (default 1).

    Calling it returns the target (no trailing dot). Raises ``LookupError`` when the server answers no record and
    ``TimeoutError`` (``socket.timeout``) when it does not answer.
    """

    def __init__(self, name: str, port: int, *, host: str = "127.0.0.1", timeout: float = 1.0) -> None:
        self.name, self.port, self.host, self.timeout = name, port, host, timeout
        self._lock = threading.Lock()
        self._cached: tuple[str, float] | None = None
        self.queries = 0

    def __call__(self) -> str:
        from dnslib import QTYPE, DNSRecord

        with self._lock:
            if self._cached and time.monotonic() < self._cached[1]:
                return self._cached[0]
            self.queries += 1
            answer = DNSRecord.parse(DNSRecord.question(self.name, "CNAME").send(self.host, self.port,
                                                                                  timeout=self.timeout))
            records = [rr for rr in answer.rr if rr.rtype == QTYPE.CNAME]
            if not records:
                raise LookupError(f"{self.name}: no CNAME record (rcode {answer.header.rcode})")
            value = str(records[0].rdata).rstrip(".")
            self._cached = (value, time.monotonic() + records[0].ttl)
            return value
