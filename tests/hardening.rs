//! Trust (issue #9): hostile local files and helpers, and the terminal on every way out.
//!
//! Each test runs the real binary with a deadline, so a hang shows up as a failure, not a stuck run.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Options, Registry};

/// What a run printed and how it ended.
struct Ended {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs regtui with a clean environment (as `support::bin::regtui`) plus `env`, killing it and
/// failing the test when it takes longer than `limit`.
fn regtui_within(limit: Duration, args: &[&str], env: &[(&str, &str)]) -> Ended {
    let home = tempfile::tempdir().unwrap();
    let out_path = home.path().join("stdout");
    let err_path = home.path().join("stderr");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regtui"));
    cmd.args(args)
        .env_remove("REGTUI_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("DOCKER_CONFIG", home.path().join(".docker"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "regtui {args:?} still running after {limit:?}; stderr so far: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ended {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned(),
        took: started.elapsed(),
    }
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

// ---------- OCI layouts ----------

fn small_layout(dir: &Path) -> support::oci::Image {
    let img = support::oci::image(&support::oci::ImageSpec {
        seed: "hardening",
        ..Default::default()
    });
    support::oci::write_layout(dir, &[("v1", &img)], false);
    img
}

#[test]
fn layout_index_on_dev_zero_fails_fast() {
    let root = tempfile::tempdir().unwrap();
    let layout = root.path().join("zero");
    small_layout(&layout);
    std::fs::remove_file(layout.join("index.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", layout.join("index.json")).unwrap();
    let demo = root.path().display().to_string();
    let r = regtui_within(
        Duration::from_secs(20),
        &["--demo", "tags", "zero"],
        &[("REGTUI_DEMO_DIR", &demo)],
    );
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert!(
        r.stdout.is_empty() && r.took < Duration::from_secs(10),
        "{:?}",
        r.took
    );
    assert!(
        r.stderr.contains("index.json") && r.stderr.contains("a device, not a regular file"),
        "{}",
        r.stderr
    );
}

#[test]
fn layout_index_and_blob_fifos_fail_fast() {
    let root = tempfile::tempdir().unwrap();
    // index.json is a FIFO: opening it would wait for a writer forever.
    let a = root.path().join("fifoindex");
    small_layout(&a);
    std::fs::remove_file(a.join("index.json")).unwrap();
    mkfifo(&a.join("index.json"));
    // The manifest blob is a FIFO.
    let b = root.path().join("fifoblob");
    let img = small_layout(&b);
    let blob = b
        .join("blobs/sha256")
        .join(img.digest.trim_start_matches("sha256:"));
    std::fs::remove_file(&blob).unwrap();
    mkfifo(&blob);
    let demo = root.path().display().to_string();
    let env = [("REGTUI_DEMO_DIR", demo.as_str())];

    let r = regtui_within(
        Duration::from_secs(20),
        &["--demo", "tags", "fifoindex"],
        &env,
    );
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert!(
        r.stdout.is_empty() && r.took < Duration::from_secs(10),
        "{:?}",
        r.took
    );
    assert!(
        r.stderr.contains("index.json") && r.stderr.contains("a FIFO, not a regular file"),
        "{}",
        r.stderr
    );

    let r = regtui_within(
        Duration::from_secs(20),
        &["--demo", "inspect", "fifoblob:v1"],
        &env,
    );
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert!(
        r.stderr.contains(&img.digest[7..]) && r.stderr.contains("a FIFO, not a regular file"),
        "{}",
        r.stderr
    );
}

// ---------- docker config.json ----------

#[test]
fn broken_docker_config_is_a_warning_for_anonymous_use() {
    let reg = Registry::start(Options::default());
    let dir = tempfile::tempdir().unwrap();
    for name in ["garbage", "oversized", "fifo"] {
        let docker = dir.path().join(name);
        std::fs::create_dir_all(&docker).unwrap();
        let file = docker.join("config.json");
        match name {
            "garbage" => std::fs::write(&file, b"{not json").unwrap(),
            "oversized" => {
                // Valid JSON, but over the 4 MiB bound.
                let mut body = vec![b' '; 5 << 20];
                body.extend_from_slice(b"{}");
                std::fs::write(&file, body).unwrap()
            }
            _ => mkfifo(&file),
        }
        let dc = docker.display().to_string();
        let r = regtui_within(
            Duration::from_secs(20),
            &["--registry", &reg.url, "repos", "--json"],
            &[("DOCKER_CONFIG", &dc)],
        );
        assert_eq!(r.code, 0, "{name}: stderr: {}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert!(v.is_array(), "{name}: {}", r.stdout);
        let warning = r
            .stderr
            .lines()
            .find(|l| l.starts_with("warning: "))
            .unwrap_or_else(|| panic!("{name}: no warning in {:?}", r.stderr));
        assert!(
            warning.contains(&file.display().to_string()),
            "{name}: {warning}"
        );
        let why = match name {
            "garbage" => "not valid docker config JSON",
            "oversized" => "byte limit",
            _ => "a FIFO, not a regular file",
        };
        assert!(warning.contains(why), "{name}: {warning}");
    }
}

// ---------- credential helpers ----------

#[test]
fn credential_helper_flooding_stdout_is_stopped_and_not_echoed() {
    let reg = Registry::start(Options::default());
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-flood");
    // Endless output: before the bound, regtui waited for the end of it while its memory grew.
    std::fs::write(&helper, "#!/bin/sh\nexec yes FLOODLINE\n").unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker = dir.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"flood"}}}}"#, reg.host),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dc = docker.display().to_string();
    let r = regtui_within(
        Duration::from_secs(20),
        &["--registry", &reg.url, "repos"],
        &[("DOCKER_CONFIG", &dc), ("PATH", &path)],
    );
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("docker-credential-flood") && r.stderr.contains("more than 1 MiB"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("FLOODLINE"),
        "output echoed: {}",
        r.stderr
    );
    assert!(r.took < Duration::from_secs(15), "took {:?}", r.took);
}

// ---------- the terminal on every way out ----------

/// A tmux server of its own with one 80x24 shell window.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-u", "-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is needed for the end-to-end tests: apt-get install tmux")
    }

    fn start() -> Tmux {
        let t = Tmux {
            socket: format!(
                "regtui-hardening-{}-{}",
                std::process::id(),
                support::registry::free_port()
            ),
        };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "80",
            "-y",
            "24",
            "sh",
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn type_line(&self, line: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "e2e", "-l", line])
                .status
                .success()
        );
        assert!(
            self.tmux(&["send-keys", "-t", "e2e", "Enter"])
                .status
                .success()
        );
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "e2e"]).stdout)
            .into_owned()
    }

    fn alternate_on(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"])
                .stdout,
        )
        .trim()
        .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Runs `regtui --demo` in tmux with `REGTUI_TEST_FAULT=fault` (debug builds only) and returns the
/// exit code, the screen afterwards, and whether the alternate screen is still on.
fn demo_with_fault(fault: &str) -> (String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let exit_file = dir.path().join("exit");
    let t = Tmux::start();
    t.type_line(&format!(
        "env HOME={d} DOCKER_CONFIG={d}/docker NO_COLOR=1 RUST_BACKTRACE=0 REGTUI_TEST_FAULT={fault} {bin} --demo; echo EXIT=$? > {exit}",
        d = dir.path().display(),
        bin = env!("CARGO_BIN_EXE_regtui"),
        exit = exit_file.display(),
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Ok(s) = std::fs::read_to_string(&exit_file) {
            if s.ends_with('\n') {
                break s.trim().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "regtui with REGTUI_TEST_FAULT={fault} did not exit; screen:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(200));
    (code, t.screen(), t.alternate_on())
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "REGTUI_TEST_FAULT exists in debug builds only"
)]
fn panicking_task_or_thread_ends_the_app_with_the_terminal_restored() {
    for fault in ["panic-task", "panic-thread"] {
        let (code, screen, alternate) = demo_with_fault(fault);
        assert_eq!(code, "EXIT=101", "{fault}; screen:\n{screen}");
        assert_eq!(alternate, "0", "{fault}: still on the alternate screen");
        assert!(
            screen.contains("panicked") && screen.contains(&format!("REGTUI_TEST_FAULT={fault}")),
            "{fault}: panic message not on the screen:\n{screen}"
        );
    }
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "REGTUI_TEST_FAULT exists in debug builds only"
)]
fn an_error_after_terminal_setup_restores_the_terminal() {
    let (code, screen, alternate) = demo_with_fault("error");
    assert_eq!(code, "EXIT=1", "screen:\n{screen}");
    assert_eq!(alternate, "0", "still on the alternate screen");
    assert!(
        screen.contains("error: REGTUI_TEST_FAULT=error"),
        "error not on the screen:\n{screen}"
    );
}
