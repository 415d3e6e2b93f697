import Benchmark
import IdentityRules

/// Hot functions of IdentityRules. Targets (issue 3): at least 10 million resident-ID
/// validations per second on one core, with no heap allocation for an 18-character ASCII input.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .instructions, .mallocCountTotal],
        scalingFactor: .mega,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )
    let today = CivilDate(year: 2026, month: 11, day: 21)!

    // Ten different valid numbers, so the branch predictor cannot learn a single one.
    let valid = [
        "11010519491231002X", "440524198001010014", "152102190702124394", "360426199101010071",
        "44011320141005001X", "412723199010050012", "110102199101010078", "120110198012010073",
        "120110199212010072", "810000198001011236",
    ]
    let invalid = [
        "110105194912310021", "436225201006119863", "522121194312002363", "354261199201310880",
        "11010519491331002X", "990426199112010074", "T60426199101010078", "110201199312010077",
        "36042619910102009X", "110105194902300020",
    ]

    Benchmark("ResidentIDNumber.isValid, valid 18-character input") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(ResidentIDNumber.isValid(valid[i % 10], today: today))
        }
    }

    Benchmark("ResidentIDNumber.isValid, invalid 18-character input") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(ResidentIDNumber.isValid(invalid[i % 10], today: today))
        }
    }

    Benchmark("ResidentIDNumber.validate, facts of valid input") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(try? ResidentIDNumber.validate(valid[i % 10], today: today).birthDate)
        }
    }

    Benchmark("UnifiedSocialCreditCode.isValid") { benchmark in
        let codes = ["91110000600037341L", "121200004013590816", "911522010783762860", "91152201078377449P"]
        for i in benchmark.scaledIterations {
            blackHole(UnifiedSocialCreditCode.isValid(codes[i % 4]))
        }
    }

    // One call per iteration, so the malloc count is exact per call (the scaled benchmarks
    // above divide counts by a million and would hide one allocation in ten calls).
    Benchmark("ResidentIDNumber.isValid, allocations per call",
              configuration: .init(metrics: [.mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 20_000)) { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(ResidentIDNumber.isValid(i % 2 == 0 ? valid[i % 10] : invalid[i % 10], today: today))
        }
    }

    Benchmark("CheckReport.appendLine (the idcheck path), valid and invalid lines",
              configuration: .init(scalingFactor: .kilo)) { benchmark in
        var report = CheckReport()
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        let lines = (valid + invalid).map { Array($0.utf8) }
        for i in benchmark.scaledIterations {
            lines[i % 20].withUnsafeBufferPointer { report.appendLine($0, as: .auto, today: today, to: &out) }
            if out.count > 1 << 19 { out.removeAll(keepingCapacity: true) }
        }
        blackHole(out)
    }

    Benchmark("DocumentCheck.check, auto-detected, with region names",
              configuration: .init(scalingFactor: .kilo)) { benchmark in
        var report = CheckReport()
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        for i in benchmark.scaledIterations {
            report.append(DocumentCheck.check(valid[i % 10], today: today), to: &out)
            if out.count > 1 << 19 { out.removeAll(keepingCapacity: true) }
        }
        blackHole(out)
    }
}
