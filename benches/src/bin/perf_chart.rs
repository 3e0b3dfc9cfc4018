//! Summarises the CSV files `perf/run` writes: prints the comparison table and draws an
//! SVG bar chart, with no dependency beyond std.
//!
//! ```text
//! perf_chart --results perf/results.csv [--idle perf/idle_rss.csv] [--svg perf/results.svg]
//!            [--baseline tokio-mt] [--title TEXT]
//! ```
//!
//! `results.csv` has one row per measured run (see `perf/README.md` for the columns);
//! `idle_rss.csv` one row per idle server. Per workload and server the table gives the
//! median requests/s over the rounds and its min–max, the median p50 and p99 latency, the
//! server's CPU seconds per 100k requests and the user-space share of it, the server's
//! syscalls per request (from the separate counted run), and two ratios to the baseline
//! server, each computed round by round and given as the median (min–max) over rounds:
//! requests/s, and requests per server CPU-second. A workload without the baseline server
//! (hyper's, whose servers are `hyper-hiver` and `hyper-tokio`) takes its ratios against
//! its tokio server (the one whose name ends in `-tokio`), and says so. Bad flags print
//! the usage and exit 2.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::exit;

const USAGE: &str = "usage: perf_chart --results FILE.csv [--idle FILE.csv] [--svg FILE.svg] \
                     [--baseline SERVER] [--title TEXT]";

fn usage() -> ! {
    eprintln!("{USAGE}");
    exit(2)
}

/// A CSV file with a header line; fields hold no commas or quotes.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &str) -> Table {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            eprintln!("perf_chart: {path}: {e}");
            exit(1)
        });
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        let rows = lines
            .map(|l| l.split(',').map(|s| s.trim().to_string()).collect())
            .collect();
        Table { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| {
                eprintln!("perf_chart: no column '{name}' in the CSV header");
                exit(1)
            })
    }
}

fn num(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    let min = values.iter().copied().reduce(f64::min)?;
    let max = values.iter().copied().reduce(f64::max)?;
    Some((min, max))
}

/// `12345.6` as `12,346`.
fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn or_na(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "n/a".to_string(), f)
}

/// One (workload, server) pair's runs, by round.
#[derive(Default)]
struct Cell {
    rps: BTreeMap<String, f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    cpu_per_100k: Vec<f64>,
    user_share: Vec<f64>,
    /// Requests per server CPU-second, by round.
    per_cpu: BTreeMap<String, f64>,
    syscalls: Option<f64>,
    syscall_tool: String,
    errors: f64,
}

/// A workload's servers in order of appearance, each with its runs.
type Servers = Vec<(String, Cell)>;

/// RSS values by kind (echo, http).
type ByKind = Vec<(String, Option<f64>)>;

/// Per workload: its description, then its servers in order of appearance.
struct Summary {
    workloads: Vec<(String, String, Servers)>,
    rounds: usize,
    duration: String,
}

fn summarise(t: &Table) -> Summary {
    let c_workload = t.col("workload");
    let c_desc = t.col("description");
    let c_server = t.col("server");
    let c_round = t.col("round");
    let c_duration = t.col("duration_s");
    let c_requests = t.col("requests");
    let c_rps = t.col("rps");
    let c_p50 = t.col("p50_us");
    let c_p99 = t.col("p99_us");
    let c_errors = t.col("errors");
    let c_cpu = t.col("server_cpu_s");
    let c_user = t.col("server_user_s");
    let c_sys = t.col("syscalls_per_req");
    let c_tool = t.col("syscall_tool");
    let mut summary = Summary {
        workloads: Vec::new(),
        rounds: 0,
        duration: String::new(),
    };
    let mut rounds = std::collections::BTreeSet::new();
    for row in &t.rows {
        if row.len() < t.header.len() {
            continue;
        }
        let get = |c: usize| row[c].as_str();
        summary.duration = get(c_duration).to_string();
        rounds.insert(get(c_round).to_string());
        let w = match summary
            .workloads
            .iter()
            .position(|(w, _, _)| w == get(c_workload))
        {
            Some(i) => i,
            None => {
                summary.workloads.push((
                    get(c_workload).to_string(),
                    get(c_desc).to_string(),
                    Vec::new(),
                ));
                summary.workloads.len() - 1
            }
        };
        let servers = &mut summary.workloads[w].2;
        let s = match servers.iter().position(|(s, _)| s == get(c_server)) {
            Some(i) => i,
            None => {
                servers.push((get(c_server).to_string(), Cell::default()));
                servers.len() - 1
            }
        };
        let cell = &mut servers[s].1;
        let round = get(c_round).to_string();
        if let Some(rps) = num(get(c_rps)) {
            cell.rps.insert(round.clone(), rps);
        }
        cell.p50.extend(num(get(c_p50)));
        cell.p99.extend(num(get(c_p99)));
        cell.errors += num(get(c_errors)).unwrap_or(0.0);
        if let (Some(cpu), Some(req)) = (num(get(c_cpu)), num(get(c_requests))) {
            if req > 0.0 {
                cell.cpu_per_100k.push(cpu / req * 100_000.0);
            }
            if cpu > 0.0 {
                cell.per_cpu.insert(round, req / cpu);
                if let Some(user) = num(get(c_user)) {
                    cell.user_share.push(user / cpu * 100.0);
                }
            }
        }
        if cell.syscalls.is_none() {
            cell.syscalls = num(get(c_sys));
        }
        if cell.syscall_tool.is_empty() {
            cell.syscall_tool = get(c_tool).to_string();
        }
    }
    summary.rounds = rounds.len();
    summary
}

/// A workload's baseline: `baseline` if it ran there, else its tokio server (`*-tokio`).
fn base_of<'a>(servers: &'a Servers, baseline: &str) -> Option<(&'a str, &'a Cell)> {
    servers
        .iter()
        .find(|(s, _)| s == baseline)
        .or_else(|| servers.iter().find(|(s, _)| s.ends_with("-tokio")))
        .map(|(s, c)| (s.as_str(), c))
}

/// The round-by-round ratio of `of` to `base` (rounds present in both): median, min, max.
fn ratio(of: &BTreeMap<String, f64>, base: &BTreeMap<String, f64>) -> Option<(f64, f64, f64)> {
    let ratios: Vec<f64> = of
        .iter()
        .filter_map(|(round, v)| base.get(round).filter(|b| **b > 0.0).map(|b| v / b))
        .collect();
    let (min, max) = min_max(&ratios)?;
    Some((median(&ratios)?, min, max))
}

fn ratio_text(r: Option<(f64, f64, f64)>) -> String {
    match r {
        Some((m, lo, hi)) => format!("{m:.2} ({lo:.2}–{hi:.2})"),
        None => "n/a".into(),
    }
}

/// Pads `s` to `width` characters (not bytes: the table has en dashes).
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

fn print_table(summary: &Summary, baseline: &str) {
    println!(
        "{} round(s) of {} s per server and workload; ratios are per round, median (min–max), \
         against {baseline}; above 1 is better than {baseline}.",
        summary.rounds, summary.duration
    );
    let headers = [
        "server",
        "rps median (min–max)",
        "p50 µs",
        "p99 µs",
        "CPU s/100k",
        "user %",
        "syscalls/req",
        "rps ratio",
        "req/CPU-s ratio",
    ];
    for (_, desc, servers) in &summary.workloads {
        println!();
        let found = base_of(servers, baseline);
        match found {
            Some((name, _)) if name != baseline => println!("{desc} (ratios against {name})"),
            _ => println!("{desc}"),
        }
        let base = found.map(|(_, c)| c);
        let mut lines = vec![headers.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        for (server, cell) in servers {
            let rps: Vec<f64> = cell.rps.values().copied().collect();
            let rps_text = match (median(&rps), min_max(&rps)) {
                (Some(m), Some((lo, hi))) => {
                    format!("{} ({}–{})", thousands(m), thousands(lo), thousands(hi))
                }
                _ => "n/a".into(),
            };
            let syscalls = match cell.syscalls {
                Some(v) => format!("{v:.2} {}", cell.syscall_tool),
                None => format!("n/a {}", cell.syscall_tool),
            };
            let mut server_name = server.clone();
            if cell.errors > 0.0 {
                server_name.push_str(&format!(" ({} errors)", cell.errors));
            }
            lines.push(vec![
                server_name,
                rps_text,
                or_na(median(&cell.p50), |v| format!("{v:.0}")),
                or_na(median(&cell.p99), |v| format!("{v:.0}")),
                or_na(median(&cell.cpu_per_100k), |v| format!("{v:.3}")),
                or_na(median(&cell.user_share), |v| format!("{v:.1}")),
                syscalls,
                ratio_text(base.and_then(|b| ratio(&cell.rps, &b.rps))),
                ratio_text(base.and_then(|b| ratio(&cell.per_cpu, &b.per_cpu))),
            ]);
        }
        let widths: Vec<usize> = (0..headers.len())
            .map(|i| {
                lines
                    .iter()
                    .map(|l| l[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for l in &lines {
            let text: Vec<String> = l.iter().zip(&widths).map(|(s, w)| pad(s, *w)).collect();
            println!("  {}", text.join("  ").trim_end());
        }
    }
}

/// The idle RSS file: per runtime server, its value per kind (echo, http); and the
/// reference rows (workers `-`: the plain program).
struct Idle {
    servers: Vec<(String, ByKind)>,
    kinds: Vec<String>,
    references: Vec<(String, Option<f64>)>,
    workers: String,
}

fn read_idle(t: &Table) -> Idle {
    let c_server = t.col("server");
    let c_kind = t.col("kind");
    let c_workers = t.col("workers");
    let c_rss = t.col("rss_kib");
    let mut idle = Idle {
        servers: Vec::new(),
        kinds: Vec::new(),
        references: Vec::new(),
        workers: String::new(),
    };
    for row in &t.rows {
        if row.len() < t.header.len() {
            continue;
        }
        let rss = num(&row[c_rss]);
        if row[c_workers] == "-" {
            idle.references.push((row[c_server].clone(), rss));
            continue;
        }
        idle.workers = row[c_workers].clone();
        let kind = row[c_kind].clone();
        if !idle.kinds.contains(&kind) {
            idle.kinds.push(kind.clone());
        }
        match idle.servers.iter_mut().find(|(s, _)| *s == row[c_server]) {
            Some((_, v)) => v.push((kind, rss)),
            None => idle
                .servers
                .push((row[c_server].clone(), vec![(kind, rss)])),
        }
    }
    idle
}

fn print_idle(idle: &Idle) {
    println!();
    println!(
        "idle RSS (VmRSS just after start-up, {} workers)",
        idle.workers
    );
    let mut lines = vec![std::iter::once("server".to_string())
        .chain(idle.kinds.iter().map(|k| format!("{k} KiB")))
        .collect::<Vec<_>>()];
    for (server, values) in &idle.servers {
        let mut line = vec![server.clone()];
        for k in &idle.kinds {
            let v = values
                .iter()
                .find(|(kind, _)| kind == k)
                .and_then(|(_, v)| *v);
            line.push(or_na(v, thousands));
        }
        lines.push(line);
    }
    let widths: Vec<usize> = (0..=idle.kinds.len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &lines {
        let text: Vec<String> = l.iter().zip(&widths).map(|(s, w)| pad(s, *w)).collect();
        println!("  {}", text.join("  ").trim_end());
    }
    for (name, rss) in &idle.references {
        println!(
            "  reference: {name} (std listener, no runtime, one thread): {} KiB",
            or_na(*rss, thousands)
        );
    }
}

const COLORS: [&str; 8] = [
    "#d95f02", "#e6ab02", "#1b9e77", "#66a61e", "#7570b3", "#e7298a", "#a6761d", "#666666",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One bar: label under the group, value, optional (min, max) whisker.
struct Bar {
    value: Option<f64>,
    whisker: Option<(f64, f64)>,
    label: String,
}

/// A panel of grouped bars at vertical offset `y0`; returns its height.
fn panel(
    svg: &mut String,
    y0: f64,
    title: &str,
    groups: &[(String, Vec<Bar>)],
    servers: &[String],
    reference: Option<f64>,
) -> f64 {
    let (left, width, height) = (70.0, 860.0, 220.0);
    let top = y0 + 30.0;
    let data_max = groups
        .iter()
        .flat_map(|(_, bars)| bars.iter())
        .flat_map(|b| [b.value, b.whisker.map(|w| w.1)])
        .flatten()
        .chain(reference)
        .fold(0.0f64, f64::max);
    // A "nice" axis: steps of 1, 2 or 5 times a power of ten, about 5 of them.
    let raw_step = if data_max > 0.0 {
        data_max * 1.1 / 5.0
    } else {
        0.2
    };
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = magnitude
        * match raw_step / magnitude {
            f if f <= 1.0 => 1.0,
            f if f <= 2.0 => 2.0,
            f if f <= 5.0 => 5.0,
            _ => 10.0,
        };
    let ticks = (data_max * 1.1 / step).ceil().max(1.0);
    let max = ticks * step;
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let label = |v: f64| {
        if decimals == 0 {
            thousands(v)
        } else {
            format!("{v:.decimals$}")
        }
    };
    let y = |v: f64| top + height - v / max * height;
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        y0 + 18.0,
        escape(title)
    );
    for i in 0..=(ticks as usize) {
        let v = step * i as f64;
        let label = label(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{label}</text>"##,
            left + width,
            left - 6.0,
            y(v) + 4.0,
            yy = y(v),
        );
    }
    if let Some(r) = reference {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#333" stroke-dasharray="4 3"/>"##,
            left + width,
            yy = y(r)
        );
    }
    let group_w = width / groups.len().max(1) as f64;
    for (g, (name, bars)) in groups.iter().enumerate() {
        let gx = left + g as f64 * group_w;
        let bar_w = (group_w - 30.0) / bars.len().max(1) as f64;
        for (b, bar) in bars.iter().enumerate() {
            let x = gx + 15.0 + b as f64 * bar_w;
            let color = servers
                .iter()
                .position(|s| *s == bar.label)
                .map_or("#999", |i| COLORS[i % COLORS.len()]);
            match bar.value {
                Some(v) => {
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{}: {v:.3}</title></rect>"#,
                        x + 2.0,
                        y(v),
                        bar_w - 4.0,
                        top + height - y(v),
                        escape(&bar.label)
                    );
                    let text = if v >= 100.0 {
                        thousands(v)
                    } else {
                        format!("{v:.2}")
                    };
                    let _ = writeln!(
                        svg,
                        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{text}</text>"#,
                        x + bar_w / 2.0,
                        y(v) - 4.0
                    );
                }
                None => {
                    let _ = writeln!(
                        svg,
                        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">n/a</text>"#,
                        x + bar_w / 2.0,
                        top + height - 4.0
                    );
                }
            }
            if let Some((lo, hi)) = bar.whisker {
                let cx = x + bar_w / 2.0;
                let _ = writeln!(
                    svg,
                    r##"<line x1="{cx:.1}" x2="{cx:.1}" y1="{:.1}" y2="{:.1}" stroke="#000"/>"##,
                    y(lo),
                    y(hi)
                );
            }
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            gx + group_w / 2.0,
            top + height + 16.0,
            escape(name)
        );
    }
    height + 60.0
}

fn draw(summary: &Summary, idle: Option<&Idle>, baseline: &str, title: &str, path: &str) {
    let mut servers: Vec<String> = Vec::new();
    for (_, _, cells) in &summary.workloads {
        for (s, _) in cells {
            if !servers.contains(s) {
                servers.push(s.clone());
            }
        }
    }
    let mut body = String::new();
    let mut y = 40.0;
    if !title.is_empty() {
        let _ = writeln!(
            body,
            r#"<text x="70" y="{}" font-size="13">{}</text>"#,
            y + 14.0,
            escape(title)
        );
        y += 24.0;
    }
    let ratio_groups = |per_cpu: bool| -> Vec<(String, Vec<Bar>)> {
        summary
            .workloads
            .iter()
            .map(|(w, _, cells)| {
                let base = base_of(cells, baseline).map(|(_, c)| c);
                let bars = cells
                    .iter()
                    .map(|(s, c)| {
                        let r = base.and_then(|b| {
                            if per_cpu {
                                ratio(&c.per_cpu, &b.per_cpu)
                            } else {
                                ratio(&c.rps, &b.rps)
                            }
                        });
                        Bar {
                            value: r.map(|r| r.0),
                            whisker: r.map(|r| (r.1, r.2)),
                            label: s.clone(),
                        }
                    })
                    .collect();
                (w.clone(), bars)
            })
            .collect()
    };
    y += panel(
        &mut body,
        y,
        &format!(
            "requests/s relative to {baseline}, hyper's to hyper-tokio (median of per-round \
             ratios, min–max)"
        ),
        &ratio_groups(false),
        &servers,
        Some(1.0),
    );
    y += panel(
        &mut body,
        y,
        &format!("requests per server CPU-second relative to {baseline}, hyper's to hyper-tokio"),
        &ratio_groups(true),
        &servers,
        Some(1.0),
    );
    let rps_groups: Vec<(String, Vec<Bar>)> = summary
        .workloads
        .iter()
        .map(|(w, _, cells)| {
            let bars = cells
                .iter()
                .map(|(s, c)| {
                    let v: Vec<f64> = c.rps.values().copied().collect();
                    Bar {
                        value: median(&v),
                        whisker: min_max(&v),
                        label: s.clone(),
                    }
                })
                .collect();
            (w.clone(), bars)
        })
        .collect();
    y += panel(
        &mut body,
        y,
        "requests/s (median over rounds, min–max)",
        &rps_groups,
        &servers,
        None,
    );
    let sys_groups: Vec<(String, Vec<Bar>)> = summary
        .workloads
        .iter()
        .map(|(w, _, cells)| {
            let bars = cells
                .iter()
                .map(|(s, c)| Bar {
                    value: c.syscalls,
                    whisker: None,
                    label: s.clone(),
                })
                .collect();
            (w.clone(), bars)
        })
        .collect();
    y += panel(
        &mut body,
        y,
        "server syscalls per request (counted run)",
        &sys_groups,
        &servers,
        None,
    );
    if let Some(idle) = idle {
        let groups: Vec<(String, Vec<Bar>)> = idle
            .kinds
            .iter()
            .map(|k| {
                let bars = idle
                    .servers
                    .iter()
                    .map(|(s, values)| Bar {
                        value: values.iter().find(|(kind, _)| kind == k).and_then(|v| v.1),
                        whisker: None,
                        label: s.clone(),
                    })
                    .collect();
                (format!("{k} server"), bars)
            })
            .collect();
        let reference = idle.references.first().and_then(|r| r.1);
        let title = match &idle.references.first() {
            Some((name, Some(v))) => format!(
                "idle RSS, KiB, {} workers (dashed: {name}, {} KiB)",
                idle.workers,
                thousands(*v)
            ),
            _ => format!("idle RSS, KiB, {} workers", idle.workers),
        };
        y += panel(&mut body, y, &title, &groups, &servers, reference);
    }
    // Legend.
    let mut legend = String::new();
    for (i, s) in servers.iter().enumerate() {
        let x = 70.0 + i as f64 * 140.0;
        let _ = writeln!(
            legend,
            r#"<rect x="{x}" y="14" width="12" height="12" fill="{}"/><text x="{}" y="25" font-size="12">{}</text>"#,
            COLORS[i % COLORS.len()],
            x + 16.0,
            escape(s)
        );
    }
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"{:.0}\" \
         font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         {legend}{body}</svg>\n",
        y + 10.0
    );
    if let Err(e) = std::fs::write(path, svg) {
        eprintln!("perf_chart: {path}: {e}");
        exit(1)
    }
}

fn main() {
    let mut results = None;
    let mut idle = None;
    let mut svg = None;
    let mut baseline = "tokio-mt".to_string();
    let mut title = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else { usage() };
        match flag.as_str() {
            "--results" => results = Some(value),
            "--idle" => idle = Some(value),
            "--svg" => svg = Some(value),
            "--baseline" => baseline = value,
            "--title" => title = value,
            _ => usage(),
        }
    }
    let Some(results) = results else { usage() };
    let summary = summarise(&Table::read(&results));
    print_table(&summary, &baseline);
    let idle = idle.map(|path| read_idle(&Table::read(&path)));
    if let Some(idle) = &idle {
        print_idle(idle);
    }
    if let Some(path) = svg {
        draw(&summary, idle.as_ref(), &baseline, &title, &path);
    }
}
