-- No lost edits (team mode): who saved each plan version — the user a save that is refused as a conflict names —
-- and who has a plan open in the planner.
-- Versions saved before this was recorded were all saved by the single user of that time, `local`.
ALTER TABLE plan_versions ADD COLUMN saved_by TEXT NOT NULL DEFAULT 'local';

-- One row per browser tab with a plan open: a heartbeat every ~15 s sets `last_seen` (Unix ms); rows older than
-- the presence window (~45 s) are pruned by the heartbeats themselves. Keyed by user and tab, so one user's tab id
-- never replaces another's row. Shared by every server on one database.
CREATE TABLE plan_presence (
    plan_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    tab TEXT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (plan_id, user_name, tab)
);

CREATE INDEX plan_presence_by_time ON plan_presence (last_seen);
