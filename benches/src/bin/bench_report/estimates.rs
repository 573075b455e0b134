//! Criterion's saved estimates: every `**/new/benchmark.json` beside its `estimates.json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::Error;

/// The part of criterion 0.8's `benchmark.json` the report needs (its `BenchmarkId`).
#[derive(Debug, Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
}

/// The part of criterion 0.8's `estimates.json` the report needs.
#[derive(Debug, Deserialize)]
struct EstimatesJson {
    median: Estimate,
}

#[derive(Debug, Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: ConfidenceInterval,
}

#[derive(Debug, Deserialize)]
struct ConfidenceInterval {
    lower_bound: f64,
    upper_bound: f64,
}

/// One benchmark's median time per iteration, in nanoseconds, with its 95% confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measurement {
    /// Criterion's group id.
    pub(crate) group: String,
    /// `BenchmarkId::new`'s first part (`"sinew"` or the peer's name).
    pub(crate) implementation: String,
    /// `BenchmarkId::new`'s second part; `"default"` when the id has only one part.
    pub(crate) configuration: String,
    /// Median point estimate, ns.
    pub(crate) median: f64,
    /// Lower bound of the median's confidence interval, ns.
    pub(crate) lower: f64,
    /// Upper bound of the median's confidence interval, ns.
    pub(crate) upper: f64,
    /// When `estimates.json` was last written: the date of the run.
    pub(crate) modified: SystemTime,
}

/// The measurement of `implementation / configuration` in `group`, if the run has it.
pub(crate) fn find<'a>(
    data: &'a [Measurement],
    group: &str,
    implementation: &str,
    configuration: &str,
) -> Option<&'a Measurement> {
    data.iter().find(|m| {
        m.group == group && m.implementation == implementation && m.configuration == configuration
    })
}

/// Reads every benchmark under `dir` (criterion's output directory), sorted by id.
///
/// # Errors
///
/// When `dir` cannot be read, or a `benchmark.json` / `estimates.json` is missing or
/// malformed (the message names the file).
pub(crate) fn load(dir: &Path) -> Result<Vec<Measurement>, Error> {
    if !dir.is_dir() {
        return Err(Error::new(format!(
            "no criterion results at {} (run `cargo bench -p sinew-benches --bench <name>` first, \
             or pass --criterion-dir)",
            dir.display()
        )));
    }
    let mut found = Vec::new();
    find_new_dirs(dir, &mut found)?;
    let mut out = found
        .iter()
        .map(|new| read_one(new))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| {
        (&a.group, &a.implementation, &a.configuration).cmp(&(
            &b.group,
            &b.implementation,
            &b.configuration,
        ))
    });
    if let Some(w) = out.windows(2).find(|w| {
        matches!(w, [a, b] if (&a.group, &a.implementation, &a.configuration)
            == (&b.group, &b.implementation, &b.configuration))
    }) && let Some(m) = w.first()
    {
        return Err(Error::new(format!(
            "two results under {} have the id {}/{}/{}",
            dir.display(),
            m.group,
            m.implementation,
            m.configuration
        )));
    }
    Ok(out)
}

/// Collects the `new` directories that hold a `benchmark.json`, depth first.
fn find_new_dirs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries =
        fs::read_dir(dir).map_err(|e| Error::new(format!("reading {}: {e}", dir.display())))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::new(format!("reading {}: {e}", dir.display())))?;
        let path = entry.path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    for path in dirs {
        if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").exists() {
            out.push(path);
        } else {
            find_new_dirs(&path, out)?;
        }
    }
    Ok(())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let text = fs::read_to_string(path)
        .map_err(|e| Error::new(format!("reading {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| Error::new(format!("parsing {}: {e}", path.display())))
}

fn read_one(new: &Path) -> Result<Measurement, Error> {
    let bench_path = new.join("benchmark.json");
    let est_path = new.join("estimates.json");
    let id: BenchmarkJson = read_json(&bench_path)?;
    let est: EstimatesJson = read_json(&est_path)?;
    let modified = fs::metadata(&est_path)
        .and_then(|m| m.modified())
        .map_err(|e| Error::new(format!("reading the time of {}: {e}", est_path.display())))?;
    let m = est.median;
    let ci = m.confidence_interval;
    if ![m.point_estimate, ci.lower_bound, ci.upper_bound]
        .iter()
        .all(|v| v.is_finite() && *v >= 0.0)
    {
        return Err(Error::new(format!(
            "{}: the median or its interval is negative or not a number",
            est_path.display()
        )));
    }
    // Criterion names a one-part id by whichever part was given.
    let (implementation, configuration) = match (id.function_id, id.value_str) {
        (Some(f), Some(v)) => (f, v),
        (Some(one), None) | (None, Some(one)) => (one, "default".to_owned()),
        (None, None) => {
            return Err(Error::new(format!(
                "{}: the benchmark has no function id nor value",
                bench_path.display()
            )));
        }
    };
    Ok(Measurement {
        group: id.group_id,
        implementation,
        configuration,
        median: m.point_estimate,
        lower: ci.lower_bound,
        upper: ci.upper_bound,
        modified,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh empty directory under the system temp dir, unique to this process and `name`.
    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sinew_bench_report_{}_{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes one benchmark's files as criterion 0.8 does (extra fields included).
    pub(crate) fn write_bench(root: &Path, group: &str, imp: &str, config: &str, median: f64) {
        let new = root.join(group).join(imp).join(config).join("new");
        fs::create_dir_all(&new).unwrap();
        let id = serde_json::json!({
            "group_id": group, "function_id": imp, "value_str": config,
            "throughput": null, "full_id": format!("{group}/{imp}/{config}"),
            "directory_name": format!("{group}/{imp}/{config}"),
            "title": format!("{group}/{imp}/{config}"),
        });
        let est = |v: f64| {
            serde_json::json!({
                "confidence_interval": {"confidence_level": 0.95,
                    "lower_bound": v * 0.9, "upper_bound": v * 1.1},
                "point_estimate": v, "standard_error": v * 0.01,
            })
        };
        let ests = serde_json::json!({
            "mean": est(median), "median": est(median), "median_abs_dev": est(1.0),
            "slope": est(median), "std_dev": est(1.0),
        });
        fs::write(new.join("benchmark.json"), id.to_string()).unwrap();
        fs::write(new.join("estimates.json"), ests.to_string()).unwrap();
    }

    #[test]
    fn reads_ids_and_medians() {
        let dir = temp_dir("reads");
        write_bench(&dir, "g", "sinew", "default", 10.0);
        let m = load(&dir).unwrap();
        assert_eq!(m.len(), 1);
        let m = m.first().unwrap();
        assert_eq!(
            (
                m.group.as_str(),
                m.implementation.as_str(),
                m.configuration.as_str()
            ),
            ("g", "sinew", "default")
        );
        assert_eq!((m.median, m.lower, m.upper), (10.0, 9.0, 11.0));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_or_missing_files_name_the_file() {
        let dir = temp_dir("malformed");
        write_bench(&dir, "g", "sinew", "default", 10.0);
        let est = dir.join("g/sinew/default/new/estimates.json");
        fs::write(&est, "{\"median\": 3}").unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("estimates.json") && e.contains("parsing"), "{e}");
        fs::remove_file(&est).unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("estimates.json") && e.contains("reading"), "{e}");
        let e = load(&dir.join("absent")).unwrap_err().to_string();
        assert!(e.contains("no criterion results"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
