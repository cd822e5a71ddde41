/**
 * Migrations 003 and 004 (registered in migrations.ts, which passes the global append lock in): `es_append_many`
 * with set-based stream bookkeeping. Same signature, same results, same errors as migration 002's, which handled its
 * streams one by one in a PL/pgSQL loop (a `SELECT … FOR UPDATE`, then an `INSERT` per new stream: ~20–40 µs
 * per stream, i.e. per imported contact; bench/README.md `import`).
 *
 * Now, whatever the number of streams:
 * 1. ONE `INSERT … ON CONFLICT DO NOTHING RETURNING` creates the streams that do not exist yet, already at their
 *    final revision (any conflict below rolls the whole call back, so no half-created stream is ever visible).
 * 2. Only if some streams existed: ONE `SELECT … ORDER BY stream_id FOR UPDATE` locks them, then ONE query reads
 *    their revisions and finds the first conflict.
 * 3. The expected-revision check is one query; the first conflicting stream in stream-id order is reported, as
 *    before (ES409, DETAIL '<index>:<actual revision or no_stream>'), and nothing is written.
 *
 * No deadlocks between concurrent calls: step 1 inserts in stream-id order and waits only for in-progress
 * inserts of the same ids (never for row locks); step 2 locks in stream-id order and only rows that were
 * committed before step 1, which no one can still be inserting. A stream created concurrently between the two
 * (its creator committed while step 1 waited) is locked in step 2 and checked like any existing stream: a
 * conflict unless 'any', as in migration 002.
 */

/**
 * When an event id that is already stored is found (ES400, DETAIL '<event index>'):
 * - 'checked_first' (migration 003): a lookup of every id before anything else, ~5–15% of the call (2,000 index
 *   probes per import batch; measured with auto_explain and the backend's CPU time).
 * - 'on_violation' (migration 004): the insert itself finds it (es_events' unique id index is probed anyway); only
 *   then are the ids looked up, to name the first stored one. The insert runs in a subtransaction for that (one
 *   per call). A call that also has an expected-revision conflict now reports the conflict (ES409) first.
 */
export type StoredIdCheck = 'checked_first' | 'on_violation';

const STORED_ID_CHECK = `  SELECT u.k INTO v_existing FROM unnest(p_ids) WITH ORDINALITY AS u(id, k) JOIN es_events e ON e.id = u.id ORDER BY u.k LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'ES400', MESSAGE = 'event id ' || p_ids[v_existing] || ' is already stored', DETAIL = (v_existing - 1)::text;
  END IF;
`;

const INSERT_EVENTS = `  INSERT INTO es_events (position, id, stream_id, revision, type, data, metadata, recorded_at)
  SELECT v_last_position + u.k, u.id, p_stream_ids[u.sidx], v_current[u.sidx] + u.ord, u.type, u.data, u.metadata, v_now
    FROM ROWS FROM (unnest(p_ids), unnest(p_types), jsonb_array_elements(p_data), jsonb_array_elements(p_metadata),
                    unnest(p_stream_index), unnest(p_ordinal))
         WITH ORDINALITY AS u(id, type, data, metadata, sidx, ord, k);
`;

// Positions are allocated under the global lock and revisions under the stream locks, so a unique violation here
// is a stored (or repeated) event id; a repeated id that is not stored is re-raised as PostgreSQL reported it.
const INSERT_EVENTS_OR_NAME_STORED_ID = `  BEGIN
  ${INSERT_EVENTS.trim()}
  EXCEPTION WHEN unique_violation THEN
  ${STORED_ID_CHECK.trim()}
    RAISE;
  END;
`;

/** The function's text; migration 003's is `'checked_first'` (unchanged since it was applied), 004's `'on_violation'`. */
export const setBasedAppendManyFunction = (appendLock: number, storedIds: StoredIdCheck): string => `
CREATE OR REPLACE FUNCTION es_append_many(
  p_stream_ids text[], p_expected text[], p_counts int[],
  p_ids uuid[], p_types text[], p_data jsonb, p_metadata jsonb, p_stream_index int[], p_ordinal int[]
) RETURNS TABLE (first_position bigint, revisions_before bigint[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_streams int := array_length(p_stream_ids, 1);
  v_created text[];
  v_existed boolean[];
  v_current bigint[];
  v_conflict text;
  v_existing int;
  v_last_position bigint;
  v_now timestamptz;
BEGIN
${storedIds === 'checked_first' ? STORED_ID_CHECK : ''}
  WITH created AS (
    INSERT INTO es_streams (stream_id, revision)
    SELECT u.sid, u.cnt - 1 FROM unnest(p_stream_ids, p_counts) AS u(sid, cnt) ORDER BY u.sid
    ON CONFLICT DO NOTHING
    RETURNING stream_id
  )
  SELECT array_agg(stream_id) INTO v_created FROM created;

  IF coalesce(array_length(v_created, 1), 0) = v_streams THEN
    -- Every stream is new (a bulk import of new contacts): only 'any' and 'no_stream' are satisfied.
    v_current := array_fill(-1::bigint, ARRAY[v_streams]);
    SELECT (u.i - 1) || ':no_stream' INTO v_conflict
      FROM unnest(p_stream_ids, p_expected) WITH ORDINALITY AS u(sid, exp, i)
     WHERE u.exp NOT IN ('any', 'no_stream') ORDER BY u.sid LIMIT 1;
  ELSE
    PERFORM FROM es_streams s
      WHERE s.stream_id = ANY(p_stream_ids) AND s.stream_id NOT IN (SELECT unnest(v_created))
      ORDER BY s.stream_id FOR UPDATE;
    SELECT array_agg(coalesce(s.revision, -1) ORDER BY u.i),
           array_agg(s.stream_id IS NOT NULL ORDER BY u.i),
           (array_agg((u.i - 1) || ':' || coalesce(s.revision::text, 'no_stream') ORDER BY u.sid) FILTER (WHERE CASE
              WHEN s.stream_id IS NULL THEN u.exp NOT IN ('any', 'no_stream')
              WHEN u.exp IN ('any', 'stream_exists') THEN false
              WHEN u.exp = 'no_stream' THEN true
              ELSE u.exp::bigint <> s.revision
            END))[1]
      INTO v_current, v_existed, v_conflict
      FROM unnest(p_stream_ids, p_expected) WITH ORDINALITY AS u(sid, exp, i)
      LEFT JOIN es_streams s ON s.stream_id = u.sid AND s.stream_id NOT IN (SELECT unnest(v_created));
  END IF;
  IF v_conflict IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'ES409', MESSAGE = 'wrong expected revision', DETAIL = v_conflict;
  END IF;

  PERFORM pg_advisory_xact_lock(${appendLock});
  v_now := clock_timestamp();
  SELECT coalesce(max(e.position), 0) INTO v_last_position FROM es_events e;

${storedIds === 'checked_first' ? INSERT_EVENTS : INSERT_EVENTS_OR_NAME_STORED_ID}
  -- The new streams were created at their final revision; only the ones that existed move on.
  IF v_existed IS NOT NULL THEN
    UPDATE es_streams s SET revision = v.cur + v.cnt, updated_at = v_now
      FROM unnest(p_stream_ids, v_current, p_counts, v_existed) AS v(sid, cur, cnt, existed)
     WHERE v.existed AND s.stream_id = v.sid;
  END IF;
  PERFORM pg_notify('es_appended', (v_last_position + array_length(p_ids, 1))::text);
  first_position := v_last_position + 1;
  revisions_before := v_current;
  RETURN NEXT;
END
$fn$`;
