//! Where credentials come from: the profile (env var, command, file), docker's config.json and credential helpers.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// A credential and a description of where it came from (never the secret itself).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub credential: Credential,
    pub source: String,
}

/// Resolves credentials in order: profile, docker config (helpers and `auths`), anonymous.
pub fn resolve(profile: &ProfileSecrets, docker_key: &str) -> Result<Resolved> {
    if let Some(r) = from_profile(profile)? {
        return Ok(r);
    }
    if let Some(path) = docker_config_path() {
        if let Some(r) = from_docker_config(&path, docker_key)? {
            return Ok(r);
        }
    }
    Ok(Resolved {
        credential: Credential::Anonymous,
        source: "anonymous".into(),
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
    }))
}

fn run_password_command(cmd: &str) -> Result<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::Config(format!("password_command could not start: {e}")))?;
    if !out.status.success() {
        return Err(Error::Config(format!(
            "password_command failed ({})",
            out.status
        )));
    }
    let s = String::from_utf8(out.stdout).map_err(|_| {
        Error::Config("password_command printed something that is not UTF-8".into())
    })?;
    let pw = s.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        return Err(Error::Config("password_command printed nothing".into()));
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

/// Reads credentials for `key` from a docker config file.
pub fn from_docker_config(path: &Path, key: &str) -> Result<Option<Resolved>> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let cfg: DockerConfig = serde_json::from_slice(&text).map_err(|e| {
        Error::Config(format!(
            "{} is not valid docker config JSON: {e}",
            path.display()
        ))
    })?;
    if let Some(helper) = lookup(&cfg.cred_helpers, key) {
        return helper_get(helper, key).map(|c| {
            c.map(|credential| Resolved {
                credential,
                source: format!("credential helper docker-credential-{helper} (credHelpers)"),
            })
        });
    }
    if let Some(a) = lookup(&cfg.auths, key) {
        if let Some(tok) = a.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            let username = decode_auth(a.auth.as_deref())?
                .map(|(u, _)| u)
                .unwrap_or_default();
            return Ok(Some(Resolved {
                credential: Credential::IdentityToken {
                    username,
                    token: Secret::new(tok),
                },
                source: format!("{} (identity token)", path.display()),
            }));
        }
        if let Some((u, p)) = decode_auth(a.auth.as_deref())? {
            return Ok(Some(Resolved {
                credential: Credential::Basic {
                    username: u,
                    password: Secret::new(p),
                },
                source: format!("{} (auths)", path.display()),
            }));
        }
        if let (Some(u), Some(p)) = (&a.username, &a.password) {
            return Ok(Some(Resolved {
                credential: Credential::Basic {
                    username: u.clone(),
                    password: Secret::new(p.clone()),
                },
                source: format!("{} (auths)", path.display()),
            }));
        }
    }
    if let Some(store) = &cfg.creds_store {
        return helper_get(store, key).map(|c| {
            c.map(|credential| Resolved {
                credential,
                source: format!("credential helper docker-credential-{store} (credsStore)"),
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
    let mut doc: serde_json::Value = match std::fs::read(&path) {
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
            "credential helper docker-credential-{name} refused to store ({})",
            out.status
        )))
    }
}

/// Runs `docker-credential-<name> <verb>` with `input` on stdin (the helper protocol).
fn run_helper(name: &str, verb: &str, input: &[u8]) -> Result<std::process::Output> {
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
    let mut child = Command::new(&program)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::Config(format!(
                "credential helper {program} could not run ({e}); install it or remove it from docker's config.json"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    child
        .wait_with_output()
        .map_err(|e| Error::Config(format!("credential helper {program} failed: {e}")))
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
            "credential helper {program} failed ({})",
            out.status
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
                .contains("password_command failed")
        );
    }
}
