//! Logs a user can send in a bug report: one line per request (method, path, status, time,
//! bytes, retry, concurrency limit), token fetch (realm host, scope) and TLS decision, to a file
//! (`--log-file` / `REGTUI_LOG`) and, in the CLI, to stderr with `-v`. Notices the user must see
//! (a rate limit pausing the host) always reach the CLI's stderr. Never a secret: lines are
//! written through [`crate::registry::auth::redact`] as well.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

use crate::registry::{Error, Result};

/// Where log lines go.
#[derive(Debug, Default, Clone)]
pub struct Setup {
    /// Append everything to this file.
    pub file: Option<PathBuf>,
    /// Everything on stderr too (the CLI's `-v`).
    pub verbose: bool,
    /// Notices on stderr (the CLI; never while the TUI owns the terminal).
    pub notices: bool,
}

/// A writer that redacts credentials from each line it is given.
struct Redacting<W>(Arc<Mutex<W>>);

impl<W> Clone for Redacting<W> {
    fn clone(&self) -> Self {
        Redacting(self.0.clone())
    }
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = crate::registry::auth::redact(&String::from_utf8_lossy(buf));
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(text.as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl<'a, W: Write + 'a> MakeWriter<'a> for Redacting<W> {
    type Writer = Redacting<W>;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the process's log destinations; call once, early.
pub fn init(setup: &Setup) -> Result<()> {
    let ours = |level: LevelFilter| Targets::new().with_target("regtui", level);
    let file = match &setup.file {
        Some(path) => Some(open(path)?),
        None => None,
    };
    let file_layer = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(Redacting(Arc::new(Mutex::new(f))))
            .with_filter(ours(LevelFilter::INFO))
    });
    let stderr_filter = if setup.verbose {
        Some(ours(LevelFilter::INFO))
    } else if setup.notices {
        Some(Targets::new().with_target("regtui::notice", LevelFilter::WARN))
    } else {
        None
    };
    let stderr_layer = stderr_filter.map(|filter| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .without_time()
            .with_level(false)
            .with_target(setup.verbose)
            .with_writer(Redacting(Arc::new(Mutex::new(std::io::stderr()))))
            .with_filter(filter)
    });
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    Ok(())
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::Config(format!("cannot open log file {}: {e}", path.display())))
}
