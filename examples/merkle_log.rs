//! A transparency log in miniature: a server appends entries to an RFC 6962 Merkle tree and
//! hands out signed-looking tree heads, inclusion proofs and consistency proofs; a client that
//! trusts nothing but the tree heads it has seen checks that its entry is in the log and that
//! the log only ever grew.
//!
//! Run with `cargo run --release -p sinew-examples --example merkle_log`.
#![allow(clippy::print_stdout)] // an example talks on stdout

use std::error::Error;

use sinew::merkle::log::{
    CompactTree, ConsistencyProof, InclusionProof, leaf_hash, verify_consistency, verify_inclusion,
};
use sinew::merkle::{Digest, MerkleTree};

/// What a real log signs and publishes: the size and the root, always together (a proof says
/// nothing about a root whose size you did not get from the same signed head).
#[derive(Debug, Clone, Copy)]
struct TreeHead {
    size: u64,
    root: Digest,
}

/// The log server: keeps every leaf, answers proof requests.
struct Log {
    tree: MerkleTree,
}

impl Log {
    fn append(&mut self, entry: &str) -> u64 {
        self.tree.push(entry.as_bytes());
        self.tree.len() - 1
    }

    fn head(&self) -> TreeHead {
        TreeHead {
            size: self.tree.len(),
            root: self.tree.root(),
        }
    }

    /// Proofs travel as bytes (the crate's stable encoding).
    fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<u8>, Box<dyn Error>> {
        Ok(self.tree.inclusion_proof(index, size)?.to_bytes())
    }

    fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<u8>, Box<dyn Error>> {
        Ok(self.tree.consistency_proof(old, new)?.to_bytes())
    }
}

fn hex(h: &Digest) -> String {
    h.iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        + ".."
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut log = Log {
        tree: MerkleTree::new(),
    };
    // What was appended, kept here only to replay it in parts 3 and 4.
    let mut entries: Vec<String> = Vec::new();

    println!("== 1. The log takes entries");
    for i in 0..1000 {
        let entry = format!("certificate #{i} for host{i}.example");
        log.append(&entry);
        entries.push(entry);
    }
    let mine = "certificate for shop.example, key 9f3a";
    entries.push(mine.to_string());
    let my_index = log.append(mine);
    let head1 = log.head();
    println!(
        "appended {} entries, mine is #{my_index}; tree head: size {}, root {}",
        entries.len(),
        head1.size,
        hex(&head1.root)
    );

    println!("\n== 2. The client checks its entry is in the log");
    let bytes = log.prove_inclusion(my_index, head1.size)?;
    let proof = InclusionProof::from_bytes(&bytes)?;
    verify_inclusion(
        &leaf_hash(mine.as_bytes()),
        my_index,
        head1.size,
        proof.hashes(),
        &head1.root,
    )?;
    println!(
        "inclusion proof: {} hashes, {} bytes on the wire: verified",
        proof.hashes().len(),
        bytes.len()
    );
    let forged = verify_inclusion(
        &leaf_hash(b"certificate for shop.example, key EVIL"),
        my_index,
        head1.size,
        proof.hashes(),
        &head1.root,
    );
    println!("the same proof for a forged entry: {forged:?}");

    println!("\n== 3. The log grows; the client checks it only grew");
    for i in 1000..1500 {
        let entry = format!("certificate #{i} for host{i}.example");
        log.append(&entry);
        entries.push(entry);
    }
    let head2 = log.head();
    let bytes = log.prove_consistency(head1.size, head2.size)?;
    let proof = ConsistencyProof::from_bytes(&bytes)?;
    verify_consistency(
        head1.size,
        head2.size,
        proof.hashes(),
        &head1.root,
        &head2.root,
    )?;
    println!(
        "new head: size {}, root {}; consistency proof from {}: {} hashes: verified",
        head2.size,
        hex(&head2.root),
        head1.size,
        proof.hashes().len()
    );
    // A log that rewrote history (changed entry 10) cannot prove consistency with head1.
    let mut rewritten = MerkleTree::new();
    for (i, entry) in entries.iter().enumerate() {
        if i == 10 {
            rewritten.push(b"certificate #10 for attacker.example");
        } else {
            rewritten.push(entry.as_bytes());
        }
    }
    let bad = rewritten.consistency_proof(head1.size, head2.size)?;
    let verdict = verify_consistency(
        head1.size,
        head2.size,
        bad.hashes(),
        &head1.root,
        &rewritten.root(),
    );
    println!("a log that rewrote entry 10 tries to prove the same: {verdict:?}");

    println!("\n== 4. A writer that keeps no leaves");
    // A CompactTree keeps only the frontier (one hash per set bit of the size) and computes
    // the same root, so a writer streaming entries to storage can still publish tree heads.
    let mut compact = CompactTree::new();
    for entry in &entries {
        compact.push(entry.as_bytes())?;
    }
    println!(
        "compact tree of {} leaves keeps {} hashes; root {} (same as the log's: {})",
        compact.len(),
        compact.frontier().len(),
        hex(&compact.root()),
        compact.root() == head2.root
    );
    Ok(())
}
