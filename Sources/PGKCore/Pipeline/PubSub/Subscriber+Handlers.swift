/// The handler side of `pgk subscribe`: routing jobs to lanes and acting
/// on what the lanes report, on the consumer thread.
extension Subscriber {
    func makeLanes() throws -> [any HandlerLane] {
        guard let handler = settings.handler else { return [] }
        var made: [any HandlerLane] = []
        do {
            for index in 0..<settings.concurrency {
                switch handler {
                case .exec(let exec):
                    made.append(try ExecLane(index: index, handler: exec, policy: settings.policy, completions: completions))
                case .worker(let command, let environment):
                    made.append(try WorkerLane(index: index, count: settings.concurrency, command: command,
                                               environment: environment, policy: settings.policy, completions: completions))
                }
            }
        } catch {
            // Their threads must end before the lanes go away.
            for lane in made { lane.queue.close() }
            for lane in made { lane.join() }
            throw error
        }
        return made
    }

    /// Hands a job to its lane; when the lane is full, fetching pauses
    /// until it has room (`blocked`).
    func dispatch(_ job: HandlerJob) {
        ledger.track(job.topicPartition, job.message.offset)
        let lane = settings.order.lane(for: job.message, lanes: lanes.count)
        if !lanes[lane].queue.offer(job) { blocked = (lane, job) }
    }

    /// Acts on the lanes' reports: done and dead-lettered messages finish;
    /// a message that failed for good stops the run (`--on-error stop`)
    /// and, like an abandoned one, is never committed past.
    func settleCompletions(waitingUpTo milliseconds: Int) throws {
        for outcome in completions.take(waitingUpTo: milliseconds) {
            let job = outcome.job
            summary.handlerFailures += job.attempts.count
            // A revoked partition's late report: its new owner handles it again.
            guard ledger.state(job.topicPartition, job.message.offset) == .running else { continue }
            switch outcome {
            case .done(_, let seconds):
                summary.delivered += 1
                settings.metrics?.handled(job.message, seconds: seconds)
                ledger.finish(job.topicPartition, job.message.offset)
            case .abandoned:
                ledger.abandon(job.topicPartition, job.message.offset)
            case .failed:
                let last = job.attempts.last
                let reason = "handler \(last?.status ?? "failed") after \(job.attempts.count) attempt(s)"
                if settings.onHandlerError == .stop {
                    ledger.abandon(job.topicPartition, job.message.offset)
                    settings.metrics?.counted(topic: job.message.topic, partition: job.message.partition,
                                              result: "handler-failed")
                    let tail = last?.stderrTail ?? ""
                    if failure == nil {
                        failure = RuntimeError("subscribe: \(job.place): \(reason); stopping without committing it, "
                            + "so it is delivered again" + (tail.isEmpty ? "" : "; its stderr ended with: \(tail.suffix(300))"))
                    }
                } else {
                    try reject(job.message, code: "handler-failed", reason: reason, attempts: job.attempts)
                    ledger.finish(job.topicPartition, job.message.offset)
                }
            }
            sinceCommit += 1
        }
    }

    /// Before `partitions` go to another member: queued jobs for them are
    /// dropped (never started, so never committed) and the ones in flight
    /// get until the handler timeout to finish.
    func drainLanes(of partitions: Set<KafkaTopicPartition>) {
        for lane in lanes {
            for job in lane.queue.drop(where: { partitions.contains($0.topicPartition) }) {
                ledger.abandon(job.topicPartition, job.message.offset)
            }
        }
        if let pending = blocked, partitions.contains(pending.job.topicPartition) {
            ledger.abandon(pending.job.topicPartition, pending.job.message.offset)
            blocked = nil
        }
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + (settings.policy.timeoutMilliseconds ?? 55_000) + 5_000
        while partitions.contains(where: { ledger.running(in: $0) > 0 }) && clock.nowMilliseconds < deadline {
            do { try settleCompletions(waitingUpTo: 50) } catch { Log.warning("subscribe: during a rebalance: \(error)") }
        }
        if partitions.contains(where: { ledger.running(in: $0) > 0 }) {
            Log.warning("subscribe: handlers still running for revoked partitions; their messages will be "
                + "delivered again to the new owner")
        }
    }

    /// Stops the lanes: queued jobs are dropped (delivered again later),
    /// the ones in hand finish within the timeout, and their reports are
    /// settled so the commit after this covers them.
    func finishLanes() throws {
        guard !lanes.isEmpty else { return }
        for lane in lanes {
            for job in lane.queue.drop(where: { _ in true }) { ledger.abandon(job.topicPartition, job.message.offset) }
        }
        if let pending = blocked {
            ledger.abandon(pending.job.topicPartition, pending.job.message.offset)
            blocked = nil
        }
        for lane in lanes { lane.queue.close() }
        for lane in lanes { lane.join() }
        try settleCompletions(waitingUpTo: 0)
        lanes = []
    }
}
