/// pg_temp.kpattern(java, parsing): a Java DateTimeFormatter pattern as a
/// PostgreSQL template, for patterns that come from a column and so are
/// known only per row. It reads the pattern as
/// TemporalFunctions.postgresPattern does, and takes its letters from that
/// function's own table, so the two cannot drift apart. An unsupported
/// letter (or a zone name read as text: a column's pattern is not split
/// as a literal one is, see TemporalFunctions.zoneNameStripped) raises a data exception (22007),
/// which makes that record a dead letter.
extension SessionFunctions {
    /// (letter, run, template) for every letter run postgresPattern converts,
    /// found by asking it about every letter (no second list to keep in step).
    static var letterRows: [(Character, Int, String)] {
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz").flatMap { letter in
            (1...9).compactMap { run in TemporalFunctions.template(for: letter, run: run).map { (letter, run, $0) } }
        }
    }

    static var patternScript: String {
        // The rows are constants of this file's own making, not user input.
        let rows = letterRows.map { letter, run, template in
            "('\(letter)', \(run), '\(template.replacingOccurrences(of: "'", with: "''"))')"
        }.joined(separator: ", ")
        return """
            CREATE FUNCTION pg_temp.kpattern(java text, parsing boolean) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $kpattern$
            DECLARE converted text := ''; i int := 1; n int := length(java); c text; len int; quoted text; template text;
            BEGIN
              WHILE i <= n LOOP
                c := substr(java, i, 1);
                IF c = '''' THEN
                  quoted := ''; i := i + 1;
                  LOOP
                    IF i > n THEN RAISE EXCEPTION 'unterminated quote in the pattern ''%''', java USING ERRCODE = '22007'; END IF;
                    IF substr(java, i, 1) = '''' THEN
                      IF substr(java, i + 1, 1) = '''' THEN quoted := quoted || ''''; i := i + 2; CONTINUE; END IF;
                      EXIT;
                    END IF;
                    quoted := quoted || substr(java, i, 1); i := i + 1;
                  END LOOP;
                  i := i + 1;
                  converted := converted || CASE WHEN quoted = '' THEN '''' ELSE '"' || replace(quoted, '"', '\\"') || '"' END;
                  CONTINUE;
                END IF;
                len := 1;
                WHILE i + len <= n AND substr(java, i + len, 1) = c LOOP len := len + 1; END LOOP;
                i := i + len;
                IF c !~ '[[:alpha:]]' THEN
                  converted := converted || CASE WHEN c IN ('"', '\\') THEN repeat('\\' || c, len) ELSE repeat(c, len) END;
                  CONTINUE;
                END IF;
                IF parsing AND c = 'z' THEN
                  RAISE EXCEPTION 'the pattern letter ''%'' in ''%'' is not supported for reading text', repeat(c, len), java
                    USING ERRCODE = '22007';
                END IF;
                SELECT l.template INTO template FROM (VALUES \(rows)) AS l(letter, run, template) WHERE l.letter = c AND l.run = len;
                IF template IS NULL THEN
                  RAISE EXCEPTION 'the pattern letter ''%'' in ''%'' is not supported', repeat(c, len), java USING ERRCODE = '22007';
                END IF;
                converted := converted || template;
              END LOOP;
              RETURN converted;
            END $kpattern$;
            """
    }
}
