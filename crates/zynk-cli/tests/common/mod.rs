//! The harness: a real server in-process (SQLite in a temporary directory,
//! on its own runtime thread, 127.0.0.1:0) and the real `zynk` binary run
//! against it with a profile directory per device.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use zynk_server::{AppState, Config};

pub const PASSWORD: &str = "correct horse battery";
pub const PASSPHRASE: &str = "local profile passphrase";
/// A command that runs longer than this is killed (and the test fails).
const WATCHDOG: Duration = Duration::from_secs(90);

/// A running server; stopped on drop.
pub struct Server {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: TempDir,
}

impl Server {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            pbkdf2_iterations: 1000,
            log: "warn".into(),
            ..Config::default()
        };
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind(config.listen).await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                let state = AppState::build(config).await.unwrap();
                url_tx.send(url).unwrap();
                zynk_server::serve(state, listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let url = url_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Self {
            url,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// The server's data directory (database, `files/`).
    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }

    /// A fresh, empty profile directory (one device).
    pub fn device(&self) -> Device {
        Device {
            server: self.url.clone(),
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One profile directory: a device of some user.
pub struct Device {
    pub server: String,
    pub dir: TempDir,
}

/// What a `zynk` run printed.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Device {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `zynk --server … --profile … args` with the secrets in the
    /// environment and `stdin` (or nothing) as standard input.
    pub fn run_with(&self, args: &[&str], stdin: Option<&str>, secrets: bool) -> Run {
        self.run_full(args, stdin, secrets, None)
    }

    /// The `zynk` command for `args`, with this device's profile and secrets.
    fn command(&self, args: &[&str], secrets: bool) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zynk"));
        cmd.arg("--server")
            .arg(&self.server)
            .arg("--profile")
            .arg(self.dir.path())
            .args(args)
            .env_remove("ZYNK_SERVER")
            .env_remove("ZYNK_PROFILE")
            .env_remove("ZYNK_PASSWORD")
            .env_remove("ZYNK_PASSPHRASE")
            .env("HOME", self.dir.path());
        if secrets {
            cmd.env("ZYNK_PASSWORD", PASSWORD)
                .env("ZYNK_PASSPHRASE", PASSPHRASE);
        }
        cmd
    }

    /// Runs in the working directory `cwd`; requires success.
    pub fn ok_in(&self, cwd: &Path, args: &[&str]) -> String {
        let r = self.run_full(args, None, true, Some(cwd));
        assert!(
            r.ok,
            "zynk {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Starts `zynk args` in the background; its output arrives line by line.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let mut child = self
            .command(args, true)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run zynk");
        let (out_tx, stdout) = std::sync::mpsc::channel();
        let (err_tx, stderr) = std::sync::mpsc::channel();
        let lines = |r: Box<dyn Read + Send>, tx: std::sync::mpsc::Sender<String>| {
            std::thread::spawn(move || {
                use std::io::BufRead as _;
                for line in std::io::BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        };
        lines(Box::new(child.stdout.take().unwrap()), out_tx);
        lines(Box::new(child.stderr.take().unwrap()), err_tx);
        Background {
            child,
            stdout,
            stderr,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn run_full(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        secrets: bool,
        cwd: Option<&Path>,
    ) -> Run {
        let mut cmd = self.command(args, secrets);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let out = wait(cmd, stdin, args);
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None, true)
    }

    /// Runs and requires success; the standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(
            r.ok,
            "zynk {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Runs with `--json`, requires success; one value per output line.
    pub fn json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.ok(&all)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect()
    }

    /// Runs, requires failure; the standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(!r.ok, "zynk {args:?} should fail; stdout: {}", r.stdout);
        assert!(!r.stderr.trim().is_empty(), "a failure says why");
        r.stderr
    }
}

/// A `zynk` running in the background; killed on drop.
pub struct Background {
    child: std::process::Child,
    stdout: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::mpsc::Receiver<String>,
    args: Vec<String>,
}

impl Background {
    /// The next standard output line that is JSON and satisfies `pred`
    /// (earlier lines are dropped); panics after `WATCHDOG`.
    pub fn json_until(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WATCHDOG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .stdout
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("zynk {:?}: no matching line ({e})", self.args));
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && pred(&v)
            {
                return v;
            }
        }
    }

    /// Waits for a standard error line containing `text`.
    pub fn stderr_until(&self, text: &str) {
        let deadline = Instant::now() + WATCHDOG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stderr.recv_timeout(left).unwrap_or_else(|e| {
                panic!("zynk {:?}: no stderr line with {text:?} ({e})", self.args)
            });
            if line.contains(text) {
                return;
            }
        }
    }

    /// Waits for the process to exit; whether it succeeded, and the rest of
    /// its standard output (JSON lines).
    pub fn finish(mut self) -> (bool, Vec<Value>) {
        let deadline = Instant::now() + WATCHDOG;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "zynk {:?} did not finish",
                self.args
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            if let Ok(v) = serde_json::from_str(&line) {
                rest.push(v);
            }
        }
        (status.success(), rest)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to completion (its output read by two threads, so a full
/// pipe never blocks it), killing it after `WATCHDOG`.
fn wait(mut cmd: Command, stdin: Option<&str>, args: &[&str]) -> Output {
    let mut child = cmd.spawn().expect("run zynk");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + WATCHDOG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap();
            panic!(
                "zynk {args:?} did not finish in {WATCHDOG:?}; stderr: {}",
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The records of one `type`.
pub fn of_type<'a>(values: &'a [Value], kind: &str) -> Vec<&'a Value> {
    values.iter().filter(|v| v["type"] == kind).collect()
}

/// The texts of the `message` records.
pub fn texts(values: &[Value]) -> Vec<String> {
    of_type(values, "message")
        .iter()
        .map(|v| v["text"].as_str().unwrap().to_owned())
        .collect()
}
