import Testing

@testable import SessionGate

@Suite("CookieHeader")
struct CookieHeaderTests {
    private static let name = "session_id"

    private func value(_ header: String) -> String? {
        var header = header
        return header.withUTF8 { bytes in
            Array(Self.name.utf8).withUnsafeBytes { name in
                CookieHeader.value(named: name, in: UnsafeRawBufferPointer(bytes)).map {
                    String(decoding: UnsafeRawBufferPointer(bytes)[$0], as: UTF8.self)
                }
            }
        }
    }

    /// The header left once the session's pairs are out; nil when none was there (the header passes as sent).
    private func removing(_ header: String) -> String? {
        var header = header
        return header.withUTF8 { bytes in
            Array(Self.name.utf8).withUnsafeBytes { name in
                var left: [UInt8] = []
                let removed = CookieHeader.removing(named: name, from: UnsafeRawBufferPointer(bytes)) {
                    left += UnsafeRawBufferPointer(bytes)[$0]
                }
                return removed ? String(decoding: left, as: UTF8.self) : nil
            }
        }
    }

    @Test func findsTheValue() {
        #expect(value("session_id=abc") == "abc")
        #expect(value("a=1; session_id=abc; b=2") == "abc")
        #expect(value("a=1,session_id=abc") == "abc")
        #expect(value(" session_id \t=\t\"abc\" ") == "abc")
        #expect(value("session_id=\"\"") == "")
        #expect(value("session_id=\"") == "\"")
        #expect(value("session_id=a=b") == "a=b")
        #expect(value("session_id=first; session_id=second") == "first")
        #expect(value("session_id; a=1") == nil)
        #expect(value("Session_id=abc") == nil)
        #expect(value("xsession_id=abc; session_idx=abc") == nil)
        #expect(value("") == nil)
    }

    @Test func removesThePairsKeepingTheRestAsSent() {
        #expect(removing("a=1; session_id=abc; b=2") == "a=1; b=2")
        #expect(removing("session_id=abc; b=2") == "b=2")
        #expect(removing("a=1; session_id=abc") == "a=1")
        #expect(removing("session_id=abc") == "")
        #expect(removing("session_id=1;session_id=2") == "")
        #expect(removing("a=1 ;  session_id=abc ,  b=2") == "a=1 ;  b=2")
        #expect(removing("a=1; b=2") == nil)
        #expect(removing("a=session_id") == nil)
    }

    /// Every header built from these pairs and separators: whenever a session value is found, removing takes out
    /// every pair of that name and keeps every other non-blank pair, in order and unchanged.
    @Test func removalAgreesWithFinding() {
        let pairs = ["a=1", "session_id=T", " session_id = \"T\" ", "b", "", "x=y=z", "session_id", "\tc=3 "]
        let separators = [";", "; ", ",", ", "]
        /// The pairs a reader keeps: non-blank, trimmed, and not named `session_id` (a pair without `=` has no name).
        func meaningful(_ header: String) -> [String] {
            header.split { $0 == ";" || $0 == "," }.map { $0.trimmingSpacesAndTabs() }.filter { pair in
                guard !pair.isEmpty else { return false }
                guard let equals = pair.firstIndex(of: "=") else { return true }
                return pair[..<equals].trimmingSpacesAndTabs() != "session_id"
            }.map(String.init)
        }
        var checked = 0
        for first in pairs {
            for second in pairs {
                for third in pairs {
                    for separatorA in separators {
                        for separatorB in separators {
                            let header = first + separatorA + second + separatorB + third
                            let found = value(header) != nil
                            let left = removing(header)
                            #expect((left != nil) == found, "\(header)")
                            guard let left else { continue }
                            #expect(value(left) == nil, "\(header) -> \(left)")
                            #expect(meaningful(left) == meaningful(header), "\(header) -> \(left)")
                            #expect(left.first != " " && left.last != ";" && left.last != ",", "\(header) -> \(left)")
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked > 1000)
    }
}
