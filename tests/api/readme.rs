//! README.md's quick start, run as written: `cartclick serve --dev` in one
//! process, and the commands of the quick start's other blocks, in order,
//! in one bash script that first runs the `export` lines the dev server
//! printed, with the built binary first on `PATH` as `cartclick`. A command
//! the README shows that fails, or an `export` line the README relies on
//! that the server no longer prints, fails this test, so the quick start
//! cannot go stale.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The built binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_cartclick");

/// How long the dev server gets to print its `export` lines.
const START_BOUND: Duration = Duration::from_secs(20);

/// How long the quick start's commands get, all together.
const RUN_BOUND: Duration = Duration::from_secs(120);

/// The dev server, killed on drop.
struct DevServer(Child);

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shell blocks of README's "Quick start" section, in order, without
/// the line that starts the dev server (the test starts it itself).
fn quick_start_commands(readme: &str) -> String {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Quick start"))
        .expect("README.md has a `## Quick start` section");
    let mut script = String::new();
    let mut in_block = false;
    for line in section.lines() {
        match line.trim_end() {
            "```sh" => in_block = true,
            "```" if in_block => in_block = false,
            command if in_block && !command.starts_with("cartclick serve") => {
                script.push_str(command);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

/// Starts `cartclick serve --dev` on free ports and returns it with the
/// `export` lines it printed, and the dashboard's address it printed last.
fn start_dev_server() -> (DevServer, Vec<String>, String) {
    let mut child = Command::new(BIN)
        .env_clear()
        .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .args(["--http-listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cartclick binary runs");
    let stdout = child.stdout.take().unwrap();
    let server = DevServer(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut exports = Vec::new();
    let deadline = std::time::Instant::now() + START_BOUND;
    let dashboard = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = received
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no `dashboard:` line within {START_BOUND:?}"));
        if line.starts_with("export ") {
            exports.push(line);
        } else if let Some(url) = line.strip_prefix("dashboard: ") {
            break url.to_owned();
        }
    };
    assert!(
        exports.iter().any(|l| l.starts_with("export ADMIN_KEY=")),
        "the keys are printed before the dashboard's address: {exports:?}"
    );
    (server, exports, dashboard)
}

#[tokio::test]
async fn readme_quick_start_runs_as_written_against_a_dev_server() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md reads");
    let commands = quick_start_commands(&readme);
    assert!(
        commands.contains("cartclick confirm") && commands.contains("cartclick counters"),
        "the quick start shows the flow: {commands}"
    );
    let (_server, exports, _) = start_dev_server();
    let script = format!(
        "set -euo pipefail\n{}\nset -x\n{commands}",
        exports.join("\n")
    );
    let bin_dir = Path::new(BIN).parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default(),
        ),
    )
    .unwrap();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .env_clear()
            .env("PATH", path)
            .args(["-c", &script])
            .stdin(Stdio::null())
            .output()
            .expect("bash runs")
    });
    let output = tokio::time::timeout(RUN_BOUND, run)
        .await
        .expect("the quick start finishes in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "README's quick start failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    // What the prose around the commands says they show: the second tap
    // answers the first one's token (the trace shows what `TOKEN` got), and
    // the sale is flagged.
    let printed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token "))
        .map(str::trim)
        .unwrap_or_else(|| panic!("the first tap prints its token:\n{stdout}"));
    assert!(
        stderr.lines().any(|l| l == format!("+ TOKEN={printed}")),
        "the repeat tap answers the same token {printed}:\n{stderr}"
    );
    assert!(
        stdout.contains("SALE_TOO_FAST"),
        "the sale is SALE_TOO_FAST:\n{stdout}"
    );
}

#[test]
fn the_quick_start_is_read_from_its_section_only() {
    let readme = "# x\n\n## Quick start\n\n```sh\ncartclick serve --dev\n```\n\ntext\n\n\
                  ```sh\ncartclick issue \\\n  --x 1\n```\n\n## Next\n\n```sh\nrm -rf /\n```\n";
    assert_eq!(
        quick_start_commands(readme),
        "cartclick issue \\\n  --x 1\n"
    );
}

/// The value of `export NAME=value` among `exports`.
fn exported<'a>(exports: &'a [String], name: &str) -> &'a str {
    exports
        .iter()
        .find_map(|line| line.strip_prefix(&format!("export {name}=")))
        .unwrap_or_else(|| panic!("no export {name} in {exports:?}"))
}

#[tokio::test]
async fn serve_dev_seeds_a_demo_day_the_api_reads_and_prints_the_dashboards_address() {
    let (_server, exports, dashboard) = start_dev_server();
    let http = exported(&exports, "CARTCLICK_HTTP");
    let key = exported(&exports, "DASHBOARD_KEY");
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client.get(format!("{http}{path}")).bearer_auth(key);
        async move {
            let response = request.send().await.expect("the HTTP port answers");
            assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
            response.json::<serde_json::Value>().await.unwrap()
        }
    };

    // Yesterday and today, with a day's margin either side.
    let today = chrono::Utc::now().date_naive();
    let day = |offset: i64| (today + chrono::TimeDelta::days(offset)).format("%Y-%m-%dT00:00:00Z");
    let counters = get(format!(
        "/v1/counters?dimension=DIMENSION_MERCHANT&id=demo-shop&startTime={}&endTime={}",
        day(-2),
        day(2)
    ))
    .await;
    let held =
        get("/v1/commissions?merchantId=demo-shop&status=COMMISSION_STATUS_HELD".into()).await;
    let payouts = get("/v1/payouts?merchantId=demo-shop".into()).await;
    let page = client.get(&dashboard).send().await.unwrap();

    let total = &counters["total"];
    let figure = |name: &str| total[name].as_str().unwrap().parse::<u64>().unwrap();
    assert!(figure("taps") >= 300, "{total}");
    assert!(
        figure("clicks") > 0 && figure("clicks") < figure("taps"),
        "{total}"
    );
    assert!(figure("conversions") >= 10, "{total}");
    let currencies: Vec<&str> = total["revenue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|money| money["currencyCode"].as_str().unwrap())
        .collect();
    assert!(currencies.contains(&"DKK"), "{total}");
    assert_eq!(total["refunded"][0]["currencyCode"], "DKK", "{total}");
    let held = held["commissions"].as_array().unwrap();
    assert!(
        held.iter().any(|c| c["signals"]
            .as_array()
            .unwrap()
            .contains(&"FRAUD_SIGNAL_SELF_REFERRAL".into())),
        "{held:?}"
    );
    assert!(
        held.iter()
            .all(|c| c["orderId"].as_str().unwrap().starts_with("demo-order-"))
    );
    assert_eq!(payouts["payouts"].as_array().unwrap().len(), 1, "{payouts}");
    // The address carries the dashboard key in its fragment, and serves the page.
    assert!(
        dashboard.starts_with(&format!("{http}/#key=")),
        "{dashboard}"
    );
    assert!(dashboard.ends_with(&format!("#key={key}")), "{dashboard}");
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}
