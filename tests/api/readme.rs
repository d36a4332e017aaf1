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
/// `export` lines it printed.
fn start_dev_server() -> (DevServer, Vec<String>) {
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
    while !exports
        .iter()
        .any(|l: &String| l.starts_with("export ADMIN_KEY="))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = received
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no `export ADMIN_KEY=` line within {START_BOUND:?}"));
        if line.starts_with("export ") {
            exports.push(line);
        }
    }
    (server, exports)
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
    let (_server, exports) = start_dev_server();
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
