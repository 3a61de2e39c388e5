// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "airlock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "airlock", targets: ["airlock"]),
        .executable(name: "qwen-emulator", targets: ["qwen-emulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // C libraries from Debian, one system-library target each.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        // The 4-bit × f32 product kernel (AVX2/FMA chosen at run time); optimized in debug builds too, so tests
        // that embed with the 4-bit model do not crawl.
        .target(name: "CQuantKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "CRecurrentKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),

        // Feature modules.
        .target(
            name: "Upstream",
            dependencies: [
                "CCurl", "CCurlShim", "ThreadJoin",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AirlockConfiguration",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Named-entity recognition run natively (LAC for Chinese), for the PII rules.
        .target(name: "NamedEntities", dependencies: ["COpenBLAS", "CRecurrentKernels"], swiftSettings: swiftSettings),
        .target(
            name: "Embeddings",
            dependencies: [
                "COpenBLAS", "CQuantKernels", "Upstream", "ThreadJoin",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "TimeSource", swiftSettings: swiftSettings),
        .target(name: "ChatWire", swiftSettings: swiftSettings),
        .target(name: "ThreadJoin", swiftSettings: swiftSettings),
        .target(name: "Outcomes", dependencies: ["TimeSource", "ChatWire"], swiftSettings: swiftSettings),
        .target(
            name: "Pricing",
            dependencies: ["ChatWire", "Digest", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis", "ThreadJoin",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FleetStats",
            dependencies: [
                "Redis", "Outcomes", "Pricing",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "Digest", swiftSettings: swiftSettings),
        .target(
            name: "SemanticCache",
            dependencies: [
                "Redis", "Embeddings", "Digest", "TimeSource", "ChatWire",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Patterns",
            dependencies: ["CPCRE2"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Inspection",
            dependencies: [
                "Patterns", "Embeddings", "Upstream", "Digest", "ChatWire", "NamedEntities",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AirlockServer",
            dependencies: [
                "Upstream", "AirlockConfiguration", "Outcomes", "Embeddings", "FleetStats", "Redis", "SemanticCache",
                "Inspection", "StreamPacing", "TimeSource", "ChatWire", "Pricing", "NamedEntities",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamPacing",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QwenEmulator",
            dependencies: [
                "StreamPacing", "ChatWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Executables: argument parsing only.
        .executableTarget(
            name: "airlock",
            dependencies: [
                "AirlockServer", "AirlockConfiguration", "Embeddings", "Upstream", "SemanticCache", "Redis", "Inspection",
                "FleetStats", "Digest", "Pricing", "ChatWire", "NamedEntities",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "qwen-emulator",
            dependencies: [
                "QwenEmulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "EmbedBenchmark",
            dependencies: ["Embeddings"],
            path: "Benchmarks/EmbedBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "InspectionBenchmark",
            dependencies: ["Inspection", "Embeddings"],
            path: "Benchmarks/InspectionBenchmark",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "NERBenchmark",
            dependencies: ["NamedEntities", "COpenBLAS"],
            path: "Benchmarks/NERBenchmark",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "CacheBenchmark",
            dependencies: ["SemanticCache", "Redis", "Embeddings", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/CacheBenchmark",
            swiftSettings: swiftSettings
        ),

        // Tests (Swift Testing).
        .testTarget(name: "UpstreamTests", dependencies: ["Upstream", "QwenEmulator", "AirlockTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AirlockConfigurationTests", dependencies: ["AirlockConfiguration"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AirlockServerTests",
            dependencies: [
                "AirlockServer", "QwenEmulator", "Upstream", "AirlockConfiguration", "Redis", "FleetStats", "SemanticCache",
                "Embeddings", "Inspection", "AirlockTestSupport", "TimeSource", "ChatWire", "Pricing",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QwenEmulatorTests",
            dependencies: [
                "QwenEmulator", "AirlockTestSupport", "ChatWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NamedEntitiesTests", dependencies: ["NamedEntities", "CRecurrentKernels", "AirlockTestSupport"],
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EmbeddingsTests", dependencies: ["Embeddings", "CQuantKernels", "Upstream", "QwenEmulator", "AirlockTestSupport"], swiftSettings: swiftSettings),
        // What every suite shares: a race-free redis-server, one `eventually`, the model loaded once, services run
        // and shut down gracefully.
        .target(
            name: "AirlockTestSupport",
            dependencies: [
                "Embeddings", "NamedEntities",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/AirlockTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "RedisTests",
            dependencies: ["Redis", "AirlockTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SemanticCacheTests",
            dependencies: [
                "SemanticCache", "Redis", "Embeddings", "Digest", "AirlockTestSupport", "TimeSource", "ChatWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "FleetStatsTests", dependencies: ["FleetStats", "Redis", "Outcomes"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StreamPacingTests",
            dependencies: [
                "StreamPacing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "ChatWireTests", dependencies: ["ChatWire"], swiftSettings: swiftSettings),
        .testTarget(name: "TimeSourceTests", dependencies: ["TimeSource"], swiftSettings: swiftSettings),
        .testTarget(name: "OutcomesTests", dependencies: ["Outcomes", "TimeSource"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PricingTests", dependencies: ["Pricing", "ChatWire", "AirlockTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "PatternsTests", dependencies: ["Patterns"], swiftSettings: swiftSettings),
        .testTarget(
            name: "InspectionTests",
            dependencies: ["Inspection", "Patterns", "Embeddings", "QwenEmulator", "Upstream", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
