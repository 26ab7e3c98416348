// swift-tools-version:5.9
// A reference point for `scripts/bench` and `scripts/callgrind`, not part of SessionGate: the least work a SwiftNIO
// proxy can do per request. Built on its own, so SessionGate's build and tests never compile it; the scripts build it
// as they build SessionGate (`-Xswiftc -enforce-exclusivity=unchecked`, for every module, SwiftNIO's included).
import PackageDescription

let package = Package(
    name: "nio-floor",
    dependencies: [.package(url: "https://github.com/apple/swift-nio", from: "2.101.2")],
    targets: [
        .executableTarget(
            name: "nio-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        )
    ]
)
