//! Arbitrary bytes into the message decoder, and whatever decodes into a replica and a
//! coordinator: no panic, decoding is total, and a decoded message re-encodes to bytes that
//! decode to the same message.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sinew_clock::{HybridClock, ManualClock};
use sinew_replica::{Coordinator, Message, Policy, Replica};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::<u64>::decode(data) else {
        return;
    };
    let again = message.to_bytes();
    assert_eq!(Message::<u64>::decode(&again).as_ref(), Ok(&message));

    let now = Duration::from_secs(1_700_000_000);
    for policy in [Policy::Dvv, Policy::Lww] {
        let mut replica = Replica::new(1u64, 1, policy);
        replica.handle(2, message.clone(), now);
        replica.handle_sync(2, message.clone(), |_| true, now);
        while let Some(t) = replica.poll_transmit() {
            let bytes = t.message.to_bytes();
            assert_eq!(Message::<u64>::decode(&bytes).as_ref(), Ok(&t.message));
        }
        let mut coordinator =
            Coordinator::new(1u64, 1, policy, HybridClock::new(ManualClock::new(now)));
        coordinator.handle_reply(2, message.clone(), now);
        coordinator.handle_timeout(now + Duration::from_secs(10));
        assert_eq!(coordinator.in_flight(), 0);
    }
});
