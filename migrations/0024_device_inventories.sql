-- A device's inventory and its search words leave the devices row for a table of their own.
-- A Windows workstation's inventory is about 30 KB: in the devices row it sat before the columns
-- every check-in writes (last_seen_at, status, live), so each check-in rewrote the whole record with
-- its overflow pages on SQLite, and every list of devices read the inventory to reach the status.
-- The search words come first: on SQLite a column stored after a large one is read through its
-- overflow pages.
CREATE TABLE device_inventories (
    device_id BIGINT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    search TEXT NOT NULL DEFAULT '',          -- lower-case words from the inventory for the device search
    inventory TEXT NOT NULL                   -- latest inventory, JSON
);
CREATE INDEX device_inventories_tenant ON device_inventories (tenant_id);
INSERT INTO device_inventories (device_id, tenant_id, search, inventory)
SELECT id, tenant_id, search, inventory FROM devices WHERE inventory <> '{}' OR search <> '';
ALTER TABLE devices DROP COLUMN inventory;
ALTER TABLE devices DROP COLUMN search;

-- Batch claims belong to their agent: a deleted agent's claims go with it (on SQLite a new agent may get
-- the id of a deleted one, and its first batches were taken for resends). Only each agent's last 100 claims
-- come across: the gateway now keeps no more than that (agents/store.py, RESEND_WINDOW).
CREATE TABLE agent_batch_claims (
    agent_id BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, seq)
);
INSERT INTO agent_batch_claims (agent_id, seq, received_at)
SELECT b.agent_id, b.seq, b.received_at
FROM agent_batches b JOIN (SELECT agent_id, max(seq) AS top FROM agent_batches GROUP BY agent_id) m
  ON m.agent_id = b.agent_id
WHERE b.seq > m.top - 100 AND b.agent_id IN (SELECT id FROM agents);
DROP TABLE agent_batches;
ALTER TABLE agent_batch_claims RENAME TO agent_batches;
