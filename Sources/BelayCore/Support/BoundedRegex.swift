import Foundation

/// Runs a user's regular expression with a time limit. NSRegularExpression has no timeout of its own, but
/// with `.reportProgress` it calls back during a long match, which is where the limit stops it, so a
/// catastrophic pattern such as `(a+)+b` costs at most `limit` of the calling thread. Blocking: call it
/// off the event loops.
public enum BoundedRegex {
    public enum Outcome: Sendable, Equatable {
        case matched, notMatched, gaveUp
    }

    public static func search(_ expression: NSRegularExpression, in text: String, limit: Duration) -> Outcome {
        let clock = ContinuousClock()
        let giveUpAt = clock.now + limit
        var outcome = Outcome.notMatched
        expression.enumerateMatches(in: text, options: [.reportProgress], range: NSRange(text.startIndex..., in: text)) { match, _, stop in
            if match != nil {
                outcome = .matched
                stop.pointee = true
            } else if clock.now > giveUpAt {
                outcome = .gaveUp
                stop.pointee = true
            }
        }
        return outcome
    }
}
