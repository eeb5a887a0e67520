extension OutboxSchema {
    /// Version 2: INSERTs are captured once per statement.
    ///
    /// A row trigger that writes a second row costs several microseconds per
    /// row, which made a bulk `INSERT … SELECT` five times slower. An AFTER
    /// STATEMENT trigger with a transition table (`pgk_inserted`) enqueues a
    /// whole statement's INSERT events with one `INSERT … SELECT`; COPY fires
    /// it too.
    ///
    /// Why commit order still holds: the statement trigger runs after every
    /// row of its statement was written, so its id draws (from the same
    /// CACHE 1 sequence) come after any wait the statement had for a row or
    /// key lock, exactly like the row trigger's draws, which also ran at the
    /// end of the statement. Whoever writes one of those rows next can only
    /// see it once this transaction committed, so it draws a higher id.
    ///
    /// What stays per row, and why:
    /// - UPDATE: transition tables carry no documented order, so old and new
    ///   rows cannot be paired without a key, and the diff needs the pair.
    /// - DELETE: an AFTER STATEMENT event is queued when its statement node
    ///   finishes, after row events queued meanwhile. In one statement that
    ///   deletes a key in a writable CTE while an UPDATE moves another row
    ///   onto that key, the DELETE would be queued after the UPDATE's INSERT
    ///   and a consumer would lose the key. (INSERT has no such case: a key
    ///   must leave before a new row can take it, and a row-level leave is
    ///   queued at once.)
    ///
    /// One visible difference: the application's own AFTER INSERT triggers
    /// now all run before the INSERT events are queued (a row trigger ran
    /// before or after them by name). If one of them changes the rows just
    /// inserted, its UPDATE event precedes the INSERT; setup warns about
    /// such triggers.
    ///
    /// Where INSERT stays per row:
    /// - Partitioned tables and partitions: a statement trigger fires only
    ///   for statements naming its table, so rows routed through the parent
    ///   (or written straight into a partition) would be missed.
    /// - Inheritance children: PostgreSQL does not allow the guard below.
    ///
    /// The guard: a table captured per statement must not silently become a
    /// partition or an inheritance child (inserts through the parent would
    /// then bypass its statement trigger). PostgreSQL refuses ATTACH
    /// PARTITION and INHERIT for tables that have a ROW trigger with a
    /// transition table, so pgk adds one that never fires (`WHEN (false)`).
    ///
    /// `pgk.outbox_attach_capture(relid)` (re)creates a registered table's
    /// triggers from its registration, choosing the mode; setup calls it,
    /// and this migration calls it for every table already set up, inside
    /// the migration's transaction, so no write goes uncaptured meanwhile.
    static let version2 = """
        CREATE FUNCTION pgk.outbox_capture_inserts() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
        BEGIN
            -- OFFSET 0 keeps the planner from computing row_to_json twice per row.
            -- n.* (not n) is the whole row even when a column is named n.
            INSERT INTO pgk.outbox_events (schema_name, table_name, statement, external_id, data)
            SELECT TG_ARGV[1], TG_ARGV[2], 'INSERT', r.data ->> TG_ARGV[0], r.data
              FROM (SELECT row_to_json(n.*) AS data FROM pgk_inserted n OFFSET 0) r;
            IF FOUND THEN
                PERFORM pg_notify('pgk_outbox', '');
            END IF;
            RETURN NULL;
        END
        $body$;

        CREATE FUNCTION pgk.outbox_attach_capture(target oid) RETURNS text
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
        DECLARE
            registration pgk.outbox_tables;
            per_statement boolean;
            args text;
            name text;
        BEGIN
            SELECT * INTO STRICT registration FROM pgk.outbox_tables WHERE relid = target;
            SELECT c.relkind = 'r' AND NOT c.relispartition
                   AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
              INTO STRICT per_statement FROM pg_class c WHERE c.oid = target;
            args := format('%L, %L, %L', registration.id_column, registration.schema_name, registration.table_name);
            FOREACH name IN ARRAY ARRAY['pgk_outbox_capture', 'pgk_outbox_capture_insert',
                                        'pgk_outbox_partition_guard', 'pgk_outbox_truncate'] LOOP
                EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', name, target::regclass);
            END LOOP;
            IF per_statement THEN
                EXECUTE format('CREATE TRIGGER pgk_outbox_capture_insert AFTER INSERT ON %s '
                               'REFERENCING NEW TABLE AS pgk_inserted FOR EACH STATEMENT '
                               'EXECUTE FUNCTION pgk.outbox_capture_inserts(%s)', target::regclass, args);
                -- Never fires; only its transition table matters (see above).
                EXECUTE format('CREATE TRIGGER pgk_outbox_partition_guard AFTER INSERT ON %s '
                               'REFERENCING NEW TABLE AS pgk_guard FOR EACH ROW WHEN (false) '
                               'EXECUTE FUNCTION pgk.outbox_capture_inserts()', target::regclass);
                EXECUTE format('CREATE TRIGGER pgk_outbox_capture AFTER UPDATE OR DELETE ON %s '
                               'FOR EACH ROW EXECUTE FUNCTION pgk.outbox_capture(%s)', target::regclass, args);
            ELSE
                EXECUTE format('CREATE TRIGGER pgk_outbox_capture AFTER INSERT OR UPDATE OR DELETE ON %s '
                               'FOR EACH ROW EXECUTE FUNCTION pgk.outbox_capture(%s)', target::regclass, args);
            END IF;
            EXECUTE format('CREATE TRIGGER pgk_outbox_truncate AFTER TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION pgk.outbox_capture_truncate(%s)',
                           target::regclass, args);
            RETURN CASE WHEN per_statement THEN 'statement' ELSE 'row' END;
        END
        $body$;

        REVOKE ALL ON FUNCTION pgk.outbox_capture_inserts() FROM PUBLIC;
        REVOKE ALL ON FUNCTION pgk.outbox_attach_capture(oid) FROM PUBLIC;

        SELECT pgk.outbox_attach_capture(r.relid)
          FROM pgk.outbox_tables r
         WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid)
         ORDER BY r.relid;
        """
}
