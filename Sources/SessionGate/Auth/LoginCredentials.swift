import Foundation

/// A user name and password from a login request body.
struct LoginCredentials: Sendable, Equatable {
    var username: String
    var password: String

    /// Why a login body was refused; each maps to a precise status.
    enum BodyError: Error, Equatable {
        /// 415: neither JSON nor an HTML form.
        case unsupportedMediaType(String?)
        /// 400: the body could not be read as its declared type, or a field is missing.
        case malformed(String)
    }

    /// Reads `{"username": "...", "password": "..."}` (`application/json`) or `username=...&password=...`
    /// (`application/x-www-form-urlencoded`, what an HTML form posts).
    static func parse(contentType: String?, body: [UInt8]) -> Result<LoginCredentials, BodyError> {
        let mediaType = contentType?.split(separator: ";").first.map {
            Substring($0).trimmingSpacesAndTabs().lowercased()
        }
        let fields: [String: String]
        switch mediaType {
        case "application/json":
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)), let dictionary = object as? [String: Any]
            else { return .failure(.malformed("the body is not a JSON object")) }
            var strings: [String: String] = [:]
            for key in ["username", "password"] {
                guard let value = dictionary[key] else { continue }
                guard let string = value as? String else { return .failure(.malformed("\"\(key)\" must be a string")) }
                strings[key] = string
            }
            fields = strings
        case "application/x-www-form-urlencoded":
            guard let parsed = formFields(body) else { return .failure(.malformed("the form body is not valid percent-encoding")) }
            fields = parsed
        default:
            return .failure(.unsupportedMediaType(contentType))
        }
        guard let username = fields["username"], !username.isEmpty else {
            return .failure(.malformed("\"username\" is required"))
        }
        guard let password = fields["password"], !password.isEmpty else {
            return .failure(.malformed("\"password\" is required"))
        }
        return .success(LoginCredentials(username: username, password: password))
    }

    /// `application/x-www-form-urlencoded` (WHATWG URL §5): `&`-separated `name=value`, `+` is a space, `%XX` a byte;
    /// the first occurrence of a name wins. Nil when an escape is broken or the bytes are not UTF-8.
    static func formFields(_ body: [UInt8]) -> [String: String]? {
        var fields: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : []) else { return nil }
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(0x20)
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
