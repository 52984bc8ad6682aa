-- Hot metric samples, one row per check-in instead of one per value (docs/performance.md): the
-- `samples` JSON holds the batch by series, see ninjait/monitoring/hot.py. The mover expands the rows
-- into DuckDB's metrics_raw, which keeps one row per value.
CREATE TABLE hot_sample_batches (
    id {{monotonic_id}},
    tenant_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL,
    ts_min {{float}} NOT NULL,
    ts_max {{float}} NOT NULL,
    received_at BIGINT NOT NULL DEFAULT 0,  -- server time; lets the mover wait out slow commits on PostgreSQL
    samples TEXT NOT NULL
);
CREATE INDEX hot_sample_batches_device ON hot_sample_batches (device_id);

-- Rows not moved yet come across one each under their own id, and the numbering continues past the
-- old table's: DuckDB's watermark (the highest moved hot id) keeps its meaning, so rows already in
-- DuckDB (a crash between its commit and the hot delete) are deleted by the next move, not moved twice,
-- and no new id falls at or below the watermark. The old table holds about a minute of samples.
-- if sqlite
INSERT INTO hot_sample_batches (id, tenant_id, device_id, ts_min, ts_max, received_at, samples)
SELECT id, tenant_id, device_id, ts, ts, received_at,
       json_object('t', json_array(ts), 's', json_array(json_array(metric, instance, json_array(value))))
FROM metric_samples;
DELETE FROM sqlite_sequence WHERE name = 'hot_sample_batches';
INSERT INTO sqlite_sequence (name, seq) SELECT 'hot_sample_batches', seq FROM sqlite_sequence WHERE name = 'metric_samples';
-- end
-- if postgresql
INSERT INTO hot_sample_batches (id, tenant_id, device_id, ts_min, ts_max, received_at, samples)
OVERRIDING SYSTEM VALUE
SELECT id, tenant_id, device_id, ts, ts, received_at,
       json_build_object('t', json_build_array(ts),
                         's', json_build_array(json_build_array(metric, instance, json_build_array(value))))::text
FROM metric_samples;
SELECT setval(pg_get_serial_sequence('hot_sample_batches', 'id'),
              COALESCE(pg_sequence_last_value(pg_get_serial_sequence('metric_samples', 'id')::regclass), 0) + 1,
              false);
-- end

DROP TABLE metric_samples;
