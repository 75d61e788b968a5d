//! regtui: browse and manage container registries from the terminal or scripts.
//!
//! - [`registry`]: the registry client (distribution v2, OCI layouts), auth and credentials.
//! - [`config`]: `config.toml` profiles.
//! - [`cli`]: the command-line interface and its non-interactive subcommands.
//! - [`session`]: from the command line's choice to connected backends (CLI and TUI alike).
//! - [`fmt`]: sizes, dates and texts for display (CLI and UI).
//! - [`sanitize`]: the one sanitizer every registry string passes through before display.

pub mod app;
pub mod cli;
pub mod cli_content;
pub mod client_content;
pub mod client_task;
pub mod clipboard;
pub mod config;
pub mod fmt;
pub mod log;
pub mod registry;
pub mod sanitize;
pub mod session;
pub mod tui;
pub mod ui;
