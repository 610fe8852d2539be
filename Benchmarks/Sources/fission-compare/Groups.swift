import FissionGroups
import GroupsWorkload

/// Issue 3's matcher case: 10,000 words, about 4 MB of mixed Chinese and Latin chat messages.
/// ns are per KB (1,024 bytes) of text; the peers scan a sample and are extrapolated per KB.
func runGroupsComparison(rounds: Int) {
    let workload = MatcherWorkload(totalBytes: 4 << 20)
    let buildStart = nanoseconds()
    let matcher = workload.matcher()
    note(
        "fission-compare: matcher: \(workload.words.count) words built in "
            + "\(format(Double(nanoseconds() - buildStart) / 1e6, decimals: 1)) ms; "
            + "\(workload.messages.count) messages, \(workload.totalBytes) bytes"
    )
    var found = 0
    let oursPerByte = measure(rounds: rounds, operations: workload.totalBytes) {
        found = MatcherWorkload.scan(workload.messages, with: matcher)
    }
    let ours = oursPerByte * 1_024
    note(
        "fission-compare: matcher-10k ours \(format(1e9 / oursPerByte / 1e6, decimals: 1)) MB/s "
            + "(target 50 MB/s), \(found) matches"
    )

    // The byte loop on the first 64 KB of messages, the stdlib peer on the first 8 KB.
    var sample: [UInt8] = []
    var stdlibSample: [String] = []
    var stdlibBytes = 0
    for message in workload.messages where sample.count < 64 << 10 {
        sample.append(contentsOf: message.utf8)
        if stdlibBytes < 8 << 10 {
            stdlibSample.append(message)
            stdlibBytes += message.utf8.count
        }
    }
    let wordBytes = workload.words.map { Array($0.utf8) }
    var floorFound = 0
    let floor = measure(rounds: min(rounds, 2), operations: sample.count) {
        floorFound = MatcherWorkload.byteLoop(sample, words: wordBytes)
    }
    var stdlibFound = 0
    let stdlib = measure(rounds: 1, operations: stdlibBytes) {
        stdlibFound = MatcherWorkload.stringContains(stdlibSample, words: workload.words)
    }
    let oursOnSample = MatcherWorkload.scan(stdlibSample, with: matcher)
    note(
        "fission-compare: matcher peers: byte loop \(floorFound) occurrences in \(sample.count) bytes; "
            + "String.contains \(stdlibFound) (message, word) pairs in \(stdlibBytes) bytes, ours \(oursOnSample) matches there"
    )
    report("matcher-10k", ours: ours, peer: "floor", floor * 1_024)
    report("matcher-10k", ours: ours, peer: "stdlib", stdlib * 1_024)

    // The ad rules (links, phone numbers, contact phrases) on the same messages, and on messages
    // of nothing but digit groups, the phone scanner's worst case: a scan stays linear.
    let ads = try! ModerationRules(sensitiveWords: [], ads: AdRules())
    var adHits = 0
    let adsPerByte = measure(rounds: rounds, operations: workload.totalBytes) {
        adHits = workload.messages.reduce(0) { $0 + (try! ads.scan($1)).count }
    }
    note(
        "fission-compare: ad rules \(format(adsPerByte * 1_024, decimals: 1)) ns per KiB on the messages, "
            + "\(adHits) hits"
    )
    let runs = [
        ("phone numbers", Array(repeating: "13800138000", count: 87_000).joined(separator: " ")),
        ("4-digit groups", Array(repeating: "1380", count: 200_000).joined(separator: " ")),
    ]
    for (name, text) in runs {
        var hits = 0
        let perByte = measure(rounds: rounds, operations: text.utf8.count) { hits = try! ads.scan(text).count }
        note(
            "fission-compare: ad rules \(format(perByte * 1_024, decimals: 1)) ns per KiB on one message of "
                + "\(text.utf8.count) bytes of \(name), \(hits) hits"
        )
    }
}
