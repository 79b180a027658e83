//! `ringmasq-plot`: latency-versus-load curves from `benches/compare` JSON lines.
//!
//! Reads the `.jsonl` rows `benches/compare` writes (one object per peer, workload and
//! offered rate) and draws, per peer, p50 and p99 latency against answered QPS into one SVG
//! with two panels. Open-loop rows (`mode` `rate` or `fixed`) give the curve; the
//! closed-loop row of the same workload, when present, is drawn as the saturation point.
//!
//! ```text
//! ringmasq-plot --input target/compare.jsonl --output target/latency.svg [--workload hits]
//! ```

use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One row of compare's JSON lines (fields this tool needs).
#[derive(Debug, Deserialize)]
struct Row {
    peer: String,
    workload: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    qps: f64,
    #[serde(default)]
    p50: Option<f64>,
    #[serde(default)]
    p99: Option<f64>,
}

/// One point of a curve: answered QPS, p50 us, p99 us, closed loop or not.
#[derive(Debug, Clone, Copy)]
struct Point {
    qps: f64,
    p50: f64,
    p99: f64,
    closed: bool,
}

/// Parsed command line.
struct Opts {
    input: PathBuf,
    output: PathBuf,
    workload: String,
    title: String,
}

fn parse_args() -> Result<Opts> {
    let mut input = None;
    let mut output = None;
    let mut workload = "hits".to_string();
    let mut title = "ringmasq vs peers: latency versus load".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--input" | "-i" => input = Some(PathBuf::from(val()?)),
            "--output" | "-o" => output = Some(PathBuf::from(val()?)),
            "--workload" | "-w" => workload = val()?,
            "--title" => title = val()?,
            "-h" | "--help" => {
                println!(
                    "ringmasq-plot --input FILE.jsonl --output FILE.svg [--workload hits] [--title T]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(Opts {
        input: input.context("--input FILE.jsonl is required")?,
        output: output.context("--output FILE.svg is required")?,
        workload,
        title,
    })
}

/// Groups rows of `workload` into per-peer curves sorted by QPS.
fn curves(text: &str, workload: &str) -> Result<BTreeMap<String, Vec<Point>>> {
    let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: Row = serde_json::from_str(line).with_context(|| format!("line {}", i + 1))?;
        if r.workload != workload {
            continue;
        }
        let (Some(p50), Some(p99)) = (r.p50, r.p99) else {
            continue;
        };
        if r.qps <= 0.0 {
            continue;
        }
        let closed = r.mode.as_deref().is_none_or(|m| m == "closed");
        out.entry(r.peer).or_default().push(Point {
            qps: r.qps,
            p50: p50.max(1.0),
            p99: p99.max(1.0),
            closed,
        });
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.qps.total_cmp(&b.qps));
    }
    Ok(out)
}

fn draw(opts: &Opts, data: &BTreeMap<String, Vec<Point>>) -> Result<()> {
    if data.is_empty() {
        bail!(
            "no rows with workload {:?} in {}",
            opts.workload,
            opts.input.display()
        );
    }
    let all = data.values().flatten();
    let max_qps = all.clone().map(|p| p.qps).fold(1.0, f64::max) * 1.08;
    let max_lat = all.map(|p| p.p99.max(p.p50)).fold(10.0, f64::max) * 1.5;

    let root = SVGBackend::new(&opts.output, (1200, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&opts.title, ("sans-serif", 20))?;
    let panels = root.split_evenly((1, 2));
    for (panel, (label, pick)) in panels.iter().zip([
        ("p50 latency (us)", (|p: &Point| p.p50) as fn(&Point) -> f64),
        ("p99 latency (us)", |p: &Point| p.p99),
    ]) {
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{label}, workload {}", opts.workload),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_qps, (1.0..max_lat).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("answered queries/s")
            .y_desc(label)
            .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
            .draw()?;
        for (i, (peer, pts)) in data.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let open: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| !p.closed)
                .map(|p| (p.qps, pick(p)))
                .collect();
            chart
                .draw_series(LineSeries::new(open.clone(), color.stroke_width(2)))?
                .label(peer.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart.draw_series(
                open.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
            )?;
            // The closed-loop (saturation) point: a hollow square.
            chart.draw_series(pts.iter().filter(|p| p.closed).map(|p| {
                EmptyElement::at((p.qps, pick(p)))
                    + plotters::element::Rectangle::new([(-4, -4), (4, 4)], color.stroke_width(2))
            }))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() -> Result<()> {
    let opts = parse_args()?;
    let text = std::fs::read_to_string(&opts.input)
        .with_context(|| format!("reading {}", opts.input.display()))?;
    let data = curves(&text, &opts.workload)?;
    draw(&opts, &data)?;
    eprintln!(
        "ringmasq-plot: {} peers, {} points -> {}",
        data.len(),
        data.values().map(Vec::len).sum::<usize>(),
        opts.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_by_peer_and_sort_by_qps() {
        let text = r#"{"peer":"a","workload":"hits","mode":"rate","qps":50000,"p50":40,"p99":90}
{"peer":"a","workload":"hits","mode":"rate","qps":20000,"p50":30,"p99":70}
{"peer":"a","workload":"hits","qps":150000,"p50":300,"p99":900}
{"peer":"b","workload":"misses","mode":"fixed","qps":100000,"p50":80,"p99":200}
{"peer":"b","workload":"hits","mode":"rate","qps":20000,"p50":null,"p99":null}
"#;
        let c = curves(text, "hits").unwrap();
        assert_eq!(c.len(), 1);
        let a = &c["a"];
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].qps, 20000.0);
        assert!(a[2].closed && !a[0].closed);
    }

    #[test]
    fn svg_is_written() {
        let dir = std::env::temp_dir().join(format!("ringmasq-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("l.svg");
        let text = r#"{"peer":"ringmasq","workload":"hits","mode":"rate","qps":20000,"p50":30,"p99":70}
{"peer":"ringmasq","workload":"hits","mode":"rate","qps":100000,"p50":40,"p99":120}
{"peer":"ringmasq","workload":"hits","qps":180000,"p50":300,"p99":900}
"#;
        let opts = Opts {
            input: dir.join("x.jsonl"),
            output: out.clone(),
            workload: "hits".into(),
            title: "t".into(),
        };
        draw(&opts, &curves(text, "hits").unwrap()).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("ringmasq"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
