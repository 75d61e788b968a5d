//! moto's ECR emulator (`python3 -m moto.server`) on a free loopback port, a paging proxy in
//! front of it, and an ECR profile whose v2 part is the real registry with `AWS:<token>` htpasswd.

#![allow(dead_code)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::fixture::{Fixture, Request, Response, forward, serve};
use super::oci::{Image, Pusher};
use super::registry::free_port;
use super::{Auth, Options, Registry, block_on};

/// moto's default account; its tokens are `AWS:<account>-auth-token`.
pub const ACCOUNT: &str = "123456789012";
/// Page size the proxy imposes on DescribeRepositories / DescribeImages (moto returns all at once).
pub const PAGE: usize = 2;

/// The environment an ECR profile of the tests runs with: fixed keys, no IMDS, no ~/.aws.
pub const AWS_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAFIXTURE"),
    ("AWS_SECRET_ACCESS_KEY", "fixture-secret"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    ),
];

pub struct Moto {
    child: Child,
    pub port: u16,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto; `env` goes to the server (e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0` for IAM checks).
    pub fn start(env: &[(&str, &str)]) -> Moto {
        // scripts/test.sh points this at its virtualenv when the system python has no moto;
        // a plain `cargo test` after it finds the virtualenv too.
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/target/moto-venv/bin/python");
        let python = std::env::var("REGTUI_MOTO_PYTHON").unwrap_or_else(|_| {
            if std::path::Path::new(venv).exists() {
                venv.to_string()
            } else {
                "python3".to_string()
            }
        });
        let ok = Command::new(&python)
            .args(["-c", "import moto.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "moto is not installed for {python}: run scripts/test.sh (it installs moto[server] into a \
             virtualenv) or `python3 -m pip install 'moto[server]'`"
        );
        let port = free_port();
        let mut cmd = Command::new(&python);
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start moto");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Calls an ECR operation directly (moto needs no signature, only the credential scope).
    pub fn call(&self, op: &str, body: Value) -> Value {
        let url = self.url.clone();
        let op = op.to_string();
        block_on(async move {
            let r = reqwest::Client::new()
                .post(&url)
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAFIXTURE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0",
                )
                .header("content-type", "application/x-amz-json-1.1")
                .header(
                    "x-amz-target",
                    format!("AmazonEC2ContainerRegistry_V20150921.{op}"),
                )
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or_default();
            assert!(status.is_success(), "{op}: {status} {v}");
            v
        })
    }

    /// Creates `repo` if needed and puts `img` under `tag` with its real digest.
    pub fn put(&self, repo: &str, tag: &str, img: &Image) {
        let exists = self.call("DescribeRepositories", json!({}))["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["repositoryName"] == repo);
        if !exists {
            self.call("CreateRepository", json!({"repositoryName": repo}));
        }
        self.call(
            "PutImage",
            json!({
                "repositoryName": repo,
                "imageTag": tag,
                "imageDigest": img.digest,
                "imageManifestMediaType": img.media_type,
                "imageManifest": String::from_utf8(img.manifest.clone()).unwrap(),
            }),
        );
    }

    /// moto's DescribeImages of `repo`.
    pub fn images(&self, repo: &str) -> Vec<Value> {
        self.call("DescribeImages", json!({"repositoryName": repo}))["imageDetails"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// A proxy in front of moto that pages DescribeRepositories and DescribeImages by [`PAGE`] with
/// `nextToken`, as ECR documents (moto itself returns everything in one reply).
pub fn paging_proxy(moto_port: u16) -> Fixture {
    serve(move |req: &Request| {
        let target = req.header("x-amz-target").unwrap_or("").to_string();
        let list = if target.ends_with(".DescribeRepositories") {
            "repositories"
        } else if target.ends_with(".DescribeImages") {
            "imageDetails"
        } else {
            return forward(req, moto_port);
        };
        let mut body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
        let offset: usize = body["nextToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if let Some(o) = body.as_object_mut() {
            o.remove("nextToken");
            o.remove("maxResults");
            // moto does not filter by tag status; every image the tests put is tagged.
            o.remove("filter");
        }
        let upstream = forward(
            &Request {
                body: body.to_string().into_bytes(),
                ..req.clone()
            },
            moto_port,
        );
        if upstream.status != 200 {
            return upstream;
        }
        let mut v: Value = serde_json::from_slice(&upstream.body).unwrap();
        let all = v[list].as_array().cloned().unwrap_or_default();
        v[list] = json!(all.iter().skip(offset).take(PAGE).collect::<Vec<_>>());
        if offset + PAGE < all.len() {
            v["nextToken"] = json!((offset + PAGE).to_string());
        }
        Response::json(200, &v).with("content-type", "application/x-amz-json-1.1")
    })
}

/// moto behind the paging proxy, and the real registry accepting moto's `AWS:<token>`.
pub struct Ecr {
    pub moto: Moto,
    pub proxy: Fixture,
    pub reg: Registry,
    v2_password: String,
}

impl Ecr {
    /// Starts everything; `v2_password` is what the registry accepts for user AWS
    /// (moto's token unless a test wants it refused).
    pub fn start(v2_password: &str) -> Ecr {
        let moto = Moto::start(&[]);
        let proxy = paging_proxy(moto.port);
        let reg = Registry::start(Options {
            auth: Auth::Htpasswd,
            user: Some(("AWS".into(), v2_password.into())),
            ..Default::default()
        });
        Ecr {
            moto,
            proxy,
            reg,
            v2_password: v2_password.to_string(),
        }
    }

    /// moto's token password.
    pub fn token() -> String {
        format!("{ACCOUNT}-auth-token")
    }

    /// Puts `img` as `repo:tag` in both moto (the API) and the registry (v2).
    pub fn put(&self, repo: &str, tag: &str, img: &Image) {
        self.moto.put(repo, tag, img);
        let (url, repo2, tag2, img2) = (
            self.reg.url.clone(),
            repo.to_string(),
            tag.to_string(),
            img.clone(),
        );
        let pass = self.v2_password.clone();
        block_on(async move {
            let mut p = Pusher::new(&url);
            p.auth = Some(("AWS".into(), pass));
            p.image(&repo2, &tag2, &img2).await;
        });
    }

    /// A profile named `name` for this ECR.
    pub fn profile_toml(&self, name: &str, extra: &str) -> String {
        format!(
            "[profiles.{name}]\nkind = \"ecr\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\nregistry = \"{}\"\n{extra}",
            self.proxy.url, self.reg.url
        )
    }
}
