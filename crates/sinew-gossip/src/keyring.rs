//! Authenticated encryption of datagrams and stream frames, with key rotation and a replay
//! window.
//!
//! A cluster that shares a secret key seals everything it sends with [`Sealer::seal`] and opens
//! everything it receives with [`Opener::open`]. That gives three properties:
//!
//! - **Confidentiality**: nobody without a key reads membership, addresses or metadata.
//! - **Integrity and authenticity**: a packet that was not sealed with one of the installed
//!   keys, or was changed in any bit after sealing, does not open ([`OpenError::Unauthenticated`]).
//!   Nobody without a key can join the cluster or spread rumours in it.
//! - **Replay protection**: every sealed packet carries a unique nonce made of its sender's
//!   random session id and a counter, and the receiver remembers which counters it has opened,
//!   so a packet recorded off the wire and sent again to the same receiver is refused
//!   ([`OpenError::Replayed`]). The window belongs to the receiver (see below for what that
//!   leaves open).
//!   HashiCorp's memberlist encrypts with AES-GCM but has no replay window: a recorded
//!   `suspect` or `dead` message can be replayed into its clusters at will.
//!
//! # Format
//!
//! ```text
//! version:u8 (= 2) | session id (16 bytes) | counter (u64, big endian) | ciphertext | tag (16 bytes)
//! ```
//!
//! The AEAD is AES-256-GCM (RustCrypto's `aes-gcm` crate, which uses the AES-NI and CLMUL
//! instructions where the processor has them); its associated data is the version byte, so
//! the version cannot be changed either. A sealed packet is [`OVERHEAD`] (41) bytes longer
//! than its plaintext.
//!
//! GCM's 96-bit nonce is too short to draw at random across many processes sharing a key, so
//! each session seals under its own key: every [`Sealer`] draws a random 128-bit session id
//! from the operating system, derives the session key `HKDF-SHA256(salt = session id, ikm =
//! cluster key, info = "sinew-gossip seal v2")`, and counts up from 0 (the nonce is four zero
//! bytes and the counter; a fresh session id is drawn if the counter would ever wrap). A
//! (session key, nonce) pair therefore never repeats unless two processes draw the same
//! 128-bit session id, about 2^-128 per pair. (XChaCha20-Poly1305 would take the 24-byte
//! nonce directly, but RustCrypto's implementation measured 2.5 µs per 200-byte packet here,
//! against 0.36 µs for AES-256-GCM.) The receiver derives a session's key once, on its first
//! authentic packet, and keeps it with the session's replay window.
//!
//! # Replay window
//!
//! The receiver keeps, per sender session, the highest counter it has opened and a bitmap of
//! the [`REPLAY_WINDOW`] counters below it, like IPsec and WireGuard. A packet opens once;
//! a second copy, or one older than the window, is refused. Packets may arrive out of order
//! within the window. The window is only consulted and updated *after* the tag verifies, so
//! forged packets cannot disturb it.
//!
//! The number of sessions remembered is bounded ([`Opener::new`]); past the bound the least
//! recently heard session is forgotten, and packets of that session recorded earlier would
//! open again if replayed. That is harmless for SWIM: every membership message is ordered by
//! incarnation and idempotent, so an old message either restates what the receiver already
//! knows or is outranked by what it knows (an old ping draws one extra ack). A session is only
//! evicted when more senders than the bound have spoken since it last did, so size the bound
//! above the cluster size (a restarted member counts as a new sender).
//!
//! For the same reason two other replays are left to the protocol rather than refused here:
//! a packet sealed for one member opens once at another member that has not opened it (a
//! sender's counter is shared by all its receivers and the packet does not name its
//! receiver, which would break members behind NAT, whose replies go to the address packets
//! came from), and every packet ever recorded opens once at a member that restarted (its
//! windows start empty). sinew-gossip's member counts an ack only from the member it
//! answers for, and starts each life's sequence numbers afresh, so such replays cannot fake
//! a live member; everything else they carry is idempotent. And a sender whose counter moves
//! more than [`REPLAY_WINDOW`] packets while one of its packets is in flight (a TCP stream
//! taking long to connect while hundreds of datagrams go out) has that packet refused as too
//! old.
//!
//! # Key rotation
//!
//! A [`Keyring`] holds several keys: the primary seals, all of them open (the primary is tried
//! first). To rotate without losing a packet:
//!
//! 1. [`install`](Keyring::install) the new key on every member (they still seal with the old
//!    one but can open both);
//! 2. [`use_key`](Keyring::use_key) the new key on every member (they seal with the new one
//!    and still open the old one from members not yet switched);
//! 3. [`remove`](Keyring::remove) the old key on every member.
//!
//! # Examples
//!
//! ```
//! use sinew_gossip::keyring::{Keyring, Opener, OpenError, Sealer};
//!
//! let keyring = Keyring::from_hex(
//!     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
//! )?;
//! let mut sealer = Sealer::new()?;
//! let mut opener = Opener::new(1024);
//!
//! let packet = sealer.seal(&keyring, b"ping")?;
//! assert_eq!(packet.len(), 4 + sinew_gossip::keyring::OVERHEAD);
//! assert_eq!(opener.open(&keyring, &packet)?, b"ping");
//!
//! // The same packet again is a replay.
//! assert_eq!(opener.open(&keyring, &packet), Err(OpenError::Replayed));
//!
//! // Another key does not open it.
//! let other = Keyring::new([7; 32]);
//! let fresh = sealer.seal(&other, b"ack")?;
//! assert_eq!(opener.open(&keyring, &fresh), Err(OpenError::Unauthenticated));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees
//!
//! - **Bad input**: [`Opener::open`] returns an error for any byte string that was not sealed
//!   by a holder of an installed key, never panics, and allocates at most the input's length
//!   (plus one session entry, only for authentic packets of a new session).
//! - **Cost**: sealing and opening are linear in the packet. A packet of a known session
//!   costs one tag check; a packet of a new session (or one that fails with its session's
//!   key) costs one key derivation and tag check per installed key, which is also the most
//!   a forged packet costs.
//! - **Thread safety**: all types are plain values. A [`Keyring`] is shared read-only by
//!   sealing and opening (wrap it in a lock or an `ArcSwap` to rotate while running); a
//!   [`Sealer`] and an [`Opener`] each belong to one task.

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use bytes::{BufMut, Bytes, BytesMut};
use hkdf::Hkdf;
use sha2::Sha256;

pub use crate::error::{EntropyError, KeyError, OpenError, ParseKeyError, SealError};

/// The first byte of every sealed packet (2: AES-256-GCM under per-session keys).
pub const VERSION: u8 = 2;

/// The length of a session id, in bytes.
pub const SESSION_LEN: usize = 16;

const NONCE_LEN: usize = SESSION_LEN + 8;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;
/// The HKDF `info` that binds session keys to this use and format.
const KDF_INFO: &[u8] = b"sinew-gossip seal v2";

/// How many bytes sealing adds to a plaintext: the version byte (1), the session id (16),
/// the counter (8) and the authentication tag (16).
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
const _: () = assert!(OVERHEAD == 41);

/// The longest plaintext that can be sealed, in bytes: 64 GiB (GCM's limit of 2^32 - 2
/// blocks of 16 bytes, rounded down), far beyond any datagram or frame.
pub const MAX_PLAINTEXT: u64 = (1 << 36) - 32;

/// Bitmap words of a replay window.
const WINDOW_WORDS: usize = 16;

/// How far behind the highest counter seen from a session a packet may be and still open
/// once (in counter values). Older packets are refused as replays.
///
/// The bitmap has 1024 bits; one 64-bit word of it is the one being filled, so 960 counters
/// behind the highest are always remembered.
pub const REPLAY_WINDOW: u64 = ((WINDOW_WORDS - 1) * 64) as u64;

#[derive(Clone)]
struct Entry {
    key: [u8; 32],
}

impl Entry {
    fn new(key: [u8; 32]) -> Entry {
        Entry { key }
    }
}

/// The AES-256-GCM cipher of one session under one cluster key (see the module docs).
fn session_cipher(key: &[u8; 32], session: &[u8; SESSION_LEN]) -> Aes256Gcm {
    let mut okm = [0u8; 32];
    // Expanding 32 bytes from SHA-256 never fails (the limit is 255 x 32).
    let _ = Hkdf::<Sha256>::new(Some(session), key).expand(KDF_INFO, &mut okm);
    Aes256Gcm::new(&okm.into())
}

/// GCM's 96-bit nonce: four zero bytes and the counter.
fn gcm_nonce(counter: u64) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut n = [0u8; 12];
    if let Some(tail) = n.get_mut(4..) {
        tail.copy_from_slice(&counter.to_be_bytes());
    }
    Nonce::from(n)
}

/// A session key kept with the cluster key it came from.
#[derive(Clone)]
struct Cached {
    key: [u8; 32],
    cipher: Aes256Gcm,
}

impl fmt::Debug for Cached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cached { .. }")
    }
}

/// Symmetric keys of a cluster: one primary that seals, all of them tried when opening.
///
/// Keys are 32 random bytes ([`Keyring::generate_key`] makes one), given as bytes or as 64
/// hex digits. `Debug` shows how many keys there are, never their bytes.
#[derive(Clone)]
pub struct Keyring {
    /// The primary is always first, so opening tries it first.
    entries: Vec<Entry>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// A keyring holding one key, which is the primary.
    pub fn new(primary: [u8; 32]) -> Keyring {
        Keyring {
            entries: vec![Entry::new(primary)],
        }
    }

    /// A keyring holding one key given as 64 hex digits (either case; surrounding whitespace
    /// is ignored, so a key file's trailing newline is fine).
    ///
    /// # Errors
    ///
    /// [`ParseKeyError::BadLength`] unless there are exactly 64 characters,
    /// [`ParseKeyError::BadHex`] at the first that is not a hex digit.
    pub fn from_hex(hex: &str) -> Result<Keyring, ParseKeyError> {
        parse_hex_key(hex).map(Keyring::new)
    }

    /// A fresh random key from the operating system's generator, for a new cluster.
    ///
    /// # Errors
    ///
    /// [`EntropyError`] if the generator fails.
    pub fn generate_key() -> Result<[u8; 32], EntropyError> {
        let mut key = [0; 32];
        getrandom::fill(&mut key).map_err(|_| EntropyError)?;
        Ok(key)
    }

    /// Installs `key` for opening, without making it primary. Installing a key that is
    /// already installed does nothing.
    pub fn install(&mut self, key: [u8; 32]) {
        if self.position(&key).is_none() {
            self.entries.push(Entry::new(key));
        }
    }

    /// Makes an installed key the primary: it seals from now on. The previous primary stays
    /// installed for opening.
    ///
    /// # Errors
    ///
    /// [`KeyError::NotInstalled`] if the key is not installed.
    pub fn use_key(&mut self, key: &[u8; 32]) -> Result<(), KeyError> {
        let at = self.position(key).ok_or(KeyError::NotInstalled)?;
        if let Some(front) = self.entries.get_mut(..=at) {
            front.rotate_right(1);
        }
        Ok(())
    }

    /// Removes an installed key that is not the primary: packets sealed with it no longer
    /// open.
    ///
    /// # Errors
    ///
    /// [`KeyError::NotInstalled`] if the key is not installed, [`KeyError::RemovePrimary`]
    /// if it is the primary.
    pub fn remove(&mut self, key: &[u8; 32]) -> Result<(), KeyError> {
        match self.position(key) {
            None => Err(KeyError::NotInstalled),
            Some(0) => Err(KeyError::RemovePrimary),
            Some(at) => {
                self.entries.remove(at);
                Ok(())
            }
        }
    }

    /// The primary key, which seals.
    pub fn primary(&self) -> &[u8; 32] {
        // A keyring is never empty: it is created with a primary and the primary cannot be
        // removed.
        match self.entries.first() {
            Some(e) => &e.key,
            None => &[0; 32],
        }
    }

    /// All installed keys, the primary first.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &[u8; 32]> + '_ {
        self.entries.iter().map(|e| &e.key)
    }

    /// Whether `key` is installed (as the primary or not).
    pub fn contains(&self, key: &[u8; 32]) -> bool {
        self.position(key).is_some()
    }

    fn position(&self, key: &[u8; 32]) -> Option<usize> {
        self.entries.iter().position(|e| e.key == *key)
    }
}

fn parse_hex_key(hex: &str) -> Result<[u8; 32], ParseKeyError> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return Err(ParseKeyError::BadLength(hex.len()));
    }
    let mut key = [0u8; 32];
    for (i, (out, pair)) in key.iter_mut().zip(hex.chunks_exact(2)).enumerate() {
        let digit = |j: usize, c: u8| -> Result<u8, ParseKeyError> {
            match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                b'A'..=b'F' => Ok(c - b'A' + 10),
                _ => Err(ParseKeyError::BadHex(2 * i + j)),
            }
        };
        let [hi, lo] = pair else {
            return Err(ParseKeyError::BadLength(hex.len()));
        };
        *out = (digit(0, *hi)? << 4) | digit(1, *lo)?;
    }
    Ok(key)
}

/// One process's sending state: its session id and the counter of packets sealed in it.
///
/// Create one per process (or per socket) with [`Sealer::new`] and seal every outgoing
/// packet with it. It is deliberately not `Clone`: two copies would seal different packets
/// under the same nonces.
#[derive(Debug)]
pub struct Sealer {
    session: [u8; SESSION_LEN],
    counter: u64,
    /// The session key of the session it was derived for, under the primary key last used.
    cipher: Option<(Cached, [u8; SESSION_LEN])>,
}

impl Sealer {
    /// A sealer with a random session id from the operating system's generator.
    ///
    /// # Errors
    ///
    /// [`EntropyError`] if the generator fails.
    pub fn new() -> Result<Sealer, EntropyError> {
        let mut session = [0; SESSION_LEN];
        getrandom::fill(&mut session).map_err(|_| EntropyError)?;
        Ok(Sealer::with_session(session))
    }

    /// A sealer with the given session id, for tests and benchmarks. Two sealers with the
    /// same session id and key reuse nonces, which breaks confidentiality and replay
    /// protection: in production use [`Sealer::new`].
    pub fn with_session(session: [u8; SESSION_LEN]) -> Sealer {
        Sealer {
            session,
            counter: 0,
            cipher: None,
        }
    }

    /// The current session id.
    pub fn session(&self) -> [u8; SESSION_LEN] {
        self.session
    }

    /// Seals `plaintext` with the keyring's primary key into a new packet of
    /// `plaintext.len() + OVERHEAD` bytes.
    ///
    /// # Errors
    ///
    /// [`SealError`] if the plaintext is longer than [`MAX_PLAINTEXT`] (64 GiB).
    pub fn seal(&mut self, keyring: &Keyring, plaintext: &[u8]) -> Result<Bytes, SealError> {
        let mut out = BytesMut::with_capacity(plaintext.len().saturating_add(OVERHEAD));
        self.seal_into(keyring, plaintext, &mut out)?;
        Ok(out.freeze())
    }

    /// Seals `plaintext` like [`seal`](Self::seal), appending the packet to `out` (reuse one
    /// buffer to avoid an allocation per packet).
    ///
    /// # Errors
    ///
    /// [`SealError`] if the plaintext is longer than [`MAX_PLAINTEXT`]; `out` is then
    /// unchanged.
    pub fn seal_into(
        &mut self,
        keyring: &Keyring,
        plaintext: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), SealError> {
        if u64::try_from(plaintext.len()).map_or(true, |len| len > MAX_PLAINTEXT) {
            return Err(SealError {
                len: plaintext.len(),
            });
        }
        let Some(entry) = keyring.entries.first() else {
            // Unreachable (a keyring always has a primary); refuse rather than panic.
            return Err(SealError {
                len: plaintext.len(),
            });
        };
        let (session, counter) = self.next_nonce();
        if self
            .cipher
            .as_ref()
            .is_none_or(|(c, s)| c.key != entry.key || *s != session)
        {
            let cipher = session_cipher(&entry.key, &session);
            self.cipher = Some((
                Cached {
                    key: entry.key,
                    cipher,
                },
                session,
            ));
        }
        let Some((cached, _)) = &self.cipher else {
            return Err(SealError {
                len: plaintext.len(),
            });
        };
        let start = out.len();
        out.reserve(plaintext.len() + OVERHEAD);
        out.put_u8(VERSION);
        out.put_slice(&session);
        out.put_u64(counter);
        out.put_slice(plaintext);
        let body = out.get_mut(start + HEADER_LEN..).unwrap_or_default();
        match cached
            .cipher
            .encrypt_in_place_detached(&gcm_nonce(counter), &[VERSION], body)
        {
            Ok(tag) => {
                out.put_slice(&tag);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(SealError {
                    len: plaintext.len(),
                })
            }
        }
    }

    /// The session and counter for the next packet; never the same pair twice.
    fn next_nonce(&mut self) -> ([u8; SESSION_LEN], u64) {
        let now = (self.session, self.counter);
        if self.counter == u64::MAX {
            // 2^64 packets later: a new session (and so a new session key). Should the
            // generator fail, the next session id up is as unlikely to be anyone else's as a
            // random one.
            let mut fresh = [0; SESSION_LEN];
            self.session = match getrandom::fill(&mut fresh) {
                Ok(()) if fresh != self.session => fresh,
                _ => u128::from_be_bytes(self.session)
                    .wrapping_add(1)
                    .to_be_bytes(),
            };
            self.counter = 0;
        } else {
            self.counter += 1;
        }
        now
    }
}

/// The replay state of one sender session.
#[derive(Clone, Debug)]
struct Window {
    /// The highest counter opened.
    top: u64,
    /// Bit `c % 1024` is set when counter `c` (within the window) was opened.
    bits: [u64; WINDOW_WORDS],
    /// When the session was last heard from, in [`Opener`] ticks.
    seen: u64,
    /// The session's key, derived from the cluster key that last opened one of its packets.
    cipher: Cached,
}

impl Window {
    fn new(cipher: Cached) -> Window {
        Window {
            top: 0,
            bits: [0; WINDOW_WORDS],
            seen: 0,
            cipher,
        }
    }

    /// Records `counter` as opened; false if it was opened before or is too old.
    // The word index is taken modulo WINDOW_WORDS (16), so it fits any usize.
    #[allow(clippy::cast_possible_truncation)]
    fn accept(&mut self, counter: u64) -> bool {
        let words = WINDOW_WORDS as u64;
        if counter > self.top {
            // Clear the words the window slides over (all of them after a long jump).
            let from = self.top / 64;
            let to = counter / 64;
            let slide = (to - from).min(words);
            for i in 1..=slide {
                if let Some(w) = self.bits.get_mut(((from + i) % words) as usize) {
                    *w = 0;
                }
            }
            self.top = counter;
        } else if self.top - counter >= REPLAY_WINDOW {
            return false;
        }
        let bit = 1u64 << (counter % 64);
        match self.bits.get_mut(((counter / 64) % words) as usize) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }
}

/// Receiving state: opens sealed packets and remembers, per sender session, which it has
/// opened, to refuse replays.
#[derive(Clone, Debug)]
pub struct Opener {
    sessions: HashMap<[u8; SESSION_LEN], Window>,
    max_sessions: usize,
    tick: u64,
}

impl Opener {
    /// An opener that remembers the replay windows of at most `max_sessions` sender sessions
    /// (at least 1), forgetting the least recently heard one beyond that. Each costs about
    /// 1.2 KB (the window and the session's expanded AES key, 992 bytes). Size it above the
    /// number of members (see the [module docs](self) for what forgetting a session means).
    pub fn new(max_sessions: usize) -> Opener {
        Opener {
            sessions: HashMap::new(),
            max_sessions: max_sessions.max(1),
            tick: 0,
        }
    }

    /// How many sender sessions are remembered.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Opens a sealed packet with any installed key (the primary first) and returns its
    /// plaintext, if it is authentic and was not opened before.
    ///
    /// # Errors
    ///
    /// [`OpenError::TooShort`] or [`OpenError::UnknownVersion`] for a packet not in the
    /// sealed format, [`OpenError::Unauthenticated`] if no installed key opens it,
    /// [`OpenError::Replayed`] for an authentic packet opened before or older than the
    /// replay window. Nothing is recorded for a packet that does not open.
    pub fn open(&mut self, keyring: &Keyring, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let mut plaintext = Vec::new();
        self.open_into(keyring, sealed, &mut plaintext)?;
        Ok(plaintext)
    }

    /// Opens a sealed packet like [`open`](Self::open), appending its plaintext to `out`
    /// (reuse one buffer to avoid an allocation per packet).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); `out` is then unchanged.
    pub fn open_into(
        &mut self,
        keyring: &Keyring,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), OpenError> {
        let (&version, _) = sealed.split_first().ok_or(OpenError::TooShort)?;
        if version != VERSION {
            return Err(OpenError::UnknownVersion(version));
        }
        let (header, rest) = sealed
            .split_at_checked(HEADER_LEN)
            .ok_or(OpenError::TooShort)?;
        let (ciphertext, tag) = rest
            .split_at_checked(rest.len().checked_sub(TAG_LEN).ok_or(OpenError::TooShort)?)
            .ok_or(OpenError::TooShort)?;
        let (session, counter) = header
            .get(1..)
            .and_then(|n| {
                let session = <[u8; SESSION_LEN]>::try_from(n.get(..SESSION_LEN)?).ok()?;
                let counter = <[u8; 8]>::try_from(n.get(SESSION_LEN..)?).ok()?;
                Some((session, u64::from_be_bytes(counter)))
            })
            .ok_or(OpenError::TooShort)?;
        let nonce = gcm_nonce(counter);
        let tag = Tag::from_slice(tag);

        let start = out.len();
        let try_open = |cipher: &Aes256Gcm, out: &mut Vec<u8>| {
            out.truncate(start);
            out.extend_from_slice(ciphertext);
            let body = out.get_mut(start..).unwrap_or_default();
            cipher
                .decrypt_in_place_detached(&nonce, &[VERSION], body, tag)
                .is_ok()
        };
        // The session's own key first (if its cluster key is still installed), then every
        // installed key, deriving the session key for each.
        let known = self
            .sessions
            .get(&session)
            .filter(|w| keyring.contains(&w.cipher.key))
            .is_some_and(|w| try_open(&w.cipher.cipher, out));
        let fresh = if known {
            None
        } else {
            keyring.entries.iter().find_map(|e| {
                let cipher = session_cipher(&e.key, &session);
                try_open(&cipher, out).then_some(Cached { key: e.key, cipher })
            })
        };
        let result = if !known && fresh.is_none() {
            Err(OpenError::Unauthenticated)
        } else if !self.accept(session, counter, fresh) {
            Err(OpenError::Replayed)
        } else {
            return Ok(());
        };
        out.truncate(start);
        result
    }

    /// Records an authentic packet's counter in its session's window, with the session key
    /// that opened it when it was newly derived.
    fn accept(&mut self, session: [u8; SESSION_LEN], counter: u64, fresh: Option<Cached>) -> bool {
        self.tick += 1;
        if !self.sessions.contains_key(&session) && self.sessions.len() >= self.max_sessions {
            let oldest = self
                .sessions
                .iter()
                .min_by_key(|(_, w)| w.seen)
                .map(|(s, _)| *s);
            if let Some(oldest) = oldest {
                self.sessions.remove(&oldest);
            }
        }
        let window = match (self.sessions.entry(session), fresh) {
            (std::collections::hash_map::Entry::Occupied(o), fresh) => {
                let w = o.into_mut();
                if let Some(c) = fresh {
                    w.cipher = c;
                }
                w
            }
            (std::collections::hash_map::Entry::Vacant(v), Some(c)) => v.insert(Window::new(c)),
            // Unreachable: a packet of an unknown session opens only with a fresh key.
            (std::collections::hash_map::Entry::Vacant(_), None) => return false,
        };
        window.seen = self.tick;
        window.accept(counter)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K1: [u8; 32] = [1; 32];
    const K2: [u8; 32] = [2; 32];

    fn sealer(n: u8) -> Sealer {
        Sealer::with_session([n; SESSION_LEN])
    }

    #[test]
    fn round_trip_and_format() {
        let ring = Keyring::new(K1);
        let mut s = sealer(9);
        let mut o = Opener::new(8);
        for len in [0usize, 1, 15, 16, 17, 200, 1400] {
            let msg: Vec<u8> = (0..=255u8).cycle().take(len).collect();
            let p = s.seal(&ring, &msg).unwrap();
            assert_eq!(p.len(), len + OVERHEAD);
            assert_eq!(p[0], VERSION);
            assert_eq!(&p[1..17], &[9; 16]);
            if len > 0 {
                assert_ne!(&p[HEADER_LEN..HEADER_LEN + len], &msg[..], "encrypted");
            }
            assert_eq!(o.open(&ring, &p).unwrap(), msg);
        }
        // Counters 0, 1, 2, ... big endian after the session.
        let p = s.seal(&ring, b"x").unwrap();
        assert_eq!(&p[17..25], &7u64.to_be_bytes());
    }

    #[test]
    fn seal_into_appends() {
        let ring = Keyring::new(K1);
        let mut s = sealer(1);
        let mut buf = BytesMut::from(&b"head"[..]);
        s.seal_into(&ring, b"body", &mut buf).unwrap();
        assert_eq!(&buf[..4], b"head");
        let mut o = Opener::new(1);
        assert_eq!(o.open(&ring, &buf[4..]).unwrap(), b"body");
    }

    #[test]
    fn open_into_appends_or_leaves_alone() {
        let ring = Keyring::new(K1);
        let mut s = sealer(1);
        let mut o = Opener::new(1);
        let p = s.seal(&ring, b"body").unwrap();
        let mut out = b"head".to_vec();
        o.open_into(&ring, &p, &mut out).unwrap();
        assert_eq!(out, b"headbody");
        for bad in [&p[..], &p[..10], &[][..], &[2, 0, 0][..]] {
            assert!(o.open_into(&ring, bad, &mut out).is_err());
            assert_eq!(out, b"headbody");
        }
        let q = s.seal(&Keyring::new(K2), b"other").unwrap();
        assert_eq!(
            o.open_into(&ring, &q, &mut out),
            Err(OpenError::Unauthenticated)
        );
        assert_eq!(out, b"headbody");
    }

    #[test]
    fn wrong_key_is_unauthenticated() {
        let p = sealer(1).seal(&Keyring::new(K1), b"hello").unwrap();
        let mut o = Opener::new(4);
        assert_eq!(
            o.open(&Keyring::new(K2), &p),
            Err(OpenError::Unauthenticated)
        );
        assert_eq!(o.sessions(), 0, "nothing recorded for a failed packet");
        assert_eq!(o.open(&Keyring::new(K1), &p).unwrap(), b"hello");
    }

    #[test]
    fn every_bit_flip_fails() {
        let ring = Keyring::new(K1);
        let p = sealer(3).seal(&ring, b"membership rumour").unwrap();
        let mut o = Opener::new(4);
        for i in 0..p.len() * 8 {
            let mut bad = p.to_vec();
            bad[i / 8] ^= 1 << (i % 8);
            let err = o.open(&ring, &bad).unwrap_err();
            if i < 8 {
                assert_eq!(err, OpenError::UnknownVersion(bad[0]));
            } else {
                assert_eq!(err, OpenError::Unauthenticated, "bit {i}");
            }
        }
        assert_eq!(o.open(&ring, &p).unwrap(), b"membership rumour");
    }

    #[test]
    fn truncations_and_extensions_fail() {
        let ring = Keyring::new(K1);
        let p = sealer(3).seal(&ring, b"abc").unwrap();
        let mut o = Opener::new(4);
        assert_eq!(o.open(&ring, &[]), Err(OpenError::TooShort));
        for n in 1..p.len() {
            let err = o.open(&ring, &p[..n]).unwrap_err();
            if n < OVERHEAD {
                assert_eq!(err, OpenError::TooShort);
            } else {
                assert_eq!(err, OpenError::Unauthenticated);
            }
            // Dropping the front is no better.
            assert!(o.open(&ring, &p[n..]).is_err());
        }
        let mut longer = p.to_vec();
        longer.push(0);
        assert_eq!(o.open(&ring, &longer), Err(OpenError::Unauthenticated));
        assert_eq!(o.open(&ring, &p).unwrap(), b"abc");
    }

    #[test]
    fn replay_is_refused() {
        let ring = Keyring::new(K1);
        let mut s = sealer(1);
        let mut o = Opener::new(4);
        let p = s.seal(&ring, b"suspect").unwrap();
        assert!(o.open(&ring, &p).is_ok());
        assert_eq!(o.open(&ring, &p), Err(OpenError::Replayed));
        assert_eq!(o.open(&ring, &p), Err(OpenError::Replayed));
        // Another session's counter 0 is a different packet.
        let q = sealer(2).seal(&ring, b"suspect").unwrap();
        assert!(o.open(&ring, &q).is_ok());
        assert_eq!(o.sessions(), 2);
    }

    #[test]
    fn out_of_order_within_window_opens_once() {
        let ring = Keyring::new(K1);
        let mut s = sealer(1);
        let packets: Vec<Bytes> = (0..2000)
            .map(|i: u32| s.seal(&ring, &i.to_be_bytes()).unwrap())
            .collect();
        let mut o = Opener::new(4);
        // Newest first, then backwards through the window.
        let top = packets.len() - 1;
        assert!(o.open(&ring, &packets[top]).is_ok());
        let window = usize::try_from(REPLAY_WINDOW).unwrap();
        for back in 1..window {
            let p = &packets[top - back];
            assert!(o.open(&ring, p).is_ok(), "{back} behind opens");
            assert_eq!(o.open(&ring, p), Err(OpenError::Replayed));
        }
        // Older than the window: refused even though never seen.
        for back in window..=top {
            assert_eq!(
                o.open(&ring, &packets[top - back]),
                Err(OpenError::Replayed),
                "{back} behind"
            );
        }
    }

    #[test]
    fn window_slides_with_gaps() {
        let ring = Keyring::new(K1);
        let mut s = sealer(1);
        let packets: Vec<Bytes> = (0..5000u32)
            .map(|i| s.seal(&ring, &i.to_be_bytes()).unwrap())
            .collect();
        let mut o = Opener::new(4);
        // Every third packet in order, then the skipped ones that are still within the window.
        for p in packets.iter().step_by(3) {
            assert!(o.open(&ring, p).is_ok());
        }
        let top = 4998u64; // the last multiple of 3 below 5000
        for (c, p) in packets.iter().enumerate() {
            let c = c as u64;
            let expect_ok = !c.is_multiple_of(3) && (c > top || top - c < REPLAY_WINDOW);
            assert_eq!(o.open(&ring, p).is_ok(), expect_ok, "counter {c}");
        }
        // A long jump clears the whole bitmap: nothing from before opens twice.
        s.counter = 1_000_000;
        let far = s.seal(&ring, b"far").unwrap();
        assert!(o.open(&ring, &far).is_ok());
        for p in &packets {
            assert_eq!(o.open(&ring, p), Err(OpenError::Replayed));
        }
    }

    #[test]
    fn window_against_model() {
        // Counters in a scrambled order (a fixed linear congruential walk with jumps) against
        // a set of everything opened.
        let mut w = Window::new(Cached {
            key: K1,
            cipher: session_cipher(&K1, &[0; SESSION_LEN]),
        });
        let mut opened = std::collections::HashSet::new();
        let mut top = 0u64;
        let mut x = 12345u64;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let c = match x >> 62 {
                0 => top.saturating_sub((x >> 20) % 1200),
                1 => top + (x >> 20) % 70,
                2 => top.saturating_sub((x >> 20) % 64),
                _ => top + (x >> 20) % 3000,
            };
            let fresh = !opened.contains(&c) && (c > top || top - c < REPLAY_WINDOW);
            assert_eq!(w.accept(c), fresh, "counter {c} top {top}");
            if fresh {
                opened.insert(c);
                top = top.max(c);
            }
        }
    }

    #[test]
    fn a_session_that_switches_primary_keeps_its_window() {
        let mut sender_ring = Keyring::new(K1);
        sender_ring.install(K2);
        let mut receiver_ring = Keyring::new(K1);
        receiver_ring.install(K2);
        let mut s = sealer(3);
        let mut o = Opener::new(4);
        let first = s.seal(&sender_ring, b"under K1").unwrap();
        assert!(o.open(&receiver_ring, &first).is_ok());
        // Mid-session the sender makes K2 primary: the receiver derives the session's new
        // key, and the session's replay window carries on.
        sender_ring.use_key(&K2).unwrap();
        let second = s.seal(&sender_ring, b"under K2").unwrap();
        assert_eq!(o.open(&receiver_ring, &second).unwrap(), b"under K2");
        assert_eq!(o.open(&receiver_ring, &first), Err(OpenError::Replayed));
        assert_eq!(o.open(&receiver_ring, &second), Err(OpenError::Replayed));
        assert_eq!(o.sessions(), 1);
        // A forgery naming the session opens with neither key and changes nothing.
        let mut forged = s.seal(&sender_ring, b"third").unwrap().to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            o.open(&receiver_ring, &forged),
            Err(OpenError::Unauthenticated)
        );
        forged[last] ^= 1;
        assert_eq!(o.open(&receiver_ring, &forged).unwrap(), b"third");
    }

    #[test]
    fn counter_wrap_changes_session() {
        let ring = Keyring::new(K1);
        let mut s = sealer(5);
        s.counter = u64::MAX;
        let last = s.seal(&ring, b"last").unwrap();
        assert_eq!(&last[17..25], &u64::MAX.to_be_bytes());
        assert_ne!(s.session(), [5; 16]);
        let next = s.seal(&ring, b"next").unwrap();
        assert_eq!(&next[17..25], &0u64.to_be_bytes());
        let mut o = Opener::new(4);
        assert!(o.open(&ring, &last).is_ok());
        assert!(o.open(&ring, &next).is_ok());
    }

    #[test]
    fn rotation() {
        let mut a = Keyring::new(K1);
        let mut b = Keyring::new(K1);
        let mut sa = sealer(1);
        let mut ob = Opener::new(4);
        let old = sa.seal(&a, b"old").unwrap();

        // 1. install everywhere.
        a.install(K2);
        b.install(K2);
        a.install(K2); // idempotent
        assert_eq!(a.keys().count(), 2);
        assert_eq!(a.primary(), &K1);
        assert!(a.contains(&K2) && !Keyring::new(K1).contains(&K2));
        // 2. use the new key: a seals with K2, b (still on K1) opens it, and a's old packet
        //    still opens at b.
        a.use_key(&K2).unwrap();
        assert_eq!(a.primary(), &K2);
        assert_eq!(a.keys().copied().collect::<Vec<_>>(), vec![K2, K1]);
        let new = sa.seal(&a, b"new").unwrap();
        assert_eq!(ob.open(&b, &new).unwrap(), b"new");
        assert_eq!(
            ob.open(&Keyring::new(K1), &new),
            Err(OpenError::Unauthenticated)
        );
        b.use_key(&K2).unwrap();
        let old2 = sealer(2).seal(&Keyring::new(K1), b"old2").unwrap();
        assert_eq!(ob.open(&b, &old).unwrap(), b"old");
        // 3. remove the old key: packets sealed with it no longer open.
        assert_eq!(b.remove(&K2), Err(KeyError::RemovePrimary));
        b.remove(&K1).unwrap();
        assert_eq!(b.remove(&K1), Err(KeyError::NotInstalled));
        assert_eq!(b.use_key(&K1), Err(KeyError::NotInstalled));
        assert_eq!(ob.open(&b, &old2), Err(OpenError::Unauthenticated));
        assert_eq!(b.keys().count(), 1);
    }

    #[test]
    fn use_key_keeps_others_in_order() {
        let mut r = Keyring::new([0; 32]);
        for k in 1..5u8 {
            r.install([k; 32]);
        }
        r.use_key(&[3; 32]).unwrap();
        let firsts: Vec<u8> = r.keys().map(|k| k[0]).collect();
        assert_eq!(firsts, vec![3, 0, 1, 2, 4]);
        r.use_key(&[3; 32]).unwrap();
        assert_eq!(r.keys().map(|k| k[0]).collect::<Vec<_>>(), firsts);
    }

    #[test]
    fn sessions_are_bounded_lru() {
        let ring = Keyring::new(K1);
        let mut o = Opener::new(3);
        let mut sealers: Vec<Sealer> = (0..5).map(sealer).collect();
        let first = sealers[0].seal(&ring, b"a").unwrap();
        assert!(o.open(&ring, &first).is_ok());
        for s in &mut sealers[1..3] {
            assert!(o.open(&ring, &s.seal(&ring, b"x").unwrap()).is_ok());
        }
        // Session 0 heard again: session 1 is now the least recently heard.
        assert!(
            o.open(&ring, &sealers[0].seal(&ring, b"b").unwrap())
                .is_ok()
        );
        assert!(
            o.open(&ring, &sealers[3].seal(&ring, b"x").unwrap())
                .is_ok()
        );
        assert_eq!(o.sessions(), 3);
        assert_eq!(o.open(&ring, &first), Err(OpenError::Replayed), "0 kept");
        assert!(o.sessions.contains_key(&[0; 16]));
        assert!(!o.sessions.contains_key(&[1; 16]));
        assert!(
            o.open(&ring, &sealers[4].seal(&ring, b"x").unwrap())
                .is_ok()
        );
        assert_eq!(o.sessions(), 3);
        // Evicted sessions' old packets open again: the documented cost of the bound.
        sealers[0].counter = 0;
        let mut bounded = Opener::new(1);
        assert!(bounded.open(&ring, &first).is_ok());
        assert!(
            bounded
                .open(&ring, &sealers[1].seal(&ring, b"y").unwrap())
                .is_ok()
        );
        assert!(bounded.open(&ring, &first).is_ok());
        assert_eq!(Opener::new(0).max_sessions, 1);
    }

    #[test]
    fn hex_keys() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
        let r = Keyring::from_hex(&format!(" {hex}\n")).unwrap();
        let want: Vec<u8> = (0..32).collect();
        assert_eq!(&r.primary()[..], &want[..]);
        assert_eq!(
            Keyring::from_hex("").unwrap_err(),
            ParseKeyError::BadLength(0)
        );
        assert_eq!(
            Keyring::from_hex(&hex[..63]).unwrap_err(),
            ParseKeyError::BadLength(63)
        );
        let mut bad = hex.to_string();
        bad.replace_range(41..42, "g");
        assert_eq!(
            Keyring::from_hex(&bad).unwrap_err(),
            ParseKeyError::BadHex(41)
        );
        // Non-ASCII: length counts bytes, and a multi-byte character is never a digit.
        let uni = format!("é{}", &hex[2..]);
        assert_eq!(uni.len(), 64);
        assert_eq!(
            Keyring::from_hex(&uni).unwrap_err(),
            ParseKeyError::BadHex(0)
        );
        assert!(Keyring::generate_key().is_ok());
        assert_ne!(Keyring::generate_key(), Keyring::generate_key());
    }

    #[test]
    fn debug_hides_keys() {
        let mut r = Keyring::new([0xAB; 32]);
        r.install([0xCD; 32]);
        let d = format!("{r:?}");
        assert_eq!(d, "Keyring { keys: 2, .. }");
        let d = format!("{r:#?}");
        assert!(
            !d.contains("171") && !d.to_lowercase().contains("ab"),
            "{d}"
        );
    }

    #[test]
    fn thread_safety() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Keyring>();
        send_sync::<Sealer>();
        send_sync::<Opener>();
        send_sync::<OpenError>();
        send_sync::<KeyError>();
        send_sync::<ParseKeyError>();
        send_sync::<EntropyError>();
    }

    #[test]
    fn errors_display() {
        for e in [
            OpenError::TooShort,
            OpenError::UnknownVersion(9),
            OpenError::Unauthenticated,
            OpenError::Replayed,
        ] {
            assert!(!e.to_string().is_empty());
        }
        for e in [ParseKeyError::BadLength(3), ParseKeyError::BadHex(1)] {
            assert!(!e.to_string().is_empty());
        }
        for e in [KeyError::NotInstalled, KeyError::RemovePrimary] {
            assert!(!e.to_string().is_empty());
        }
        assert!(!EntropyError.to_string().is_empty());
        assert!(SealError { len: 1 }.to_string().contains('1'));
    }

    proptest! {
        #[test]
        fn prop_round_trip(msgs in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..300), 1..20)) {
            let ring = Keyring::new(K2);
            let mut s = Sealer::new().unwrap();
            let mut o = Opener::new(2);
            let sealed: Vec<Bytes> = msgs.iter().map(|m| s.seal(&ring, m).unwrap()).collect();
            for (m, p) in msgs.iter().zip(&sealed).rev() {
                prop_assert_eq!(p.len(), m.len() + OVERHEAD);
                prop_assert_eq!(&o.open(&ring, p).unwrap(), m);
            }
            for p in &sealed {
                prop_assert_eq!(o.open(&ring, p), Err(OpenError::Replayed));
            }
        }

        #[test]
        fn prop_garbage_never_opens(data in proptest::collection::vec(any::<u8>(), 0..200),
                                    version_one in any::<bool>()) {
            let mut data = data;
            if version_one && !data.is_empty() {
                data[0] = VERSION;
            }
            let mut ring = Keyring::new(K1);
            ring.install(K2);
            let mut o = Opener::new(2);
            prop_assert!(o.open(&ring, &data).is_err());
            prop_assert_eq!(o.sessions(), 0);
        }
    }
}
