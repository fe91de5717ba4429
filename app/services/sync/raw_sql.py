"""The raw layer's upsert as SQL both write paths share (`raw_records`, the row path, and
`raw_records_postgres`, the bulk path): the columns written, and when a stored record gives
way to the one read: never to an older version, and only when its payload or deletion
changed, so an unchanged re-read writes nothing."""

COLUMNS = (
    "connection_id, stream, external_id, modified_at, deleted, payload, payload_hash, synced_at"
)
ON_CONFLICT = """
ON CONFLICT (connection_id, stream, external_id) DO UPDATE SET
    modified_at = excluded.modified_at,
    deleted = excluded.deleted,
    payload = excluded.payload,
    payload_hash = excluded.payload_hash,
    synced_at = excluded.synced_at
WHERE excluded.modified_at >= raw_records.modified_at
  AND (excluded.payload_hash <> raw_records.payload_hash OR excluded.deleted <> raw_records.deleted)
"""
