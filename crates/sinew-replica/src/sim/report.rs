//! What a run measured, as JSON and as a readable summary.

use std::fmt;

use super::Sim;
use super::options::{SimOptions, policy_name};
use crate::Policy;
use crate::error::SimError;

/// What one run measured and what the checker found. [`to_json`](Self::to_json) prints it;
/// `Display` prints a readable summary.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReportCard {
    /// The options of the run.
    pub options: SimOptions,
    /// Client operations completed (gets and puts, failed ones included).
    pub ops: u64,
    /// Writes acknowledged to their client.
    pub acknowledged_writes: u64,
    /// Acknowledged writes that the final state neither holds nor supersedes.
    pub lost_acknowledged_writes: u64,
    /// Strict reads that missed a strict write acknowledged before they began (R + W > N
    /// only; 0 otherwise).
    pub stale_reads: u64,
    /// Acknowledged writes that no final sibling holds or descends from.
    pub lost_concurrent_updates: u64,
    /// Successful operations / attempted operations.
    pub availability: f64,
    /// Acknowledged writes / attempted writes.
    pub write_availability: f64,
    /// The same for the writes invoked while a node was crashed (from the crash until
    /// membership learned of the restart); `None` without a crash.
    pub write_availability_during_crash: Option<f64>,
    /// Read repairs sent by the coordinators (every life of every node).
    pub read_repairs: u64,
    /// Hints stored (every life of every node).
    pub hints_stored: u64,
    /// Hints delivered to, and acknowledged by, their owner.
    pub hints_delivered: u64,
    /// Hints dropped by a full hint store.
    pub hints_dropped: u64,
    /// Hints held in memory by a node when it crashed.
    pub hints_lost: u64,
    /// Hints still held at the end of the run.
    pub hints_pending: u64,
    /// Whether the store converged within 60 virtual seconds of the end of the workload.
    pub converged: bool,
    /// Virtual seconds from the end of the workload (every fault healed) to convergence.
    pub convergence_s: Option<f64>,
    /// Anti-entropy rounds begun in that time.
    pub convergence_rounds: Option<u64>,
    /// Messages handed to the network (lost ones and the anti-entropy tree walks included)
    /// per operation.
    pub messages_per_op: f64,
    /// The most siblings of a key at the end.
    pub siblings_max: usize,
    /// Successful strict reads (the reads the stale-read check applies to).
    pub strict_reads: u64,
    /// Failed operations refused at once (too few nodes alive).
    pub failed_unavailable: u64,
    /// Failed operations whose quorum did not answer before the timeout.
    pub failed_timeout: u64,
    /// Failed operations whose coordinator never answered (it crashed or was down).
    pub failed_no_answer: u64,
    /// Virtual seconds simulated.
    pub virtual_s: f64,
    /// A few violations, described (empty when the checker found none).
    pub violations: Vec<String>,
}

impl ReportCard {
    /// Plays the run `opts` describes (see the [module docs](crate::sim)).
    ///
    /// # Errors
    ///
    /// [`SimError::Invalid`] if the options do not [validate](SimOptions::validate).
    pub fn run(opts: &SimOptions) -> Result<ReportCard, SimError> {
        Self::run_with_progress(opts, &mut |_, _| {})
    }

    /// As [`run`](Self::run), calling `progress(done, total)` at every percent of the
    /// operations.
    ///
    /// # Errors
    ///
    /// [`SimError::Invalid`] if the options do not [validate](SimOptions::validate).
    pub fn run_with_progress(
        opts: &SimOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ReportCard, SimError> {
        opts.validate()?;
        let mut sim = Sim::new(opts)?;
        sim.run(progress);
        Ok(sim.report())
    }

    /// Whether the checker found no lost acknowledged write, no stale read and (with
    /// [`Policy::Dvv`]) no lost concurrent update, and the store converged.
    pub fn passed(&self) -> bool {
        self.lost_acknowledged_writes == 0
            && self.stale_reads == 0
            && (self.options.policy == Policy::Lww || self.lost_concurrent_updates == 0)
            && self.converged
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        let o = &self.options;
        let opt_f = |x: Option<f64>| x.map_or_else(|| "null".to_owned(), |x| format!("{x:.3}"));
        let opt_u = |x: Option<u64>| x.map_or_else(|| "null".to_owned(), |x| x.to_string());
        format!(
            concat!(
                "{{\"nodes\":{},\"n\":{},\"r\":{},\"w\":{},\"policy\":\"{}\",\"loss\":{},",
                "\"skew_ms\":{},\"seed\":{},\"partition\":{},\"crash\":{},\"clients\":{},",
                "\"keys\":{},\"ops\":{},\"acknowledged_writes\":{},",
                "\"lost_acknowledged_writes\":{},\"stale_reads\":{},",
                "\"lost_concurrent_updates\":{},\"availability\":{:.6},",
                "\"write_availability\":{:.6},\"write_availability_during_crash\":{},",
                "\"read_repairs\":{},\"hints_stored\":{},",
                "\"hints_delivered\":{},\"hints_dropped\":{},\"hints_lost\":{},",
                "\"hints_pending\":{},\"converged\":{},\"convergence_s\":{},",
                "\"convergence_rounds\":{},\"messages_per_op\":{:.2},\"siblings_max\":{},",
                "\"strict_reads\":{},\"failed_unavailable\":{},\"failed_timeout\":{},",
                "\"failed_no_answer\":{},\"virtual_s\":{:.1}}}"
            ),
            o.nodes,
            o.n,
            o.r,
            o.w,
            policy_name(o.policy),
            o.loss,
            o.skew.as_millis(),
            o.seed,
            o.partition,
            o.crash,
            o.clients,
            o.keys,
            self.ops,
            self.acknowledged_writes,
            self.lost_acknowledged_writes,
            self.stale_reads,
            self.lost_concurrent_updates,
            self.availability,
            self.write_availability,
            self.write_availability_during_crash
                .map_or_else(|| "null".to_owned(), |a| format!("{a:.6}")),
            self.read_repairs,
            self.hints_stored,
            self.hints_delivered,
            self.hints_dropped,
            self.hints_lost,
            self.hints_pending,
            self.converged,
            opt_f(self.convergence_s),
            opt_u(self.convergence_rounds),
            self.messages_per_op,
            self.siblings_max,
            self.strict_reads,
            self.failed_unavailable,
            self.failed_timeout,
            self.failed_no_answer,
            self.virtual_s,
        )
    }
}

impl fmt::Display for ReportCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "{} nodes, N={} R={} W={}, {}, loss {}, skew ±{} ms, seed {}, faults: partition {}, crash {}",
            o.nodes,
            o.n,
            o.r,
            o.w,
            policy_name(o.policy),
            o.loss,
            o.skew.as_millis(),
            o.seed,
            o.partition,
            o.crash
        )?;
        writeln!(
            f,
            "{} operations, {} acknowledged writes, {:.1} virtual s",
            self.ops, self.acknowledged_writes, self.virtual_s
        )?;
        writeln!(
            f,
            "lost acknowledged writes {}, stale reads {}, lost concurrent updates {}",
            self.lost_acknowledged_writes, self.stale_reads, self.lost_concurrent_updates
        )?;
        writeln!(
            f,
            "availability {:.4}% (writes {:.4}%), read repairs {}, siblings max {}",
            100.0 * self.availability,
            100.0 * self.write_availability,
            self.read_repairs,
            self.siblings_max
        )?;
        if let Some(a) = self.write_availability_during_crash {
            writeln!(
                f,
                "write availability while a node was down: {:.4}%",
                100.0 * a
            )?;
        }
        writeln!(
            f,
            "failures: {} unavailable, {} timed out, {} unanswered; {} strict reads checked",
            self.failed_unavailable, self.failed_timeout, self.failed_no_answer, self.strict_reads
        )?;
        writeln!(
            f,
            "hints: stored {}, delivered {}, dropped {}, lost in the crash {}, pending {}",
            self.hints_stored,
            self.hints_delivered,
            self.hints_dropped,
            self.hints_lost,
            self.hints_pending
        )?;
        match (self.convergence_s, self.convergence_rounds) {
            (Some(s), Some(r)) => writeln!(
                f,
                "converged {s:.3} s after the end of the workload ({r} anti-entropy rounds)"
            )?,
            _ => writeln!(f, "did NOT converge within 60 s")?,
        }
        write!(f, "{:.2} messages per operation", self.messages_per_op)?;
        for v in &self.violations {
            write!(f, "\nexample: {v}")?;
        }
        Ok(())
    }
}
