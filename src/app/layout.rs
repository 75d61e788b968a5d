//! Where each pane goes for a terminal size and focus (shared by update, for page sizes, and ui).

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// The panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Repos,
    Tags,
    Manifest,
    Layers,
}

/// The screen split into regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub panes: Vec<(Pane, Rect)>,
    pub status: Rect,
}

impl Areas {
    /// The rectangle of a pane, when shown.
    pub fn get(&self, pane: Pane) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }
}

/// Four columns from 160 columns, three from 110, else two around the focused pane.
pub fn areas(area: Rect, focus: Pane) -> Areas {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    let (header, body, status) = (rows[0], rows[1], rows[2]);
    let cols = |c: &[Constraint]| {
        Layout::default()
            .direction(Direction::Horizontal)
            .constraints(c.to_vec())
            .split(body)
    };
    let panes = if area.width >= 160 {
        let c = cols(&[
            Constraint::Percentage(20),
            Constraint::Percentage(32),
            Constraint::Percentage(24),
            Constraint::Percentage(24),
        ]);
        vec![
            (Pane::Repos, c[0]),
            (Pane::Tags, c[1]),
            (Pane::Manifest, c[2]),
            (Pane::Layers, c[3]),
        ]
    } else if area.width >= 110 {
        let c = cols(&[
            Constraint::Percentage(20),
            Constraint::Percentage(42),
            Constraint::Percentage(38),
        ]);
        let right = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(c[2]);
        vec![
            (Pane::Repos, c[0]),
            (Pane::Tags, c[1]),
            (Pane::Manifest, right[0]),
            (Pane::Layers, right[1]),
        ]
    } else {
        let pair = match focus {
            Pane::Repos => (Pane::Repos, Pane::Tags),
            Pane::Tags => (Pane::Tags, Pane::Manifest),
            Pane::Manifest | Pane::Layers => (Pane::Manifest, Pane::Layers),
        };
        // The tags table needs the room when it is the focused (left) pane.
        let c = if pair.0 == Pane::Tags {
            cols(&[Constraint::Percentage(62), Constraint::Percentage(38)])
        } else {
            cols(&[Constraint::Percentage(40), Constraint::Percentage(60)])
        };
        vec![(pair.0, c[0]), (pair.1, c[1])]
    };
    Areas {
        header,
        panes,
        status,
    }
}

/// Rows of list content a pane shows (inside its border, below a header row where it has one).
pub fn list_height(area: Rect, focus: Pane, pane: Pane) -> usize {
    let a = areas(area, focus);
    let h = a.get(pane).map(|r| r.height).unwrap_or(area.height) as usize;
    let chrome = if pane == Pane::Tags { 3 } else { 2 };
    h.saturating_sub(chrome).max(1)
}
