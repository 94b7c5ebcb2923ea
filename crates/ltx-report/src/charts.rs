//! The report's charts, drawn by plotters into inline SVG.
//!
//! Colours: plotters writes them as `fill`/`stroke` attributes. The page's stylesheet
//! overrides a few *marker* colours by attribute selector (CSS beats SVG presentation
//! attributes), so that text, axes, grid and bars follow the light or dark theme: see
//! [`TEXT`], [`AXIS`], [`GRID`], [`BAR`], [`LINE`], [`EMPTY`], [`GOOD`], [`BAD`]. No font
//! is loaded (plotters measures text naively); the browser lays out every `<text>`.

use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::{Day, HeatCell, SlaDay};
use crate::error::{ReportError, Result};
use crate::format::{count, percent};

/// Marker for text (`svg text[fill="#000000"]` → the theme's foreground).
pub const TEXT: RGBColor = RGBColor(0, 0, 0);
/// Marker for axes (`[stroke="#010101"]`).
pub const AXIS: RGBColor = RGBColor(1, 1, 1);
/// Marker for grid lines (`[stroke="#020202"]`).
pub const GRID: RGBColor = RGBColor(2, 2, 2);
/// Marker for empty heatmap cells (`[fill="#030303"]`).
pub const EMPTY: RGBColor = RGBColor(3, 3, 3);
/// The primary series (bars, heat): a blue legible on white and on near-black.
pub const BAR: RGBColor = RGBColor(37, 99, 235);
/// The secondary series (the success-rate line): an orange legible on both.
pub const LINE: RGBColor = RGBColor(234, 122, 12);
/// Items that met their SLA target: the theme's green.
pub const GOOD: RGBColor = RGBColor(26, 127, 55);
/// Items that breached it: the theme's red.
pub const BAD: RGBColor = RGBColor(201, 37, 45);
/// Text on dark heat cells: white in both themes (not overridden).
const ON_DARK: RGBColor = RGBColor(255, 255, 255);

const FONT: &str = "sans-serif";

/// The weekday names of the heatmap's rows (ISO order, Monday first).
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws into an SVG of `w` × `h` and returns its text; errors name the chart.
fn svg(
    chart: &'static str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> std::result::Result<(), String>,
) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        draw(&root).map_err(|message| ReportError::Chart { chart, message })?;
        root.present().map_err(|e| ReportError::Chart {
            chart,
            message: e.to_string(),
        })?;
    }
    // Inline in HTML the parser puts <svg> in the SVG namespace by itself; without the
    // namespace URI the page holds no URL at all (simple to check: nothing is fetched).
    Ok(out.replacen(
        " xmlns=\"http://www.w3.org/2000/svg\"",
        &format!(" role=\"img\" aria-label=\"{chart}\""),
        1,
    ))
}

fn label_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&TEXT)
}

fn segment_index(v: &SegmentValue<i32>) -> Option<usize> {
    match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => usize::try_from(*i).ok(),
        SegmentValue::Last => None,
    }
}

/// One day of a [`days_chart`]: its bar, stacked from 0 in `(height, colour)` segments,
/// and its point on the line (0–1, right axis; `None`: no point that day).
struct DayColumn<'a> {
    day: &'a str,
    segments: Vec<(i64, RGBColor)>,
    rate: Option<f64>,
}

/// Bars per day (left axis, counts) and a line of a ratio (right axis, 0–100 %), with
/// about eight date labels whatever the period's length.
fn days_chart(chart_name: &'static str, height: u32, days: &[DayColumn<'_>]) -> Result<String> {
    // A discrete i32 range holds both ends: `0..last` is `days.len()` segments.
    let last = i32::try_from(days.len()).unwrap_or(i32::MAX).max(1) - 1;
    let max = days
        .iter()
        .map(|d| d.segments.iter().map(|s| s.0).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let top = max + max / 10 + 1;
    let step = (days.len() / 8).max(1);
    svg(chart_name, (1100, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(12)
            .margin_right(8)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .right_y_label_area_size(48)
            .build_cartesian_2d((0..last).into_segmented(), 0i64..top)
            .map_err(|e| e.to_string())?
            .set_secondary_coord((0..last).into_segmented(), 0f64..1f64);
        let x_label = |v: &SegmentValue<i32>| -> String {
            match segment_index(v) {
                Some(i) if i % step == 0 => days
                    .get(i)
                    .map(|d| d.day.get(5..).unwrap_or(d.day).to_owned())
                    .unwrap_or_default(),
                _ => String::new(),
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .x_labels(days.len().max(1))
            .x_label_formatter(&x_label)
            .y_labels(6)
            .y_label_formatter(&|v| count(*v))
            .label_style(label_style(12))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .configure_secondary_axes()
            .axis_style(AXIS)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .label_style(label_style(12))
            .draw()
            .map_err(|e| e.to_string())?;
        let mut bars = Vec::new();
        for (d, i) in days.iter().zip(0i32..) {
            let mut base = 0;
            for &(h, color) in d.segments.iter().filter(|s| s.0 > 0) {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), base),
                        (SegmentValue::Exact(i + 1), base + h),
                    ],
                    color.mix(0.85).filled(),
                );
                bar.set_margin(0, 0, 2, 2);
                bars.push(bar);
                base += h;
            }
        }
        chart.draw_series(bars).map_err(|e| e.to_string())?;
        let rate: Vec<(SegmentValue<i32>, f64)> = days
            .iter()
            .zip(0i32..)
            .filter_map(|(d, i)| d.rate.map(|r| (SegmentValue::CenterOf(i), r)))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(rate.iter().cloned(), LINE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_secondary_series(
                rate.iter()
                    .map(|(x, y)| Circle::new((x.clone(), *y), 3, LINE.filled())),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Daily conversations (bars, left axis) and success rate (line, right axis, 0–100 %).
pub fn daily(days: &[Day]) -> Result<String> {
    let columns: Vec<DayColumn<'_>> = days
        .iter()
        .map(|d| DayColumn {
            day: &d.day,
            segments: vec![(d.conversations, BAR)],
            rate: d.success_rate,
        })
        .collect();
    days_chart("daily conversations", 300, &columns)
}

/// Chats per day whose first answer met the target (green) or breached it (red, stacked
/// on top), left axis, and the day's attainment (line, right axis, 0–100 %).
pub fn sla_daily(days: &[SlaDay]) -> Result<String> {
    let columns: Vec<DayColumn<'_>> = days
        .iter()
        .map(|d| DayColumn {
            day: &d.day,
            segments: vec![(d.met, GOOD), (d.breached, BAD)],
            rate: d.attainment,
        })
        .collect();
    days_chart("chat first answer per day", 260, &columns)
}

/// Conversations per Moscow weekday × hour: cells shaded by load, each with its count.
pub fn heatmap(cells: &[HeatCell]) -> Result<String> {
    let max = cells
        .iter()
        .map(|c| c.conversations)
        .max()
        .unwrap_or(0)
        .max(1);
    svg("hour-of-week load", (1100, 290), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(6)
            .margin_right(8)
            .x_label_area_size(26)
            .y_label_area_size(44)
            .build_cartesian_2d((0i32..23).into_segmented(), (0i32..6).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(TRANSPARENT)
            .x_labels(24)
            .y_labels(7)
            .x_label_formatter(&|v| {
                segment_index(v)
                    .filter(|h| *h < 24)
                    .map(|h| format!("{h:02}"))
                    .unwrap_or_default()
            })
            // Row 6 is Monday: the week reads top to bottom.
            .y_label_formatter(&|v| {
                segment_index(v)
                    .and_then(|y| 6usize.checked_sub(y))
                    .and_then(|d| WEEKDAYS.get(d))
                    .map(|d| (*d).to_owned())
                    .unwrap_or_default()
            })
            .label_style(label_style(12))
            .draw()
            .map_err(|e| e.to_string())?;
        let mut grid = [[0i64; 24]; 7];
        for c in cells {
            if let Some(row) = grid.get_mut(c.weekday.saturating_sub(1) as usize) {
                if let Some(cell) = row.get_mut(c.hour as usize) {
                    *cell += c.conversations;
                }
            }
        }
        let mut shapes = Vec::with_capacity(7 * 24);
        let mut labels = Vec::with_capacity(7 * 24);
        for (weekday, row) in grid.iter().enumerate() {
            let y = 6 - weekday as i32;
            for (hour, &n) in row.iter().enumerate() {
                let x = hour as i32;
                let corners = [
                    (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                    (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                ];
                let share = n as f64 / max as f64;
                let style = if n == 0 {
                    EMPTY.filled()
                } else {
                    BAR.mix(0.12 + 0.88 * share).filled()
                };
                let mut cell = Rectangle::new(corners, style);
                cell.set_margin(1, 1, 1, 1);
                shapes.push(cell);
                if n > 0 {
                    let color = if share > 0.55 { ON_DARK } else { TEXT };
                    labels.push(Text::new(
                        count(n),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        (FONT, 11)
                            .into_font()
                            .color(&color)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    ));
                }
            }
        }
        chart.draw_series(shapes).map_err(|e| e.to_string())?;
        chart.draw_series(labels).map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Horizontal bars, one per `(label, value, annotation)`, the first on top; the annotation
/// is written after the bar.
pub fn bars(chart_name: &'static str, rows: &[(String, i64, String)]) -> Result<String> {
    let last = i32::try_from(rows.len()).unwrap_or(i32::MAX).max(1) - 1;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    // Room after the longest bar for its annotation.
    let right = max + max * 2 / 5 + 1;
    let height = 40 + 34 * u32::try_from(rows.len().max(1)).unwrap_or(20);
    svg(chart_name, (540, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(6)
            .margin_right(8)
            .x_label_area_size(0)
            .y_label_area_size(118)
            .build_cartesian_2d(0i64..right, (0..last).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(AXIS)
            .y_labels(rows.len().max(1))
            .y_label_formatter(&|v| {
                segment_index(v)
                    .and_then(|i| rows.len().checked_sub(i + 1))
                    .and_then(|j| rows.get(j))
                    .map(|r| r.0.clone())
                    .unwrap_or_default()
            })
            .label_style(label_style(13))
            .draw()
            .map_err(|e| e.to_string())?;
        let placed = || rows.iter().rev().zip(0i32..);
        chart
            .draw_series(placed().map(|(r, y)| {
                let mut bar = Rectangle::new(
                    [
                        (0, SegmentValue::Exact(y)),
                        (r.1, SegmentValue::Exact(y + 1)),
                    ],
                    BAR.mix(0.85).filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(placed().map(|(r, y)| {
                Text::new(
                    format!("  {}", r.2),
                    (r.1, SegmentValue::CenterOf(y)),
                    label_style(12).pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// `(label, value, "value · share")` rows of a bar chart, shares as DuckDB computed them.
pub fn share_rows(
    rows: impl IntoIterator<Item = (String, i64, Option<f64>)>,
) -> Vec<(String, i64, String)> {
    rows.into_iter()
        .map(|(label, n, share)| {
            let note = match share {
                Some(s) => format!("{} · {}", count(n), percent(s)),
                None => count(n),
            };
            (label, n, note)
        })
        .collect()
}
