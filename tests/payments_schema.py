"""The payment schema the cutover tests load on real PostgreSQL: payments, refunds, composite-key ledger entries and
an unkeyed audit table, covering numeric, timestamptz, nullable text, unicode, bytea, jsonb, uuid, enum, char(n) and
arrays. Data is generated inside PostgreSQL (``generate_series``), the same on both sides."""

from __future__ import annotations

SCHEMA = """
CREATE TYPE payment_status AS ENUM ('pending', 'captured', 'refunded', 'failed');
CREATE TABLE payments (
    id bigint PRIMARY KEY,
    merchant_id uuid NOT NULL,
    amount numeric(12, 2) NOT NULL,
    fee numeric,
    currency char(3) NOT NULL,
    status payment_status NOT NULL,
    created_at timestamptz NOT NULL,
    memo text,
    card_fingerprint bytea,
    metadata jsonb,
    tags text[]
);
CREATE SEQUENCE refunds_id_seq;
CREATE TABLE refunds (
    id integer PRIMARY KEY DEFAULT nextval('refunds_id_seq'),
    payment_id bigint NOT NULL REFERENCES payments (id),
    amount numeric(12, 2) NOT NULL,
    reason varchar(200),
    refunded_at timestamptz NOT NULL
);
CREATE TABLE ledger_entries (
    payment_id bigint NOT NULL,
    line_no smallint NOT NULL,
    account text NOT NULL,
    debit numeric(14, 2),
    credit numeric(14, 2),
    PRIMARY KEY (payment_id, line_no)
);
CREATE TABLE audit_log (
    at timestamptz NOT NULL,
    actor text,
    action text NOT NULL,
    detail jsonb
);
"""

def data(payments: int = 3000) -> str:
    """INSERTs of ``payments`` payments, a refund for every 10th, two ledger lines each, audit rows (with two
    identical ones: duplicates count)."""
    return f"""
INSERT INTO payments
SELECT g, md5('m' || g % 97)::uuid, round((g * 7.31) % 10000, 2), CASE WHEN g % 5 = 0 THEN NULL ELSE g % 3 + 0.5 END,
       (ARRAY['EUR', 'USD', 'GBP'])[g % 3 + 1], (ARRAY['pending', 'captured', 'refunded', 'failed'])[g % 4 + 1]::payment_status,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '37 seconds 123456 microseconds',
       CASE WHEN g % 7 = 0 THEN NULL WHEN g % 7 = 1 THEN '' WHEN g % 7 = 2 THEN 'Zahlung für Café ☕ ' || g ELSE 'memo ' || g END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
       jsonb_build_object('order', g, 'channel', CASE WHEN g % 2 = 0 THEN 'web' ELSE 'pos' END),
       CASE WHEN g % 6 = 0 THEN NULL ELSE ARRAY['t' || g % 5, 'x'] END
FROM generate_series(1, {payments}) g;
INSERT INTO refunds (payment_id, amount, reason, refunded_at)
SELECT g, round((g * 7.31) % 10000, 2) / 2, CASE WHEN g % 20 = 0 THEN NULL ELSE 'customer request' END,
       timestamptz '2024-02-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(10, {payments}, 10) g;
INSERT INTO ledger_entries
SELECT p, l, CASE l WHEN 1 THEN 'receivable' ELSE 'revenue' END, CASE l WHEN 1 THEN p * 1.5 END, CASE l WHEN 2 THEN p * 1.5 END
FROM generate_series(1, {payments}) p, generate_series(1, 2) l;
INSERT INTO audit_log
SELECT timestamptz '2024-03-01 00:00:00+00' + g * interval '1 second', 'user' || g % 9, 'update', jsonb_build_object('n', g)
FROM generate_series(1, {payments} / 2) g;
INSERT INTO audit_log VALUES ('2024-04-01 00:00:00+00', 'ops', 'login', NULL), ('2024-04-01 00:00:00+00', 'ops', 'login', NULL);
ANALYZE;
"""
