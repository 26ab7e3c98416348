// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SessionGate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sessiongate", targets: ["sessiongate"]),
        .library(name: "SessionGate", targets: ["SessionGate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // RESP parsing comes from hiredis's reader; nothing but SessionGateRedis imports it.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // SHA-256, HMAC, random bytes and constant-time compare from OpenSSL's libcrypto.
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // bcrypt (`crypt_rn`, `crypt_gensalt_rn`) from libxcrypt, for htpasswd password checks.
        .systemLibrary(
            name: "CCrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        // A pipelining Redis client on SwiftNIO.
        .target(
            name: "SessionGateRedis",
            dependencies: [
                "CHiredis",
                "CCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Everything else: config, sessions, the proxy.
        .target(
            name: "SessionGate",
            dependencies: [
                "CCrypto",
                "CCrypt",
                "SessionGateRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .executableTarget(
            name: "sessiongate",
            dependencies: [
                "SessionGate",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "SessionGateTests",
            dependencies: [
                "SessionGate",
                "SessionGateRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SessionGateIntegrationTests",
            dependencies: [
                "SessionGate",
                "SessionGateRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
