-- Applies across several servers on one database.
--
-- `apply_locks`: one run per plan and target at a time. The row says which run holds a state key's lock (and who
-- started it). On PostgreSQL the lock itself is an advisory lock held by the run's own database connection, so
-- it ends with the server that holds it, even one killed mid-run; the row is then stale and the next run
-- overwrites it. On SQLite (one server per file) the row is the lock, and `peerplan serve` clears the rows left by
-- a previous run of the server when it starts.
CREATE TABLE apply_locks (
    state TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    taken_at BIGINT NOT NULL
);

-- The two-person rule (`peerplan serve --require-review`): an applier's approval of one version of a plan on one
-- target. A run needs an approval by someone other than the person who starts it.
CREATE TABLE apply_approvals (
    plan_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    target TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    role TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    PRIMARY KEY (plan_id, version, target, approved_by)
);
