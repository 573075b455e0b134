//! One SVG chart per marker: a panel per group, a horizontal bar per row.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Error;
use crate::table::{Table, format_ns};

const WIDTH: u32 = 800;
const MARGIN: i32 = 12;
/// Labels end here (right-aligned), bars start a little after.
const LABEL_RIGHT: i32 = 290;
const BAR_LEFT: i32 = 300;
/// Bars end here at the panel's maximum; the value label follows the bar.
const BAR_RIGHT: i32 = 690;
const HEADER_H: i32 = 64;
const PANEL_TITLE_H: i32 = 26;
const ROW_H: i32 = 22;
const BAR_H: i32 = 15;
const AXIS_H: i32 = 22;
const PANEL_GAP: i32 = 14;
/// Names longer than this are cut with an ellipsis so they stay left of the bars.
const MAX_LABEL: usize = 35;

const SINEW_COLOUR: RGBColor = RGBColor(232, 89, 12);
const PEER_COLOUR: RGBColor = RGBColor(134, 142, 150);
const INK: RGBColor = RGBColor(33, 37, 41);
const GRID: RGBColor = RGBColor(222, 226, 230);

/// Above this spread of medians (max ÷ min) a panel uses a log scale.
const LOG_SPREAD: f64 = 20.0;

/// A pixel coordinate; every value passed is within the chart (a few thousand pixels).
#[allow(clippy::cast_possible_truncation)]
fn px(v: f64) -> i32 {
    v.round().clamp(-1e6, 1e6) as i32
}

/// Text of `size` pixels; plotters' SVG backend divides the size by 1.24, so undo that.
fn text_style(size: f64, bold: bool, h: HPos) -> TextStyle<'static> {
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    TextStyle::from(("sans-serif", size * 1.24, style).into_font())
        .color(&INK)
        .pos(Pos::new(h, VPos::Center))
}

/// A panel's horizontal scale: value (ns) to x, and the ticks to label.
struct Scale {
    log: bool,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Scale {
    fn new(medians: &[f64], uppers: &[f64]) -> Self {
        let min = medians.iter().copied().fold(f64::INFINITY, f64::min);
        let max = uppers
            .iter()
            .chain(medians)
            .copied()
            .fold(0.0_f64, f64::max);
        if min > 0.0 && max / min > LOG_SPREAD {
            let lo = 10f64.powf(min.log10().floor());
            let hi = 10f64.powf(max.log10().ceil()).max(lo * 10.0);
            let mut ticks = vec![lo];
            while let Some(&t) = ticks.last()
                && t * 10.0 <= hi * 1.000_001
            {
                ticks.push(t * 10.0);
            }
            return Self {
                log: true,
                lo,
                hi,
                ticks,
            };
        }
        let max = if max > 0.0 { max } else { 1.0 };
        // A 1, 2 or 5 step giving four to ten intervals.
        let raw = max / 5.0;
        let pow = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * pow)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * pow);
        let hi = (max / step).ceil() * step;
        let ticks = (0..)
            .map(|i| f64::from(i) * step)
            .take_while(|t| *t <= hi * 1.000_001)
            .collect();
        Self {
            log: false,
            lo: 0.0,
            hi,
            ticks,
        }
    }

    fn x(&self, v: f64) -> i32 {
        let frac = if self.log {
            (v.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            v / self.hi
        };
        px(f64::from(BAR_LEFT) + frac.clamp(0.0, 1.0) * f64::from(BAR_RIGHT - BAR_LEFT))
    }
}

/// A tick's time without trailing zeros ("2 µs", "2.5 ns"): ticks are round numbers.
fn tick_label(ns: f64) -> String {
    if ns == 0.0 {
        return "0".to_owned();
    }
    let text = format_ns(ns);
    match text.split_once(' ') {
        Some((num, unit)) if num.contains('.') => {
            format!("{} {unit}", num.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => text,
    }
}

fn cut(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(MAX_LABEL - 1).collect();
    s.push('…');
    s
}

/// The SVG text of `table`'s chart, titled `title`.
///
/// # Errors
///
/// When plotters fails to draw (it writes to a string, so only on an internal error).
pub(crate) fn svg(title: &str, table: &Table) -> Result<String, Error> {
    let panels: Vec<Vec<_>> = (0..table.groups.len())
        .map(|g| {
            table
                .rows
                .iter()
                .filter_map(|r| Some((r, (*r.cells.get(g)?)?)))
                .collect()
        })
        .collect();
    let height: i32 = HEADER_H
        + panels
            .iter()
            .map(|rows| {
                PANEL_TITLE_H + ROW_H * i32::try_from(rows.len()).unwrap_or(0) + AXIS_H + PANEL_GAP
            })
            .sum::<i32>();
    let height = u32::try_from(height).map_err(|_| Error::new("chart too tall"))?;
    let mut out = String::new();
    draw(&mut out, title, table, &panels, height)
        .map_err(|e| Error::new(format!("drawing the chart {title}: {e}")))?;
    Ok(out)
}

type Panel<'a> = Vec<(&'a crate::table::Row, crate::table::Cell)>;

fn draw(
    out: &mut String,
    title: &str,
    table: &Table,
    panels: &[Panel<'_>],
    height: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        format!("{title}: median time per iteration (lower is better)"),
        (MARGIN, 18),
        text_style(18.0, true, HPos::Left),
    ))?;
    // Legend.
    let legend_y = 44;
    let mut x = MARGIN;
    for (colour, name) in [
        (SINEW_COLOUR, "sinew"),
        (PEER_COLOUR, "peers and baselines"),
    ] {
        root.draw(&Rectangle::new(
            [(x, legend_y - 6), (x + 12, legend_y + 6)],
            colour.filled(),
        ))?;
        root.draw(&Text::new(
            name,
            (x + 18, legend_y),
            text_style(13.0, false, HPos::Left),
        ))?;
        x += 30 + px(7.0 * name.len() as f64);
    }
    root.draw(&PathElement::new(
        vec![(x, legend_y), (x + 16, legend_y)],
        INK.stroke_width(1),
    ))?;
    root.draw(&Text::new(
        "95% confidence interval of the median",
        (x + 22, legend_y),
        text_style(13.0, false, HPos::Left),
    ))?;

    let mut y = HEADER_H;
    for (group, rows) in table.groups.iter().zip(panels) {
        let medians: Vec<f64> = rows.iter().map(|(_, c)| c.median).collect();
        let uppers: Vec<f64> = rows.iter().map(|(_, c)| c.upper).collect();
        let scale = Scale::new(&medians, &uppers);
        let note = if scale.log { " (log scale)" } else { "" };
        root.draw(&Text::new(
            format!("{group}{note}"),
            (MARGIN, y + PANEL_TITLE_H / 2),
            text_style(15.0, true, HPos::Left),
        ))?;
        let top = y + PANEL_TITLE_H;
        let bottom = top + ROW_H * i32::try_from(rows.len()).unwrap_or(0);
        for &t in &scale.ticks {
            let tx = scale.x(t);
            root.draw(&PathElement::new(
                vec![(tx, top), (tx, bottom)],
                GRID.stroke_width(1),
            ))?;
            let label = tick_label(t);
            root.draw(&Text::new(
                label,
                (tx, bottom + AXIS_H / 2),
                text_style(11.0, false, HPos::Center),
            ))?;
        }
        for (i, (row, cell)) in rows.iter().enumerate() {
            let cy = top + ROW_H * i32::try_from(i).unwrap_or(0) + ROW_H / 2;
            let colour = if row.is_sinew() {
                SINEW_COLOUR
            } else {
                PEER_COLOUR
            };
            root.draw(&Text::new(
                cut(&row.label()),
                (LABEL_RIGHT, cy),
                text_style(13.0, row.is_sinew(), HPos::Right),
            ))?;
            let end = scale.x(cell.median).max(BAR_LEFT + 1);
            root.draw(&Rectangle::new(
                [(BAR_LEFT, cy - BAR_H / 2), (end, cy + BAR_H / 2)],
                colour.filled(),
            ))?;
            let (lo, hi) = (scale.x(cell.lower), scale.x(cell.upper));
            root.draw(&PathElement::new(
                vec![(lo, cy), (hi, cy)],
                INK.stroke_width(1),
            ))?;
            for w in [lo, hi] {
                root.draw(&PathElement::new(
                    vec![(w, cy - 3), (w, cy + 3)],
                    INK.stroke_width(1),
                ))?;
            }
            root.draw(&Text::new(
                format_ns(cell.median),
                (end.max(hi) + 6, cy),
                text_style(12.0, row.is_sinew(), HPos::Left),
            ))?;
        }
        y = bottom + AXIS_H + PANEL_GAP;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Cell, Row};
    use std::time::SystemTime;

    fn row(imp: &str, median: f64) -> Row {
        Row {
            implementation: imp.into(),
            configuration: "default".into(),
            cells: vec![Some(Cell {
                median,
                lower: median * 0.9,
                upper: median * 1.1,
            })],
            ratios: vec![None],
        }
    }

    #[test]
    fn draws_bars_labels_and_picks_the_scale() {
        let table = Table {
            groups: vec!["g".into()],
            rows: vec![row("sinew", 10.0), row("peer <&>", 30.0)],
            newest: SystemTime::UNIX_EPOCH,
        };
        let s = svg("bench", &table).unwrap();
        assert!(
            s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
            "{s}"
        );
        assert!(
            s.contains("peer &lt;&amp;&gt;") && s.contains("30.0 ns"),
            "{s}"
        );
        assert!(!s.contains("log scale"));
        let wide = Table {
            rows: vec![row("sinew", 1.0), row("peer", 1000.0)],
            ..table
        };
        assert!(svg("bench", &wide).unwrap().contains("g (log scale)"));
    }

    #[test]
    fn scales() {
        let lin = Scale::new(&[10.0, 30.0], &[11.0, 33.0]);
        assert!(!lin.log);
        assert_eq!(lin.ticks, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(
            [0.0, 2e9, 2_500.0, 20.0].map(tick_label),
            ["0", "2 s", "2.5 µs", "20 ns"]
        );
        let log = Scale::new(&[2.0, 3000.0], &[2.2, 3300.0]);
        assert!(log.log);
        assert_eq!(log.ticks, vec![1.0, 10.0, 100.0, 1000.0, 10000.0]);
        assert_eq!((log.x(1.0), log.x(10000.0)), (BAR_LEFT, BAR_RIGHT));
    }
}
