//! Where credentials come from: the profile (env var, command, file), docker's config.json and credential helpers.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::auth::{Credential, Secret};
use super::error::{Error, Result};

/// The credential settings of a profile.
#[derive(Debug, Clone, Default)]
pub struct ProfileSecrets {
    pub username: Option<String>,
    /// Name of an environment variable holding the password or token.
    pub password_env: Option<String>,
    /// A shell command printing the password or token.
    pub password_command: Option<String>,
    /// A password written in the config file.
    pub password: Option<Secret>,
}

/// Most bytes a credential helper or `password_command` may print (each of stdout and stderr).
const OUTPUT_LIMIT: usize = 1 << 20;
/// Longest a credential helper or `password_command` may run before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest docker `config.json` read.
const DOCKER_CONFIG_LIMIT: u64 = 4 << 20;
/// Most characters of a failing command's stderr quoted in its error.
const STDERR_EXCERPT: usize = 200;

/// A credential and a description of where it came from (never the secret itself).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub credential: Credential,
    pub source: String,
    /// Something the user should know, e.g. an unreadable docker config.json that was skipped.
    pub warning: Option<String>,
}

/// Resolves credentials in order: profile, docker config (helpers and `auths`), anonymous.
///
/// A docker config.json that cannot be read (invalid JSON, too large, not a regular file) does
/// not stop anonymous use: it is skipped with a warning in [`Resolved::warning`].
pub fn resolve(profile: &ProfileSecrets, docker_key: &str) -> Result<Resolved> {
    if let Some(r) = from_profile(profile)? {
        return Ok(r);
    }
    let mut warning = None;
    if let Some(path) = docker_config_path() {
        match read_docker_config(&path) {
            Ok(Some(cfg)) => {
                if let Some(r) = lookup_docker_config(&cfg, &path, docker_key)? {
                    return Ok(r);
                }
            }
            Ok(None) => {}
            Err(e) => warning = Some(format!("{e}; continuing without docker credentials")),
        }
    }
    Ok(Resolved {
        credential: Credential::Anonymous,
        source: "anonymous".into(),
        warning,
    })
}

fn from_profile(p: &ProfileSecrets) -> Result<Option<Resolved>> {
    let Some(username) = p.username.clone() else {
        return Ok(None);
    };
    let (password, source) = if let Some(var) = &p.password_env {
        let v = std::env::var(var).map_err(|_| {
            Error::Config(format!(
                "the profile reads its password from ${var}, which is not set"
            ))
        })?;
        (v, format!("profile (password from ${var})"))
    } else if let Some(cmd) = &p.password_command {
        (
            run_password_command(cmd)?,
            "profile (password_command)".to_string(),
        )
    } else if let Some(pw) = &p.password {
        (
            pw.expose().to_string(),
            "profile (password in config file)".to_string(),
        )
    } else {
        return Ok(None);
    };
    Ok(Some(Resolved {
        credential: Credential::Basic {
            username,
            password: Secret::new(password),
        },
        source,
        warning: None,
    }))
}

/// What a finished child printed.
struct Captured {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Reads `from` to its end or until more than `limit` bytes came (`true`: over the limit; the pipe
/// is then closed, so a writer still going gets SIGPIPE).
fn read_capped(mut from: impl Read, limit: usize) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match from.read(&mut chunk) {
            Ok(0) => return (buf, false),
            Ok(n) => {
                if buf.len() + n > limit {
                    return (buf, true);
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (buf, false),
        }
    }
}

fn seconds(d: Duration) -> String {
    if d.as_secs() >= 1 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Starts `cmd` with all three standard streams piped (nothing reaches the terminal).
fn spawn_piped(mut cmd: Command) -> std::io::Result<std::process::Child> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Feeds `input` to a child from [`spawn_piped`] and reads stdout and stderr as they come: more
/// than `limit` bytes on either, or a run longer than `timeout`, kills it. Errors name `what`,
/// never the output.
fn run_bounded(
    mut child: std::process::Child,
    what: &str,
    input: &[u8],
    limit: usize,
    timeout: Duration,
) -> Result<Captured> {
    let deadline = Instant::now() + timeout;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // A child that does not read its stdin must not block us: write from a thread.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel::<(usize, Vec<u8>, bool)>();
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    let mut open = 0;
    for (i, pipe) in pipes.into_iter().enumerate() {
        if let Some(pipe) = pipe {
            open += 1;
            let tx = tx.clone();
            std::thread::spawn(move || {
                let (buf, over) = read_capped(pipe, limit);
                let _ = tx.send((i, buf, over));
            });
        }
    }
    drop(tx);
    let kill = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    let mut outs = [Vec::new(), Vec::new()];
    let mut status = None;
    // Poll the child and collect the pipes until both are done, or the time is up. A pipe can
    // outlive the child (a background process keeps it open): the deadline covers that too.
    while status.is_none() || open > 0 {
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child);
            return Err(Error::Config(format!(
                "{what} did not finish within {} and was stopped",
                seconds(timeout)
            )));
        }
        if status.is_none() {
            status = child
                .try_wait()
                .map_err(|e| Error::Config(format!("{what} failed: {e}")))?;
        }
        let wait = (deadline - now).min(Duration::from_millis(10));
        match rx.recv_timeout(wait) {
            Ok((i, buf, over)) => {
                open -= 1;
                if over {
                    kill(&mut child);
                    let stream = if i == 0 { "stdout" } else { "stderr" };
                    return Err(Error::Config(format!(
                        "{what} printed more than {} MiB on {stream} and was stopped",
                        limit >> 20
                    )));
                }
                outs[i] = buf;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = 0,
        }
    }
    let [stdout, stderr] = outs;
    Ok(Captured {
        status: status.expect("loop ends with a status"),
        stdout,
        stderr,
    })
}

/// A short, inert excerpt of a failing command's stderr for its error message (empty when silent).
fn stderr_excerpt(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let clean = crate::sanitize::clean(&text);
    let trimmed = clean.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    let excerpt = if trimmed.chars().count() > STDERR_EXCERPT {
        let cut: String = trimmed.chars().take(STDERR_EXCERPT - 1).collect();
        format!("{cut}…")
    } else {
        trimmed.to_string()
    };
    format!(": {excerpt}")
}

/// How a `password_command` is named in errors: its text, inert and shortened.
fn command_label(cmd: &str) -> String {
    let c = crate::sanitize::clean(cmd);
    let c = c.trim();
    if c.chars().count() > 60 {
        format!(
            "password_command `{}…`",
            c.chars().take(59).collect::<String>()
        )
    } else {
        format!("password_command `{c}`")
    }
}

fn run_password_command(cmd: &str) -> Result<String> {
    password_command_within(cmd, RUN_TIMEOUT)
}

fn password_command_within(cmd: &str, timeout: Duration) -> Result<String> {
    let what = command_label(cmd);
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(cmd);
    let child =
        spawn_piped(sh).map_err(|e| Error::Config(format!("{what} could not start: {e}")))?;
    let out = run_bounded(child, &what, b"", OUTPUT_LIMIT, timeout)?;
    if !out.status.success() {
        return Err(Error::Config(format!(
            "{what} failed ({}){}",
            out.status,
            stderr_excerpt(&out.stderr)
        )));
    }
    let s = String::from_utf8(out.stdout)
        .map_err(|_| Error::Config(format!("{what} printed something that is not UTF-8")))?;
    let pw = s.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        return Err(Error::Config(format!("{what} printed nothing")));
    }
    Ok(pw)
}

/// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(".docker").join("config.json"))
}

#[derive(serde::Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, DockerAuth>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `host[:port]` of a config.json key (`https://host/v1/` → `host`).
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

fn lookup<'a, T>(map: &'a HashMap<String, T>, key: &str) -> Option<&'a T> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| key_host(k) == key_host(key))
            .map(|(_, v)| v)
    })
}

/// Reads and parses a docker config file: `None` when it does not exist; an error when it is not a
/// regular file, is over [`DOCKER_CONFIG_LIMIT`] or is not valid JSON (the error names the file).
fn read_docker_config(path: &Path) -> Result<Option<DockerConfig>> {
    let text = match super::localfs::read_regular(path, DOCKER_CONFIG_LIMIT) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot read docker config {}: {e}",
                path.display()
            )));
        }
    };
    // Only the position: serde's message may quote a value, and values here are credentials.
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        Error::Config(format!(
            "{} is not valid docker config JSON (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// Reads credentials for `key` from a docker config file.
pub fn from_docker_config(path: &Path, key: &str) -> Result<Option<Resolved>> {
    match read_docker_config(path)? {
        Some(cfg) => lookup_docker_config(&cfg, path, key),
        None => Ok(None),
    }
}

/// Credentials for `key` in a parsed docker config (`path` names it in sources).
fn lookup_docker_config(cfg: &DockerConfig, path: &Path, key: &str) -> Result<Option<Resolved>> {
    let resolved = |credential, source| Resolved {
        credential,
        source,
        warning: None,
    };
    if let Some(helper) = lookup(&cfg.cred_helpers, key) {
        return helper_get(helper, key).map(|c| {
            c.map(|credential| {
                resolved(
                    credential,
                    format!("credential helper docker-credential-{helper} (credHelpers)"),
                )
            })
        });
    }
    if let Some(a) = lookup(&cfg.auths, key) {
        if let Some(tok) = a.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            let username = decode_auth(a.auth.as_deref())?
                .map(|(u, _)| u)
                .unwrap_or_default();
            return Ok(Some(resolved(
                Credential::IdentityToken {
                    username,
                    token: Secret::new(tok),
                },
                format!("{} (identity token)", path.display()),
            )));
        }
        if let Some((u, p)) = decode_auth(a.auth.as_deref())? {
            return Ok(Some(resolved(
                Credential::Basic {
                    username: u,
                    password: Secret::new(p),
                },
                format!("{} (auths)", path.display()),
            )));
        }
        if let (Some(u), Some(p)) = (&a.username, &a.password) {
            return Ok(Some(resolved(
                Credential::Basic {
                    username: u.clone(),
                    password: Secret::new(p.clone()),
                },
                format!("{} (auths)", path.display()),
            )));
        }
    }
    if let Some(store) = &cfg.creds_store {
        return helper_get(store, key).map(|c| {
            c.map(|credential| {
                resolved(
                    credential,
                    format!("credential helper docker-credential-{store} (credsStore)"),
                )
            })
        });
    }
    Ok(None)
}

fn decode_auth(auth: Option<&str>) -> Result<Option<(String, String)>> {
    let Some(a) = auth.filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(a.trim())
        .map_err(|_| Error::Config("docker config: an `auth` entry is not valid base64".into()))?;
    let s = String::from_utf8(raw)
        .map_err(|_| Error::Config("docker config: an `auth` entry is not UTF-8".into()))?;
    match s.split_once(':') {
        Some((u, p)) => Ok(Some((u.to_string(), p.to_string()))),
        None => Err(Error::Config(
            "docker config: an `auth` entry is not user:password".into(),
        )),
    }
}

/// Saves a login into docker's config.json as `docker login` does: through `credsStore` when one
/// is set, else as a base64 `auth` entry (the file is created with mode 0600). Returns where it went.
pub fn save_docker_login(key: &str, username: &str, password: &Secret) -> Result<String> {
    let path = docker_config_path().ok_or_else(|| {
        Error::Config("cannot find the home directory for docker's config.json".into())
    })?;
    save_docker_login_to(&path, key, username, password)
}

/// [`save_docker_login`] into a given config.json.
pub fn save_docker_login_to(
    path: &Path,
    key: &str,
    username: &str,
    password: &Secret,
) -> Result<String> {
    let path = path.to_path_buf();
    let mut doc: serde_json::Value = match super::localfs::read_regular(&path, DOCKER_CONFIG_LIMIT)
    {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::Config(format!("{} is not valid JSON: {e}", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    if let Some(store) = doc
        .get("credsStore")
        .and_then(|s| s.as_str())
        .map(str::to_string)
    {
        helper_store(&store, key, username, password)?;
        return Ok(format!("credential helper docker-credential-{store}"));
    }
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{username}:{}", password.expose()));
    if !doc.is_object() {
        doc = serde_json::json!({});
    }
    let auths = doc
        .as_object_mut()
        .expect("object")
        .entry("auths")
        .or_insert_with(|| serde_json::json!({}));
    if !auths.is_object() {
        *auths = serde_json::json!({});
    }
    auths[key] = serde_json::json!({ "auth": auth });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    write_private(&path, &text)
        .map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

fn helper_store(name: &str, server: &str, username: &str, password: &Secret) -> Result<()> {
    let body =
        serde_json::json!({"ServerURL": server, "Username": username, "Secret": password.expose()});
    let out = run_helper(name, "store", body.to_string().as_bytes())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "credential helper docker-credential-{name} refused to store ({}){}",
            out.status,
            stderr_excerpt(&out.stderr)
        )))
    }
}

/// Runs `docker-credential-<name> <verb>` with `input` on stdin (the helper protocol), within
/// [`OUTPUT_LIMIT`] and [`RUN_TIMEOUT`].
fn run_helper(name: &str, verb: &str, input: &[u8]) -> Result<Captured> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(Error::Config(format!(
            "invalid credential helper name {name:?}"
        )));
    }
    let program = format!("docker-credential-{name}");
    let mut cmd = Command::new(&program);
    cmd.arg(verb);
    let child = spawn_piped(cmd).map_err(|e| {
        Error::Config(format!(
            "credential helper {program} could not run ({e}); install it or remove it from docker's config.json"
        ))
    })?;
    run_bounded(
        child,
        &format!("credential helper {program}"),
        input,
        OUTPUT_LIMIT,
        RUN_TIMEOUT,
    )
}

#[derive(serde::Deserialize)]
struct HelperReply {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<name> get` with the server URL on stdin.
pub fn helper_get(name: &str, server: &str) -> Result<Option<Credential>> {
    let program = format!("docker-credential-{name}");
    let out = run_helper(name, "get", server.as_bytes())?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase()
            + &String::from_utf8_lossy(&out.stderr).to_lowercase();
        if text.contains("credentials not found") {
            return Ok(None);
        }
        return Err(Error::Config(format!(
            "credential helper {program} failed ({}){}",
            out.status,
            stderr_excerpt(&out.stderr)
        )));
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout).map_err(|_| {
        Error::Config(format!(
            "credential helper {program} did not print the expected JSON"
        ))
    })?;
    if reply.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if reply.username == "<token>" {
        Credential::IdentityToken {
            username: String::new(),
            token: Secret::new(reply.secret),
        }
    } else {
        Credential::Basic {
            username: reply.username,
            password: Secret::new(reply.secret),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auths_and_identity_tokens() {
        let dir = std::env::temp_dir().join(format!("regtui-dc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"https://reg.example:5000/v1/":{{"auth":"{auth}"}},
                "https://index.docker.io/v1/":{{"auth":"{auth}","identitytoken":"idtok"}}}}}}"#
            ),
        )
        .unwrap();
        let r = from_docker_config(&path, "reg.example:5000")
            .unwrap()
            .unwrap();
        assert_eq!(
            r.credential,
            Credential::Basic {
                username: "alice".into(),
                password: Secret::new("s3cret")
            }
        );
        let r = from_docker_config(&path, "https://index.docker.io/v1/")
            .unwrap()
            .unwrap();
        assert!(matches!(r.credential, Credential::IdentityToken { .. }));
        assert!(
            from_docker_config(&path, "other.example")
                .unwrap()
                .is_none()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn login_is_saved_like_docker_login() {
        let dir = std::env::temp_dir().join(format!("regtui-save-{}", std::process::id()));
        let path = dir.join("docker/config.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"auths":{"other.example":{"auth":"eDp5"}},"HttpHeaders":{"X":"1"}}"#,
        )
        .unwrap();
        save_docker_login_to(
            &path,
            "reg.example:5000",
            "bob",
            &Secret::new("pw:with:colons"),
        )
        .unwrap();
        let r = from_docker_config(&path, "reg.example:5000")
            .unwrap()
            .unwrap();
        assert_eq!(
            r.credential,
            Credential::Basic {
                username: "bob".into(),
                password: Secret::new("pw:with:colons")
            }
        );
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            v["auths"]["other.example"]["auth"], "eDp5",
            "other entries kept"
        );
        assert_eq!(v["HttpHeaders"]["X"], "1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A fresh file is private.
            let fresh = dir.join("fresh/config.json");
            save_docker_login_to(&fresh, "h", "u", &Secret::new("p")).unwrap();
            assert_eq!(
                std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_env_var_is_named() {
        let p = ProfileSecrets {
            username: Some("u".into()),
            password_env: Some("REGTUI_TEST_SURELY_UNSET_VAR".into()),
            ..Default::default()
        };
        let e = resolve(&p, "x").unwrap_err();
        assert!(e.to_string().contains("$REGTUI_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn password_command_output_is_used() {
        let p = ProfileSecrets {
            username: Some("u".into()),
            password_command: Some("printf 'pw1\\n'".into()),
            ..Default::default()
        };
        let r = resolve(&p, "x").unwrap();
        assert_eq!(
            r.credential,
            Credential::Basic {
                username: "u".into(),
                password: Secret::new("pw1")
            }
        );
        let p = ProfileSecrets {
            username: Some("u".into()),
            password_command: Some("exit 3".into()),
            ..Default::default()
        };
        assert!(
            resolve(&p, "x")
                .unwrap_err()
                .to_string()
                .contains("password_command `exit 3` failed")
        );
    }

    /// Runs `f` on a thread and fails the test when it takes longer than `secs` (a hang).
    fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(secs))
            .unwrap_or_else(|_| panic!("still running after {secs} s"))
    }

    fn command(cmd: &str) -> ProfileSecrets {
        ProfileSecrets {
            username: Some("u".into()),
            password_command: Some(cmd.into()),
            ..Default::default()
        }
    }

    #[test]
    fn password_command_printing_without_end_is_stopped_at_the_bound() {
        // Endless output: `output()` would wait for an end that never comes, memory growing.
        let e = within(20, || resolve(&command("yes | tr y Q"), "x").unwrap_err()).to_string();
        assert!(e.contains("password_command `yes | tr y Q`"), "{e}");
        assert!(e.contains("more than 1 MiB on stdout"), "{e}");
        assert!(
            !e.contains("Q\nQ") && !e.contains("Q Q") && e.len() < 200,
            "{e}"
        );
        // Also on stderr.
        let e = within(20, || resolve(&command("yes >&2"), "x").unwrap_err()).to_string();
        assert!(e.contains("more than 1 MiB on stderr"), "{e}");
    }

    #[test]
    fn password_command_that_hangs_is_killed_after_the_timeout() {
        let started = Instant::now();
        let e = within(20, || {
            password_command_within("sleep 30", Duration::from_millis(300)).unwrap_err()
        })
        .to_string();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            e.contains("password_command `sleep 30` did not finish within 300 ms"),
            "{e}"
        );
        // The production bound is 30 s.
        assert_eq!(RUN_TIMEOUT, Duration::from_secs(30));
        assert_eq!(OUTPUT_LIMIT, 1 << 20);
    }

    #[test]
    fn password_command_stderr_is_captured_and_quoted_inert() {
        // Before, stderr went straight to the terminal (over the TUI) and the error said nothing.
        let e = resolve(
            &command("printf 'vault: \\033[31mtoken expired\\033]0;owned\\007\\n' >&2; exit 2"),
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("failed"), "{e}");
        assert!(e.contains(": vault: token expired"), "{e}");
        assert!(!e.chars().any(char::is_control), "{e:?}");
        // Long stderr: at most 200 characters of it.
        let e = resolve(&command("printf '%0500d' 7 >&2; exit 1"), "x")
            .unwrap_err()
            .to_string();
        let excerpt = e.rsplit(": ").next().unwrap();
        assert!(excerpt.starts_with("0000"), "{e}");
        assert!(
            excerpt.chars().count() <= 200,
            "{} chars: {e}",
            excerpt.len()
        );
        // A silent failure has no excerpt; the secret on stdout is never quoted.
        let e = resolve(&command("printf 'hunter%d' 2; exit 1"), "x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn docker_config_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.json");
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let f = fifo.clone();
        let e = within(10, move || from_docker_config(&f, "x").unwrap_err()).to_string();
        assert!(
            e.contains(&fifo.display().to_string()) && e.contains("a FIFO, not a regular file"),
            "{e}"
        );
        let big = dir.path().join("big.json");
        let mut body = vec![b' '; DOCKER_CONFIG_LIMIT as usize];
        body.extend_from_slice(b"{}");
        std::fs::write(&big, body).unwrap();
        let e = from_docker_config(&big, "x").unwrap_err().to_string();
        assert!(
            e.contains(&big.display().to_string()) && e.contains("byte limit"),
            "{e}"
        );
        let e = from_docker_config(dir.path(), "x").unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        assert!(
            from_docker_config(&dir.path().join("none.json"), "x")
                .unwrap()
                .is_none()
        );
    }
}
