//! Starts the real CNCF distribution registry (`/usr/bin/docker-registry`) on a free loopback port.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pki;
use super::token::{self, TokenServer};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
pub const USER: &str = "tester";
pub const PASSWORD: &str = "correct horse battery";

/// Fails loudly when a test dependency is missing.
pub fn require(path: &str, package: &str) {
    if !Path::new(path).exists() {
        panic!(
            "{path} is missing: install the Debian package `{package}` (sudo apt-get install {package}), \
             or run scripts/test.sh which installs it"
        );
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Open,
    Htpasswd,
    Token,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub auth: Auth,
    pub tls: bool,
    pub delete: bool,
    /// Reuse (a copy of) this storage directory.
    pub storage_from: Option<PathBuf>,
    /// htpasswd user and password instead of USER / PASSWORD.
    pub user: Option<(String, String)>,
    /// Serve TLS with this certificate and key (PEM files) instead of the test CA's.
    pub tls_pair: Option<(PathBuf, PathBuf)>,
    /// `catalog.maxentries` (the registry's largest catalog page).
    pub catalog_max: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            auth: Auth::Open,
            tls: false,
            delete: true,
            storage_from: None,
            user: None,
            tls_pair: None,
            catalog_max: None,
        }
    }
}

pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub storage: PathBuf,
    pub config_path: PathBuf,
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT` or `localhost:PORT`.
    pub host: String,
    pub ca_path: Option<PathBuf>,
    pub token: Option<Arc<TokenServer>>,
    pub opts: Options,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

impl Registry {
    pub fn start(opts: Options) -> Registry {
        // A port picked free can be taken before the registry binds it (other tests, or a
        // connect to it that the kernel answers from itself): a new port then, never a flake.
        let mut tries = 0;
        loop {
            match Self::try_start(opts.clone()) {
                Ok(r) => return r,
                Err(log) if log.contains("address already in use") && tries < 4 => tries += 1,
                Err(log) => panic!("docker-registry exited early: {log}"),
            }
        }
    }

    fn try_start(opts: Options) -> Result<Registry, String> {
        require(REGISTRY_BIN, "docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        match &opts.storage_from {
            Some(src) => copy_dir(src, &storage),
            None => std::fs::create_dir_all(&storage).unwrap(),
        }
        let port = free_port();
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display(),
            opts.delete
        );
        let mut ca_path = None;
        let host;
        if let Some((cert, key)) = &opts.tls_pair {
            yaml += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            );
            host = format!("localhost:{port}");
        } else if opts.tls {
            let tls = pki::tls();
            let cert = dir.path().join("server.crt");
            let key = dir.path().join("server.key");
            let ca = dir.path().join("ca.crt");
            std::fs::write(&cert, &tls.cert_pem).unwrap();
            std::fs::write(&key, &tls.key_pem).unwrap();
            std::fs::write(&ca, &tls.ca_pem).unwrap();
            yaml += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            );
            ca_path = Some(ca);
            host = format!("localhost:{port}");
        } else {
            host = format!("127.0.0.1:{port}");
        }
        let mut token_server = None;
        match opts.auth {
            Auth::Open => {}
            Auth::Htpasswd => {
                let (user, password) = opts
                    .user
                    .clone()
                    .unwrap_or((USER.to_string(), PASSWORD.to_string()));
                let hash = bcrypt::hash(password, 5).unwrap();
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, format!("{user}:{hash}\n")).unwrap();
                yaml += &format!(
                    "auth:\n  htpasswd:\n    realm: regtui-test\n    path: {}\n",
                    path.display()
                );
            }
            Auth::Token => {
                let key = pki::signing_key();
                let bundle = dir.path().join("token-signer.crt");
                std::fs::write(&bundle, &key.cert_pem).unwrap();
                let server = TokenServer::start(&key);
                server
                    .state
                    .lock()
                    .unwrap()
                    .users
                    .insert(USER.into(), PASSWORD.into());
                yaml += &format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    server.realm(),
                    token::SERVICE,
                    token::ISSUER,
                    bundle.display()
                );
                token_server = Some(Arc::new(server));
            }
        }
        if let Some(n) = opts.catalog_max {
            yaml += &format!("catalog:\n  maxentries: {n}\n");
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, &yaml).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let url = if opts.tls || opts.tls_pair.is_some() {
            format!("https://{host}")
        } else {
            format!("http://{host}")
        };
        let mut r = Registry {
            child,
            dir,
            port,
            storage,
            config_path,
            url,
            host,
            ca_path,
            token: token_server,
            opts,
        };
        r.wait_ready()?;
        Ok(r)
    }

    /// Waits until the registry listens; `Err` with its log when it exited instead.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let exited = |r: &mut Registry| -> Option<String> {
            let status = r.child.try_wait().ok()??;
            Some(format!(
                "({status}) {}",
                std::fs::read_to_string(r.dir.path().join("registry.log")).unwrap_or_default()
            ))
        };
        while Instant::now() < deadline {
            if let Some(log) = exited(self) {
                return Err(log);
            }
            if let Ok(s) = TcpStream::connect(("127.0.0.1", self.port)) {
                // A connect to a free port can meet itself (TCP simultaneous open): not it.
                let own = s.local_addr().map(|a| a.port()).ok() == Some(self.port);
                drop(s);
                if !own {
                    // Still running a moment later: the listener is the registry's.
                    std::thread::sleep(Duration::from_millis(50));
                    return match exited(self) {
                        Some(log) => Err(log),
                        None => Ok(()),
                    };
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "docker-registry did not listen on port {} within 20 s",
            self.port
        );
    }

    /// A config.toml with one profile `test` for this registry (credentials via env var when auth is on).
    pub fn profile_toml(&self, extra: &str) -> String {
        let mut s = format!(
            "default_profile = \"test\"\n[profiles.test]\nregistry = \"{}\"\n",
            self.url
        );
        if self.opts.auth != Auth::Open {
            s += &format!("username = \"{USER}\"\npassword_env = \"REGTUI_TEST_PASSWORD\"\n");
        }
        if let Some(ca) = &self.ca_path {
            s += &format!("ca_cert = \"{}\"\n", ca.display());
        }
        s + extra
    }

    /// The tags of `repo` straight from the registry (without regtui), sorted.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let url = format!("{}/v2/{repo}/tags/list", self.url);
        let auth = (self.opts.auth == Auth::Htpasswd).then(|| {
            self.opts
                .user
                .clone()
                .unwrap_or((USER.to_string(), PASSWORD.to_string()))
        });
        super::block_on(async move {
            let mut rb = reqwest::Client::new().get(url);
            if let Some((u, p)) = auth {
                rb = rb.basic_auth(u, Some(p));
            }
            let v: serde_json::Value =
                serde_json::from_slice(&rb.send().await.unwrap().bytes().await.unwrap()).unwrap();
            let mut t: Vec<String> = serde_json::from_value(v["tags"].clone()).unwrap_or_default();
            t.sort();
            t
        })
    }

    /// Stops the registry process (its files stay until the value is dropped).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Runs the registry's own garbage collector on this storage (registry must be stopped or idle).
    pub fn garbage_collect(&self) -> std::process::Output {
        Command::new(REGISTRY_BIN)
            .arg("garbage-collect")
            .arg(&self.config_path)
            .output()
            .unwrap()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
