import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import ShimingServer

@Suite("Swift's global executor on the request loops")
struct LoopGlobalExecutorTests {
    /// In a process of its own (the hook is the whole process's): installed once; tasks run on
    /// the singleton loops; and each resumption of a suspended task costs one global job. As a
    /// job of the loop's serial executor (NIO's take-over), each resumption took two: the second
    /// only to hop back to the global executor.
    @Test func resumptionsContinueInPlace() async {
        await #expect(processExitsWith: .success) {
            guard LoopGlobalExecutor.install(countingJobs: true), !LoopGlobalExecutor.install() else { exit(2) }
            let rounds = 500
            let (onLoops, jobs) = await Task {
                let before = LoopGlobalExecutor.jobsCounted
                var onLoops = 0
                for _ in 0..<rounds {
                    // Resumed by the loop once the job that suspends the task has ended, so the
                    // task has always suspended first (resumed from another thread, it may not
                    // have yet, and then it goes on without a job).
                    await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
                        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { exit(3) }
                        loop.execute { resumed.resume() }
                    }
                    if MultiThreadedEventLoopGroup.currentEventLoop != nil { onLoops += 1 }
                }
                return (onLoops, LoopGlobalExecutor.jobsCounted - before)
            }.value
            guard onLoops == rounds else { exit(3) }
            // One job a resumption, and a little room for other tasks of the process.
            guard jobs >= rounds, jobs < rounds + rounds / 10 else {
                FileHandle.standardError.write(Data("\(jobs) global jobs for \(rounds) resumptions\n".utf8))
                exit(4)
            }
        }
    }
}
