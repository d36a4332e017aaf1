//! The real `cartclick` binary as a child process, for what only a process
//! has: its log output, its telemetry export (process-global, set up from
//! the environment) and its signals. [`ServerProcess::start`] writes a
//! config file with the test's keys, runs `cartclick serve --listen
//! 127.0.0.1:0` with a clean environment, collects stderr line by line and
//! reads the address from the `serving` line. The process is killed on drop.
//! [`binary_on_proxied_redis`] puts it on a Redis whose replies a test can
//! hold; [`reconcile_command`] runs the operator command `reconcile`,
//! [`client_command`] any gRPC client command against a served app,
//! [`bare_command`] one with nothing in its environment, and
//! [`spawn_client_command`] one that runs until stopped (`watch`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use tonic::transport::Channel;

use super::{Client, Keys, TcpProxy, TestRedis};

/// The built binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_cartclick");

/// How long the binary gets to log its `serving` line.
const START_BOUND: Duration = Duration::from_secs(20);

/// How to run the binary: config settings, store, environment and flags
/// beyond the defaults (memory store, generated keys, clean environment).
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Top-level TOML settings, e.g. `shutdown_grace_seconds = 5`.
    pub settings: Vec<String>,
    /// `--store URL`, when not the memory store.
    pub store: Option<String>,
    /// Environment variables; nothing else is inherited but `PATH`.
    pub env: Vec<(String, String)>,
    /// Global flags before `serve`, e.g. `--log-format json`.
    pub global_args: Vec<String>,
    /// Flags of `serve` itself, e.g. `--no-access-log`.
    pub serve_args: Vec<String>,
}

impl Launch {
    /// Adds an environment variable.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Launch {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a top-level config setting.
    pub fn setting(mut self, line: impl Into<String>) -> Launch {
        self.settings.push(line.into());
        self
    }

    /// Adds a global flag.
    pub fn global_arg(mut self, arg: &str) -> Launch {
        self.global_args.push(arg.to_owned());
        self
    }

    /// Adds a flag of `serve`.
    pub fn serve_arg(mut self, arg: &str) -> Launch {
        self.serve_args.push(arg.to_owned());
        self
    }
}

/// A running `cartclick serve`.
pub struct ServerProcess {
    /// The process, killed on drop.
    child: Child,
    /// Where it serves gRPC, from its `serving` line.
    addr: SocketAddr,
    /// Where it serves HTTP/JSON, when its `serving` line names it.
    http_addr: Option<SocketAddr>,
    /// Every stderr line so far.
    lines: Arc<Mutex<Vec<String>>>,
    /// Reads stderr until the process closes it.
    reader: Option<std::thread::JoinHandle<()>>,
    /// The config file's directory, removed on drop.
    dir: PathBuf,
    /// The keys its config file names.
    pub keys: Keys,
}

/// The `sha256` of a key as the config file names it.
fn hex_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// 32 random bytes, as the config file takes a secret.
fn random_base64() -> String {
    BASE64.encode(rand::random::<[u8; 32]>())
}

/// The config file text: `settings`, a pepper, one signing key and the
/// test's API keys; the HTTP API on a free port unless a setting moves it.
fn config_text(keys: &Keys, settings: &[String]) -> String {
    let mut text = String::new();
    for line in settings {
        text.push_str(line);
        text.push('\n');
    }
    if !settings.iter().any(|line| line.starts_with("http_listen")) {
        text.push_str("http_listen = \"127.0.0.1:0\"\n");
    }
    text.push_str(&format!("viewer_pepper_base64 = \"{}\"\n", random_base64()));
    text.push_str(&format!(
        "[[signing_keys]]\nkid = \"k1\"\nsecret_base64 = \"{}\"\nactive = true\n",
        random_base64()
    ));
    for (id, role, merchant, secret) in keys.entries() {
        text.push_str(&format!(
            "[[api_keys]]\nid = \"{id}\"\nrole = \"{}\"\nsha256 = \"{}\"\n",
            role.as_str(),
            hex_sha256(secret)
        ));
        if let Some(merchant) = merchant {
            text.push_str(&format!("merchant_id = \"{merchant}\"\n"));
        }
    }
    text
}

/// The address named `key` (`addr`, `http_addr`) in a `serving` line, text
/// (`addr=127.0.0.1:PORT`) or JSON (`"addr":"127.0.0.1:PORT"`).
fn serving_addr(line: &str, key: &str) -> Option<SocketAddr> {
    if !line.contains("serving") || line.contains("NOT_SERVING") {
        return None;
    }
    [format!(" {key}="), format!("\"{key}\":\"")]
        .iter()
        .find_map(|prefix| {
            let start = line.find(prefix.as_str())? + prefix.len();
            let value: String = line[start..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            value.parse().ok()
        })
}

impl ServerProcess {
    /// Starts the binary and waits for its `serving` line.
    pub async fn start(launch: Launch) -> ServerProcess {
        let keys = Keys::new();
        let dir = std::env::temp_dir().join(format!(
            "cartclick-binary-{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 6]>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("cartclick.toml");
        std::fs::write(&config, config_text(&keys, &launch.settings)).unwrap();

        let mut command = Command::new(BIN);
        command
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .args(&launch.global_args)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .args(launch.store.iter().flat_map(|url| ["--store", url]))
            .args(&launch.serve_args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the cartclick binary runs");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap().push(line);
                }
            })
        };

        let mut process = ServerProcess {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            http_addr: None,
            lines,
            reader: Some(reader),
            dir,
            keys,
        };
        let deadline = tokio::time::Instant::now() + START_BOUND;
        loop {
            if let Some(addr) = process.lines().iter().find_map(|l| serving_addr(l, "addr")) {
                process.addr = addr;
                process.http_addr = process
                    .lines()
                    .iter()
                    .find_map(|l| serving_addr(l, "http_addr"));
                return process;
            }
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!(
                    "the binary exited with {status} before serving: {:#?}",
                    process.lines()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no `serving` line within {START_BOUND:?}: {:#?}",
                process.lines()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Where it serves.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where it serves the HTTP/JSON API.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr.expect("the serving line names http_addr")
    }

    /// A new connection to it.
    pub async fn channel(&self) -> Channel {
        self.client().await.channel
    }

    /// Clients over a new connection, authenticated with its keys.
    pub async fn client(&self) -> Client {
        Client::connect(self.addr, self.keys.clone()).await
    }

    /// The stderr lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("runs kill");
        assert!(sent.success(), "kill -TERM failed");
    }

    /// Sends SIGKILL (`kill -9`): no shutdown, no last write or fold; and
    /// waits for the exit, at most `bound`.
    pub async fn sigkill(&mut self, bound: Duration) {
        self.child.kill().expect("sends SIGKILL");
        self.wait_for_exit(bound).await;
    }

    /// Waits for the process to exit, at most `bound`.
    pub async fn wait_for_exit(&mut self, bound: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the binary did not exit within {bound:?}: {:#?}",
                self.lines()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, a clean exit within `bound`, and then every line it logged.
    pub async fn stop(&mut self, bound: Duration) -> Vec<String> {
        self.sigterm();
        let status = self.wait_for_exit(bound).await;
        assert!(
            status.success(),
            "exited with {status}: {:#?}",
            self.lines()
        );
        self.all_lines()
    }

    /// Every line it logged, once it has exited (stderr is then closed).
    pub fn all_lines(&mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the stderr reader ends");
        }
        self.lines()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The binary, run as `launch` says, on a redis-server of its own behind a
/// [`TcpProxy`], so a test can hold Redis's replies and keep calls in
/// flight inside the process. Keep the redis-server for as long as the
/// binary should have a store.
pub async fn binary_on_proxied_redis(launch: Launch) -> (ServerProcess, TcpProxy, TestRedis) {
    let redis = TestRedis::start().await;
    let proxy = TcpProxy::start(redis.port()).await;
    let server = ServerProcess::start(Launch {
        store: Some(proxy.redis_url()),
        ..launch
    })
    .await;
    (server, proxy, redis)
}

/// Runs `cartclick reconcile` for `merchant` on the test day.
pub async fn reconcile_command(url: &str, merchant: &str) -> std::process::Output {
    let args = [
        "reconcile",
        "--store",
        url,
        "--merchant",
        merchant,
        "--day",
        "2026-11-02",
    ]
    .map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(args)
            .env_remove("CARTCLICK_CONFIG")
            .env_remove("CARTCLICK_STORE")
            .output()
            .expect("runs cartclick reconcile")
    })
    .await
    .unwrap()
}

/// Runs the client command `args` (`["earnings", "--creator", "cr-1"]`,
/// `["admin", "merchant", "get", "--id", "m-1"]`) against the gRPC server
/// at `addr` with the key `key`. Server and key go in `CARTCLICK_SERVER`
/// and `CARTCLICK_API_KEY`, which every client command reads wherever its
/// group puts the flags; nothing else is inherited but `PATH`.
pub async fn client_command(addr: SocketAddr, key: &str, args: &[&str]) -> std::process::Output {
    let env = [
        ("CARTCLICK_SERVER", format!("http://{addr}")),
        ("CARTCLICK_API_KEY", key.to_owned()),
    ];
    command_with(&env, args).await
}

/// Runs `cartclick args` with nothing in its environment but `PATH`: the
/// server and key only as the flags in `args` give them.
pub async fn bare_command(args: &[&str]) -> std::process::Output {
    command_with(&[], args).await
}

/// Runs `cartclick args` with `env` and `PATH` as its environment.
async fn command_with(env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut command = client_process(env, args);
    tokio::task::spawn_blocking(move || {
        command
            .stdin(Stdio::null())
            .output()
            .expect("runs a cartclick client command")
    })
    .await
    .unwrap()
}

/// The command `cartclick args` with `env` and `PATH` as its environment.
fn client_process(env: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args);
    command
}

/// A client command that runs until it is stopped (`watch`), against the
/// gRPC server at `addr` with the key `key`, as [`client_command`] runs
/// one: its stdout's lines arrive on the receiver as it prints them. The
/// process is killed when the [`ClientProcess`] is dropped.
pub fn spawn_client_command(addr: SocketAddr, key: &str, args: &[&str]) -> ClientProcess {
    let env = [
        ("CARTCLICK_SERVER", format!("http://{addr}")),
        ("CARTCLICK_API_KEY", key.to_owned()),
    ];
    let mut child = client_process(&env, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs a cartclick client command");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    ClientProcess { child, lines }
}

/// A running client command (see [`spawn_client_command`]).
pub struct ClientProcess {
    /// The process, killed on drop.
    pub child: Child,
    /// Its stdout, a line at a time.
    pub lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl ClientProcess {
    /// The next line it prints, within `bound`.
    pub async fn next_line(&mut self, bound: Duration) -> String {
        tokio::time::timeout(bound, self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("no line within {bound:?}"))
            .expect("stdout ended before a line")
    }

    /// Sends SIGINT (Ctrl-C) and waits for the exit, at most `bound`.
    pub async fn interrupt(&mut self, bound: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("runs kill");
        assert!(sent.success(), "kill -INT failed");
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the command did not exit within {bound:?} of SIGINT"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
