-- Failed sign-ins older than a day are pruned on each failure: an index on the time keeps that prune from
-- scanning every row (a flood under ever new names adds one row per name).
CREATE INDEX IF NOT EXISTS sign_in_failures_last_failure ON sign_in_failures (last_failure);
