// swift-tools-version:6.2
// Benchmarks live in their own package (as in swift-nio) so that the product's build and CI
// do not compile the benchmark harness. Run: `cd Benchmarks && swift package benchmark`.
import PackageDescription

let package = Package(
    name: "shiming-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "IdentityRulesBenchmarks",
            dependencies: [
                .product(name: "IdentityRules", package: "main"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/IdentityRulesBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
