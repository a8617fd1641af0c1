//! Latency charts: the percentile spectrum per mode and p99 against offered rate.

use super::{Chart, RunHistograms, de, draw_legend, empty, font, log_range, mode_color, render};
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};
use hdrhistogram::Histogram;
use plotters::prelude::*;

/// Rates the design note names, marked on the p99-vs-rate chart.
const RATE_MARKS: [f64; 3] = [100.0, 1_000.0, 10_000.0];

/// x position of a percentile on an HdrHistogram-style axis: 1 / (1 - p).
fn percentile_x(p: f64) -> f64 {
    1.0 / (1.0 - p)
}

fn percentile_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 1.0 / x);
    let text = format!("{p:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// One mode on the spectrum; `full` when drawn from the run's whole histogram.
struct SpectrumSeries {
    mode: String,
    points: Vec<(f64, f64)>,
    full: bool,
}

/// The whole distribution of a histogram as (x, latency ms) points, ending at the maximum.
fn histogram_points(h: &Histogram<u64>, max_x: f64) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = h
        .iter_quantiles(4)
        .map(|v| (v.quantile_iterated_to(), v.value_iterated_to()))
        .filter(|(q, _)| *q < 1.0)
        .map(|(q, us)| (percentile_x(q), us as f64 / 1_000.0))
        .collect();
    points.dedup_by(|b, a| a.0 >= b.0);
    points.push((max_x, h.max() as f64 / 1_000.0));
    points
}

/// Latency percentile spectrum per mode (steady runs nearest the expected rate), from the
/// summary's percentiles.
pub fn spectrum(results: &Results) -> Chart {
    spectrum_with(results, &RunHistograms::new())
}

/// The spectrum, drawing the whole distribution of runs whose histogram is given.
pub fn spectrum_with(results: &Results, histograms: &RunHistograms) -> Chart {
    let rate = results.settings.expected_rps;
    let title = format!("Latency percentile spectrum at ~{} RPS", numfmt::rps(rate));
    let series: Vec<SpectrumSeries> = figures::modes(results)
        .into_iter()
        .filter_map(|mode| {
            let (run, load) = figures::nearest_steady(results, &mode, rate)
                .or_else(|| figures::runs_of(results, Scenario::Steady, &mode).next())?;
            let l = &load.latency_us;
            let max_x = (l.count as f64).max(10_000.0);
            if let Some(h) = histograms.get(&run.id).filter(|h| !h.is_empty()) {
                let max_x = (h.len() as f64).max(10_000.0);
                let points = histogram_points(h, max_x);
                return Some(SpectrumSeries {
                    mode,
                    points,
                    full: true,
                });
            }
            if l.count == 0 {
                return None;
            }
            let points = [(0.5, l.p50), (0.9, l.p90), (0.99, l.p99), (0.999, l.p999)]
                .into_iter()
                .map(|(p, us)| (percentile_x(p), us as f64 / 1_000.0))
                .chain([(max_x, l.max as f64 / 1_000.0)])
                .collect();
            Some(SpectrumSeries {
                mode,
                points,
                full: false,
            })
        })
        .collect();
    let caption = "HdrHistogram-style: the x axis stretches the tail; the last point of each line \
                   is the maximum. Lines with dots are the summary's percentiles (50%, 90%, 99%, \
                   99.9%); lines without are the run's whole histogram. Flat lines mean a \
                   predictable tail."
        .to_string();
    let svg = if series.is_empty() {
        empty(&title, "no steady run with latency data")
    } else {
        render(&title, |root| {
            let x_hi = series
                .iter()
                .flat_map(|s| s.points.iter().map(|(x, _)| *x))
                .fold(10.0, f64::max)
                * 1.5;
            let (y_lo, y_hi) = log_range(
                series.iter().flat_map(|s| s.points.iter().map(|(_, y)| *y)),
                0.001,
            );
            let mut chart = ChartBuilder::on(root)
                .caption(&title, font(18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(
                    // Ticks at the percentiles themselves (0%, 50%, 90%, 99%, ...), not at powers of ten.
                    (1.0f64..x_hi).log_scale().with_key_points(
                        [
                            1.0,
                            2.0,
                            10.0,
                            100.0,
                            1_000.0,
                            10_000.0,
                            100_000.0,
                            1_000_000.0,
                        ]
                        .into_iter()
                        .filter(|x| *x < x_hi)
                        .collect(),
                    ),
                    (y_lo..y_hi * 8.0).log_scale(),
                )
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_desc("percentile")
                .y_desc("latency (ms)")
                .x_label_formatter(&|x| percentile_label(*x))
                .label_style(font(12))
                .draw()
                .map_err(de)?;
            for s in &series {
                let color = mode_color(&s.mode);
                chart
                    .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))
                    .map_err(de)?
                    .label(s.mode.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                let dots = if s.full {
                    &s.points[s.points.len() - 1..]
                } else {
                    &s.points[..]
                };
                chart
                    .draw_series(dots.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(de)?;
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
        })
    };
    Chart {
        title,
        caption,
        svg,
    }
}

/// One mode on the p99-vs-rate chart.
struct RateSeries {
    mode: String,
    /// Saturation steps (or steady runs when there was no ramp), by offered rate.
    line: Vec<(f64, f64)>,
    steady: Vec<(f64, f64)>,
}

/// p99 against offered rate per mode, from saturation steps and steady runs.
pub fn p99_vs_rps(results: &Results) -> Chart {
    let title = "p99 latency against offered rate".to_string();
    let slo_ms = results.settings.slo_p99_us as f64 / 1_000.0;
    // The line follows the saturation ramp where there is one (one run, one method); steady
    // runs are separate measurements and are drawn as open markers, not joined to it.
    let series: Vec<RateSeries> = figures::modes(results)
        .into_iter()
        .filter_map(|mode| {
            let p99_ms = |l: &crate::results::LatencyUs| {
                (l.count > 0 && l.p99 > 0).then(|| l.p99 as f64 / 1_000.0)
            };
            let steady: Vec<(f64, f64)> = figures::runs_of(results, Scenario::Steady, &mode)
                .filter(|(run, _)| run.offered_rps > 0.0)
                .filter_map(|(run, l)| Some((run.offered_rps, p99_ms(&l.latency_us)?)))
                .collect();
            let mut ramp: Vec<(f64, f64)> = figures::runs_of(results, Scenario::Saturation, &mode)
                .flat_map(|(_, l)| l.steps.iter())
                .filter(|s| s.offered_rps > 0.0)
                .filter_map(|s| Some((s.offered_rps, p99_ms(&s.latency_us)?)))
                .collect();
            let line = if ramp.is_empty() {
                steady.clone()
            } else {
                std::mem::take(&mut ramp)
            };
            let mut line = line;
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            (!line.is_empty()).then_some(RateSeries { mode, line, steady })
        })
        .collect();
    let caption = format!(
        "Each line is one mode; vertical marks at the note's 100 / 1,000 / 10,000 RPS, the dashed \
         line is the p99 SLO ({}). Lines follow the saturation ramp; open circles are steady \
         runs. Where a line crosses the SLO is where that mode stops holding.",
        numfmt::latency_us(results.settings.slo_p99_us)
    );
    let svg = if series.is_empty() {
        empty(&title, "no steady or saturation run with latency data")
    } else {
        render(&title, |root| {
            let all = || {
                series
                    .iter()
                    .flat_map(|s| s.line.iter().chain(s.steady.iter()))
            };
            let (x_lo, x_hi) = log_range(all().map(|(x, _)| *x).chain(RATE_MARKS), 1.0);
            let (y_lo, y_hi) = log_range(all().map(|(_, y)| *y).chain([slo_ms]), 0.001);
            let mut chart = ChartBuilder::on(root)
                .caption(&title, font(18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi * 8.0).log_scale())
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_desc("offered RPS")
                .y_desc("p99 (ms)")
                .x_label_formatter(&|x| numfmt::rps(*x))
                .max_light_lines(4)
                .label_style(font(12))
                .draw()
                .map_err(de)?;
            let grey = RGBColor(150, 150, 150);
            for mark in RATE_MARKS {
                chart
                    .draw_series(LineSeries::new(
                        [(mark, y_lo), (mark, y_hi * 8.0)],
                        grey.stroke_width(1),
                    ))
                    .map_err(de)?;
                chart
                    .draw_series([Text::new(
                        format!(" {} RPS", numfmt::rps(mark)),
                        (mark, y_lo * 1.15),
                        font(11),
                    )])
                    .map_err(de)?;
            }
            chart
                .draw_series(DashedLineSeries::new(
                    [(x_lo, slo_ms), (x_hi, slo_ms)],
                    6,
                    4,
                    RED.stroke_width(1),
                ))
                .map_err(de)?
                .label("p99 SLO")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
            for s in &series {
                let color = mode_color(&s.mode);
                chart
                    .draw_series(LineSeries::new(s.line.clone(), color.stroke_width(2)))
                    .map_err(de)?
                    .label(s.mode.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(s.line.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(de)?;
                chart
                    .draw_series(
                        s.steady
                            .iter()
                            .map(|p| Circle::new(*p, 5, color.stroke_width(2))),
                    )
                    .map_err(de)?;
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
        })
    };
    Chart {
        title,
        caption,
        svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_round_trips() {
        assert_eq!(percentile_label(percentile_x(0.5)), "50%");
        assert_eq!(percentile_label(percentile_x(0.99)), "99%");
        assert_eq!(percentile_label(percentile_x(0.999)), "99.9%");
    }
}
