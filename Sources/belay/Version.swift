/// Belay's release, the one place it is written: `belay --version` prints it.
enum BelayVersion {
    static let current = "0.1.0"
}
