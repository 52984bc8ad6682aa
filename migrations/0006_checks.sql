-- Checks: what to watch on devices, where it applies, and what it found.
-- A check is defined at one scope (tenant, organization, site, group or device) and applies to
-- every device in that scope except the excluded ones.
CREATE TABLE checks (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    scope_kind TEXT NOT NULL,                 -- tenant, organization, site, group, device
    scope_id BIGINT,                          -- NULL for the tenant scope
    organization_id BIGINT,                   -- the organization the scope lies in (NULL: tenant or group scope)
    name TEXT NOT NULL,
    kind TEXT NOT NULL,                       -- metric, cpu, memory, disk, agent_offline, process, service, ping, tcp, http, script
    run_from TEXT NOT NULL DEFAULT 'appliance', -- appliance (server-evaluated or probed) or agent
    params TEXT NOT NULL DEFAULT '{}',        -- JSON, validated per kind
    severity TEXT NOT NULL DEFAULT 'warning', -- info, warning, critical
    interval_seconds INTEGER NOT NULL DEFAULT 60,
    fail_after INTEGER NOT NULL DEFAULT 1,    -- consecutive failed runs before the state turns failing
    recover_after INTEGER NOT NULL DEFAULT 1, -- consecutive passed runs before it turns passing again
    enabled INTEGER NOT NULL DEFAULT 1,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX checks_tenant ON checks (tenant_id, scope_kind, scope_id);

CREATE TABLE check_exclusions (
    check_id BIGINT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (check_id, device_id)
);

-- Where each (check, device) stands: the state machine's memory between evaluations.
CREATE TABLE check_states (
    check_id BIGINT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'unknown',    -- passing, warning, failing, unknown
    fails INTEGER NOT NULL DEFAULT 0,         -- consecutive non-passing observations
    passes INTEGER NOT NULL DEFAULT 0,        -- consecutive passing observations
    breach_since {{float}},                   -- metric checks: sample time the value first crossed the threshold
    last_ts {{float}} NOT NULL DEFAULT 0,     -- newest observation applied (makes re-reading samples harmless)
    last_value {{float}},
    message TEXT NOT NULL DEFAULT '',
    last_run_at BIGINT,
    last_recorded_at BIGINT NOT NULL DEFAULT 0,
    changed_at BIGINT,
    PRIMARY KEY (check_id, device_id)
);
CREATE INDEX check_states_device ON check_states (tenant_id, device_id);

-- History, bounded by check_results_days (purged hourly).
CREATE TABLE check_results (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    check_id BIGINT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    ts {{float}} NOT NULL,
    status TEXT NOT NULL,                     -- pass, warn, fail, error
    state TEXT NOT NULL,                      -- the state after this result
    value {{float}},
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX check_results_check ON check_results (check_id, device_id, ts);
CREATE INDEX check_results_ts ON check_results (ts);

-- Results of agent-side checks as they arrive in check-ins, until the evaluator applies them.
CREATE TABLE check_reports (
    id {{monotonic_id}},
    tenant_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL,
    check_id BIGINT NOT NULL,
    ts {{float}} NOT NULL,
    status TEXT NOT NULL,
    value {{float}},
    message TEXT NOT NULL DEFAULT ''
);
