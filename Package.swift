// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "belay",
    // Synchronization.Mutex needs macOS 15; Linux has no minimum here.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "belay", targets: ["belay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "BelayCore"
        ),
        // Parsers for bytes from outside (form bodies, alert formats, dates, addresses), on Foundation alone
        // so the fuzzers build them without the server's dependencies.
        .target(
            name: "BelayFormats",
            dependencies: ["BelayCore"]
        ),
        .target(
            name: "BelaySQLite",
            dependencies: [
                "BelayCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SHA-256, for the migration that hashes secrets stored before they were hashed.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Belay's data on PostgreSQL, for replicas: the same store protocols and migration names as BelaySQLite.
        .target(
            name: "BelayPostgres",
            dependencies: [
                "BelayCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Every outgoing connection (monitors and notifications): names resolved, each address judged by the
        // egress policy, TLS contexts shared.
        .target(
            name: "BelayEgress",
            dependencies: [
                "BelayFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The outbox: events become deliveries, sent over webhooks, chat and email with retries and leases.
        .target(
            name: "BelayNotify",
            dependencies: [
                "BelayCore",
                "BelayEgress",
                "BelayFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "BelayMonitoring",
            dependencies: [
                "BelayCore",
                "BelayEgress",
                "BelayFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // bench/status-page's reference: the most a minimal NIO server does on this machine.
        .executableTarget(
            name: "nio-reference",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "bench/nio-reference"
        ),
        .target(
            name: "BelayServer",
            dependencies: [
                "BelayCore",
                "BelayFormats",
                "BelayMonitoring",
                "BelayEgress",
                "BelayNotify",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources")]
        ),
        // Turns replays/*.json into Swift for the belay binary (see the DemoReplays plugin).
        .executableTarget(name: "embed-replays"),
        .plugin(name: "DemoReplays", capability: .buildTool(), dependencies: ["embed-replays"]),
        .executableTarget(
            name: "belay",
            dependencies: [
                "BelayCore",
                "BelayFormats",
                "BelayMonitoring",
                "BelaySQLite",
                "BelayPostgres",
                "BelayServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The seed replays travel inside the binary, so a copied `belay` still runs `serve --demo`.
            plugins: ["DemoReplays"]
        ),
        // Fixtures and the store contract suite, on Core alone: each backend's test target brings its factory.
        .target(
            name: "BelayTestSupport",
            dependencies: ["BelayCore"]
        ),
        .testTarget(name: "BelayCoreTests", dependencies: ["BelayCore", "BelayTestSupport"]),
        .testTarget(name: "BelayFormatsTests", dependencies: ["BelayFormats", "BelayCore"]),
        .testTarget(
            name: "BelayMonitoringTests",
            dependencies: [
                "BelayMonitoring",
                "BelayEgress",
                "BelayFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "BelayNotifyTests",
            dependencies: [
                "BelayNotify", "BelayEgress", "BelayCore", "BelayFormats", "BelaySQLite", "BelayTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BelaySQLiteTests",
            dependencies: ["BelayCore", "BelaySQLite", "BelayTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Needs a PostgreSQL server: BELAY_TEST_POSTGRES_URL (scripts/postgres starts a throwaway one).
        .testTarget(
            name: "BelayPostgresTests",
            dependencies: ["BelayCore", "BelayPostgres", "BelayTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "BelayServerTests",
            dependencies: [
                "BelayServer", "BelayFormats", "BelaySQLite", "BelayTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "BelayEndToEndTests",
            dependencies: [
                "BelayTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ]
)
