//! The layers/config pane: config summary, then each layer's size, share of the total, and the command that made it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::Theme;
use crate::app::App;
use crate::fmt::relative_time;
use crate::registry::model::unix_seconds;
use crate::sanitize::clean;

fn bar(share: f64, width: usize) -> String {
    let full = (share * width as f64).round() as usize;
    let mut s = "█".repeat(full.min(width));
    s.push_str(&"·".repeat(width - full.min(width)));
    s
}

/// Draws config and layers of the manifest in view.
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let m = &app.view().manifest;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(" Layers · config ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(d) = &m.data else {
        f.render_widget(
            Paragraph::new(Line::styled("no image selected", t.dim())),
            inner,
        );
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<11}"), t.dim()),
            Span::raw(clean(&v).into_owned()),
        ])
    };
    if let Some(c) = &d.config {
        let created = match c.created.as_deref() {
            Some(s) => match unix_seconds(s) {
                Some(secs) => format!("{s} ({})", relative_time(secs, app.now)),
                None => s.to_string(),
            },
            None => "-".into(),
        };
        lines.push(kv("created", created));
        lines.push(kv("platform", c.platform()));
        if !c.entrypoint.is_empty() {
            lines.push(kv("entrypoint", c.entrypoint.join(" ")));
        }
        if !c.cmd.is_empty() {
            lines.push(kv("cmd", c.cmd.join(" ")));
        }
        if let Some(w) = &c.working_dir {
            lines.push(kv("workdir", w.clone()));
        }
        if let Some(u) = &c.user {
            lines.push(kv("user", u.clone()));
        }
        if !c.exposed_ports.is_empty() {
            lines.push(kv("ports", c.exposed_ports.join(", ")));
        }
        for e in &c.env {
            lines.push(kv("env", e.clone()));
        }
        for (k, v) in &c.labels {
            lines.push(kv("label", format!("{k}={v}")));
        }
    } else if d.platforms.len() > 1 {
        lines.push(Line::styled(
            "an index: open a platform to see its layers",
            t.dim(),
        ));
    }
    if !d.layers.is_empty() {
        let total: u64 = crate::registry::model::sum_sizes(d.layers.iter().map(|l| l.size)).max(1);
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("{} layers", d.layers.len()),
            t.accent(),
        ));
        for l in &d.layers {
            let share = l.size as f64 / total as f64;
            lines.push(Line::from(vec![
                Span::raw(format!("{:>10} ", crate::fmt::human_size(l.size))),
                Span::styled(bar(share, 10), t.accent()),
                Span::raw(format!(" {:>3.0}% ", share * 100.0)),
                Span::raw(clean(l.created_by.as_deref().unwrap_or("")).into_owned()),
            ]));
        }
    }
    f.render_widget(
        Paragraph::new(lines).scroll((m.layers_scroll as u16, 0)),
        inner,
    );
}
