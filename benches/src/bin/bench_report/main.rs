//! Generates the benchmark result tables and charts of the READMEs from criterion's saved
//! estimates, so no figure is copied by hand.
//!
//! Run with `cargo run --release -p sinew-benches --bin bench_report` after
//! `cargo bench -p sinew-benches --bench <name>`. Options:
//!
//! - `--check`: write nothing; exit 1 if a README block or a chart differs from what would be
//!   generated.
//! - `--criterion-dir <path>`: criterion's output (default `$CARGO_TARGET_DIR/criterion`, else
//!   `target/criterion` in the workspace).
//! - `--root <path>`: the workspace (default: the one this program was built in).
//! - `--readme <path>` (repeatable): process these files instead of `README.md` and
//!   `crates/*/README.md`.
//!
//! # Markers
//!
//! A README asks for a report with a block (each marker alone on its line):
//!
//! ```text
//! <!-- bench-report bench="merkle" groups="merkle_build_1M,merkle_append_1024" chart="merkle" -->
//! (generated content, replaced on every run)
//! <!-- /bench-report -->
//! ```
//!
//! `bench` is the bench file (named in the command line of the block and the chart's title),
//! `groups` the criterion groups (a table column and a chart panel each), `chart` the SVG's
//! name in `benches/charts/`. The content becomes: the command, the date of the run (the newest
//! `estimates.json` of those groups, UTC) and the machine (this one's CPU and cores); a table
//! with one row per (implementation, configuration) and, per group, the median and the ratio
//! sinew ÷ peer (same configuration, else sinew's `default`); and the chart's image link. A
//! crate README may repeat a block of the workspace README (same bench and groups), sharing
//! its chart; one chart name for two different blocks is an error.
//!
//! An optional `args="--quick"` attribute records criterion arguments the run used (shown in
//! the command line). An optional `bars="..."` attribute lists targets (`group|implementation|configuration <= k
//! group|implementation|configuration`, separated by `;`); each is written under the table
//! with its measured ratio and **met** or **not met** (see the `bars` module).
//!
//! Benchmark ids follow `BenchmarkId::new(implementation, configuration)`, with
//! implementation `"sinew"` for sinew's rows (see the benchmarks section of the guide).
//!
//! Exit status: 0 done (or up to date with `--check`), 1 out of date with `--check`, 2 error.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

mod bars;
mod chart;
mod estimates;
mod markers;
mod table;

use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use markers::Marker;
use table::Table;

/// A failure, with a message that says what and where.
#[derive(Debug)]
pub(crate) struct Error(String);

impl Error {
    /// An error with `message`.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

const USAGE: &str = "usage: bench_report [--check] [--criterion-dir <path>] [--root <path>] \
                     [--readme <path>]...";

/// The command-line options.
#[derive(Debug)]
struct Options {
    check: bool,
    criterion_dir: Option<PathBuf>,
    root: PathBuf,
    readmes: Vec<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, Error> {
    let mut opts = Options {
        check: false,
        criterion_dir: None,
        root: Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        readmes: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .map(PathBuf::from)
                .ok_or_else(|| Error::new(format!("{name} needs a path\n{USAGE}")))
        };
        match arg.as_str() {
            "--check" => opts.check = true,
            "--criterion-dir" => opts.criterion_dir = Some(value("--criterion-dir")?),
            "--root" => opts.root = value("--root")?,
            "--readme" => opts.readmes.push(value("--readme")?),
            "-h" | "--help" => return Err(Error::new(USAGE)),
            other => return Err(Error::new(format!("unknown argument `{other}`\n{USAGE}"))),
        }
    }
    Ok(opts)
}

/// `path` made absolute and rid of `.` and `..` (lexically: the chart may not exist yet).
fn normalize(path: &Path) -> Result<PathBuf, Error> {
    let abs = std::path::absolute(path)
        .map_err(|e| Error::new(format!("resolving {}: {e}", path.display())))?;
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The `/`-separated path from directory `from` to file `to` (both normalized).
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let ups = from.len().saturating_sub(common);
    let downs = to
        .iter()
        .skip(common)
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    std::iter::repeat_n("..".to_owned(), ups)
        .chain(downs)
        .collect::<Vec<_>>()
        .join("/")
}

/// `t` as YYYY-MM-DD in UTC (Howard Hinnant's civil-from-days).
fn utc_date(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// This machine: its CPU model (from `/proc/cpuinfo` on Linux) and how many cores it has.
fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            matches!(key.trim(), "model name" | "Model" | "Hardware")
                .then(|| value.split_whitespace().collect::<Vec<_>>().join(" "))
        })
    });
    let cpu = cpu.unwrap_or_else(|| format!("an {} CPU", std::env::consts::ARCH));
    match std::thread::available_parallelism() {
        Ok(n) if n.get() == 1 => format!("{cpu}, 1 core"),
        Ok(n) => format!("{cpu}, {n} cores"),
        Err(_) => cpu,
    }
}

/// A block's generated content: the run's description, the table, the chart link.
fn render_block(
    marker: &Marker,
    table: &Table,
    bars: &str,
    machine: &str,
    chart_link: &str,
) -> String {
    let bars = if bars.is_empty() {
        String::new()
    } else {
        format!("{bars}\n")
    };
    format!(
        "\n`cargo bench -p sinew-benches --bench {bench}{args}`, run {date} on {machine}; \
         median time per iteration (generated by \
         `cargo run --release -p sinew-benches --bin bench_report`).\n\n{table}\n{bars}\
         ![{bench}: median time per iteration, sinew beside its peers]({chart_link})\n\n",
        bench = marker.bench,
        args = marker
            .args
            .as_deref()
            .map_or_else(String::new, |a| format!(" -- {a}")),
        date = utc_date(table.newest),
        table = table.markdown(),
    )
}

/// A file whose content should be `text`.
struct Output {
    path: PathBuf,
    text: String,
}

/// Everything the run would write: the READMEs with markers, then the charts.
fn plan(opts: &Options) -> Result<Vec<Output>, Error> {
    let criterion_dir = match &opts.criterion_dir {
        Some(d) => d.clone(),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| opts.root.join("target"), PathBuf::from)
            .join("criterion"),
    };
    let readmes = if opts.readmes.is_empty() {
        let mut found = vec![opts.root.join("README.md")];
        if let Ok(entries) = fs::read_dir(opts.root.join("crates")) {
            let mut crates: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("README.md"))
                .filter(|p| p.is_file())
                .collect();
            crates.sort();
            found.extend(crates);
        }
        found
    } else {
        opts.readmes.clone()
    };
    let chart_dir = normalize(&opts.root.join("benches").join("charts"))?;
    let machine = machine();
    let mut data = None;
    let mut outputs = Vec::new();
    let mut charts: Vec<Output> = Vec::new();
    for readme in &readmes {
        let text = fs::read_to_string(readme)
            .map_err(|e| Error::new(format!("reading {}: {e}", readme.display())))?;
        let in_file = |e: Error| Error::new(format!("{}: {e}", readme.display()));
        if markers::markers(&text).map_err(in_file)?.is_empty() {
            continue;
        }
        // Read criterion's results only once a README asks for them.
        let data = match &mut data {
            Some(d) => d,
            None => data.insert(estimates::load(&criterion_dir)?),
        };
        let readme_dir = normalize(readme)?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let new = markers::replace(&text, |marker| {
            let table = Table::build(data, &marker.groups)?;
            let path = chart_dir.join(format!("{}.svg", marker.chart));
            let svg = chart::svg(&marker.bench, &table)?;
            // A crate README may repeat a block of the workspace README (same bench and
            // groups, so the same chart); two different charts under one name are an error.
            match charts.iter().find(|c| c.path == path) {
                Some(same) if same.text == svg => {}
                Some(_) => {
                    return Err(Error::new(format!(
                        "chart `{}` is named by another marker with other groups",
                        marker.chart
                    )));
                }
                None => charts.push(Output {
                    text: svg,
                    path: path.clone(),
                }),
            }
            Ok(render_block(
                marker,
                &table,
                &bars::markdown(&marker.bars, data)?,
                &machine,
                &relative(&readme_dir, &path),
            ))
        })
        .map_err(in_file)?;
        outputs.push(Output {
            path: readme.clone(),
            text: new,
        });
    }
    outputs.extend(charts);
    Ok(outputs)
}

fn run(opts: &Options) -> Result<ExitCode, Error> {
    let outputs = plan(opts)?;
    if outputs.is_empty() {
        println!("no bench-report markers found");
        return Ok(ExitCode::SUCCESS);
    }
    let mut stale = 0;
    for out in &outputs {
        let current = fs::read_to_string(&out.path).ok();
        let name = out.path.display();
        if current.as_deref() == Some(out.text.as_str()) {
            println!("up to date: {name}");
        } else if opts.check {
            stale += 1;
            println!("out of date: {name}");
        } else {
            if let Some(dir) = out.path.parent() {
                fs::create_dir_all(dir)
                    .map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
            }
            fs::write(&out.path, &out.text)
                .map_err(|e| Error::new(format!("writing {name}: {e}")))?;
            println!("wrote: {name}");
        }
    }
    Ok(if stale > 0 {
        println!(
            "{stale} file(s) out of date: run `cargo run --release -p sinew-benches --bin bench_report`"
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)).and_then(|opts| run(&opts)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench_report: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use estimates::tests::{temp_dir, write_bench};
    use std::time::Duration;

    #[test]
    fn dates_in_utc() {
        let day = |d: u64| UNIX_EPOCH + Duration::from_secs(d * 86_400 + 86_399);
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01");
        assert_eq!(utc_date(day(59)), "1970-03-01");
        assert_eq!(utc_date(day(11_016)), "2000-02-29");
        assert_eq!(utc_date(day(20_454)), "2026-01-01");
    }

    #[test]
    fn relative_paths() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            relative(&p("/w"), &p("/w/benches/charts/m.svg")),
            "benches/charts/m.svg"
        );
        assert_eq!(
            relative(&p("/w/crates/x"), &p("/w/benches/charts/m.svg")),
            "../../benches/charts/m.svg"
        );
        assert_eq!(
            normalize(&p("/w/crates/../benches/./charts")).unwrap(),
            p("/w/benches/charts")
        );
    }

    #[test]
    fn end_to_end_writes_then_checks() {
        let root = temp_dir("e2e");
        let crit = root.join("target/criterion");
        write_bench(&crit, "g1", "sinew", "default", 10.0);
        write_bench(&crit, "g1", "peer", "default", 20.0);
        fs::create_dir_all(root.join("crates/x")).unwrap();
        let readme = "# x\n<!-- bench-report bench=\"b\" groups=\"g1\" chart=\"c\" -->\n\
                      <!-- /bench-report -->\ntail\n";
        fs::write(root.join("crates/x/README.md"), readme).unwrap();
        fs::write(root.join("README.md"), "no markers\n").unwrap();
        let opts = |check| Options {
            check,
            criterion_dir: Some(crit.clone()),
            root: root.clone(),
            readmes: Vec::new(),
        };
        assert_eq!(run(&opts(true)).unwrap(), ExitCode::from(1));
        assert_eq!(run(&opts(false)).unwrap(), ExitCode::SUCCESS);
        assert_eq!(run(&opts(true)).unwrap(), ExitCode::SUCCESS);
        let text = fs::read_to_string(root.join("crates/x/README.md")).unwrap();
        assert!(text.starts_with("# x\n<!-- bench-report"), "{text}");
        assert!(text.ends_with("<!-- /bench-report -->\ntail\n"), "{text}");
        assert!(text.contains("`cargo bench -p sinew-benches --bench b`, run 20"));
        assert!(
            text.contains("| peer | default | 20.0 ns | 0.50 |"),
            "{text}"
        );
        assert!(text.contains("](../../benches/charts/c.svg)\n"), "{text}");
        assert!(root.join("benches/charts/c.svg").is_file());
        assert_eq!(
            fs::read_to_string(root.join("README.md")).unwrap(),
            "no markers\n"
        );
        // A group missing from the results names the file and the line.
        fs::write(
            root.join("README.md"),
            "<!-- bench-report bench=\"b\" groups=\"gx\" chart=\"d\" -->\n<!-- /bench-report -->\n",
        )
        .unwrap();
        let e = run(&opts(true)).unwrap_err().to_string();
        assert!(e.contains("README.md: line 1: group `gx`"), "{e}");
        // The workspace README may repeat a crate README's block (same chart), but not give
        // the chart's name to other groups.
        write_bench(&crit, "g2", "sinew", "default", 5.0);
        fs::write(root.join("README.md"), readme).unwrap();
        assert_eq!(run(&opts(false)).unwrap(), ExitCode::SUCCESS);
        fs::write(
            root.join("README.md"),
            "<!-- bench-report bench=\"b\" groups=\"g2\" chart=\"c\" -->\n<!-- /bench-report -->\n",
        )
        .unwrap();
        let e = run(&opts(true)).unwrap_err().to_string();
        assert!(e.contains("chart `c` is named by another marker"), "{e}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn arguments() {
        let args = |a: &[&str]| parse_args(a.iter().map(|s| (*s).to_owned()));
        let o = args(&["--check", "--criterion-dir", "/c", "--readme", "r.md"]).unwrap();
        assert!(o.check);
        assert_eq!(o.criterion_dir, Some(PathBuf::from("/c")));
        assert_eq!(o.readmes, vec![PathBuf::from("r.md")]);
        assert!(
            args(&["--root"])
                .unwrap_err()
                .to_string()
                .contains("needs a path")
        );
        assert!(
            args(&["--nope"])
                .unwrap_err()
                .to_string()
                .contains("unknown argument")
        );
    }
}
