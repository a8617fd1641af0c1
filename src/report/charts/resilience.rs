//! Charts about failure behaviour: revocation delay per mode and availability across an
//! API-server outage.

use super::{Chart, de, draw_legend, empty, font, mode_color, render};
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
    let scale = figures::time_scale(results);
    let ttl = results.settings.token_ttl_secs_real;
    let bars: Vec<Bar> = figures::modes(results)
        .into_iter()
        .flat_map(|mode| {
            figures::runs_of(results, Scenario::Revocation, &mode)
                .filter_map(|(run, l)| Some((run, l.revocation.clone()?)))
                .map(|(run, rev)| Bar {
                    label: format!("{mode} ({})", rev.method),
                    secs_real: figures::revocation_real_secs(
                        run,
                        &rev.method,
                        rev.delay_ms.unwrap_or(rev.observed_for_ms),
                        scale,
                    ),
                    refused: rev.delay_ms.is_some(),
                    mode: mode.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let caption = format!(
        "Time from the revocation call (ServiceAccount delete or CRL) to the first refused request, \
         multiplied by the time-scale factor {scale} where the delay waits out a scaled TTL (cached, jwks, hybrid tokens; not CRLs or uncached reviews). Pale bars were never refused: their height \
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
            let n = bars.len() as f64;
            let centre_top = font(12).pos(Pos::new(HPos::Center, VPos::Top));
            let centre_bottom = font(11).pos(Pos::new(HPos::Center, VPos::Bottom));
            let mut chart = ChartBuilder::on(root)
                .caption(&title, font(18))
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..n, 0f64..y_hi)
                .map_err(de)?;
            // Bars sit on categories, so the x axis gets no numeric labels; each bar is named
            // below the axis instead.
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc("seconds to first refusal")
                .label_style(font(12))
                .draw()
                .map_err(de)?;
            for (i, b) in bars.iter().enumerate() {
                let (left, right) = (i as f64 + 0.15, i as f64 + 0.85);
                let centre = i as f64 + 0.5;
                let color = mode_color(&b.mode);
                let style = if b.refused {
                    color.filled()
                } else {
                    color.mix(0.3).filled()
                };
                let value = if b.refused {
                    numfmt::secs(b.secs_real)
                } else {
                    format!("not refused in {}", numfmt::secs(b.secs_real))
                };
                chart
                    .draw_series([Rectangle::new([(left, 0.0), (right, b.secs_real)], style)])
                    .map_err(de)?;
                chart
                    .draw_series([EmptyElement::at((centre, b.secs_real))
                        + Text::new(value, (0, -4), centre_bottom.clone())])
                    .map_err(de)?;
                chart
                    .draw_series([EmptyElement::at((centre, 0.0))
                        + Text::new(b.label.clone(), (0, 8), centre_top.clone())])
                    .map_err(de)?;
            }
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, ttl), (n, ttl)],
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
                    // `decide` passes `--outage-at-secs` to loadtest; either spelling is read.
                    let window = ["outage_at_secs", "outage_start_secs"]
                        .iter()
                        .find_map(|k| run.params.get(*k)?.as_f64())
                        .map(|start| (start, start + outage.window_secs));
                    (!points.is_empty()).then_some((mode.clone(), points, window))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let caption = "Per second, the share of requests the gateway answered successfully during the \
                   outage run (known and new identities together). The shaded band is the outage \
                   window where the run recorded its start (params.outage_at_secs)."
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
            draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)
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
    use crate::results::{LoadSummary, RevocationResult, RunOutcome, RunRecord};

    fn revocation_run(mode: &str, delay_ms: Option<u64>) -> RunRecord {
        RunRecord {
            id: format!("revocation/{mode}"),
            scenario: Scenario::Revocation,
            mode: mode.into(),
            offered_rps: 10.0,
            params: Default::default(),
            outcome: RunOutcome::Ok,
            load: Some(LoadSummary {
                revocation: Some(RevocationResult {
                    method: "crl".into(),
                    delay_ms,
                    observed_for_ms: 9_000,
                    accepted_after_revocation: 0,
                }),
                ..Default::default()
            }),
            duration_secs: 10.0,
        }
    }

    #[test]
    fn one_bar_per_revocation_run_even_for_a_single_run() {
        let fill = |mode| {
            let RGBColor(r, g, b) = mode_color(mode);
            format!("fill=\"#{r:02X}{g:02X}{b:02X}\"")
        };
        for runs in [
            vec![revocation_run("mtls", Some(1_500))],
            vec![
                revocation_run("mtls", Some(1_500)),
                revocation_run("jwks", None),
            ],
        ] {
            let results = Results {
                runs: runs.clone(),
                ..Default::default()
            };
            let svg = revocation_delay(&results).svg;
            assert!(!svg.contains("No data"), "{svg}");
            assert_eq!(svg.matches(&fill("mtls")).count(), 1, "one mtls bar");
            assert_eq!(svg.contains(&fill("jwks")), runs.len() == 2);
            assert!(svg.contains("crl"), "label names the method");
        }
    }
}
