// swift-tools-version:6.0
import PackageDescription

// The C libraries are found through pkg-config and never vendored.
let package = Package(
    name: "pgk",
    products: [
        .executable(name: "pgk", targets: ["pgk"]),
        // libFuzzer harness; scripts/fuzz builds it with the sanitizers.
        .executable(name: "pgk-fuzz", targets: ["pgk-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CMsgPack", pkgConfig: "msgpack",
            providers: [.apt(["libmsgpack-dev"])]),
        .systemLibrary(
            name: "CAvro", pkgConfig: "avro-c",
            providers: [.apt(["libavro-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(
            name: "PGKCore",
            dependencies: ["CRdKafka", "CLibPQ", "CMsgPack", "CAvro", "CCurl", "Yams"],
            // Debug builds (the tests) keep Swift's run-time exclusivity
            // checks; in release they cost the consuming loops about 8%
            // of their CPU (swift_beginAccess on every class property).
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .executableTarget(name: "pgk", dependencies: ["PGKCore"]),
        .executableTarget(name: "pgk-fuzz", dependencies: ["PGKCore"]),
        .testTarget(name: "PGKCoreTests", dependencies: ["PGKCore"]),
    ]
)
