//! `bench`: runs the load generator ([`crate::loadgen`]) against a running
//! server and prints its report as a table, then as one JSON line (the last
//! line, which `benches/load.sh` and `benches/callgrind.sh` read).

use super::table;

/// Runs the load and prints the report.
pub(super) async fn bench(args: crate::loadgen::BenchArgs) -> Result<(), String> {
    let report = crate::loadgen::run(&args).await?;
    let errors = if report.errors.is_empty() {
        "-".to_owned()
    } else {
        report
            .errors
            .iter()
            .map(|(code, n)| format!("{code}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = table::table(&[
        "scenario",
        "streams",
        "conns",
        "requests",
        "rps",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "errors",
    ]);
    out.add_row(vec![
        format!("{:?}", report.scenario).to_lowercase(),
        report.streams.to_string(),
        report.connections.to_string(),
        report.ok.to_string(),
        format!("{:.0}", report.rps()),
        report.p50_us.to_string(),
        report.p99_us.to_string(),
        report.p999_us.to_string(),
        report.max_us.to_string(),
        errors,
    ]);
    table::align_right(&mut out, &[1, 2, 3, 4, 5, 6, 7, 8]);
    table::print(out);
    println!("{}", report.json());
    Ok(())
}
