//! The rows of one report (one marker's groups) and their markdown table.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::Error;
use crate::estimates::Measurement;

/// The implementation name of sinew's own rows.
pub(crate) const SINEW: &str = "sinew";
/// The configuration a user gets from the obvious constructor.
pub(crate) const DEFAULT: &str = "default";
/// The implementation name of reference rows (the work without any implementation, such as
/// the bare closure a breaker wraps): shown, but given no ratio.
pub(crate) const BASELINE: &str = "baseline";
/// What the ratio column means, printed under every table.
pub(crate) const RATIO_NOTE: &str = "Ratio: sinew ÷ peer, same configuration (else sinew's \
    default); lower is better — below 1 means sinew is faster.";

/// One median with its confidence interval, ns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    /// Median, ns.
    pub(crate) median: f64,
    /// Lower bound of its confidence interval, ns.
    pub(crate) lower: f64,
    /// Upper bound of its confidence interval, ns.
    pub(crate) upper: f64,
}

/// One (implementation, configuration) across the groups.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// `"sinew"` or the peer's name.
    pub(crate) implementation: String,
    /// `"default"` or the non-default choice.
    pub(crate) configuration: String,
    /// One cell per group, `None` where the group has no such row.
    pub(crate) cells: Vec<Option<Cell>>,
    /// One ratio per group (sinew ÷ this row); always `None` on sinew's rows.
    pub(crate) ratios: Vec<Option<f64>>,
}

impl Row {
    /// Whether this is one of sinew's rows.
    pub(crate) fn is_sinew(&self) -> bool {
        self.implementation == SINEW
    }

    /// "implementation, configuration", or just the implementation for a default row.
    pub(crate) fn label(&self) -> String {
        if self.configuration == DEFAULT {
            self.implementation.clone()
        } else {
            format!("{}, {}", self.implementation, self.configuration)
        }
    }
}

/// The rows of some groups, in report order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    /// The group ids, one column (and one chart panel) each.
    pub(crate) groups: Vec<String>,
    /// Sinew's rows first (default first), then the peers', by name.
    pub(crate) rows: Vec<Row>,
    /// The newest `estimates.json` among the groups: when they were run.
    pub(crate) newest: SystemTime,
}

/// Report order: sinew first, then by implementation; within one, `default` first, then by
/// configuration (case-insensitively, so `cached` and `Mutex` sort as a reader expects).
fn row_order(a: &(String, String), b: &(String, String)) -> Ordering {
    let key = |(imp, conf): &(String, String)| {
        (
            imp != SINEW,
            imp.to_lowercase(),
            conf != DEFAULT,
            conf.to_lowercase(),
        )
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

impl Table {
    /// The table of `groups` from `data`.
    ///
    /// # Errors
    ///
    /// When `groups` is empty or names a group `data` does not have.
    pub(crate) fn build(data: &[Measurement], groups: &[String]) -> Result<Self, Error> {
        if groups.is_empty() {
            return Err(Error::new("no groups named"));
        }
        let mut newest = SystemTime::UNIX_EPOCH;
        let mut ids = BTreeSet::new();
        for g in groups {
            let mut any = false;
            for m in data.iter().filter(|m| &m.group == g) {
                any = true;
                newest = newest.max(m.modified);
                ids.insert((m.implementation.clone(), m.configuration.clone()));
            }
            if !any {
                return Err(Error::new(format!(
                    "group `{g}` has no results in criterion's directory (is it spelled as in \
                     the bench file, and has that bench been run?)"
                )));
            }
        }
        let mut ids: Vec<_> = ids.into_iter().collect();
        ids.sort_by(row_order);
        let cell = |g: &str, imp: &str, conf: &str| {
            crate::estimates::find(data, g, imp, conf).map(|m| Cell {
                median: m.median,
                lower: m.lower,
                upper: m.upper,
            })
        };
        let rows = ids
            .into_iter()
            .map(|(imp, conf)| {
                let cells: Vec<_> = groups.iter().map(|g| cell(g, &imp, &conf)).collect();
                let ratios = groups
                    .iter()
                    .zip(&cells)
                    .map(|(g, own)| {
                        if imp == SINEW || imp == BASELINE {
                            return None;
                        }
                        let sinew = cell(g, SINEW, &conf).or_else(|| cell(g, SINEW, DEFAULT))?;
                        let own = (*own)?;
                        (own.median > 0.0).then(|| sinew.median / own.median)
                    })
                    .collect();
                Row {
                    implementation: imp,
                    configuration: conf,
                    cells,
                    ratios,
                }
            })
            .collect();
        Ok(Self {
            groups: groups.to_vec(),
            rows,
            newest,
        })
    }

    /// The markdown table, one line per row, and the line explaining the ratio (without ratio
    /// columns nor that line when every row is sinew's).
    pub(crate) fn markdown(&self) -> String {
        let ratios = self.rows.iter().any(|r| !r.is_sinew());
        let mut head = vec!["implementation".to_owned(), "configuration".to_owned()];
        let mut rule = vec![":--".to_owned(), ":--".to_owned()];
        for g in &self.groups {
            head.push(format!("`{g}`"));
            rule.push("--:".to_owned());
            if ratios {
                head.push("ratio".to_owned());
                rule.push("--:".to_owned());
            }
        }
        let mut lines = vec![md_row(&head), md_row(&rule)];
        for row in &self.rows {
            let bold = |s: String| {
                if row.is_sinew() {
                    format!("**{s}**")
                } else {
                    s
                }
            };
            let mut cells = vec![
                bold(escape(&row.implementation)),
                bold(escape(&row.configuration)),
            ];
            for (cell, ratio) in row.cells.iter().zip(&row.ratios) {
                cells.push(cell.map_or_else(|| "–".to_owned(), |c| bold(format_ns(c.median))));
                if !ratios {
                    continue;
                }
                cells.push(if row.is_sinew() {
                    String::new()
                } else {
                    ratio.map_or_else(|| "–".to_owned(), format_ratio)
                });
            }
            lines.push(md_row(&cells));
        }
        if ratios {
            format!("{}\n\n{RATIO_NOTE}\n", lines.join("\n"))
        } else {
            format!("{}\n", lines.join("\n"))
        }
    }
}

fn md_row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

/// Keeps a name from ending its table cell early.
fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A time in ns with 3 significant digits, in ps, ns, µs, ms or s.
pub(crate) fn format_ns(ns: f64) -> String {
    const UNITS: [(&str, f64); 5] = [
        ("ps", 1e-3),
        ("ns", 1.0),
        ("µs", 1e3),
        ("ms", 1e6),
        ("s", 1e9),
    ];
    if ns == 0.0 {
        return "0 ns".to_owned();
    }
    // Round to 3 significant digits first, so 999.96 ns becomes 1.00 µs, not 1000 ns.
    let factor = 10f64.powf(ns.log10().floor() - 2.0);
    let rounded = (ns / factor).round() * factor;
    let mut text = String::new();
    for (i, (unit, scale)) in UNITS.iter().enumerate() {
        let v = rounded / scale;
        // 999.5, not 1000: the rounded value may sit a hair below a power of ten.
        if v >= 999.5 && i + 1 < UNITS.len() {
            continue;
        }
        text = format!("{} {unit}", sig3(v));
        break;
    }
    text
}

/// `v` with 3 significant digits (no exponent; integer digits beyond 3 are kept).
fn sig3(v: f64) -> String {
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else if v >= 1.0 || v == 0.0 {
        2
    } else {
        // Below 1 (only sub-picosecond times): enough decimals for 3 significant digits.
        let mut d = 2;
        let mut x = v;
        while x < 1.0 && d < 12 {
            x *= 10.0;
            d += 1;
        }
        d
    };
    format!("{v:.decimals$}")
}

/// A ratio with 2 decimals (0.50, 1.37), 2 significant digits below 0.1 (0.067), none from 100.
pub(crate) fn format_ratio(r: f64) -> String {
    if r >= 100.0 {
        return format!("{r:.0}");
    }
    if r >= 0.1 || r == 0.0 {
        return format!("{r:.2}");
    }
    let mut decimals = 2;
    let mut x = r * 100.0;
    while x < 10.0 && decimals < 12 {
        x *= 10.0;
        decimals += 1;
    }
    format!("{r:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimates::load;
    use crate::estimates::tests::{temp_dir, write_bench};

    #[test]
    fn formats_units_with_three_significant_digits() {
        let cases = [
            (0.5, "500 ps"),
            (0.012_34, "12.3 ps"),
            (1.0, "1.00 ns"),
            (12.345, "12.3 ns"),
            (999.4, "999 ns"),
            (999.96, "1.00 µs"),
            (1_500.0, "1.50 µs"),
            (2_500_000.0, "2.50 ms"),
            (1e9, "1.00 s"),
            (1_234e9, "1230 s"),
            (0.0, "0 ns"),
        ];
        for (ns, text) in cases {
            assert_eq!(format_ns(ns), text, "{ns} ns");
        }
        assert_eq!(format_ratio(0.5), "0.50");
        assert_eq!(format_ratio(1.374), "1.37");
        assert_eq!(format_ratio(0.0667), "0.067");
        assert_eq!(format_ratio(0.0025), "0.0025");
    }

    #[test]
    fn table_pairs_orders_and_formats() {
        let dir = temp_dir("table");
        // g1: a same-configuration pair (cached clock), a fallback to sinew's default (Mutex).
        write_bench(&dir, "g1", "sinew", "default", 100.0);
        write_bench(&dir, "g1", "sinew", "cached clock", 12.345);
        write_bench(&dir, "g1", "peerB", "default", 200.0);
        write_bench(&dir, "g1", "peerA", "cached clock", 24.69);
        write_bench(&dir, "g1", "peerA", "Mutex", 1_500.0);
        // g2: sinew has no cached clock here, so peerA's pairs with sinew's default.
        write_bench(&dir, "g2", "sinew", "default", 2_500_000.0);
        write_bench(&dir, "g2", "peerA", "cached clock", 5_000_000.0);
        write_bench(&dir, "g2", "peerB", "default", 1e9);
        write_bench(&dir, "g2", "peerC", "default", 0.5);
        // A group the marker does not name stays out.
        write_bench(&dir, "other", "peerZ", "default", 1.0);
        let data = load(&dir).unwrap();
        let table = Table::build(&data, &["g1".into(), "g2".into()]).unwrap();
        let expected = "\
| implementation | configuration | `g1` | ratio | `g2` | ratio |
| :-- | :-- | --: | --: | --: | --: |
| **sinew** | **default** | **100 ns** |  | **2.50 ms** |  |
| **sinew** | **cached clock** | **12.3 ns** |  | – |  |
| peerA | cached clock | 24.7 ns | 0.50 | 5.00 ms | 0.50 |
| peerA | Mutex | 1.50 µs | 0.067 | – | – |
| peerB | default | 200 ns | 0.50 | 1.00 s | 0.0025 |
| peerC | default | – | – | 500 ps | 5000000 |

Ratio: sinew ÷ peer, same configuration (else sinew's default); lower is better — below 1 means sinew is faster.
";
        assert_eq!(table.markdown(), expected);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sinew_only_tables_have_no_ratio() {
        let dir = temp_dir("sinew_only");
        write_bench(&dir, "g1", "sinew", "default", 1_500.0);
        write_bench(&dir, "g2", "sinew", "2 threads", 3.0);
        let data = load(&dir).unwrap();
        let table = Table::build(&data, &["g1".into(), "g2".into()]).unwrap();
        let expected = "\
| implementation | configuration | `g1` | `g2` |
| :-- | :-- | --: | --: |
| **sinew** | **default** | **1.50 µs** | – |
| **sinew** | **2 threads** | – | **3.00 ns** |
";
        assert_eq!(table.markdown(), expected);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn baseline_rows_get_no_ratio() {
        let dir = temp_dir("baseline");
        write_bench(&dir, "g", "sinew", "default", 4.0);
        write_bench(&dir, "g", "baseline", "closure alone", 0.5);
        write_bench(&dir, "g", "peer", "default", 8.0);
        let data = load(&dir).unwrap();
        let table = Table::build(&data, &["g".into()]).unwrap();
        let ratios: Vec<_> = table.rows.iter().map(|r| r.ratios[0]).collect();
        assert_eq!(ratios, vec![None, None, Some(0.5)]);
        assert!(
            table
                .markdown()
                .contains("| baseline | closure alone | 500 ps | – |")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_group_is_an_error() {
        let dir = temp_dir("unknown");
        write_bench(&dir, "g1", "sinew", "default", 1.0);
        let data = load(&dir).unwrap();
        let e = Table::build(&data, &["g1".into(), "gx".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`gx`"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    use std::fs;
}
