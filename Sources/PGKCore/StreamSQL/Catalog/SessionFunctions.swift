/// The session-local (pg_temp) aggregates and functions that translated
/// statements call, created by CatalogStore.prepareAggregates:
/// - pg_temp.ksum keeps ksqlDB's SUM types: a whole-number sum is a
///   BIGINT (PostgreSQL's sum widens bigint to numeric), so
///   SUM(x) / COUNT(*) divides whole numbers and an INT sum cannot overflow;
/// - pg_temp.klast, the last value in its ORDER BY, of any type
///   (LATEST_BY_OFFSET of an array, where array_agg would nest);
/// - pg_temp.kconcat, arrays concatenated (merging sessions' lists);
/// - pg_temp.kjsonraw and pg_temp.kjson, text as json or jsonb, NULL where it
///   is no JSON (EXTRACTJSONFIELD, JSON_*); like Jackson, they read a
///   first object or array and ignore what follows;
/// - pg_temp.kcube, CUBE_EXPLODE's combinations of an array's elements;
/// - pg_temp.kzone, a Java ZoneId (a region, `Z`, or an offset such as
///   `+0200` or `UTC-05:00`) as a zone PostgreSQL reads the same way: a
///   bare offset there is POSIX's, whose sign is the other way round;
/// - pg_temp.kformat, a time printed by a pattern as a wall clock in a
///   zone, whose abbreviation `TZ` prints too (the session's TimeZone is
///   set for the call, and back);
/// - pg_temp.kparse, text read by a pattern, NULL where it does not fit
///   (ksqlDB's PARSE_* functions give NULL there, not an error); the
///   text must print back the same, since PostgreSQL's to_timestamp
///   would read '2004' by 'yyyy-MM-dd' as 2004-01-01;
/// - pg_temp.kdouble, a DOUBLE as Java's Double.toString writes it
///   (1.0, 1.0E7, 1.0E-4), as ksqlDB turns one into a STRING;
/// - pg_temp.kparsez, text that ends with a zone name read by a pattern
///   without it, in that zone (Java's short names as their regions);
/// - pg_temp.khist, HISTOGRAM's counts per distinct string (at most
///   1000 strings, as ksqlDB keeps), and pg_temp.khist_merge, two of them
///   added up (the first's strings first);
/// - pg_temp.kurlencode and pg_temp.kurldecode, application/x-www-form-urlencoded
///   as Java's URLEncoder and URLDecoder write and read it (decoding
///   '+' only where asked: a URI's parts keep it).
enum SessionFunctions {
    static let script = """
        CREATE AGGREGATE pg_temp.ksum(integer) (SFUNC = int4_sum, STYPE = bigint);
        CREATE AGGREGATE pg_temp.ksum(bigint) (SFUNC = int8pl, STYPE = bigint);
        CREATE AGGREGATE pg_temp.ksum(double precision) (SFUNC = float8pl, STYPE = double precision);
        CREATE AGGREGATE pg_temp.ksum(numeric) (SFUNC = numeric_add, STYPE = numeric);
        CREATE FUNCTION pg_temp.klast_step(anyelement, anyelement) RETURNS anyelement LANGUAGE sql IMMUTABLE AS 'SELECT $2';
        CREATE AGGREGATE pg_temp.klast(anyelement) (SFUNC = pg_temp.klast_step, STYPE = anyelement);
        CREATE AGGREGATE pg_temp.kconcat(anycompatiblearray) (SFUNC = array_cat, STYPE = anycompatiblearray);
        CREATE FUNCTION pg_temp.kjsonraw(text) RETURNS json LANGUAGE plpgsql IMMUTABLE AS $kjson$
          DECLARE chars text[]; depth integer := 0; quoted boolean := false; escaped boolean := false;
          BEGIN RETURN CAST($1 AS json);
          EXCEPTION WHEN others THEN
            -- As Jackson reads it: the first object or array, whatever follows it.
            chars := string_to_array(ltrim($1, E' \t\r\n'), NULL);
            IF chars[1] IS NULL OR chars[1] NOT IN ('{', '[') THEN RETURN NULL; END IF;
            FOR i IN 1 .. cardinality(chars) LOOP
              IF quoted THEN
                IF escaped THEN escaped := false;
                ELSIF chars[i] = '\\' THEN escaped := true;
                ELSIF chars[i] = '"' THEN quoted := false; END IF;
              ELSIF chars[i] = '"' THEN quoted := true;
              ELSIF chars[i] IN ('{', '[') THEN depth := depth + 1;
              ELSIF chars[i] IN ('}', ']') THEN
                depth := depth - 1;
                IF depth = 0 THEN
                  BEGIN RETURN CAST(array_to_string(chars[1:i], '') AS json);
                  EXCEPTION WHEN others THEN RETURN NULL; END;
                END IF;
              END IF;
            END LOOP;
            RETURN NULL;
          END $kjson$;
        CREATE FUNCTION pg_temp.kjson(text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS
          'BEGIN RETURN CAST(pg_temp.kjsonraw($1) AS jsonb); EXCEPTION WHEN others THEN RETURN NULL; END';
        CREATE FUNCTION pg_temp.kcube(a anycompatiblearray) RETURNS SETOF anycompatiblearray LANGUAGE sql IMMUTABLE AS $kcube$
          SELECT ARRAY(SELECT CASE WHEN (m >> (n - i)) & 1 = 1 THEN a[i] END FROM generate_series(1, n) AS i ORDER BY i)
          FROM (SELECT cardinality(a) AS n) AS c, generate_series(0, (1 << cardinality(a)) - 1) AS m
          WHERE NOT EXISTS (SELECT 1 FROM generate_series(1, n) AS j WHERE (m >> (n - j)) & 1 = 1 AND a[j] IS NULL)
          ORDER BY m
          $kcube$;
        CREATE FUNCTION pg_temp.kzone(z text) RETURNS text LANGUAGE sql IMMUTABLE AS $kzone$
          SELECT CASE WHEN z = 'Z' THEN 'UTC' WHEN m IS NULL THEN z
                      ELSE 'UTC' || CASE m[1] WHEN '+' THEN '-' ELSE '+' END || m[2] || ':' || coalesce(m[3], '00') END
          FROM (SELECT regexp_match(z, '^(?:UTC|GMT|UT)?([+-])([0-9]{1,2}):?([0-9]{2})?$') AS m) AS p
          $kzone$;
        CREATE FUNCTION pg_temp.kformat(t timestamptz, pattern text, zone text) RETURNS text LANGUAGE plpgsql STABLE AS $kformat$
          DECLARE saved text := current_setting('TimeZone'); formatted text;
          BEGIN PERFORM set_config('TimeZone', zone, true); formatted := to_char(t, pattern);
                PERFORM set_config('TimeZone', saved, true); RETURN formatted; END
          $kformat$;
        CREATE FUNCTION pg_temp.kdouble(d float8) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $kdouble$
          DECLARE t text; m text; digits text; e int := 0; sign text := '';
          BEGIN
            IF d IS NULL OR d = 'NaN'::float8 OR d = 'Infinity'::float8 OR d = '-Infinity'::float8 THEN RETURN d::text; END IF;
            t := d::text;
            IF left(t, 1) = '-' THEN sign := '-'; t := substr(t, 2); END IF;
            m := split_part(t, 'e', 1);
            IF position('e' in t) > 0 THEN e := split_part(t, 'e', 2)::int; END IF;
            -- The value is 0.<digits> times ten to the e.
            e := e + CASE WHEN position('.' in m) > 0 THEN position('.' in m) - 1 ELSE length(m) END;
            digits := replace(m, '.', '');
            e := e - (length(digits) - length(ltrim(digits, '0')));
            digits := rtrim(ltrim(digits, '0'), '0');
            IF digits = '' THEN RETURN sign || '0.0'; END IF;
            IF abs(d) >= 1e-3 AND abs(d) < 1e7 THEN
              IF e <= 0 THEN RETURN sign || '0.' || repeat('0', -e) || digits; END IF;
              RETURN sign || rpad(left(digits, e), e, '0') || '.' || coalesce(nullif(substr(digits, e + 1), ''), '0');
            END IF;
            RETURN sign || left(digits, 1) || '.' || coalesce(nullif(substr(digits, 2), ''), '0') || 'E' || (e - 1);
          END $kdouble$;
        CREATE FUNCTION pg_temp.kparse(text, text) RETURNS timestamptz LANGUAGE plpgsql STABLE AS
          'DECLARE t timestamptz; BEGIN t := to_timestamp($1, $2);
           IF upper(to_char(t, $2)) <> upper($1) THEN RETURN NULL; END IF; RETURN t;
           EXCEPTION WHEN others THEN RETURN NULL; END';
        CREATE FUNCTION pg_temp.kparsez(t text, pattern text, overridden text DEFAULT NULL) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $kparsez$
          DECLARE zone text := substring(t from '(\\S+)$'); local timestamptz;
          BEGIN
            local := pg_temp.kparse(left(t, length(t) - length(zone)), pattern);
            RETURN local::timestamp AT TIME ZONE CASE upper(zone)
              WHEN 'PST' THEN 'America/Los_Angeles' WHEN 'PDT' THEN 'America/Los_Angeles' WHEN 'PT' THEN 'America/Los_Angeles'
              WHEN 'MST' THEN 'America/Denver' WHEN 'MDT' THEN 'America/Denver' WHEN 'MT' THEN 'America/Denver'
              WHEN 'CST' THEN 'America/Chicago' WHEN 'CDT' THEN 'America/Chicago' WHEN 'CT' THEN 'America/Chicago'
              WHEN 'EST' THEN 'America/New_York' WHEN 'EDT' THEN 'America/New_York' WHEN 'ET' THEN 'America/New_York'
              WHEN 'AKST' THEN 'America/Anchorage' WHEN 'AKDT' THEN 'America/Anchorage' WHEN 'HST' THEN 'Pacific/Honolulu'
              WHEN 'BST' THEN 'Europe/London' WHEN 'IST' THEN 'Asia/Kolkata' WHEN 'JST' THEN 'Asia/Tokyo'
              WHEN 'GMT' THEN 'UTC' WHEN 'UT' THEN 'UTC' ELSE pg_temp.kzone(zone) END;
          EXCEPTION WHEN others THEN RETURN NULL;
          END $kparsez$;
        CREATE FUNCTION pg_temp.khist_step(state jsonb, value text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $khist$
          SELECT CASE WHEN value IS NULL THEN state
                      WHEN state ? value THEN jsonb_set(state, ARRAY[value], to_jsonb(CAST(state ->> value AS bigint) + 1))
                      WHEN (SELECT count(*) FROM jsonb_object_keys(state)) >= 1000 THEN state
                      ELSE state || jsonb_build_object(value, 1) END
          $khist$;
        CREATE AGGREGATE pg_temp.khist(text) (SFUNC = pg_temp.khist_step, STYPE = jsonb, INITCOND = '{}');
        CREATE FUNCTION pg_temp.khist_merge(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $khist$
          SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE (
            SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM (
              SELECT k, sum(n) AS n FROM (
                SELECT key AS k, CAST(value AS bigint) AS n FROM jsonb_each_text(a)
                UNION ALL SELECT key, CAST(value AS bigint) FROM jsonb_each_text(b)) AS e
              GROUP BY k ORDER BY a ? k DESC, k LIMIT 1000) AS kept) END
          $khist$;
        CREATE FUNCTION pg_temp.kurlencode(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $kurl$
          SELECT CASE WHEN t IS NULL THEN NULL ELSE coalesce(string_agg(
            CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122 OR b IN (42, 45, 46, 95) THEN chr(b)
                 WHEN b = 32 THEN '+' ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i), '') END
          FROM generate_series(0, octet_length(convert_to(t, 'UTF8')) - 1) AS i, get_byte(convert_to(t, 'UTF8'), i) AS b
          $kurl$;
        CREATE FUNCTION pg_temp.kurldecode(t text, plus boolean) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $kurl$
          DECLARE bytes bytea := ''; i integer := 1; s text := CASE WHEN plus THEN replace(t, '+', ' ') ELSE t END;
          BEGIN
            IF t IS NULL THEN RETURN NULL; END IF;
            WHILE i <= length(s) LOOP
              IF substr(s, i, 1) = '%' AND substr(s, i + 1, 2) ~ '^[0-9A-Fa-f]{2}$' THEN
                bytes := bytes || decode(substr(s, i + 1, 2), 'hex');
                i := i + 3;
              ELSE
                bytes := bytes || convert_to(substr(s, i, 1), 'UTF8');
                i := i + 1;
              END IF;
            END LOOP;
            RETURN convert_from(bytes, 'UTF8');
          EXCEPTION WHEN others THEN RETURN NULL;
          END $kurl$;
        """
}
