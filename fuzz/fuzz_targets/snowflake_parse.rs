//! Every text decoder of `Id` on arbitrary input: no panic, and whatever parses re-encodes to
//! itself (fixed-width forms) or to the same number (decimal). Also `parse(format(id)) == id`
//! for an arbitrary id, and `Layout::try_decode` on arbitrary IDs and layouts.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_snowflake::{Id, Layout};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    text: &'a str,
    id: u64,
    layout: (u8, u8, u8, u32, u32, bool),
}

fuzz_target!(|input: Input<'_>| {
    // Decoders on hostile text.
    if let Ok(id) = input.text.parse::<Id>() {
        assert_eq!(id.to_string().parse::<Id>(), Ok(id));
    }
    if let Ok(id) = Id::from_base62(input.text) {
        assert_eq!(id.to_base62(), input.text);
    }
    if let Ok(id) = Id::from_crockford(input.text) {
        // The canonical form is the input upper-cased with the aliases resolved.
        let canonical: String = input
            .text
            .chars()
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            })
            .collect();
        assert_eq!(id.to_crockford(), canonical);
    }

    // Encoders round-trip every id.
    let id = Id::new(input.id);
    assert_eq!(id.to_string().parse::<Id>(), Ok(id));
    assert_eq!(Id::from_base62(&id.to_base62()), Ok(id));
    assert_eq!(Id::from_crockford(&id.to_crockford()), Ok(id));

    // Layout decoding of hostile IDs under any layout the builder accepts.
    let (t, w, s, tick, epoch, sign) = input.layout;
    let built = Layout::builder()
        .timestamp_bits(u32::from(t))
        .worker_bits(u32::from(w))
        .sequence_bits(u32::from(s))
        .tick(std::time::Duration::from_nanos(u64::from(tick)))
        .epoch(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(epoch)))
        .use_sign_bit(sign)
        .build();
    if let Ok(layout) = built {
        let parts = layout.decode(input.id);
        let _ = parts.time();
        let _ = parts.split_worker(u32::from(w));
        if let Ok(parts) = layout.try_decode(input.id) {
            let again = layout.compose(parts.timestamp(), parts.worker(), parts.sequence());
            assert_eq!(again, Ok(id));
        }
        let _ = layout.expires_at();
        let _ = layout.ids_per_second();
    }
});
