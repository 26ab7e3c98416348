import Testing

@testable import SessionGate

@Suite("AccessPolicy")
struct AccessPolicyTests {
    static let token = SessionToken("0123abcd" + String(repeating: "A", count: 43))!
    static let alice = SessionIdentity(userID: "42", userName: "alice", roles: ["user", "ops"], expiresAt: 1, absoluteExpiresAt: 2)

    /// What the store answers when asked.
    enum Store: Sendable, CustomStringConvertible {
        case knows, doesNotKnow, isDown
        var description: String { "\(self == .knows ? "valid" : self == .doesNotKnow ? "unknown" : "store down")" }
        var answer: Result<SessionIdentity?, Error> {
            switch self {
            case .knows: return .success(AccessPolicyTests.alice)
            case .doesNotKnow: return .success(nil)
            case .isDown: return .failure(SessionStoreError.unavailable("connection refused"))
            }
        }
    }

    /// One row of the decision table.
    struct Case: Sendable, CustomTestStringConvertible {
        var auth: RouteAuth
        var presented: PresentedSession
        var store: Store
        var expected: AccessDecision
        var looksUp: Bool
        var testDescription: String { "\(auth) route, \(presented), \(store) → \(expected)\(looksUp ? " (lookup)" : "")" }
    }

    /// The request handler's two steps: ask the store only when the policy says so, then decide.
    static func decide(_ route: CompiledRoute, _ presented: PresentedSession, _ store: Store) -> (AccessDecision, lookedUp: Bool) {
        guard let token = AccessPolicy.needsLookup(route: route, presented: presented) else {
            return (AccessPolicy.decideWithoutLookup(route: route, presented: presented), false)
        }
        #expect(presented == .token(token, fromCookie: presented.cameFromCookie), "looked up a token that was not presented")
        return (AccessPolicy.decide(route: route, presented: presented, lookup: store.answer), true)
    }

    static func route(_ auth: RouteAuth, roles: [String] = []) -> CompiledRoute {
        CompiledRoute(path: "/", upstreamIndex: 0, auth: auth, roles: roles)
    }

    static let cookie = PresentedSession.token(token, fromCookie: true)
    static let header = PresentedSession.token(token, fromCookie: false)

    static let table: [Case] = {
        var rows: [Case] = []
        let everyPresentation: [PresentedSession] = [.none, .malformed(fromCookie: true), .malformed(fromCookie: false), cookie, header]
        // Public routes never look anything up and never carry identity.
        for presented in everyPresentation {
            for store in [Store.knows, .doesNotKnow, .isDown] {
                rows.append(Case(auth: .public, presented: presented, store: store, expected: .forward(nil), looksUp: false))
            }
        }
        for store in [Store.knows, .doesNotKnow, .isDown] {
            // Optional routes: anonymous without a well-formed token.
            for presented in everyPresentation.prefix(3) {
                rows.append(Case(auth: .optional, presented: presented, store: store, expected: .forward(nil), looksUp: false))
            }
            // Required routes: refused without a well-formed token; a malformed cookie is cleared.
            rows.append(Case(auth: .required, presented: .none, store: store, expected: .refuse(.missingSession, clearCookie: false), looksUp: false))
            rows.append(Case(auth: .required, presented: .malformed(fromCookie: true), store: store,
                             expected: .refuse(.malformedSession, clearCookie: true), looksUp: false))
            rows.append(Case(auth: .required, presented: .malformed(fromCookie: false), store: store,
                             expected: .refuse(.malformedSession, clearCookie: false), looksUp: false))
        }
        for presented in [cookie, header] {
            let fromCookie = presented.cameFromCookie
            rows += [
                Case(auth: .optional, presented: presented, store: .knows, expected: .forward(alice), looksUp: true),
                Case(auth: .optional, presented: presented, store: .doesNotKnow, expected: .forward(nil), looksUp: true),
                Case(auth: .optional, presented: presented, store: .isDown, expected: .refuse(.storeUnavailable, clearCookie: false), looksUp: true),
                Case(auth: .required, presented: presented, store: .knows, expected: .forward(alice), looksUp: true),
                Case(auth: .required, presented: presented, store: .doesNotKnow,
                     expected: .refuse(.unknownSession, clearCookie: fromCookie), looksUp: true),
                Case(auth: .required, presented: presented, store: .isDown, expected: .refuse(.storeUnavailable, clearCookie: false), looksUp: true),
            ]
        }
        return rows
    }()

    @Test func tableCoversEveryCombination() {
        #expect(Self.table.count == 3 * 5 * 3)
    }

    @Test(arguments: table)
    func decision(_ row: Case) {
        let (decision, lookedUp) = Self.decide(Self.route(row.auth), row.presented, row.store)
        #expect(decision == row.expected)
        #expect(lookedUp == row.looksUp)
    }

    @Test func missingRolesAreNamedAndTheCookieKept() {
        let route = Self.route(.required, roles: ["admin", "ops", "billing"])
        for presented in [Self.cookie, Self.header] {
            let (decision, _) = Self.decide(route, presented, .knows)
            #expect(decision == .refuse(.missingRole(["admin", "billing"]), clearCookie: false))
        }
    }

    @Test func holdingEveryRoleForwards() {
        let route = Self.route(.required, roles: ["ops", "user"])
        #expect(Self.decide(route, Self.cookie, .knows).0 == .forward(Self.alice))
    }

    @Test func refusalsBecomeTheDocumentedResponses() {
        #expect(ProxyHandler.errorResponse(for: .missingSession).status == .unauthorized)
        #expect(ProxyHandler.errorResponse(for: .malformedSession).status == .unauthorized)
        #expect(ProxyHandler.errorResponse(for: .unknownSession).status == .unauthorized)
        let forbidden = ProxyHandler.errorResponse(for: .missingRole(["admin", "billing"]))
        #expect(forbidden.status == .forbidden)
        #expect(forbidden.error == "forbidden")
        #expect(forbidden.message.contains("admin, billing"))
        let unavailable = ProxyHandler.errorResponse(for: .storeUnavailable)
        #expect(unavailable.status == .serviceUnavailable)
        #expect(unavailable.error == "session_store_unavailable")
        #expect(unavailable.extraHeaders.contains { $0.0 == "Retry-After" })
    }
}
