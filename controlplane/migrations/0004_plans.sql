-- Peerplan's saved plans (the planner's storage), beside the control plane's tables: each save is a new
-- version, so any earlier state can be restored.
CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    vpc_count BIGINT NOT NULL,
    peering_count BIGINT NOT NULL,
    -- JSON array of the import's diagnostics (AWS import), shown with the plan.
    import_diagnostics TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE plan_versions (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (plan_id, version)
);
