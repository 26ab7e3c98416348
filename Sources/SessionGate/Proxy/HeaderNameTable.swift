/// Maps header names to values, ignoring ASCII case, without allocating per lookup.
///
/// Built once (at config load); a lookup compares the name's UTF-8 bytes with the few entries of the same length,
/// so hot-path header scans need neither `lowercased()` nor hashing.
struct HeaderNameTable<Value: Sendable>: Sendable {
    /// `buckets[n]` holds the lowercase names of length `n` and their values, in insertion order.
    private let buckets: [[(name: [UInt8], value: Value)]]

    /// - Parameter entries: lowercase names and their values; when a name repeats, the first entry wins.
    init(_ entries: [(String, Value)]) {
        let longest = entries.map { $0.0.utf8.count }.max() ?? 0
        var buckets = [[(name: [UInt8], value: Value)]](repeating: [], count: longest + 1)
        for (name, value) in entries {
            let bytes = Array(name.lowercased().utf8)
            guard !buckets[bytes.count].contains(where: { $0.name == bytes }) else { continue }
            buckets[bytes.count].append((bytes, value))
        }
        self.buckets = buckets
    }

    /// The value for a name given as raw bytes (any case), or nil: for heads the proxy passes on as bytes.
    func action(for name: UnsafeRawBufferPointer) -> Value? {
        guard name.count < buckets.count else { return nil }
        for entry in buckets[name.count] where Self.equalsIgnoringCase(entry.name, name) {
            return entry.value
        }
        return nil
    }

    /// True when `name` equals the lowercase `lowercaseName`, ignoring ASCII case.
    static func equalsIgnoringCase(_ lowercaseName: [UInt8], _ name: UnsafeRawBufferPointer) -> Bool {
        guard lowercaseName.count == name.count else { return false }
        guard let base = name.baseAddress, !name.isEmpty else { return true }
        return lowercaseName.withUnsafeBytes { ByteScan.equalsLowercase(base, $0.baseAddress!, count: name.count) }
    }
}
