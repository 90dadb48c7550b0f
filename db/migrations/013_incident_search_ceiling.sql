-- Up Migration
-- An incident's note search text had no ceiling: each note was appended to notes_search, and past about 1 MB of
-- notes Postgres refused every further note and description edit (54000, string is too long for tsvector). What
-- is indexed of the notes is now the newest 64 KiB of their text (newest first), recomputed on each note, so an
-- incident stays writable however long its notes grow. 64 Ki characters stay under the tsvector limit even at
-- four bytes a character with the description's vector beside them.
CREATE FUNCTION incident_notes_search(p_tenant text, p_incident text) RETURNS tsvector
LANGUAGE sql STABLE AS $$
  SELECT setweight(to_tsvector('english', left(coalesce(string_agg(body, ' ' ORDER BY created_at DESC, id DESC), ''), 65536)), 'C')
    FROM (
      SELECT body, created_at, id,
             sum(length(body) + 1) OVER (ORDER BY created_at DESC, id DESC) - length(body) - 1 AS before
        FROM incident_notes
       WHERE tenant_id = p_tenant AND incident_id = p_incident
    ) newest
   WHERE before < 65536
$$;

-- Incidents whose notes already outgrew that are indexed the new way (the others match it up to the order of notes).
UPDATE incidents SET notes_search = incident_notes_search(tenant_id, id) WHERE pg_column_size(notes_search) > 65536;

-- Down Migration
DROP FUNCTION incident_notes_search(text, text);
