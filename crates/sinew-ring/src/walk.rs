//! The allocation-free "distinct owners clockwise" walk behind `replicas` for the ring and
//! Maglev.

// Positions are stored as u32: owner arrays hold fewer than 2^32 entries (see the callers).
#![allow(clippy::cast_possible_truncation)]

/// For a circular array of owners, `prev[p]` is the position of the previous occurrence of
/// `owners[p]` going backwards (wrapping), or `p` itself if the owner occurs once.
pub(crate) fn prev_same(owners: &[u32], nodes: usize) -> Vec<u32> {
    let mut last = vec![u32::MAX; nodes];
    for (pos, &o) in owners.iter().enumerate() {
        if let Some(slot) = last.get_mut(o as usize) {
            *slot = pos as u32;
        }
    }
    let mut prev = Vec::with_capacity(owners.len());
    for (pos, &o) in owners.iter().enumerate() {
        match last.get_mut(o as usize) {
            Some(slot) => {
                prev.push(*slot);
                *slot = pos as u32;
            }
            None => prev.push(pos as u32),
        }
    }
    prev
}

/// Walks a circular owner array from `start`, yielding each owner the first time it is seen,
/// at most `left` of them. A position's owner is new exactly when its previous occurrence
/// (`prev`) lies outside the part already walked, an O(1) test, so the walk needs no set.
#[derive(Debug, Clone)]
pub(crate) struct Walk<'a> {
    owners: &'a [u32],
    prev: &'a [u32],
    start: usize,
    step: usize,
    left: usize,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(owners: &'a [u32], prev: &'a [u32], start: usize, left: usize) -> Self {
        let start = if start < owners.len() { start } else { 0 };
        Self {
            owners,
            prev,
            start,
            step: 0,
            left,
        }
    }

    /// Distance of `pos` from the start, clockwise.
    #[inline]
    fn offset(&self, pos: usize) -> usize {
        if pos >= self.start {
            pos - self.start
        } else {
            pos + self.owners.len() - self.start
        }
    }
}

impl Iterator for Walk<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        let len = self.owners.len();
        while self.left > 0 && self.step < len {
            let mut pos = self.start + self.step;
            if pos >= len {
                pos -= len;
            }
            self.step += 1;
            let prev = self.prev.get(pos).map_or(pos, |&p| p as usize);
            if prev == pos || self.offset(prev) > self.step - 1 {
                self.left -= 1;
                return self.owners.get(pos).map(|&o| o as usize);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (
            0,
            Some(
                self.left
                    .min(self.owners.len() - self.step.min(self.owners.len())),
            ),
        )
    }
}
