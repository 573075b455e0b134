//! A tour of sinew-snowflake: make IDs, take them apart, and see what each layout can do.
//!
//! Run with `cargo run --release -p sinew-examples --example snowflake`.
#![allow(clippy::print_stdout)] // an example talks on stdout

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use humantime::format_rfc3339_millis;
use sinew::snowflake::{CachedClock, Generator, Id, Layout};

fn main() -> Result<(), Box<dyn Error>> {
    println!("== 1. Make IDs");
    // One generator per worker id: this process is worker 7 of up to 1024.
    let ids = Generator::new(Layout::TWITTER, 7)?;
    let first = ids.next_id()?;
    let second = ids.next_id()?;
    println!("two IDs from worker 7: {first} < {second}");
    println!(
        "as text: decimal {first}, base62 {}, Crockford base32 {}",
        first.to_base62(),
        first.to_crockford()
    );

    println!("\n== 2. Take an ID apart");
    let parts = Layout::TWITTER.decode(first.get());
    println!(
        "{first}: made at {}, worker {}, sequence {}",
        format_rfc3339_millis(parts.time()),
        parts.worker(),
        parts.sequence()
    );
    // Discord documents this ID of theirs: 2016-04-30T11:18:25.796Z, worker 1, process 0,
    // increment 7. Its 10-bit worker field holds a 5-bit worker id and a 5-bit process id.
    let discord = Layout::DISCORD.decode(175_928_847_299_117_063);
    let (worker, process) = discord.split_worker(5);
    println!(
        "Discord's 175928847299117063: made at {}, worker {worker}, process {process}, increment {}",
        format_rfc3339_millis(discord.time()),
        discord.sequence()
    );

    println!("\n== 3. What each layout can do");
    println!(
        "{:<10} {:>5} {:>7} {:>9} {:>14}  runs out",
        "layout", "bits", "tick", "workers", "IDs/s/worker"
    );
    for (name, layout) in [
        ("Twitter", Layout::TWITTER),
        ("Discord", Layout::DISCORD),
        ("Sonyflake", Layout::SONYFLAKE),
        ("Instagram", Layout::INSTAGRAM),
    ] {
        println!(
            "{name:<10} {:>5} {:>7?} {:>9} {:>14}  {}",
            layout.total_bits(),
            layout.tick(),
            layout.max_worker() + 1,
            layout.ids_per_second(),
            format_rfc3339_millis(layout.expires_at())
        );
    }

    println!("\n== 4. Many threads, one generator");
    // Share one generator; never make one per thread with the same worker id (duplicates).
    // The cached clock makes the clock read one atomic load; the capacity of the Twitter
    // layout (4096 IDs per ms) is then the limit, and threads wait for the next millisecond.
    let shared = Arc::new(
        Generator::builder(Layout::TWITTER, 8)
            .clock(CachedClock::new())
            .build()?,
    );
    let started = Instant::now();
    let per_thread = 200_000;
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || (0..per_thread).map(|_| shared.next_id()).collect())
        })
        .collect();
    let mut all: Vec<Id> = Vec::new();
    for handle in handles {
        let made: Result<Vec<Id>, _> = handle.join().map_err(|_| "a thread panicked")?;
        all.extend(made?);
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    all.dedup();
    println!(
        "2 threads made {} distinct IDs in {elapsed:.1?} ({:.1} M IDs/s; the layout allows {:.1} M/s)",
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64() / 1e6,
        Layout::TWITTER.ids_per_second() as f64 / 1e6
    );

    println!("\n== 5. Restart safely");
    // Persist the high-water mark now and then; after a restart, resume after it so no ID
    // repeats even if the machine's clock came back behind.
    let mark = shared.last_id().ok_or("no ID made yet")?;
    let restarted = Generator::builder(Layout::TWITTER, 8)
        .resume_after(mark)
        .build()?;
    let next = restarted.next_id()?;
    println!("last ID before the restart {mark}, first after it {next}");
    assert!(next > mark);

    println!("\n== 6. Reserve a batch with one atomic operation");
    let batch: Vec<Id> = ids.next_batch(5)?.collect();
    println!("{batch:?}");
    Ok(())
}
