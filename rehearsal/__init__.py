"""The local rehearsal of the whole migration (``make rehearsal``) and what it shares with ``bench/freeze``:
two real PostgreSQL servers with the payment schema (:mod:`rehearsal.databases`) and a payment workload that
writes through the writer name (:mod:`rehearsal.workload`)."""
