-- A device's inventory and its search words leave the devices row for a table of their own.
-- A Windows workstation's inventory is about 30 KB: in the devices row it sat before the columns
-- every check-in writes (last_seen_at, status, live), so each check-in rewrote the whole record with
-- its overflow pages on SQLite, and every list of devices read the inventory to reach the status.
CREATE TABLE device_inventories (
    device_id BIGINT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    inventory TEXT NOT NULL,                  -- latest inventory, JSON
    search TEXT NOT NULL DEFAULT ''           -- lower-case words from it for the device search
);
CREATE INDEX device_inventories_tenant ON device_inventories (tenant_id);
INSERT INTO device_inventories (device_id, tenant_id, inventory, search)
SELECT id, tenant_id, inventory, search FROM devices WHERE inventory <> '{}' OR search <> '';
ALTER TABLE devices DROP COLUMN inventory;
ALTER TABLE devices DROP COLUMN search;
