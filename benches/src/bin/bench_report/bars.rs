//! A block's bars: targets of the form "this cell at most `k` times that cell", checked
//! against the run and written under the table as met or not met, so a claim about a target
//! can never disagree with the table above it.
//!
//! Syntax (the marker's `bars` attribute): entries separated by `;`, each
//! `<group>|<implementation>|<configuration> <= <k> <group>|<implementation>|<configuration>`,
//! for example `ratelimit_deny_1_thread|sinew|default <= 0.8 ratelimit_deny_1_thread|governor|default`.
//! The right-hand cell may be in another group (sinew's 2-thread time against a peer's 1-thread
//! time).

use crate::Error;
use crate::estimates::Measurement;
use crate::table::{format_ns, format_ratio};

/// One cell of the results: group, implementation, configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CellRef {
    group: String,
    implementation: String,
    configuration: String,
}

/// `left <= factor × right`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    left: CellRef,
    factor: f64,
    right: CellRef,
}

fn cell_ref(s: &str) -> Result<CellRef, Error> {
    let mut parts = s.trim().split('|').map(str::trim);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(g), Some(i), Some(c), None) if !g.is_empty() && !i.is_empty() && !c.is_empty() => {
            Ok(CellRef {
                group: g.to_owned(),
                implementation: i.to_owned(),
                configuration: c.to_owned(),
            })
        }
        _ => Err(Error::new(format!(
            "a bar's cell is `group|implementation|configuration`, not `{}`",
            s.trim()
        ))),
    }
}

/// Parses a `bars` attribute.
///
/// # Errors
///
/// On an entry that is not `cell <= k cell` with `k` a positive number.
pub(crate) fn parse(attribute: &str) -> Result<Vec<Bar>, Error> {
    attribute
        .split(';')
        .filter(|e| !e.trim().is_empty())
        .map(|entry| {
            let bad = || Error::new(format!("a bar is `cell <= k cell`, not `{}`", entry.trim()));
            let (left, rest) = entry.split_once("<=").ok_or_else(bad)?;
            let (factor, right) = rest.trim().split_once(' ').ok_or_else(bad)?;
            let factor: f64 = factor.parse().map_err(|_| bad())?;
            if !(factor.is_finite() && factor > 0.0) {
                return Err(bad());
            }
            Ok(Bar {
                left: cell_ref(left)?,
                factor,
                right: cell_ref(right)?,
            })
        })
        .collect()
}

fn median(data: &[Measurement], c: &CellRef) -> Result<f64, Error> {
    crate::estimates::find(data, &c.group, &c.implementation, &c.configuration)
        .map(|m| m.median)
        .ok_or_else(|| {
            Error::new(format!(
                "bar names `{}|{}|{}`, which the results do not have",
                c.group, c.implementation, c.configuration
            ))
        })
}

fn label(c: &CellRef) -> String {
    format!("{} / {} (`{}`)", c.implementation, c.configuration, c.group)
}

/// The bars as a markdown list with each one's measured ratio and verdict (empty if none).
///
/// # Errors
///
/// When a bar names a cell the results do not have.
pub(crate) fn markdown(bars: &[Bar], data: &[Measurement]) -> Result<String, Error> {
    if bars.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from("Targets, checked against this run:\n\n");
    for bar in bars {
        let (left, right) = (median(data, &bar.left)?, median(data, &bar.right)?);
        let ratio = left / right;
        let verdict = if ratio <= bar.factor {
            "**met**"
        } else {
            "**not met**"
        };
        out.push_str(&format!(
            "- {} at most {} × {}: {} against {}, {}: {verdict}\n",
            label(&bar.left),
            bar.factor,
            label(&bar.right),
            format_ns(left),
            format_ns(right),
            format_ratio(ratio),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn m(group: &str, implementation: &str, configuration: &str, median: f64) -> Measurement {
        Measurement {
            group: group.into(),
            implementation: implementation.into(),
            configuration: configuration.into(),
            median,
            lower: median,
            upper: median,
            modified: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn bars_say_met_or_not_met_with_the_ratio() {
        let data = [
            m("a", "sinew", "default", 8.0),
            m("a", "peer", "default", 10.0),
            m("b", "peer", "Mutex", 40.0),
        ];
        let bars =
            parse("a|sinew|default <= 0.8 a|peer|default; a|sinew|default<=0.1 b|peer|Mutex;")
                .unwrap_or_default();
        assert_eq!(bars.len(), 2);
        let text = markdown(&bars, &data).unwrap_or_default();
        assert_eq!(
            text,
            "Targets, checked against this run:\n\n\
             - sinew / default (`a`) at most 0.8 × peer / default (`a`): 8.00 ns against 10.0 ns, 0.80: **met**\n\
             - sinew / default (`a`) at most 0.1 × peer / Mutex (`b`): 8.00 ns against 40.0 ns, 0.20: **not met**\n"
        );
    }

    #[test]
    fn malformed_bars_and_unknown_cells_are_errors() {
        for bad in [
            "a|sinew <= 1 a|p|d",
            "a|s|d < 1 a|p|d",
            "a|s|d <= x a|p|d",
            "a|s|d <= 0 a|p|d",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let bars = parse("a|sinew|default <= 1 a|peer|default").unwrap_or_default();
        assert!(markdown(&bars, &[]).is_err());
    }
}
