//! Versions: version vectors, dotted version vectors (siblings), last-writer-wins.
