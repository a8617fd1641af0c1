//! Charts about failure behaviour: revocation delay per mode and availability across an
//! API-server outage.

use super::{Chart, de, empty, font, mode_color, render};
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};
use plotters::prelude::*;

/// One bar of the revocation chart.
struct Bar {
    label: String,
    mode: String,
    secs_real: f64,
    refused: bool,
}

/// Revocation delay per mode (real-time projected), with the cache TTL marked.
pub fn revocation_delay(results: &Results) -> Chart {
    let title = "Revocation delay per mode (real time)".to_string();
    let scale = results.environment.time_scale;
    let ttl = results.settings.token_ttl_secs_real;
    let bars: Vec<Bar> = figures::modes(results)
        .into_iter()
        .flat_map(|mode| {
            figures::runs_of(results, Scenario::Revocation, &mode)
                .filter_map(|(_, l)| l.revocation.clone())
                .map(|rev| Bar {
                    label: format!("{mode} ({})", rev.method),
                    secs_real: rev.delay_ms.unwrap_or(rev.observed_for_ms) as f64 / 1_000.0 * scale,
                    refused: rev.delay_ms.is_some(),
                    mode: mode.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let caption = format!(
        "Time from the revocation call (ServiceAccount delete or CRL) to the first refused request, \
         multiplied by the time-scale factor {scale}. Pale bars were never refused: their height \
         is how long the scenario kept trying. The dashed line is the cache TTL ({}).",
        numfmt::secs(ttl)
    );
    let svg = if bars.is_empty() {
        empty(&title, "no revocation run with data")
    } else {
        render(&title, |root| {
            let y_hi = bars
                .iter()
                .map(|b| b.secs_real)
                .fold(ttl, f64::max)
                .max(1.0)
                * 1.2;
            let n = bars.len();
            let mut chart = ChartBuilder::on(root)
                .caption(&title, font(18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d((0..n).into_segmented(), 0f64..y_hi)
                .map_err(de)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_desc("mode (revocation method)")
                .y_desc("seconds to first refusal")
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => {
                        bars.get(*i).map(|b| b.label.clone()).unwrap_or_default()
                    }
                    _ => String::new(),
                })
                .label_style(font(12))
                .draw()
                .map_err(de)?;
            chart
                .draw_series(bars.iter().enumerate().map(|(i, b)| {
                    let color = mode_color(&b.mode);
                    let style = if b.refused {
                        color.filled()
                    } else {
                        color.mix(0.3).filled()
                    };
                    let mut rect = Rectangle::new(
                        [
                            (SegmentValue::Exact(i), 0.0),
                            (SegmentValue::Exact(i + 1), b.secs_real),
                        ],
                        style,
                    );
                    rect.set_margin(0, 0, 12, 12);
                    rect
                }))
                .map_err(de)?;
            chart
                .draw_series(bars.iter().enumerate().map(|(i, b)| {
                    let text = if b.refused {
                        numfmt::secs(b.secs_real)
                    } else {
                        format!("not refused in {}", numfmt::secs(b.secs_real))
                    };
                    Text::new(
                        text,
                        (SegmentValue::CenterOf(i), b.secs_real + y_hi * 0.03),
                        font(11),
                    )
                }))
                .map_err(de)?;
            chart
                .draw_series(DashedLineSeries::new(
                    [(SegmentValue::Exact(0), ttl), (SegmentValue::Last, ttl)],
                    6,
                    4,
                    RED.stroke_width(1),
                ))
                .map_err(de)?;
            Ok(())
        })
    };
    Chart {
        title,
        caption,
        svg,
    }
}

/// One outage run: mode, (t_secs, % served) points, and the outage window if recorded.
type OutageLine = (String, Vec<(f64, f64)>, Option<(f64, f64)>);

/// Share of requests served per second across an outage run, per mode.
pub fn availability(results: &Results) -> Chart {
    let title = "Availability across an API-server outage".to_string();
    let runs: Vec<OutageLine> = figures::modes(results)
        .into_iter()
        .flat_map(|mode| {
            figures::runs_of(results, Scenario::Outage, &mode)
                .filter_map(|(run, l)| {
                    let outage = l.outage.as_ref()?;
                    let points: Vec<(f64, f64)> = outage
                        .timeline
                        .iter()
                        .map(|(t, ok)| (*t, ok * 100.0))
                        .collect();
                    let window = run
                        .params
                        .get("outage_start_secs")
                        .and_then(|v| v.as_f64())
                        .map(|start| (start, start + outage.window_secs));
                    (!points.is_empty()).then_some((mode.clone(), points, window))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let caption = "Per second, the share of requests the gateway answered successfully during the \
                   outage run (known and new identities together). The shaded band is the outage \
                   window where the run recorded its start (params.outage_start_secs)."
        .to_string();
    let svg = if runs.is_empty() {
        empty(
            &title,
            "no outage run with a timeline (fault scenarios are skipped on a real cluster)",
        )
    } else {
        render(&title, |root| {
            let x_hi = runs
                .iter()
                .flat_map(|(_, p, _)| p.iter().map(|(t, _)| *t))
                .fold(1.0, f64::max);
            let mut chart = ChartBuilder::on(root)
                .caption(&title, font(18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..x_hi * 1.02, 0f64..105f64)
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_desc("seconds into the run (as run)")
                .y_desc("requests served (%)")
                .label_style(font(12))
                .draw()
                .map_err(de)?;
            for (_, _, window) in &runs {
                if let Some((start, end)) = window {
                    chart
                        .draw_series([Rectangle::new(
                            [(*start, 0.0), (*end, 105.0)],
                            RGBColor(200, 200, 200).mix(0.4).filled(),
                        )])
                        .map_err(de)?;
                }
            }
            for (mode, points, _) in &runs {
                let color = mode_color(mode);
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .map_err(de)?
                    .label(mode.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .label_font(font(12))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(de)
        })
    };
    Chart {
        title,
        caption,
        svg,
    }
}
