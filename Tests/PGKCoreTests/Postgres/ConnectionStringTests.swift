import Testing
@testable import PGKCore

@Suite struct ConnectionStringTests {
    @Test(arguments: [
        ("postgresql://alice:s3cret@db.example:5432/app", "postgresql://alice:***@db.example:5432/app"),
        ("postgres://alice:s3cret@db/app?sslmode=require", "postgres://alice:***@db/app?sslmode=require"),
        ("postgresql://alice@db/app", "postgresql://alice@db/app"),
        ("postgresql://db/app?user=bob&password=hunter2&sslmode=disable",
         "postgresql://db/app?user=bob&password=***&sslmode=disable"),
        ("postgresql://db/app?PassWord=x", "postgresql://db/app?PassWord=***"),
        ("postgresql://db/app?pass%77ord=x", "postgresql://db/app?pass%77ord=***"),
        ("postgresql://db/app?sslpassword=k", "postgresql://db/app?sslpassword=***"),
        ("postgresql://a:p%40ss@db/app", "postgresql://a:***@db/app"),
        // Unencoded characters libpq would split on must still be masked.
        ("postgresql://a:p@ss@db/app", "postgresql://a:***@db/app"),
        ("postgresql://a:pa/ss@db/app", "postgresql://a:***@db/app"),
        ("postgresql://a:p?ss@db/app", "postgresql://a:***@db/app"),
        ("postgresql://db/app?user=x@y", "postgresql://db/app?user=x@y"),
        ("postgresql://u:pw@db/app?options=a@b&password=z", "postgresql://u:***@db/app?options=a@b&password=***"),
        ("postgresql://", "postgresql://"),
        ("postgresql://:onlypass@db", "postgresql://:***@db"),
    ])
    func redactsURLs(input: String, expected: String) {
        #expect(ConnectionString.redacted(input) == expected)
    }

    @Test func redactsKeyValueThroughLibpq() {
        #expect(ConnectionString.redacted("host=db user=alice password=s3cret dbname=app")
                == "host=db user=alice password=*** dbname=app")
        #expect(ConnectionString.redacted("host=db  password = 'a b' sslpassword=k")
                == "host=db  password =*** sslpassword=***")
    }

    @Test func redactsQuotedKeyValuePasswords() {
        let redacted = ConnectionString.redacted(#"host=db password='it\'s a secret' user=x"#)
        #expect(!redacted.contains("secret"))
        #expect(redacted.contains("password=***"))
        #expect(redacted.contains("user=x"))
    }

    @Test func quotesRebuiltValuesThatNeedIt() throws {
        let redacted = ConnectionString.redacted(#"password=p options='-c search_path=x'"#)
        let options = try #require(ConnectionString.parseKeyValue(redacted))
        #expect(options.first { $0.key == "options" }?.value == "-c search_path=x")
        #expect(options.first { $0.key == "password" }?.value == "***")
    }

    @Test func leavesStringsWithoutPasswordsAlone() {
        #expect(ConnectionString.redacted("host=db   user=alice") == "host=db   user=alice")
        #expect(ConnectionString.redacted("mydb") == "mydb")
        #expect(ConnectionString.redacted("") == "")
    }

    @Test func scrubsPasswordsLibpqCannotParse() {
        // Unterminated quote: PQconninfoParse fails, masking must not.
        let broken = ConnectionString.redacted("host=db password='abc def")
        #expect(!broken.contains("abc"))
        #expect(broken.contains("password=***"))
        let bogusKey = ConnectionString.redacted("nosuchkey=1 PASSWORD = topsecret host=x")
        #expect(!bogusKey.contains("topsecret"))
        #expect(bogusKey.contains("host=x"))
    }
}
