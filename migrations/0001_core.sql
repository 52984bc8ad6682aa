-- Appliance-wide key/value facts (installation id, first-run state, ...).
CREATE TABLE appliance_facts (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
