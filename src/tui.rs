//! The interactive terminal UI: terminal setup and restore, the event loop, effects.
//!
//! The loop waits on keys (from an input thread), client events and a clock tick; it drains
//! queued client events before drawing and draws only when something changed. Drawing does no I/O.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::app::{App, Effect, Msg, ProfileEntry};
use crate::client_task;
use crate::clipboard::{Clipboard, System};
use crate::registry::{Error, Result};
use crate::session::{self, Selection};

/// Logs a line of the TUI's own (to the log file when one was asked for); secrets redacted.
pub fn log(line: &str) {
    tracing::info!(target: "regtui::tui", "{}", crate::registry::auth::redact(line));
}

/// Runs the TUI until the user quits or the session ends (SIGTERM/SIGHUP).
pub async fn run(sel: &Selection) -> Result<i32> {
    let started = Instant::now();
    let start = session::start(sel)?;
    let (specs, current, clip_mode) = (start.specs, start.current, start.config.clipboard);
    let entries: Vec<ProfileEntry> = specs.iter().map(ProfileEntry::from).collect();
    let (ev_tx, mut ev_rx) = mpsc::channel(1024);
    let store = session::store(start.config.cache_max_mib);
    let client = client_task::spawn_with_store(specs, ev_tx, store);

    let mut terminal = ratatui::init();
    // From here on every way out restores the terminal: returns and `?` through the guard, a
    // panic in any thread or task through the hook (which also ends the process).
    let restore = RestoreOnDrop;
    exit_on_panic();
    #[cfg(debug_assertions)]
    let fault = test_fault();
    #[cfg(debug_assertions)]
    if fault.as_deref() == Some("error") {
        return Err(Error::Config(
            "REGTUI_TEST_FAULT=error: failing on purpose".into(),
        ));
    }
    let size = terminal
        .size()
        .map(|s| (s.width, s.height))
        .unwrap_or((80, 24));
    let mut app = App::new(entries, current, size, crate::registry::model::now_unix());
    app.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    app.ascii = crate::app::badges::wants_ascii(|k| std::env::var(k).ok());
    app.dates = start.config.dates;
    // What the CLI prints on stderr is shown here: config and credential warnings, and why the
    // demo opened when nothing was chosen.
    for w in &start.config.warnings {
        app.warn(w.clone());
    }
    if let Some(text) = start.first_run {
        let mut text = text;
        for w in &start.config.warnings {
            text.push_str(&format!("\nwarning: {w}"));
        }
        app.notice("Welcome to regtui", text);
    }
    let mouse = start.config.mouse;
    if mouse {
        // Off with `mouse = false`: the terminal's own selection then works.
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    }

    let (key_tx, mut key_rx) = mpsc::channel::<Msg>(256);
    std::thread::spawn(move || {
        use crossterm::event::{self, Event as CEvent};
        let clock = Instant::now();
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => {
                    let msg = match event::read() {
                        Ok(CEvent::Key(k)) => Msg::Key(k),
                        Ok(CEvent::Mouse(m)) if mouse => {
                            Msg::Mouse(m, clock.elapsed().as_millis() as u64)
                        }
                        Ok(CEvent::Resize(w, h)) => Msg::Resize(w, h),
                        Ok(_) => continue,
                        Err(_) => break,
                    };
                    if key_tx.blocking_send(msg).is_err() {
                        break;
                    }
                }
                Ok(false) => {
                    if key_tx.is_closed() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::Config(e.to_string()))?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| Error::Config(e.to_string()))?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut clipboard = System {
        mode: clip_mode,
        out: std::io::stdout(),
    };
    let mut effects = app.start();
    let mut first_frame = true;
    let result: Result<i32> = loop {
        for e in std::mem::take(&mut effects) {
            match e {
                Effect::Send(c) => {
                    log(&format!("command {c:?}"));
                    if client.commands.send(c).await.is_err() {
                        app.alert("the client task stopped");
                    }
                }
                Effect::Copy { text, what } => match clipboard.copy(&text) {
                    Ok(went) => app.say(format!("copied {what} to the {went}")),
                    Err(e) => app.alert(format!("copy failed: {e}")),
                },
                Effect::Quit => app.quit = true,
            }
        }
        if app.quit {
            break Ok(0);
        }
        // Every message below changes something on screen, so each turn draws once.
        app.in_flight = client.in_flight.load(std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = terminal.draw(|f| crate::ui::render(&app, f)) {
            break Err(Error::Config(format!("drawing failed: {e}")));
        }
        if first_frame {
            first_frame = false;
            log(&format!("first frame after {:?}", started.elapsed()));
            #[cfg(debug_assertions)]
            match fault.as_deref() {
                Some("panic-task") => {
                    tokio::spawn(async {
                        panic!("REGTUI_TEST_FAULT=panic-task: panicking on purpose")
                    });
                }
                Some("panic-thread") => {
                    std::thread::spawn(|| {
                        panic!("REGTUI_TEST_FAULT=panic-thread: panicking on purpose")
                    });
                }
                _ => {}
            }
        }
        tokio::select! {
            Some(m) = key_rx.recv() => effects = app.update(m),
            Some(ev) = ev_rx.recv() => {
                effects = app.update(Msg::Client(ev));
                // Drain what queued up meanwhile, then draw once.
                while let Ok(ev) = ev_rx.try_recv() {
                    effects.extend(app.update(Msg::Client(ev)));
                }
            }
            _ = tick.tick() => effects = app.update(Msg::Tick(crate::registry::model::now_unix())),
            _ = sigterm.recv() => break Ok(143),
            _ = sighup.recv() => break Ok(129),
        }
    };
    drop(restore);
    log(&format!("quit after {:?}", started.elapsed()));
    result
}

/// Restores the terminal when dropped: on every return from [`run`] after `ratatui::init`.
struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the mouse back to the terminal and restores it (raw mode, alternate screen).
fn restore() {
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
}

/// Makes a panic anywhere (a spawned task or thread included, which tokio and std would otherwise
/// let the app outlive on a dead screen) restore the terminal, print the message and end the
/// process with code 101. Chains the hook set before (ratatui's, which also restores).
fn exit_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
        std::process::exit(101);
    }));
}

/// Debug builds only, for the end-to-end tests: `REGTUI_TEST_FAULT` makes [`run`] fail on purpose
/// once the terminal is set up. `error`: return an error right after `ratatui::init`;
/// `panic-task`: a tokio task panics after the first frame; `panic-thread`: a thread does.
#[cfg(debug_assertions)]
fn test_fault() -> Option<String> {
    std::env::var("REGTUI_TEST_FAULT").ok()
}
