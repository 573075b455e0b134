//! The node processes: each started by running this binary again as `cluster node ...`, and
//! crashed the way machines crash, with SIGKILL.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::Res;
use crate::node::NodeArgs;

pub(crate) struct NodeProc {
    pub(crate) args: NodeArgs,
    pub(crate) gossip: SocketAddr,
    pub(crate) data: SocketAddr,
    pub(crate) pid: u32,
    pub(crate) actor: u64,
    child: Option<Child>,
    /// The node's stdin: it exits when this closes, so no node outlives the showcase,
    /// however the showcase ends.
    stdin: Option<ChildStdin>,
}

impl NodeProc {
    /// Starts a node and waits (at most 20 s) for its `READY` line.
    pub(crate) async fn start(args: NodeArgs) -> Res<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("the node has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .map_err(|_| format!("{} was not ready within 20 s", args.name))??
            .ok_or_else(|| format!("{} exited before it was ready", args.name))?;
        let mut words = line.split_whitespace();
        if words.next() != Some("READY") {
            return Err(format!("{}: unexpected first line {line:?}", args.name).into());
        }
        let mut next = || {
            words
                .next()
                .ok_or_else(|| format!("{}: short READY line {line:?}", args.name))
        };
        let gossip = next()?.parse()?;
        let data = next()?.parse()?;
        let actor = next()?.parse()?;
        let pid = next()?.parse()?;
        Ok(Self {
            args,
            gossip,
            data,
            pid,
            actor,
            child: Some(child),
            stdin,
        })
    }

    /// Whether the process is running (not killed).
    pub(crate) fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub(crate) fn name(&self) -> &str {
        &self.args.name
    }

    /// `kill -9`: the process gets no chance to say goodbye; its memory is gone.
    pub(crate) async fn kill(&mut self) -> Res<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        self.stdin = None;
        Ok(())
    }
}
