//! API-server auth calls over time, drawn when runs carry a per-interval timeline
//! (`params.apiserver_calls_timeline`); otherwise the per-rate chart stands in.

use super::{Chart, de, draw_legend, font, log_range, mode_color, render};
use crate::report::figures;
use crate::results::{Results, Scenario};
use plotters::prelude::*;

/// Zero calls cannot sit on a log axis; they are drawn on this floor and the caption says so.
const FLOOR_PER_MIN: f64 = 0.1;

/// Calls per minute (real-time projected) over the steady run nearest the expected rate, per
/// mode; None when no such run has a timeline.
pub(super) fn api_calls_over_time(results: &Results) -> Option<Chart> {
    let rate = results.settings.expected_rps;
    let scale = figures::time_scale(results);
    let series: Vec<(String, Vec<(f64, f64)>)> = figures::modes(results)
        .into_iter()
        .filter_map(|mode| {
            let (run, _) = figures::nearest_steady(results, &mode, rate)
                .filter(|(run, _)| figures::calls_timeline(run).is_some())
                .or_else(|| {
                    figures::runs_of(results, Scenario::Steady, &mode)
                        .find(|(run, _)| figures::calls_timeline(run).is_some())
                })?;
            let timeline = figures::calls_timeline(run)?;
            let interval_secs = timeline
                .windows(2)
                .map(|w| w[1].0 - w[0].0)
                .find(|d| *d > 0.0)
                .unwrap_or(1.0);
            let divisor = figures::real_time_divisor(&mode, figures::run_time_scale(run, scale));
            let points: Vec<(f64, f64)> = timeline
                .iter()
                .map(|(t, calls)| (*t, calls / interval_secs * 60.0 / divisor))
                .collect();
            (!points.is_empty()).then_some((mode, points))
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let title = "API-server auth calls over time (per minute, real time)".to_string();
    let caption = format!(
        "TokenReviews + SubjectAccessReviews per minute across the steady run nearest {} RPS, per \
         mode; cached modes divided by the time-scale factor {scale}. A cache shows a burst at the \
         start (cold cache) and then a low line with a bump each TTL. Zero is drawn at {FLOOR_PER_MIN}.",
        crate::report::numfmt::rps(rate)
    );
    let svg = render(&title, |root| {
        let x_hi = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(t, _)| *t))
            .fold(1.0, f64::max);
        let (_, y_hi) = log_range(
            series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)),
            FLOOR_PER_MIN,
        );
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(
                0f64..x_hi * 1.02,
                (FLOOR_PER_MIN / 1.5..y_hi * 8.0).log_scale(),
            )
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc("seconds into the run (as run)")
            .y_desc("auth API calls / min")
            .max_light_lines(4)
            .label_style(font(12))
            .draw()
            .map_err(de)?;
        for (mode, points) in &series {
            let color = mode_color(mode);
            let points: Vec<(f64, f64)> = points
                .iter()
                .map(|(x, y)| (*x, y.max(FLOOR_PER_MIN)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(de)?
                .label(mode.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    });
    Some(Chart {
        title,
        caption,
        svg,
    })
}
