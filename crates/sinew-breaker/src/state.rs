//! The packed state word: everything a transition must change at once, in one `u64`, so every
//! transition is a single compare-exchange that exactly one thread wins.
//!
//! ```text
//!  bits  0..3   state       Closed, Open, HalfOpen, ForcedOpen, Disabled
//!  bits  3..11  trips       consecutive trips to Open since the last Closed (saturating at 255)
//!  bits 11..32  generation  +1 on every transition (wrapping); permits carry it
//!  bits 32..48  issued      half-open permits handed out and not dropped unreported
//!  bits 48..64  succeeded   half-open permits reported as successes
//! ```

/// A circuit breaker's state.
///
/// ```text
///            failure rate or slow-call rate >= threshold,
///            or N consecutive failures
///   Closed ───────────────────────────────────────────▶ Open
///     ▲                                                 │  ▲
///     │ all `half_open_permits`                         │  │ a trial fails, or
///     │ trials succeed              `wait_in_open` over │  │ `max_wait_in_half_open` passes
///     │                                                 ▼  │
///     └──────────────────────────────────────────────── HalfOpen
///
///   force_open() ─▶ ForcedOpen    disable() ─▶ Disabled    reset() ─▶ Closed   (from any state)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls pass; their outcomes are recorded in the window.
    Closed,
    /// Calls are rejected until the wait in open has passed.
    Open,
    /// Exactly `half_open_permits` trial calls pass; the rest are rejected.
    HalfOpen,
    /// Calls are rejected until [`reset`](crate::CircuitBreaker::reset) (set by hand).
    ForcedOpen,
    /// Calls pass and nothing is recorded (set by hand).
    Disabled,
}

impl State {
    pub(crate) const fn from_bits(bits: u64) -> State {
        match bits {
            CLOSED => State::Closed,
            OPEN => State::Open,
            HALF_OPEN => State::HalfOpen,
            FORCED_OPEN => State::ForcedOpen,
            _ => State::Disabled,
        }
    }

    #[cfg(all(test, not(sinew_loom)))]
    pub(crate) const fn bits(self) -> u64 {
        match self {
            State::Closed => CLOSED,
            State::Open => OPEN,
            State::HalfOpen => HALF_OPEN,
            State::ForcedOpen => FORCED_OPEN,
            State::Disabled => DISABLED,
        }
    }

    /// The state's name as written in this crate's docs (`"closed"`, `"half-open"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
            State::ForcedOpen => "forced-open",
            State::Disabled => "disabled",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) const CLOSED: u64 = 0;
pub(crate) const OPEN: u64 = 1;
pub(crate) const HALF_OPEN: u64 = 2;
pub(crate) const FORCED_OPEN: u64 = 3;
pub(crate) const DISABLED: u64 = 4;

const TRIPS_SHIFT: u32 = 3;
const GEN_SHIFT: u32 = 11;
const ISSUED_SHIFT: u32 = 32;
const SUCCEEDED_SHIFT: u32 = 48;
/// Generations are 21 bits; the deadline word uses the same width.
pub(crate) const GEN_MASK: u64 = (1 << 21) - 1;
/// The trip count saturates here (8 bits).
pub(crate) const MAX_TRIPS: u64 = 0xff;
/// The most half-open permits the word can count.
pub(crate) const MAX_PERMITS: u32 = u16::MAX as u32;

/// A decoded view of the state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    #[inline]
    pub(crate) const fn state_bits(self) -> u64 {
        self.0 & 0b111
    }
    #[inline]
    pub(crate) const fn state(self) -> State {
        State::from_bits(self.state_bits())
    }
    #[inline]
    pub(crate) const fn trips(self) -> u64 {
        (self.0 >> TRIPS_SHIFT) & 0xff
    }
    #[inline]
    pub(crate) const fn generation(self) -> u64 {
        (self.0 >> GEN_SHIFT) & GEN_MASK
    }
    #[inline]
    pub(crate) const fn issued(self) -> u64 {
        (self.0 >> ISSUED_SHIFT) & 0xffff
    }
    #[inline]
    pub(crate) const fn succeeded(self) -> u64 {
        self.0 >> SUCCEEDED_SHIFT
    }

    /// Packs the fields; `trips` saturates at [`MAX_TRIPS`] (backoff stays at its cap rather
    /// than wrapping back to the first wait), the others are masked to their width.
    pub(crate) const fn pack(
        state: u64,
        trips: u64,
        generation: u64,
        issued: u64,
        succ: u64,
    ) -> Word {
        let trips = if trips > MAX_TRIPS { MAX_TRIPS } else { trips };
        Word(
            state
                | trips << TRIPS_SHIFT
                | (generation & GEN_MASK) << GEN_SHIFT
                | (issued & 0xffff) << ISSUED_SHIFT
                | (succ & 0xffff) << SUCCEEDED_SHIFT,
        )
    }

    /// The word after a transition to `state`: the next generation, no permits.
    pub(crate) const fn next(self, state: u64, trips: u64) -> Word {
        Word::pack(state, trips, self.generation().wrapping_add(1), 0, 0)
    }

    /// The same half-open generation with other permit counts.
    pub(crate) const fn with_permits(self, issued: u64, succ: u64) -> Word {
        Word::pack(
            self.state_bits(),
            self.trips(),
            self.generation(),
            issued,
            succ,
        )
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_do_not_overlap() {
        let w = Word::pack(HALF_OPEN, 255, GEN_MASK, 0xffff, 0xfffe);
        assert_eq!(w.state(), State::HalfOpen);
        assert_eq!(w.trips(), 255);
        assert_eq!(w.generation(), GEN_MASK);
        assert_eq!(w.issued(), 0xffff);
        assert_eq!(w.succeeded(), 0xfffe);
        let n = w.next(OPEN, 3);
        assert_eq!((n.state(), n.trips(), n.generation()), (State::Open, 3, 0));
        assert_eq!((n.issued(), n.succeeded()), (0, 0));
        // Trips saturate instead of wrapping into the state or generation bits.
        let sat = Word::pack(OPEN, 256, 7, 0, 0);
        assert_eq!(
            (sat.state(), sat.trips(), sat.generation()),
            (State::Open, 255, 7)
        );
        assert_eq!(Word::pack(OPEN, u64::MAX, 7, 0, 0).trips(), 255);
        for s in [
            State::Closed,
            State::Open,
            State::HalfOpen,
            State::ForcedOpen,
            State::Disabled,
        ] {
            assert_eq!(State::from_bits(s.bits()), s);
            assert!(!s.to_string().is_empty());
        }
    }
}
