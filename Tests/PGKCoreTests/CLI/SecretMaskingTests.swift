import Foundation
import Testing
@testable import PGKCore

/// Credentials never reach stderr or stdout, whatever fails and however
/// verbose the run.
@Suite struct SecretMaskingTests {
    @Test func sensitiveKafkaPropertiesAreRecognised() {
        for key in ["sasl.password", "ssl.key.password", "ssl.key.pem", "ssl_key", "ssl.keystore.password",
                    "ssl.keystore.location", "sasl.oauthbearer.config", "sasl.oauthbearer.client.secret"] {
            #expect(Secrets.isSensitiveKafkaProperty(key), "\(key)")
        }
        for key in ["sasl.username", "sasl.mechanisms", "bootstrap.servers", "sasl.kerberos.service.name"] {
            #expect(!Secrets.isSensitiveKafkaProperty(key), "\(key)")
        }
    }

    @Test func conninfoPasswordsAreFoundInEveryForm() {
        #expect(Secrets.passwords(inConninfo: "host=h password=s3cr3t dbname=x") == ["s3cr3t"])
        #expect(Secrets.passwords(inConninfo: "password = 'it''s \\'quoted' host=h") == ["it"])
        #expect(Secrets.passwords(inConninfo: "password='a b\\'c'") == ["a b'c"])
        #expect(Secrets.passwords(inConninfo: "postgres://u:p%40ss@h/db") == ["p@ss"])
        #expect(Secrets.passwords(inConninfo: "host=h dbname=x").isEmpty)
    }

    /// Every output stream of failing, verbose runs is searched for the secrets.
    @Test func noOutputStreamCarriesASecret() throws {
        let kafkaSecret = "KafkaHunter2Secret", registrySecret = "RegistryHunter2", databaseSecret = "DbHunter2Pass"
        let runs: [[String]] = [
            ["topics", "list", "-b", "127.0.0.1:1", "--timeout", "1s", "-vv",
             "-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=u",
             "-X", "sasl.password=\(kafkaSecret)", "-X", "debug=conf,security"],
            ["topics", "list", "-b", "127.0.0.1:1", "--timeout", "1s", "-X", "ssl.key.password=\(kafkaSecret)",
             "-X", "no.such.property=\(kafkaSecret)"],
            ["topics", "tail", "t", "--json", "--packing", "avro", "-b", "127.0.0.1:1", "--timeout", "1s", "-v",
             "--registry", "http://user:\(registrySecret)@127.0.0.1:1"],
            ["cdc", "wal", "status", "-v", "-d", "postgresql://user:\(databaseSecret)@127.0.0.1:1/db?connect_timeout=2"],
            ["cdc", "wal", "status", "-v", "-d", "host=127.0.0.1 port=1 password=\(databaseSecret) connect_timeout=2"],
        ]
        for arguments in runs {
            let result = try CommandRunner.pgk(arguments, environment: ContractTests.environment, timeoutSeconds: 60)
            #expect(result.status != 0, "the run was meant to fail: \(arguments)")
            for secret in [kafkaSecret, registrySecret, databaseSecret] {
                #expect(!result.stderr.contains(secret), "stderr of \(arguments[0...1]): \(result.stderr)")
                #expect(!result.stdout.contains(secret), "stdout of \(arguments[0...1])")
            }
        }
    }
}
