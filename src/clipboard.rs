//! Copying to the clipboard: OSC 52 through the terminal (works over SSH and in tmux) and the local clipboard.

use std::io::Write;
use std::process::{Command, Stdio};

/// Which clipboards to use (config key `clipboard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// OSC 52, plus the local clipboard when a display is available.
    #[default]
    Auto,
    /// Only OSC 52.
    Osc52,
    /// Only the local clipboard (wl-copy, xclip, xsel, pbcopy).
    Local,
    /// Copy nothing.
    Off,
}

/// Something that can take text.
pub trait Clipboard {
    /// Copies `text`; returns where it went (for the toast), or an error text.
    fn copy(&mut self, text: &str) -> Result<String, String>;
}

/// The real clipboard: writes OSC 52 to `out` and pipes into a local tool when there is a display.
pub struct System<W: Write> {
    pub mode: Mode,
    pub out: W,
}

fn local_tools() -> Vec<(&'static str, &'static [&'static str])> {
    let mut v: Vec<(&'static str, &'static [&'static str])> = Vec::new();
    if std::env::var_os("WAYLAND_DISPLAY").is_some() {
        v.push(("wl-copy", &[]));
    }
    if std::env::var_os("DISPLAY").is_some() {
        v.push(("xclip", &["-selection", "clipboard"]));
        v.push(("xsel", &["--clipboard", "--input"]));
    }
    if cfg!(target_os = "macos") {
        v.push(("pbcopy", &[]));
    }
    v
}

fn copy_local(text: &str) -> Option<&'static str> {
    for (tool, args) in local_tools() {
        let child = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut c) = child {
            if let Some(mut stdin) = c.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            if c.wait().map(|s| s.success()).unwrap_or(false) {
                return Some(tool);
            }
        }
    }
    None
}

/// The OSC 52 sequence that sets the clipboard to `text`.
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "\u{1b}]52;c;{}\u{7}",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

impl<W: Write> Clipboard for System<W> {
    fn copy(&mut self, text: &str) -> Result<String, String> {
        let mut went = Vec::new();
        if matches!(self.mode, Mode::Auto | Mode::Osc52) {
            self.out
                .write_all(osc52(text).as_bytes())
                .and_then(|_| self.out.flush())
                .map_err(|e| format!("OSC 52 failed: {e}"))?;
            went.push("terminal (OSC 52)".to_string());
        }
        if matches!(self.mode, Mode::Auto | Mode::Local) {
            if let Some(tool) = copy_local(text) {
                went.push(format!("local clipboard ({tool})"));
            } else if self.mode == Mode::Local {
                return Err("no local clipboard tool (wl-copy, xclip, xsel) or no display".into());
            }
        }
        if went.is_empty() {
            return Err("clipboard is off (clipboard = \"off\")".into());
        }
        Ok(went.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_osc52() {
        let mut c = System {
            mode: Mode::Osc52,
            out: Vec::new(),
        };
        assert_eq!(c.copy("sha256:abc").unwrap(), "terminal (OSC 52)");
        assert_eq!(
            String::from_utf8(c.out).unwrap(),
            "\u{1b}]52;c;c2hhMjU2OmFiYw==\u{7}"
        );
        let mut off = System {
            mode: Mode::Off,
            out: Vec::new(),
        };
        assert!(off.copy("x").is_err());
    }
}
