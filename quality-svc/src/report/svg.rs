//! Charts as inline SVG: pure functions from values in 0..1 to markup, sized in CSS pixels
//! with a `viewBox` so they scale with the page. Every label passes through [`escape`]; a
//! chart with nothing to draw is a note instead of an empty frame.

use std::fmt::Write;

use super::escape;

/// Width of every chart.
pub const WIDTH: f64 = 640.0;
/// Room for the labels left of horizontal bars.
const LABEL_W: f64 = 190.0;
/// The bars' full length: a value of 1.
pub const PLOT_W: f64 = 360.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 16.0;
const AXIS_H: f64 = 22.0;

const GOOD: &str = "#2f855a";
const FAIR: &str = "#c98a04";
const POOR: &str = "#c53030";
const GRID: &str = "#e2e8f0";
const INK: &str = "#1a202c";
const MUTED: &str = "#718096";
/// The two series of paired bars.
const SERIES: [&str; 2] = ["#2b6cb0", "#90cdf4"];

/// One labelled value; `None` when there was nothing to measure.
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
}

/// Two values of one label, e.g. an agent's precision and recall.
pub struct Pair {
    pub label: String,
    pub values: [Option<f64>; 2],
}

/// One point of a trend; `current` marks the run the page is about.
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
    pub current: bool,
}

/// `0.875` → `88%`.
pub fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn unit(v: f64) -> f64 {
    if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 }
}

/// Green from the pass threshold up, amber within 0.3 below it, red below that.
fn colour(v: f64, threshold: f64) -> &'static str {
    if v >= threshold - 1e-9 {
        GOOD
    } else if v >= threshold - 0.3 {
        FAIR
    } else {
        POOR
    }
}

/// The note shown in place of a chart with no data.
pub fn no_data(title: &str) -> String {
    format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption>\
         <p class=\"no-data\">No data to chart yet.</p></figure>",
        escape(title)
    )
}

fn open(title: &str, height: f64) -> String {
    let t = escape(title);
    format!(
        "<figure class=\"chart\"><figcaption>{t}</figcaption>\
         <svg viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         role=\"img\" aria-label=\"{t}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <title>{t}</title>"
    )
}

const CLOSE: &str = "</svg></figure>";

/// Vertical grid lines at 0, 25, 50, 75 and 100 % over a plot `plot_h` high, labelled below.
fn horizontal_axis(out: &mut String, plot_h: f64) {
    for i in 0..=4 {
        let x = LABEL_W + PLOT_W * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{plot_h}\" stroke=\"{GRID}\"/>\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\">{}</text>",
            plot_h + 15.0,
            percent(f64::from(i) / 4.0)
        );
    }
}

fn threshold_line(out: &mut String, threshold: f64, plot_h: f64) {
    let x = LABEL_W + PLOT_W * unit(threshold);
    let _ = write!(
        out,
        "<line class=\"threshold\" x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{plot_h}\" \
         stroke=\"{INK}\" stroke-dasharray=\"4 3\"><title>pass threshold {}</title></line>",
        percent(threshold)
    );
}

/// Horizontal bars, one row per label, bar length proportional to the value; values at or
/// above `threshold` are green, and a dashed line marks it.
pub fn bars(title: &str, bars: &[Bar], threshold: f64) -> String {
    if bars.iter().all(|b| b.value.is_none()) {
        return no_data(title);
    }
    let plot_h = ROW_H * bars.len() as f64;
    let mut out = open(title, plot_h + AXIS_H);
    horizontal_axis(&mut out, plot_h);
    for (i, bar) in bars.iter().enumerate() {
        let y = ROW_H * i as f64;
        let label = escape(&bar.label);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{INK}\">{label}</text>",
            LABEL_W - 8.0,
            y + ROW_H / 2.0 + 4.0
        );
        match bar.value {
            Some(v) => {
                let w = PLOT_W * unit(v);
                let _ = write!(
                    out,
                    "<rect class=\"bar\" x=\"{LABEL_W}\" y=\"{}\" width=\"{w:.1}\" height=\"{BAR_H}\" \
                     rx=\"2\" fill=\"{}\"><title>{label}: {}</title></rect>\
                     <text x=\"{}\" y=\"{}\" fill=\"{INK}\">{}</text>",
                    y + (ROW_H - BAR_H) / 2.0,
                    colour(v, threshold),
                    percent(v),
                    LABEL_W + w + 6.0,
                    y + ROW_H / 2.0 + 4.0,
                    percent(v)
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" fill=\"{MUTED}\">n/a</text>",
                    LABEL_W + 6.0,
                    y + ROW_H / 2.0 + 4.0
                );
            }
        }
    }
    threshold_line(&mut out, threshold, plot_h);
    out.push_str(CLOSE);
    out
}

/// Two horizontal bars per label (e.g. precision above recall) with a legend naming `series`.
/// A missing value (nothing to divide by) reads "n/a".
pub fn paired_bars(title: &str, series: [&str; 2], rows: &[Pair]) -> String {
    if rows.iter().all(|r| r.values.iter().all(Option::is_none)) {
        return no_data(title);
    }
    const PAIR_H: f64 = 2.0 * 13.0 + 12.0;
    const LEGEND_H: f64 = 22.0;
    let plot_h = PAIR_H * rows.len() as f64;
    let mut out = open(title, LEGEND_H + plot_h + AXIS_H);
    for (k, name) in series.iter().enumerate() {
        let x = LABEL_W + 130.0 * k as f64;
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"2\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"12\" fill=\"{INK}\">{}</text>",
            SERIES[k],
            x + 17.0,
            escape(name)
        );
    }
    let _ = write!(out, "<g transform=\"translate(0 {LEGEND_H})\">");
    horizontal_axis(&mut out, plot_h);
    for (i, row) in rows.iter().enumerate() {
        let y = PAIR_H * i as f64 + 6.0;
        let label = escape(&row.label);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{INK}\">{label}</text>",
            LABEL_W - 8.0,
            y + 17.0
        );
        for (k, value) in row.values.iter().enumerate() {
            let by = y + 13.0 * k as f64;
            match value {
                Some(v) => {
                    let w = PLOT_W * unit(*v);
                    let _ = write!(
                        out,
                        "<rect class=\"bar\" x=\"{LABEL_W}\" y=\"{by}\" width=\"{w:.1}\" \
                         height=\"12\" fill=\"{}\"><title>{label} {}: {}</title></rect>\
                         <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{INK}\">{}</text>",
                        SERIES[k],
                        escape(series[k]),
                        percent(*v),
                        LABEL_W + w + 6.0,
                        by + 10.0,
                        percent(*v)
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{MUTED}\">{} n/a</text>",
                        LABEL_W + 6.0,
                        by + 10.0,
                        escape(series[k])
                    );
                }
            }
        }
    }
    out.push_str("</g>");
    out.push_str(CLOSE);
    out
}

/// A line through the values in order (left to right), y from 0 at the bottom to 1 at the
/// top; a missing value breaks the line. The current point is drawn larger.
pub fn line(title: &str, points: &[Point], threshold: f64) -> String {
    if points.iter().all(|p| p.value.is_none()) {
        return no_data(title);
    }
    const HEIGHT: f64 = 220.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 24.0;
    const TOP: f64 = 26.0;
    const BOTTOM: f64 = 30.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |i: usize| match points.len() {
        1 => LEFT + plot_w / 2.0,
        n => LEFT + plot_w * i as f64 / (n - 1) as f64,
    };
    let y_of = |v: f64| TOP + plot_h * (1.0 - unit(v));
    let mut out = open(title, HEIGHT);
    for i in 0..=4 {
        let v = f64::from(i) / 4.0;
        let y = y_of(v);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{MUTED}\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            percent(v)
        );
    }
    let ty = y_of(threshold);
    let _ = write!(
        out,
        "<line class=\"threshold\" x1=\"{LEFT}\" y1=\"{ty:.1}\" x2=\"{}\" y2=\"{ty:.1}\" stroke=\"{INK}\" \
         stroke-dasharray=\"4 3\"><title>pass threshold {}</title></line>",
        WIDTH - RIGHT,
        percent(threshold)
    );
    // Consecutive measured points form one segment.
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => segments.last_mut().expect("one segment").push((x_of(i), y_of(v))),
            None if segments.last().is_some_and(|s| !s.is_empty()) => segments.push(Vec::new()),
            None => {}
        }
    }
    for segment in segments.iter().filter(|s| s.len() > 1) {
        let coordinates: Vec<String> =
            segment.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            coordinates.join(" "),
            SERIES[0]
        );
    }
    // Labelling every point would overlap beyond a dozen; then every k-th and the last.
    let step = points.len().div_ceil(12).max(1);
    for (i, p) in points.iter().enumerate() {
        let x = x_of(i);
        let labelled = i % step == 0 || i + 1 == points.len();
        if labelled {
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\"{}>{}</text>",
                HEIGHT - 10.0,
                if p.current { " font-weight=\"bold\"" } else { "" },
                escape(&p.label)
            );
        }
        let Some(v) = p.value else { continue };
        let y = y_of(v);
        let (r, fill) = if p.current { (6.0, INK) } else { (4.0, SERIES[0]) };
        let _ = write!(
            out,
            "<circle class=\"point\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{fill}\" \
             stroke=\"#fff\" stroke-width=\"1.5\"><title>{}: {}</title></circle>",
            escape(&p.label),
            percent(v)
        );
        if labelled {
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
                y - 10.0,
                percent(v)
            );
        }
    }
    out.push_str(CLOSE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `name` attribute of every element of `class`, in document order.
    fn attributes(svg: &str, class: &str, name: &str) -> Vec<f64> {
        svg.split(&format!("class=\"{class}\""))
            .skip(1)
            .map(|rest| {
                let start =
                    rest.find(&format!(" {name}=\"")).expect("the attribute") + name.len() + 3;
                let end = start + rest[start..].find('"').unwrap();
                rest[start..end].parse().unwrap()
            })
            .collect()
    }

    fn bar(label: &str, value: Option<f64>) -> Bar {
        Bar { label: label.into(), value }
    }

    #[test]
    fn bar_lengths_are_proportional_to_the_values() {
        let svg =
            bars("Scores", &[bar("a", Some(0.25)), bar("b", Some(0.5)), bar("c", Some(1.0))], 0.9);
        let widths = attributes(&svg, "bar", "width");
        assert_eq!(widths, vec![PLOT_W / 4.0, PLOT_W / 2.0, PLOT_W]);
        assert!(svg.contains(">25%<") && svg.contains(">100%<"), "{svg}");
        assert!(svg.contains(GOOD) && svg.contains(POOR), "colours by the threshold: {svg}");
        assert_eq!(attributes(&svg, "threshold", "x1"), vec![514.0]);
    }

    #[test]
    fn values_outside_zero_to_one_are_clamped_and_missing_ones_drawn_as_na() {
        let svg = bars(
            "Scores",
            &[bar("over", Some(1.7)), bar("under", Some(-0.2)), bar("none", None)],
            0.9,
        );
        assert_eq!(attributes(&svg, "bar", "width"), vec![PLOT_W, 0.0]);
        assert!(svg.contains(">n/a<"), "{svg}");
    }

    #[test]
    fn labels_and_titles_are_escaped() {
        let evil = "<script>alert(\"x\")</script> & 'co'";
        let svg = bars(evil, &[bar(evil, Some(0.5))], 0.9);
        let pairs = paired_bars(
            evil,
            [evil, "b"],
            &[Pair { label: evil.into(), values: [Some(0.5), None] }],
        );
        let trend =
            line(evil, &[Point { label: evil.into(), value: Some(0.5), current: true }], 0.9);
        for out in [svg, pairs, trend, no_data(evil)] {
            assert!(!out.contains("<script"), "{out}");
            assert!(!out.contains("\"x\""), "{out}");
            assert!(out.contains("&lt;script&gt;"), "{out}");
            assert!(out.contains("&amp;"), "{out}");
        }
    }

    #[test]
    fn nothing_to_draw_is_a_note_not_an_empty_chart() {
        for out in [
            bars("Scores", &[], 0.9),
            bars("Scores", &[bar("a", None)], 0.9),
            paired_bars("Agents", ["p", "r"], &[]),
            line("Trend", &[Point { label: "#1".into(), value: None, current: true }], 0.9),
        ] {
            assert!(!out.contains("<svg"), "{out}");
            assert!(out.contains("class=\"no-data\""), "{out}");
        }
    }

    #[test]
    fn paired_bars_draw_both_series_per_label() {
        let rows = [
            Pair { label: "meter".into(), values: [Some(1.0), Some(0.5)] },
            Pair { label: "iban".into(), values: [Some(0.0), None] },
        ];
        let svg = paired_bars("Detection", ["precision", "recall"], &rows);
        assert_eq!(attributes(&svg, "bar", "width"), vec![PLOT_W, PLOT_W / 2.0, 0.0]);
        assert!(svg.contains(">recall n/a<"), "{svg}");
        assert!(svg.contains(">precision<") && svg.contains(">recall<"), "a legend: {svg}");
    }

    #[test]
    fn the_trend_runs_bottom_to_top_left_to_right_and_breaks_at_gaps() {
        let p = |label: &str, value, current| Point { label: label.into(), value, current };
        let points = [
            p("#1", Some(0.0), false),
            p("#2", Some(1.0), false),
            p("#3", None, false),
            p("#4", Some(0.5), true),
        ];
        let svg = line("Overall", &points, 0.9);
        let xs = attributes(&svg, "point", "cx");
        let ys = attributes(&svg, "point", "cy");
        assert_eq!(xs.len(), 3, "no point without a value: {svg}");
        assert!(xs[0] < xs[1] && xs[1] < xs[2]);
        assert!(ys[0] > ys[2] && ys[2] > ys[1], "higher values higher up: {ys:?}");
        assert_eq!(svg.matches("<polyline").count(), 1, "the gap splits the line: {svg}");
        assert!(svg.contains("r=\"6\""), "the current run stands out: {svg}");

        let single = line("Overall", &[p("#9", Some(0.75), true)], 0.9);
        assert_eq!(attributes(&single, "point", "cx"), vec![48.0 + (WIDTH - 72.0) / 2.0]);
        assert!(!single.contains("<polyline"), "{single}");
    }
}
