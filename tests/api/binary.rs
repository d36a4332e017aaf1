//! The `cartclick` binary: config errors and signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cartclick");

/// Flags that put the gRPC and HTTP ports on free ones.
const FREE_PORTS: [&str; 4] = ["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"];

#[test]
fn a_bad_config_exits_non_zero_with_one_line_naming_the_setting() {
    let dir = std::env::temp_dir().join(format!("cartclick-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, setting) in [
        (
            "[policy]\ndedup_window_seconds = 0\n",
            "policy.dedup_window_seconds",
        ),
        (
            "viewer_pepper_base64 = \"c2hvcnQ=\"\n",
            "viewer_pepper_base64",
        ),
        ("no_such_setting = 1\n", "no_such_setting"),
        ("max_unfolded_events = 0\n", "max_unfolded_events"),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();

        let output = Command::new(BIN)
            .arg("serve")
            .args(FREE_PORTS)
            .arg("--config")
            .arg(&path)
            .env_remove("CARTCLICK_LISTEN")
            .env_remove("CARTCLICK_STORE")
            .output()
            .unwrap();

        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("cartclick: "), "{stderr}");
        assert!(last.contains(setting), "{setting} not named in {stderr:?}");
    }
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(FREE_PORTS)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("CARTCLICK_CONFIG")
        .env_remove("CARTCLICK_STORE")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no 'serving' line in time");
        let line = lines.next().expect("the server logs").unwrap();
        if line.contains("serving") {
            break;
        }
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("NOT_SERVING")), "{rest:?}");
}
