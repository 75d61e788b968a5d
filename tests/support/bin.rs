//! Running the `regtui` binary from tests: a clean environment, config files, output helpers.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn json(&self) -> Value {
        assert_eq!(self.code(), 0, "stderr: {}", self.stderr());
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout()))
    }
}

/// Runs regtui with a clean environment: no user config, no docker config, stdin not a terminal.
pub fn regtui(args: &[&str], env: &[(&str, &str)]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regtui"));
    cmd.args(args)
        .env_remove("REGTUI_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        // A fresh persistent cache each run, unless the test passes its own XDG_CACHE_HOME.
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .env("DOCKER_CONFIG", home.path().join(".docker"))
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run {
        out: cmd.output().unwrap(),
    }
}

pub fn write_config(dir: &Path, text: &str) -> String {
    let p = dir.join("config.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.display().to_string()
}
