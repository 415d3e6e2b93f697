#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import Synchronization

/// Swift's global executor on NIO's singleton event loops (the request loops), each job run as
/// a job of the global executor.
///
/// NIO's own take-over (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
/// hands every global job to the loop as a job of the loop's serial executor. A task that then
/// comes back from a call it awaited must hop back to the global executor
/// (`swift_task_switch`), and the runtime cannot take that hop in place from a serial executor:
/// it queues the task on the loop a second time. Every resumption cost two turns of the loop,
/// the first of them only to queue the second: about 8 % of the request loops' samples under
/// PostgreSQL's case read and under SQLite's verification query. Here a global job runs as what
/// it is, a job of the generic executor, so the runtime continues it in place (as it does on
/// its own thread pool).
///
/// Jobs of a task executor (`EventLoopExecutor`) and of actors with an executor of their own
/// are not global jobs and do not come here (a default actor's jobs are, and do).
public enum LoopGlobalExecutor {
    /// The runtime's hook for enqueuing a global job: the job and the default enqueue.
    private typealias Hook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// The generic executor (the runtime's `SerialExecutorRef::generic()`: no identity, no
    /// witness table).
    private static let generic = unsafeBitCast((UInt(0), UInt(0)), to: UnownedSerialExecutor.self)

    /// Global jobs enqueued since `install(countingJobs: true)` (for the tests).
    private static let counted = Atomic<Int>(0)
    static var jobsCounted: Int { counted.load(ordering: .relaxed) }

    /// Installs the hook; false (and nothing changed) where the runtime has no hook to take or
    /// another one is installed already. Call it once, first thing in `main`, before any task
    /// is enqueued. `countingJobs` counts the global jobs in `jobsCounted` (for the tests).
    public static func install(countingJobs: Bool = false) -> Bool {
        guard MemoryLayout<UnownedSerialExecutor>.size == 2 * MemoryLayout<UInt>.size,
              let symbol = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return false }
        let slot = symbol.assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard slot.pointee == nil else { return false }
        let hook: Hook = countingJobs
            ? { job, _ in LoopGlobalExecutor.counted.add(1, ordering: .relaxed); LoopGlobalExecutor.enqueue(job) }
            : { job, _ in LoopGlobalExecutor.enqueue(job) }
        slot.pointee = unsafeBitCast(hook, to: UnsafeRawPointer.self)
        return true
    }

    /// Runs the job on the loop the caller runs on, when it is one of them (no thread switch),
    /// else on the next one.
    @inline(__always)
    private static func enqueue(_ job: UnownedJob) {
        MultiThreadedEventLoopGroup.singleton.any().execute { job.runSynchronously(on: LoopGlobalExecutor.generic) }
    }
}
