//! Export streaming: tops the backlog up to `--tickets`, downloads
//! `/export/reporting_tickets?format=…` once and prints rows, bytes, seconds and the peak
//! resident memory of the gateway and ticket-svc during the download (VmHWM from
//! /proc/<pid>/status; the pids are those `deploy/run.sh` records in `.run/<name>.pid`). The
//! peak is reset first (`/proc/<pid>/clear_refs`, needs the same user or root), so it is the
//! export's and not the process's lifetime peak; where that is refused the lifetime peak is
//! printed and marked so.

use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Tickets the backlog should hold before the download.
    #[arg(long, default_value_t = 1_000_000)]
    tickets: i64,
    /// csv, json or xlsx (xlsx: rows are not counted, the sheet is compressed).
    #[arg(long, default_value = "csv")]
    format: String,
    /// Where `deploy/run.sh` keeps the pid files.
    #[arg(long, default_value = ".run")]
    run_dir: String,
}

/// A process whose memory is watched.
struct Watched {
    name: &'static str,
    pid: Option<u32>,
    /// Whether its peak was reset before the download.
    reset: bool,
}

impl Watched {
    fn new(run_dir: &str, name: &'static str) -> Self {
        let pid = std::fs::read_to_string(format!("{run_dir}/{name}.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok());
        // 5: reset the peak resident set size to the current one (proc(5), clear_refs).
        let reset =
            pid.is_some_and(|pid| std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok());
        Self { name, pid, reset }
    }

    /// `VmRSS` or `VmHWM` in MiB.
    fn memory(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    fn report(&self, before: Option<f64>) {
        let show = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1}"));
        let scope = if self.reset { "during the export" } else { "since start (no reset)" };
        println!(
            "| {} | {} | {} | {} |",
            self.name,
            show(before),
            show(self.memory("VmHWM")),
            scope
        );
    }
}

pub async fn run(args: Args, gateway: &str, database_url: &str, token: &str) -> anyhow::Result<()> {
    crate::seed(database_url, args.tickets).await?;
    let watched =
        [Watched::new(&args.run_dir, "gateway"), Watched::new(&args.run_dir, "ticket-svc")];
    let before: Vec<Option<f64>> = watched.iter().map(|w| w.memory("VmRSS")).collect();

    let url = format!("{gateway}/api/mind/export/reporting_tickets?format={}", args.format);
    let started = Instant::now();
    let mut response = reqwest::Client::new().get(url).bearer_auth(token).send().await?;
    let first_byte = started.elapsed();
    anyhow::ensure!(response.status().is_success(), "export answered {}", response.status());
    let (mut bytes, mut records) = (0u64, 0u64);
    // CSV records end with CRLF (the seeded texts hold no line breaks); JSON rows are objects.
    let end = if args.format == "json" { b'}' } else { b'\n' };
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        records += chunk.iter().filter(|b| **b == end).count() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let rows = match args.format.as_str() {
        "json" => records.to_string(),
        "csv" => records.saturating_sub(1).to_string(),
        _ => "n/a".into(),
    };

    println!("| export | rows | MB | s | rows/s | first byte ms |\n|---|---|---|---|---|---|");
    println!(
        "| reporting_tickets {} | {rows} | {:.1} | {seconds:.1} | {} | {:.0} |\n",
        args.format,
        bytes as f64 / 1e6,
        rows.parse::<f64>().map_or("n/a".into(), |r| format!("{:.0}", r / seconds)),
        first_byte.as_secs_f64() * 1000.0
    );
    println!("| process | RSS before MiB | peak RSS MiB | peak measured |\n|---|---|---|---|");
    for (w, before) in watched.iter().zip(before) {
        w.report(before);
    }
    Ok(())
}
