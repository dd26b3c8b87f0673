-- The audit trail: append-only, hash-chained. Each entry carries the hash of the one before (`prev_hash`) and its
-- own (`hash`, SHA-256 over the canonical encoding of its fields and `prev_hash`; see store/audit.rs). `audit_head`
-- is the chain's head, one row: appends lock it (PostgreSQL: SELECT … FOR UPDATE; SQLite: the write
-- transaction), so two servers on one database keep one unbroken chain; verification also checks that the last
-- entry is the head (an entry cut off the end is found).
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    version BIGINT,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX audit_by_actor ON audit (actor, seq);
CREATE INDEX audit_by_object ON audit (object, seq);
CREATE INDEX audit_by_action ON audit (action, seq);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
