import Foundation

/// The status page's accent colour (`--page-accent`), and the shades of it that stay readable: WCAG 2
/// contrast is computed here, in pure functions, so no accent can make the page's text unreadable.
public struct AccentColor: Sendable, Equatable, CustomStringConvertible {
    /// 0...255 each.
    public let red: Int
    public let green: Int
    public let blue: Int

    public init(red: Int, green: Int, blue: Int) {
        self.red = min(255, max(0, red))
        self.green = min(255, max(0, green))
        self.blue = min(255, max(0, blue))
    }

    /// `#RGB` or `#RRGGBB` (the `#` may be left out); nothing else, so the value can go into a stylesheet as is.
    public init?(hex text: String) {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        if digits.hasPrefix("#") { digits = digits.dropFirst() }
        guard digits.allSatisfy(\.isHexDigit), digits.allSatisfy(\.isASCII) else { return nil }
        let expanded: String
        switch digits.count {
        case 3: expanded = digits.map { "\($0)\($0)" }.joined()
        case 6: expanded = String(digits)
        default: return nil
        }
        guard let value = Int(expanded, radix: 16) else { return nil }
        self.init(red: value >> 16 & 0xFF, green: value >> 8 & 0xFF, blue: value & 0xFF)
    }

    /// `#rrggbb`, lower case.
    public var description: String { String(format: "#%02x%02x%02x", red, green, blue) }

    public static let white = AccentColor(red: 255, green: 255, blue: 255)
    public static let black = AccentColor(red: 0, green: 0, blue: 0)

    /// Relative luminance as WCAG 2 defines it (sRGB, linearised).
    public var luminance: Double {
        func channel(_ value: Int) -> Double {
            let c = Double(value) / 255
            return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
    }

    /// The WCAG contrast ratio of two colours, 1...21, the same whichever comes first.
    public static func contrast(_ a: AccentColor, _ b: AccentColor) -> Double {
        let (light, dark) = (max(a.luminance, b.luminance), min(a.luminance, b.luminance))
        return (light + 0.05) / (dark + 0.05)
    }

    /// This colour moved `fraction` (0...1) of the way towards `other`.
    public func mixed(with other: AccentColor, _ fraction: Double) -> AccentColor {
        func blend(_ a: Int, _ b: Int) -> Int { Int((Double(a) + (Double(b) - Double(a)) * fraction).rounded()) }
        return AccentColor(red: blend(red, other.red), green: blend(green, other.green), blue: blend(blue, other.blue))
    }

    /// The accent itself when it has `ratio` against `background`, else the nearest shade towards black
    /// or white (whichever contrasts more with the background) that has it.
    public func readable(on background: AccentColor, ratio: Double = 4.5) -> AccentColor {
        if Self.contrast(self, background) >= ratio { return self }
        let target = Self.contrast(.black, background) >= Self.contrast(.white, background) ? Self.black : Self.white
        for step in 1...20 {
            let shade = mixed(with: target, Double(step) / 20)
            if Self.contrast(shade, background) >= ratio { return shade }
        }
        return target
    }

    /// Text drawn on the accent: white when it has 4.5:1 there, else the darker of the page's text
    /// colours, whichever contrasts more.
    public var textOnAccent: AccentColor {
        let dark = AccentColor(red: 0x1d, green: 0x23, blue: 0x30)
        return Self.contrast(.white, self) >= 4.5 || Self.contrast(.white, self) >= Self.contrast(dark, self) ? .white : dark
    }
}

/// The accent as the page uses it: one small generated stylesheet that only sets custom properties;
/// the rules that read them are in `belay.css`, so no style is ever inline.
enum AccentStylesheet {
    /// The page backgrounds `belay.css` draws on, light and dark.
    static let lightBackground = AccentColor(red: 0xff, green: 0xff, blue: 0xff)
    static let darkBackground = AccentColor(red: 0x12, green: 0x15, blue: 0x1b)

    static func css(_ accent: AccentColor) -> String {
        // A fill (buttons) whose text is readable: the accent, unless neither white nor dark text reaches
        // 4.5:1 on it, in which case a darker shade of it.
        var fill = accent
        if AccentColor.contrast(fill, fill.textOnAccent) < 4.5 { fill = accent.readable(on: .white) }
        return """
            /* Generated from --page-accent \(accent). */
            :root { --accent: \(accent); --accent-fill: \(fill); --accent-on: \(fill.textOnAccent); --accent-link: \(accent.readable(on: lightBackground)); }
            @media (prefers-color-scheme: dark) { :root { --accent-link: \(accent.readable(on: darkBackground)); } }

            """
    }
}
