import Foundation

/// The mirror directory on disk: makes a set of files its content, writing each file atomically (a temp
/// file in the same directory, fsync, rename) and only when its bytes changed, and removing files it
/// wrote before that are gone from the set. What it wrote is listed in a manifest, so a file someone
/// else put in the directory is never removed. Blocking POSIX calls: run it off the event loops.
struct MirrorDirectory: Sendable {
    let root: String

    static let manifestName = ".belay-mirror-manifest.json"

    /// What one pass did. `problems` holds one sentence per file that could not be written or removed;
    /// the other files were still done.
    struct Outcome: Sendable, Equatable {
        var written: [String] = []
        var removed: [String] = []
        var problems: [String] = []
        var fileCount = 0

        var changedSomething: Bool { !written.isEmpty || !removed.isEmpty }
    }

    /// The directory itself cannot be used (missing, not a directory, manifest not writable).
    struct Unusable: Error, CustomStringConvertible, Equatable {
        var description: String
    }

    private struct Manifest: Codable {
        var belayStatusMirror = 1
        var files: [String]
    }

    /// Makes `files` (relative path to bytes) the mirror's content. `removeLeftovers` also removes the
    /// temp files a write cut short by a crash left beside files the mirror wrote (once per start is enough).
    func sync(_ files: [String: [UInt8]], removeLeftovers: Bool = false) throws -> Outcome {
        var info = stat()
        guard stat(root, &info) == 0 else { throw Unusable(description: "the status mirror directory \(root) cannot be used: \(Self.reason(errno))") }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Unusable(description: "the status mirror \(root) is not a directory") }

        let previous = readManifest()
        if removeLeftovers { self.removeLeftovers(of: previous.union([Self.manifestName])) }
        let wanted = Set(files.keys)
        // Listed before they are written: a crash between the two leaves a file the next pass knows it owns.
        let listed = previous.union(wanted)
        if listed != previous { try writeManifest(listed) }

        var outcome = Outcome()
        var touchedDirectories = Set<String>()
        // The home page last, so it never links to an incident page that is not there yet.
        let order = files.keys.sorted { (Self.isHome($0) ? 1 : 0, $0) < (Self.isHome($1) ? 1 : 0, $1) }
        for relative in order {
            guard let bytes = files[relative] else { continue }
            do {
                if try contentEquals(relative, bytes) { continue }
                try writeAtomically(bytes, to: relative)
                outcome.written.append(relative)
                touchedDirectories.insert(Self.parent(relative))
            } catch let error as Unusable {
                outcome.problems.append(error.description)
            }
        }
        var kept = wanted
        for relative in previous.subtracting(wanted).sorted() {
            // The manifest is a file anyone could edit: only plain paths inside the directory are removed.
            guard MirrorPath.isSafe(relative) || relative == MirrorPath.notFoundFile else { continue }
            do {
                if try remove(relative) { outcome.removed.append(relative) }
                touchedDirectories.insert(Self.parent(relative))
            } catch let error as Unusable {
                outcome.problems.append(error.description)
                kept.insert(relative)
            }
        }
        if kept != listed { try writeManifest(kept) }
        for directory in touchedDirectories { syncDirectory(directory) }
        outcome.fileCount = wanted.count
        return outcome
    }

    // MARK: Files

    private func path(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    private static func parent(_ relative: String) -> String {
        guard let slash = relative.lastIndex(of: "/") else { return "" }
        return String(relative[..<slash])
    }

    private static func isHome(_ relative: String) -> Bool { relative == "index.html" || relative == "index.html.gz" }

    /// Makes sure every directory above `relative` is a real directory inside the root (made if missing),
    /// never a symbolic link that could lead a write or a removal elsewhere.
    private func prepareDirectories(for relative: String, create: Bool) throws -> Bool {
        var current = ""
        for segment in relative.split(separator: "/").dropLast() {
            current = current.isEmpty ? String(segment) : current + "/" + segment
            var info = stat()
            if lstat(path(current), &info) != 0 {
                guard errno == ENOENT else { throw Unusable(description: "cannot use \(path(current)): \(Self.reason(errno))") }
                guard create else { return false }
                if mkdir(path(current), 0o755) != 0 && errno != EEXIST {
                    throw Unusable(description: "cannot create \(path(current)): \(Self.reason(errno))")
                }
                guard lstat(path(current), &info) == 0 else { throw Unusable(description: "cannot use \(path(current)): \(Self.reason(errno))") }
            }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw Unusable(description: "\(path(current)) is not a directory (a link or a file is in the way); the mirror does not follow it")
            }
        }
        return true
    }

    /// Whether the file holds exactly `bytes` already (a link or anything but a plain file does not).
    private func contentEquals(_ relative: String, _ bytes: [UInt8]) throws -> Bool {
        guard try prepareDirectories(for: relative, create: false) else { return false }
        var info = stat()
        guard lstat(path(relative), &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) == bytes.count else { return false }
        let descriptor = open(path(relative), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var existing = [UInt8](repeating: 0, count: bytes.count + 1)
        var filled = 0
        while filled < existing.count {
            let count = existing.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return read(descriptor, base + filled, buffer.count - filled)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return filled == bytes.count && existing.prefix(filled).elementsEqual(bytes)
    }

    /// Writes a temp file beside the target, flushes it to disk and renames it over the target, so a
    /// reader (nginx, a sync) sees the old file or the new one, never half of one.
    private func writeAtomically(_ bytes: [UInt8], to relative: String) throws {
        _ = try prepareDirectories(for: relative, create: true)
        let name = relative.split(separator: "/").last.map(String.init) ?? relative
        let directory = Self.parent(relative)
        let temporary = path(directory.isEmpty ? ".\(name).belay-tmp-\(UInt32.random(in: .min ... .max))" : "\(directory)/.\(name).belay-tmp-\(UInt32.random(in: .min ... .max))")
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Unusable(description: "cannot write \(path(relative)): \(Self.reason(errno))") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        var isOpen = true
        defer { if isOpen { close(descriptor) } }
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return write(descriptor, base + offset, buffer.count - offset)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Unusable(description: "cannot write \(path(relative)): \(Self.reason(count < 0 ? errno : ENOSPC))") }
            offset += count
        }
        guard fsync(descriptor) == 0 else { throw Unusable(description: "cannot write \(path(relative)): \(Self.reason(errno))") }
        isOpen = false
        guard close(descriptor) == 0 else { throw Unusable(description: "cannot write \(path(relative)): \(Self.reason(errno))") }
        guard rename(temporary, path(relative)) == 0 else { throw Unusable(description: "cannot replace \(path(relative)): \(Self.reason(errno))") }
        renamed = true
    }

    /// Removes a file the mirror wrote; false when it was already gone.
    private func remove(_ relative: String) throws -> Bool {
        guard try prepareDirectories(for: relative, create: false) else { return false }
        var info = stat()
        guard lstat(path(relative), &info) == 0 else { return false }
        // A directory now stands where the mirror wrote a file: someone else's, left alone.
        guard info.st_mode & S_IFMT != S_IFDIR else { return false }
        guard unlink(path(relative)) == 0 else {
            if errno == ENOENT { return false }
            throw Unusable(description: "cannot remove \(path(relative)): \(Self.reason(errno))")
        }
        return true
    }

    /// Removes `.NAME.belay-tmp-N` beside each listed file NAME: only the mirror makes such names.
    private func removeLeftovers(of listed: Set<String>) {
        var names: [String: Set<String>] = [:]
        for relative in listed where relative == Self.manifestName || MirrorPath.isSafe(relative) {
            let name = relative.split(separator: "/").last.map(String.init) ?? relative
            names[Self.parent(relative), default: []].insert(name)
        }
        for (directory, files) in names {
            // Checked like a file's parents ("x" stands for a file in it): never a link out of the root.
            guard (try? prepareDirectories(for: directory.isEmpty ? "x" : directory + "/x", create: false)) == true,
                  let entries = try? FileManager.default.contentsOfDirectory(atPath: path(directory))
            else { continue }
            for entry in entries where entry.hasPrefix(".") && entry.contains(".belay-tmp-") {
                // ".belay-tmp-1" has nothing before the marker: no name to strip, and no range to build.
                guard let range = entry.range(of: ".belay-tmp-"), range.lowerBound > entry.startIndex, files.contains(String(entry[entry.index(after: entry.startIndex)..<range.lowerBound])),
                      !entry[range.upperBound...].isEmpty, entry[range.upperBound...].allSatisfy(\.isNumber)
                else { continue }
                unlink(path(directory.isEmpty ? entry : directory + "/" + entry))
            }
        }
    }

    /// Flushes renames and removals in a directory to disk; best effort (some file systems refuse it).
    private func syncDirectory(_ relative: String) {
        let descriptor = open(path(relative), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    // MARK: Manifest

    /// The files the mirror wrote before; none when there is no manifest or it cannot be read, which only
    /// ever means leaving a file in place, never removing one the mirror did not write.
    private func readManifest() -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path(Self.manifestName)),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { return [] }
        return Set(manifest.files)
    }

    private func writeManifest(_ files: Set<String>) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Manifest(files: files.sorted()))) ?? Data()
        try writeAtomically(Array(data), to: Self.manifestName)
    }

    static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file or directory"
        case EACCES, EPERM: "permission denied"
        case ENOSPC: "no space left on the device"
        case EROFS: "the file system is read-only"
        case EDQUOT: "the disk quota is exhausted"
        case ENOTDIR: "a path component is not a directory"
        case EISDIR: "a directory is in the way"
        default: String(cString: strerror(code))
        }
    }
}
