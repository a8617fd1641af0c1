//! Charts about API-server load: auth API calls per mode and rate, and token-cache hit ratio
//! against identity churn.

use super::{Chart, de, draw_legend, empty, font, log_range, mode_color, render};
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};
use plotters::prelude::*;

/// Auth API calls over time when the runs carry a timeline; otherwise per minute
/// (real-time projected) against offered rate, per mode.
pub fn api_calls(results: &Results) -> Chart {
    if let Some(chart) = super::timeline::api_calls_over_time(results) {
        return chart;
    }
    let title = "API-server auth calls per minute (real time) by offered rate".to_string();
    let scale = figures::time_scale(results);
    let series: Vec<(String, Vec<(f64, f64)>)> = figures::modes(results)
        .into_iter()
        .filter_map(|mode| {
            let mut points: Vec<(f64, f64)> = figures::runs_of(results, Scenario::Steady, &mode)
                .filter_map(|(run, _)| {
                    Some((
                        run.offered_rps,
                        figures::api_calls_per_min_real(run, scale)?,
                    ))
                })
                .filter(|(x, _)| *x > 0.0)
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (!points.is_empty()).then_some((mode, points))
        })
        .collect();
    // Zero calls cannot sit on a log axis; they are drawn on the floor line and said so.
    let floor = 0.1;
    let caption = format!(
        "TokenReviews + SubjectAccessReviews the API server counted per steady run, per minute, \
         projected to real time (cached modes divided by the time-scale factor {scale}). The \
         results carry one total per run, so runs stand in for time: the API load each mode would \
         put on the cluster at each rate. Zero is drawn at {floor}."
    );
    let svg = if series.is_empty() {
        empty(&title, "no steady run with API-server counts")
    } else {
        render(&title, |root| {
            let (x_lo, x_hi) = log_range(
                series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)),
                1.0,
            );
            let (_, y_hi) = log_range(
                series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)),
                floor,
            );
            let mut chart = ChartBuilder::on(root)
                .caption(&title, font(18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(72)
                .build_cartesian_2d(
                    (x_lo..x_hi).log_scale(),
                    (floor / 1.5..y_hi * 8.0).log_scale(),
                )
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_desc("offered RPS")
                .y_desc("auth API calls / min")
                .x_label_formatter(&|x| numfmt::rps(*x))
                .y_label_formatter(&|y| numfmt::rps(*y))
                .max_light_lines(4)
                .label_style(font(12))
                .draw()
                .map_err(de)?;
            for (mode, points) in &series {
                let color = mode_color(mode);
                let points: Vec<(f64, f64)> =
                    points.iter().map(|(x, y)| (*x, y.max(floor))).collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .map_err(de)?
                    .label(mode.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
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

/// Token-cache hit ratio against the share of never-seen identities, with the target line.
pub fn hit_ratio_vs_churn(results: &Results) -> Chart {
    let title = "Token-cache hit ratio against identity churn".to_string();
    let target = results.settings.hit_ratio_target * 100.0;
    let series: Vec<(String, Vec<(f64, f64)>)> = figures::modes(results)
        .into_iter()
        .filter_map(|mode| {
            let mut points: Vec<(f64, f64)> = figures::runs_of(results, Scenario::Churn, &mode)
                .flat_map(|(_, l)| l.churn.iter())
                .filter(|c| c.requests > 0)
                .map(|c| (c.churn_fraction * 100.0, c.token_hit_ratio * 100.0))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (!points.is_empty()).then_some((mode, points))
        })
        .collect();
    let caption = format!(
        "Share of requests from never-seen identities (x) against the token-cache hit ratio from \
         the gateway's /metrics (y). The dashed line is the {target:.0}% the keep rule needs: churn \
         to the right of the crossing means the cache cannot keep API calls down."
    );
    let svg = if series.is_empty() {
        empty(&title, "no churn run with data")
    } else {
        render(&title, |root| {
            let x_hi = series
                .iter()
                .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
                .fold(10.0, f64::max);
            let mut chart = ChartBuilder::on(root)
                .caption(&title, font(18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..x_hi * 1.05, 0f64..101f64)
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_desc("churn: requests from new identities (%)")
                .y_desc("hit ratio (%)")
                .label_style(font(12))
                .draw()
                .map_err(de)?;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, target), (x_hi * 1.05, target)],
                    6,
                    4,
                    RED.stroke_width(1),
                ))
                .map_err(de)?
                .label(format!("{target:.0}% target"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
            for (mode, points) in &series {
                let color = mode_color(mode);
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .map_err(de)?
                    .label(mode.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(de)?;
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)
        })
    };
    Chart {
        title,
        caption,
        svg,
    }
}
