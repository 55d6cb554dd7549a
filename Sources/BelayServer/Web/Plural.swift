/// A number with its noun, in the singular for one: "1 check", "3 checks", "1 success", "2 successes".
enum Plural {
    static func count(_ number: Int, _ noun: String, plural: String? = nil) -> String {
        "\(number) \(number == 1 ? noun : plural ?? noun + "s")"
    }
}
