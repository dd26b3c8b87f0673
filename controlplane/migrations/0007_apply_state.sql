-- The apply engine's state for applies started in the planner (the CLI keeps the same in its data folder):
-- per state key (one plan on one target), the journal's lines in order, and named documents (the bindings,
-- the learnt account ids, the last applied plan).
CREATE TABLE apply_journal (
    state TEXT NOT NULL,
    seq BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (state, seq)
);

CREATE TABLE apply_documents (
    state TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (state, name)
);
