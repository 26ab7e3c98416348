import NIOHTTP1
import Testing

@testable import SessionGate

/// The allocation-free header and path scans give the answers the `lowercased()`/`split` versions they replaced gave.
@Suite("Header and path scanning")
struct HeaderScanningTests {
    @Test func headerNameTableIgnoresASCIICaseAndKeepsTheFirstEntry() {
        let table = HeaderNameTable([("x-user-id", 1), ("cookie", 2), ("x-user-id", 3)])
        func action(_ table: HeaderNameTable<Int>, _ name: String) -> Int? {
            var name = name
            return name.withUTF8 { table.action(for: UnsafeRawBufferPointer($0)) }
        }
        #expect(action(table, "X-User-ID") == 1)
        #expect(action(table, "x-USER-id") == 1)
        #expect(action(table, "COOKIE") == 2)
        #expect(action(table, "cookies") == nil)
        #expect(action(table, "x-user-i") == nil)
        #expect(action(table, "") == nil)
        #expect(action(table, String(repeating: "a", count: 200)) == nil)
        // Only ASCII letters fold: "K" (Kelvin sign) is not "k".
        #expect(action(HeaderNameTable([("k", 1)]), "\u{212A}") == nil)
    }

    static let targets = [
        "/", "/a", "/a/", "/a/b?x=1", "/a//b", "//", "/a/./b", "/a/../b", "/a/%2e%2E/b", "/a/.%2e", "/a/%2E",
        "/a/...", "/a/%2e%2e%2e", "/a/%2", "/a/%", "/a%2fb", "/a%2Fb", "/a%5Cb", "/a%00", "/a\\b", "a/b", "", "?x",
        "/a?/../b", "/a#/../b", "/.", "/..", "/a/.", "/a/..", "/a/b/", "/a//", "/%2e%2e/", "/a%%2e", "/a/%%2e%2e",
        "/é/..", "/é//x", "/caf%C3%A9/", "/a/.b", "/a/b.", "/a/%2ex", "*", "http://example.com/a",
    ]

    @Test(arguments: targets)
    func requestTargetMatchesTheStringVersion(_ uri: String) {
        #expect(RequestTarget.problem(in: uri) == Self.referenceProblem(in: uri))
    }

    /// The `lowercased()`/`split` implementation the byte scan replaced.
    static func referenceProblem(in uri: String) -> String? {
        let path = uri.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") })
            .map { uri[..<$0] } ?? Substring(uri)
        guard path.hasPrefix("/") else {
            return "the request target must be a path starting with \"/\" (origin-form)"
        }
        if path.contains("\\") { return "the path must not contain a backslash" }
        let lowered = path.lowercased()
        if lowered.contains("%2f") || lowered.contains("%5c") || lowered.contains("%00") {
            return "the path must not contain an encoded slash, backslash or NUL"
        }
        let segments = lowered.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            var decoded = ""
            var rest = Substring(segment)
            while let range = rest.firstRange(of: "%2e") {
                decoded += rest[..<range.lowerBound] + "."
                rest = rest[range.upperBound...]
            }
            decoded += rest
            if decoded == "." || decoded == ".." { return "the path must not contain \".\" or \"..\" segments" }
            if segment.isEmpty && index < segments.count - 1 { return "the path must not contain empty segments (\"//\")" }
        }
        return nil
    }

    @Test func hexOfContiguousAndOtherSequences() {
        #expect(Crypto.hex([0x00, 0x0f, 0xf0, 0xff]) == "000ff0ff")
        #expect(Crypto.hex([UInt8]()) == "")
        #expect(Crypto.hex((0..<3).lazy.map { UInt8($0 * 100) }) == "0064c8")
        #expect(Crypto.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// The word-at-a-time field-value check agrees with the byte rule for every byte value at every position.
    @Test func fieldValueCheckMatchesTheByteRule() {
        let isAllowed: (UInt8) -> Bool = { $0 >= 0x20 ? $0 != 0x7f : $0 == 0x09 }
        for length in [1, 7, 8, 9, 15, 16, 17, 33] {
            for position in 0..<length {
                for byte in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = UInt8(byte)
                    let checked = bytes.withUnsafeBytes { ByteScan.allFieldValueBytes($0, 0..<length) }
                    if checked != isAllowed(UInt8(byte)) {
                        Issue.record("byte \(byte) at \(position) of \(length): \(checked)")
                        return
                    }
                }
            }
        }
        #expect([UInt8]("a\tb é ~".utf8).withUnsafeBytes { ByteScan.allFieldValueBytes($0, 0..<$0.count) })
        // A range inside a buffer: bytes around it are not looked at.
        let framed = [UInt8]("\r\nvalue of eleven\r\n".utf8)
        #expect(framed.withUnsafeBytes { ByteScan.allFieldValueBytes($0, 2..<framed.count - 2) })
        #expect(!framed.withUnsafeBytes { ByteScan.allFieldValueBytes($0, 1..<framed.count - 2) })
        #expect(!framed.withUnsafeBytes { ByteScan.allFieldValueBytes($0, 2..<framed.count - 1) })
    }

    /// The word-at-a-time lowercasing changes `A`-`Z` and nothing else, for every byte value at every position.
    @Test func wordLowercasingMatchesTheByteRule() {
        for position in 0..<8 {
            for byte in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "Q"), count: 8)
                bytes[position] = UInt8(byte)
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let lowered = withUnsafeBytes(of: ByteScan.asciiLowercased(word)) { Array($0) }
                if lowered != bytes.map(\.asciiLowercased) {
                    Issue.record("byte \(byte) at \(position): \(lowered)")
                    return
                }
            }
        }
    }

    /// Case-insensitive comparison with a lowercase name agrees with comparing byte by byte, at every length around
    /// the word size, for a change of case and for one differing byte at every position.
    @Test func caseInsensitiveComparisonMatchesTheByteRule() {
        let lowercase = Array("proxy-authorization-and-more-of-it".utf8)
        for length in 0...lowercase.count {
            let expected = Array(lowercase.prefix(length))
            let mixed = expected.enumerated().map { $0.offset % 3 == 0 && $0.element >= 0x61 ? $0.element - 0x20 : $0.element }
            let same = mixed.withUnsafeBytes { name in
                expected.withUnsafeBytes { ByteScan.equalsLowercase(name.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: length) }
            }
            #expect(same, "length \(length)")
            for position in 0..<length {
                for byte: UInt8 in [0x00, 0x0d, 0x20, 0x2d ^ 0x20, 0x40, 0x5b, 0x60, 0x7b, 0x80, 0xc1, 0xff] {
                    var changed = mixed
                    changed[position] = byte
                    let byByte = zip(changed, expected).allSatisfy { $0.asciiLowercased == $1 }
                    let byWord = changed.withUnsafeBytes { name in
                        expected.withUnsafeBytes { ByteScan.equalsLowercase(name.baseAddress!, $0.baseAddress!, count: length) }
                    }
                    if byWord != byByte {
                        Issue.record("byte \(byte) at \(position) of \(length): \(byWord)")
                        return
                    }
                }
            }
        }
        Array("xxContent-LENGTHxx".utf8).withUnsafeBytes { bytes in
            #expect(HeaderLine.equalsIgnoringCase(bytes, 2..<16, "content-length"))
            #expect(!HeaderLine.equalsIgnoringCase(bytes, 2..<16, "content-lengtx"))
            #expect(!HeaderLine.equalsIgnoringCase(bytes, 1..<15, "content-length"))
            #expect(HeaderLine.equalsIgnoringCase(bytes, 3..<3, ""))
        }
    }

    @Test func tokenBytesAreRFC9110tchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in 0...255 { #expect(ByteScan.isTokenByte(UInt8(byte)) == tchar.contains(UInt8(byte)), "byte \(byte)") }
        // The table header names are checked with agrees, byte for byte, in front of a colon.
        for byte in 0...255 {
            #expect((ByteScan.tokenTable[byte] == 1) == tchar.contains(UInt8(byte)), "byte \(byte)")
            let line: [UInt8] = [UInt8(ascii: "a"), UInt8(byte), UInt8(ascii: "b"), UInt8(ascii: ":"), UInt8(ascii: "v")]
            let found = line.withUnsafeBytes { ByteScan.colonAfterToken($0, 0..<line.count) }
            if byte == UInt8(ascii: ":") {
                #expect(found?.colon == 1 && found?.allToken == true)
            } else {
                #expect(found?.colon == 3 && found?.allToken == tchar.contains(UInt8(byte)), "byte \(byte)")
            }
        }
        #expect([UInt8]("no colon".utf8).withUnsafeBytes { ByteScan.colonAfterToken($0, 0..<$0.count) } == nil)
    }
}
