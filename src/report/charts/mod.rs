//! The report's charts as inline SVG strings drawn with plotters' SVG backend (text is emitted
//! as SVG `<text>`, so no system fonts are needed). A chart without data is an explanatory
//! empty chart, never a panic.

mod cache;
mod latency;
mod resilience;
mod timeline;

use crate::results::Results;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use cache::{api_calls, hit_ratio_vs_churn};
pub use latency::{p99_vs_rps, spectrum, spectrum_with};
pub use resilience::{availability, revocation_delay};

/// Size of every chart in SVG pixels.
pub const SIZE: (u32, u32) = (760, 400);

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// What the reader should look for.
    pub caption: String,
    pub svg: String,
}

/// Whole-run latency histograms (microseconds) by run id, for runs whose interval log was read.
pub type RunHistograms = std::collections::BTreeMap<String, hdrhistogram::Histogram<u64>>;

/// Every chart of section 4, in order.
pub fn all(results: &Results) -> Vec<Chart> {
    all_with(results, &RunHistograms::new())
}

/// Every chart, drawing full latency distributions where a run's histogram is given.
pub fn all_with(results: &Results, histograms: &RunHistograms) -> Vec<Chart> {
    vec![
        spectrum_with(results, histograms),
        p99_vs_rps(results),
        api_calls(results),
        hit_ratio_vs_churn(results),
        revocation_delay(results),
        availability(results),
    ]
}

/// The drawing area every chart draws on.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Series colour per mode (colour-blind-friendly Okabe-Ito palette).
pub(crate) fn mode_color(mode: &str) -> RGBColor {
    match mode {
        "none" => RGBColor(120, 120, 120),
        "tokenreview" => RGBColor(213, 94, 0),
        "cached" => RGBColor(0, 114, 178),
        "jwks" => RGBColor(0, 158, 115),
        "mtls" => RGBColor(204, 121, 167),
        "hybrid" => RGBColor(230, 159, 0),
        _ => RGBColor(86, 180, 233),
    }
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&BLACK)
}

/// Draws the series legend, in the same style on every chart.
pub(crate) fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(12))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(de)
}

/// Stringifies any drawing error.
pub(crate) fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Runs `draw` on a fresh SVG; any drawing error yields an explanatory empty chart instead.
pub(crate) fn render(title: &str, draw: impl FnOnce(&Area<'_>) -> Result<(), String>) -> String {
    let mut svg = String::new();
    let outcome = {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let drawn = root.fill(&WHITE).map_err(de).and_then(|()| draw(&root));
        drawn.and_then(|()| root.present().map_err(de))
    };
    match outcome {
        Ok(()) => svg,
        Err(e) => empty(title, &format!("the chart could not be drawn: {e}")),
    }
}

/// A framed chart with its title and a sentence saying why there is nothing to plot.
pub(crate) fn empty(title: &str, why: &str) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
        // Drawing into a String cannot fail; the results are ignored on purpose so this
        // fallback itself never fails.
        let _ = root.fill(&WHITE);
        let _ = root.draw(&Rectangle::new(
            [(1, 1), (w - 2, h - 2)],
            BLACK.stroke_width(1),
        ));
        let centre = |size| font(size).pos(Pos::new(HPos::Center, VPos::Center));
        let _ = root.draw(&Text::new(
            title.to_string(),
            (w / 2, h / 2 - 20),
            centre(18),
        ));
        let _ = root.draw(&Text::new(
            format!("No data: {why}"),
            (w / 2, h / 2 + 14),
            centre(14),
        ));
        let _ = root.present();
    }
    svg
}

/// A log-scale range covering `values` with some headroom; never empty, never <= 0.
pub(crate) fn log_range(values: impl Iterator<Item = f64>, floor: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (floor, floor * 100.0);
    }
    (
        (lo / 1.5).max(floor),
        (hi * 1.5).max(lo * 2.0).max(floor * 10.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_chart_says_why_and_is_svg() {
        let svg = empty("Title <x>", "no runs & no luck");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("Title &lt;x&gt;"));
        assert!(svg.contains("no runs &amp; no luck"));
    }

    #[test]
    fn log_range_is_positive_and_ordered() {
        assert_eq!(log_range([].into_iter(), 0.1), (0.1, 10.0));
        let (lo, hi) = log_range([5.0, 5.0].into_iter(), 0.1);
        assert!(lo > 0.0 && lo < 5.0 && hi > 5.0);
    }
}
