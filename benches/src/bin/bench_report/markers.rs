//! The `<!-- bench-report ... -->` ... `<!-- /bench-report -->` blocks of a README.

use crate::Error;

/// The opening marker's prefix.
const OPEN: &str = "<!-- bench-report";
/// The closing marker, alone on its line.
const CLOSE: &str = "<!-- /bench-report -->";

/// One opening marker's attributes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Marker {
    /// The bench file (`cargo bench -p sinew-benches --bench <bench>`), and the chart's title.
    pub(crate) bench: String,
    /// The criterion groups, one table column and one chart panel each.
    pub(crate) groups: Vec<String>,
    /// The chart's file name without `.svg` (in `benches/charts/`).
    pub(crate) chart: String,
    /// Criterion's arguments the run used, if any (optional `args` attribute, e.g. `--quick`),
    /// shown in the block's command line.
    pub(crate) args: Option<String>,
    /// Targets to check against the run (optional `bars` attribute, see the `bars` module).
    pub(crate) bars: Vec<crate::bars::Bar>,
    /// The opening marker's line number (1-based), for messages.
    pub(crate) line: usize,
}

/// A bench or chart name: it becomes part of a command and of a file name.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses the attributes of an opening marker line (`trimmed` starts with [`OPEN`]).
fn parse_marker(trimmed: &str, line: usize) -> Result<Marker, Error> {
    let bad = |why: String| Error::new(format!("line {line}: {why}"));
    let inner = trimmed
        .strip_prefix(OPEN)
        .and_then(|s| s.strip_suffix("-->"))
        .ok_or_else(|| bad("a bench-report marker must end with `-->` on its line".into()))?;
    let (mut bench, mut groups, mut chart, mut bars, mut args) = (None, None, None, None, None);
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .ok_or_else(|| bad(format!("expected name=\"value\" at `{rest}`")))?;
        let (value, after) = after
            .split_once('"')
            .ok_or_else(|| bad(format!("unterminated value of `{}`", key.trim())))?;
        let slot = match key.trim() {
            "bench" => &mut bench,
            "groups" => &mut groups,
            "chart" => &mut chart,
            "bars" => &mut bars,
            "args" => &mut args,
            other => {
                return Err(bad(format!(
                    "unknown attribute `{other}` (known: bench, groups, chart, bars, args)"
                )));
            }
        };
        if slot.replace(value.to_owned()).is_some() {
            return Err(bad(format!("attribute `{}` given twice", key.trim())));
        }
        rest = after.trim_start();
    }
    let need = |v: Option<String>, name: &str| {
        v.ok_or_else(|| bad(format!("the marker needs a `{name}` attribute")))
    };
    let (bench, groups, chart) = (
        need(bench, "bench")?,
        need(groups, "groups")?,
        need(chart, "chart")?,
    );
    for (what, v) in [("bench", &bench), ("chart", &chart)] {
        if !is_name(v) {
            return Err(bad(format!(
                "`{what}` must be letters, digits, `_` or `-`, not `{v}`"
            )));
        }
    }
    let groups: Vec<String> = groups.split(',').map(|g| g.trim().to_owned()).collect();
    if groups.iter().any(String::is_empty) {
        return Err(bad(
            "`groups` is a comma-separated list of group names".into()
        ));
    }
    let bars =
        crate::bars::parse(bars.as_deref().unwrap_or_default()).map_err(|e| bad(e.to_string()))?;
    if args.as_deref().is_some_and(|a| {
        !a.chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_=.".contains(c))
    }) {
        return Err(bad(
            "`args` may hold letters, digits, spaces and `-_=.` only".into(),
        ));
    }
    Ok(Marker {
        bench,
        groups,
        chart,
        args,
        bars,
        line,
    })
}

/// One block: its marker and the byte range of its content (between the two marker lines).
#[derive(Debug, Clone, PartialEq)]
struct Block {
    marker: Marker,
    start: usize,
    end: usize,
}

/// Finds the blocks of `text`, in order.
fn blocks(text: &str) -> Result<Vec<Block>, Error> {
    let mut out = Vec::new();
    let mut open: Option<(Marker, usize)> = None;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed == CLOSE {
            let (marker, start) = open.take().ok_or_else(|| {
                Error::new(format!(
                    "line {}: `{CLOSE}` without an opening marker",
                    i + 1
                ))
            })?;
            out.push(Block {
                marker,
                start,
                end: line_start,
            });
        } else if trimmed.starts_with(OPEN) {
            if let Some((m, _)) = &open {
                return Err(Error::new(format!(
                    "line {}: a bench-report marker inside the one opened at line {}",
                    i + 1,
                    m.line
                )));
            }
            open = Some((parse_marker(trimmed, i + 1)?, offset));
        }
    }
    if let Some((m, _)) = open {
        return Err(Error::new(format!(
            "line {}: bench-report marker without its closing `{CLOSE}`",
            m.line
        )));
    }
    Ok(out)
}

/// The markers of `text`.
///
/// # Errors
///
/// On a malformed marker, or a block that is not closed (or closed twice).
pub(crate) fn markers(text: &str) -> Result<Vec<Marker>, Error> {
    Ok(blocks(text)?.into_iter().map(|b| b.marker).collect())
}

/// `text` with each block's content replaced by `render(marker)`; the text outside the blocks,
/// the marker lines included, is unchanged.
///
/// # Errors
///
/// As [`markers`], and `render`'s errors (prefixed with the marker's line).
pub(crate) fn replace(
    text: &str,
    mut render: impl FnMut(&Marker) -> Result<String, Error>,
) -> Result<String, Error> {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for block in blocks(text)? {
        let content = render(&block.marker)
            .map_err(|e| Error::new(format!("line {}: {e}", block.marker.line)))?;
        out.push_str(text.get(copied..block.start).unwrap_or_default());
        // The opening line may be the file's last line without a newline; keep lines apart.
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&content);
        if !content.is_empty() && !content.ends_with('\n') {
            out.push('\n');
        }
        copied = block.end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "# Title\n\nBefore, with trailing spaces   \n\
        <!-- bench-report bench=\"merkle\" groups=\"a, b\" chart=\"merkle\" -->\nold\ncontent\n\
        <!-- /bench-report -->\nbetween\r\n\
        <!-- bench-report bench=\"gossip\" groups=\"c\" chart=\"gossip\" -->\n\
        <!-- /bench-report -->\nafter, no final newline";

    fn render(m: &Marker) -> Result<String, Error> {
        Ok(format!("generated for {} from {:?}\n", m.bench, m.groups))
    }

    #[test]
    fn parses_markers() {
        let m = markers(README).unwrap();
        assert_eq!(
            m,
            vec![
                Marker {
                    bench: "merkle".into(),
                    groups: vec!["a".into(), "b".into()],
                    chart: "merkle".into(),
                    args: None,
                    bars: vec![],
                    line: 4
                },
                Marker {
                    bench: "gossip".into(),
                    groups: vec!["c".into()],
                    chart: "gossip".into(),
                    args: None,
                    bars: vec![],
                    line: 9
                },
            ]
        );
    }

    #[test]
    fn replacement_keeps_the_rest_and_is_idempotent() {
        let once = replace(README, render).unwrap();
        let expected = "# Title\n\nBefore, with trailing spaces   \n\
            <!-- bench-report bench=\"merkle\" groups=\"a, b\" chart=\"merkle\" -->\n\
            generated for merkle from [\"a\", \"b\"]\n\
            <!-- /bench-report -->\nbetween\r\n\
            <!-- bench-report bench=\"gossip\" groups=\"c\" chart=\"gossip\" -->\n\
            generated for gossip from [\"c\"]\n\
            <!-- /bench-report -->\nafter, no final newline";
        assert_eq!(once, expected);
        assert_eq!(replace(&once, render).unwrap(), once);
        // Text without markers comes back byte for byte.
        let plain = "no markers\r\n here \n";
        assert_eq!(replace(plain, render).unwrap(), plain);
    }

    #[test]
    fn malformed_markers_are_clear_errors() {
        let cases = [
            (
                "<!-- bench-report bench=\"m\" groups=\"a\" chart=\"m\" -->\nx\n",
                "line 1: bench-report marker without its closing",
            ),
            (
                "x\n<!-- /bench-report -->\n",
                "line 2: `<!-- /bench-report -->` without",
            ),
            (
                "<!-- bench-report bench=\"m\" groups=\"a\" -->\n<!-- /bench-report -->\n",
                "needs a `chart` attribute",
            ),
            (
                "<!-- bench-report bench=\"m\" groups=\"a\" chart=\"m\" colour=\"red\" -->\n",
                "unknown attribute `colour`",
            ),
            (
                "<!-- bench-report bench=\"m\" groups=\"a,,b\" chart=\"m\" -->\n",
                "comma-separated",
            ),
            (
                "<!-- bench-report bench=\"m\" groups=\"a\" chart=\"../x\" -->\n",
                "`chart` must be",
            ),
            (
                "<!-- bench-report bench=\"m\" groups=\"a\" chart=\"m\" \n",
                "must end with `-->`",
            ),
            (
                "<!-- bench-report bench=\"m\" groups=\"a\" chart=\"m\" -->\n\
                 <!-- bench-report bench=\"n\" groups=\"a\" chart=\"n\" -->\n",
                "line 2: a bench-report marker inside the one opened at line 1",
            ),
        ];
        for (text, want) in cases {
            let e = markers(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let e = replace(
            "<!-- bench-report bench=\"m\" groups=\"a\" chart=\"m\" -->\n<!-- /bench-report -->\n",
            |_| Err(Error::new("group `a` has no results")),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "line 1: group `a` has no results");
    }
}
