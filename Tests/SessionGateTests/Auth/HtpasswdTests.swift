import Testing

@testable import SessionGate

@Suite("Htpasswd")
struct HtpasswdTests {
    // An `htpasswd -B -C 4` style line (password "secret").
    static let line = "alice:$2y$04$W4Zq9lZb1kJYqSgYvOQv1.hge4agkYOdKAERWhP.WeAhSSp7Op8hW"

    @Test func readsBcryptEntriesSkippingCommentsAndBlankLines() {
        let (file, problems) = Htpasswd.parse("# users\n\n\(Self.line)\r\nbob:$2b$10$\(String(repeating: "a", count: 53))\n")
        #expect(problems.isEmpty)
        #expect(file.entries.keys.sorted() == ["alice", "bob"])
        #expect(file.entries["alice"]?.hasPrefix("$2y$04$") == true)
    }

    @Test func refusesOtherHashKindsAndBrokenLinesWithTheirLineNumbers() {
        let (file, problems) = Htpasswd.parse("""
            alice:$apr1$abc$def
            carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=
            no-colon-here
            :$2y$04$W4Zq9lZb1kJYqSgYvOQv1.hge4agkYOdKAERWhP.WeAhSSp7Op8hW
            \(Self.line)
            \(Self.line)
            """)
        #expect(problems.map(\.line) == [1, 2, 3, 4, 6])
        #expect(problems[0].message.contains("not bcrypt"))
        #expect(problems[2].message == "expected \"name:hash\"")
        #expect(problems[3].message == "the user name is empty")
        #expect(problems[4].message.contains("listed twice"))
        #expect(file.entries.keys.sorted() == ["alice"])
    }
}

@Suite("PasswordHash (libxcrypt bcrypt)")
struct PasswordHashTests {
    @Test func hashesVerifyAndSaltsDiffer() throws {
        let one = try PasswordHash.hash(password: "correct horse", cost: 4)
        let two = try PasswordHash.hash(password: "correct horse", cost: 4)
        #expect(one.hasPrefix("$2b$04$") && one.count == 60)
        #expect(one != two, "a random salt each time")
        #expect(PasswordHash.isBcrypt(one))
        #expect(PasswordHash.verify(password: "correct horse", hash: one))
        #expect(!PasswordHash.verify(password: "correct hors", hash: one))
        #expect(!PasswordHash.verify(password: "", hash: one))
    }

    @Test func verifiesPublishedBcryptVectorsAndHtpasswdPrefix() {
        // Test vectors of Solar Designer's crypt_blowfish (also in OpenBSD's and John the Ripper's suites).
        #expect(PasswordHash.verify(password: "U*U", hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"))
        #expect(PasswordHash.verify(password: "U*U*", hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"))
        #expect(!PasswordHash.verify(password: "U*U", hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"))
        // The `$2y$` prefix `htpasswd -B` writes.
        #expect(PasswordHash.verify(password: "secret", hash: "$2y$04$W4Zq9lZb1kJYqSgYvOQv1.hge4agkYOdKAERWhP.WeAhSSp7Op8hW"))
    }

    @Test func rejectsNonBcryptAndBadCosts() {
        #expect(!PasswordHash.isBcrypt("$apr1$abc$def"))
        #expect(!PasswordHash.isBcrypt("$2y$99$" + String(repeating: "a", count: 53)))
        #expect(!PasswordHash.verify(password: "x", hash: "not a hash"))
        #expect(throws: PasswordHash.Failure.self) { try PasswordHash.hash(password: "x", cost: 3) }
    }
}
