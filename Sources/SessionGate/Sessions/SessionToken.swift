/// A session token as presented by a client, checked for shape before any store is asked about it.
///
/// Format: 8 lowercase hex characters naming the user's key slot tag, then 43 base64url characters carrying
/// 256 random bits: 51 characters in all. The tag lets every key of one user share a Redis Cluster slot (hash
/// tag `{tag}`) while the token itself never appears in Redis: only its SHA-256 does.
public struct SessionToken: Sendable, Hashable {
    public static let tagLength = 8
    public static let randomLength = 43
    public static let length = tagLength + randomLength

    /// The token's ``length`` ASCII bytes, inline (the rest zero): a token read from a request costs no allocation,
    /// and passing it along costs no reference counting. The string form is made only when asked for. Eight words
    /// rather than a `SIMD64<UInt8>`: that type is 64-byte aligned, and so would be every object holding a token (the
    /// proxy's per-request exchange among them), which `malloc` cannot give and `posix_memalign` gives at twice the
    /// cost.
    private var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    public static func == (lhs: SessionToken, rhs: SessionToken) -> Bool {
        lhs.bytes.0 == rhs.bytes.0 && lhs.bytes.1 == rhs.bytes.1 && lhs.bytes.2 == rhs.bytes.2
            && lhs.bytes.3 == rhs.bytes.3 && lhs.bytes.4 == rhs.bytes.4 && lhs.bytes.5 == rhs.bytes.5
            && lhs.bytes.6 == rhs.bytes.6 && lhs.bytes.7 == rhs.bytes.7
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The token exactly as the client holds it.
    public var rawValue: String { withBytes { String(decoding: $0, as: UTF8.self) } }

    /// `body` applied to the token's bytes, without making a string.
    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try withUnsafeBytes(of: bytes) { raw in
            try body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: Self.length))
        }
    }

    /// Accepts only well-formed tokens; anything else is rejected without a store lookup.
    public init?(_ text: Substring) {
        // Header values are native strings, so the bytes are contiguous and checked without iterator overhead.
        let made = text.utf8.withContiguousStorageIfAvailable { SessionToken(checking: UnsafeRawBufferPointer($0)) }
        guard let token = made ?? Array(text.utf8).withUnsafeBytes(SessionToken.init(checking:)) else { return nil }
        self = token
    }

    private static func isWellFormed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == length else { return false }
        // Branch-free over the whole token (it is checked on every authenticated request): the AND of each byte's
        // classes must keep the hex bit for the tag and the base64url bit for the rest.
        return byteClasses.withUnsafeBufferPointer { classes in
            var tag: UInt8 = Self.lowerHexBit
            for index in 0..<tagLength { tag &= classes[Int(bytes[index])] }
            var rest: UInt8 = Self.base64URLBit
            for index in tagLength..<length { rest &= classes[Int(bytes[index])] }
            return tag != 0 && rest != 0
        }
    }

    private static let lowerHexBit: UInt8 = 1
    private static let base64URLBit: UInt8 = 2
    /// Per byte value: ``lowerHexBit`` and ``base64URLBit`` as they apply.
    private static let byteClasses: [UInt8] = (0...255).map { value in
        let byte = UInt8(value)
        return (isLowerHex(byte) ? lowerHexBit : 0) | (isBase64URL(byte) ? base64URLBit : 0)
    }

    /// A token read straight from a request's bytes (a header value the parser has already trimmed): checked in
    /// place and copied inline, so no string is made.
    init?(bytes: UnsafeRawBufferPointer) { self.init(checking: bytes) }

    private init?(checking source: UnsafeRawBufferPointer) {
        guard source.count == Self.length, source.withMemoryRebound(to: UInt8.self, Self.isWellFormed) else { return nil }
        withUnsafeMutableBytes(of: &bytes) { $0.copyMemory(from: source) }
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    /// A new token for a user whose keys carry `tag`.
    static func generate(tag: String) -> SessionToken {
        SessionToken(unchecked: tag + Crypto.base64URL(Crypto.randomBytes(32)))
    }

    /// A token made here: `text` is a tag and base64url, ``length`` ASCII bytes.
    private init(unchecked text: String) {
        var text = text
        precondition(text.utf8.count == Self.length, "a generated token has \(Self.length) bytes")
        text.withUTF8 { source in withUnsafeMutableBytes(of: &bytes) { $0.copyMemory(from: UnsafeRawBufferPointer(source)) } }
    }

    /// The user slot tag the token starts with.
    public var tag: Substring { rawValue.prefix(Self.tagLength) }

    /// SHA-256 of the whole token, hex: the only form in which a token is stored.
    public var hashHex: String { withBytes { Crypto.sha256Hex($0) } }

    /// The slot tag of a user: all of that user's keys carry it, so they hash to one Cluster slot.
    public static func tag(forUser userID: String) -> String {
        String(Crypto.sha256Hex("sessiongate-user:" + userID).prefix(tagLength))
    }

    private static func isLowerHex(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) }

    private static func isBase64URL(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
    }
}
