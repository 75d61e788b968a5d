//! The mouse: a click focuses a pane and selects the row under it, a double click opens it, the
//! wheel scrolls the pane under the pointer (or the open dialog).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::keymap::Action;
use super::layout::Pane;
use super::overlay::Key;
use super::{App, Click, Effect};

/// Longest gap between the clicks of a double click.
const DOUBLE_CLICK_MS: u64 = 400;
/// Rows one wheel step moves.
const WHEEL_ROWS: isize = 3;

impl App {
    pub(super) fn on_mouse(&mut self, m: MouseEvent, at: u64) -> Vec<Effect> {
        let down = match m.kind {
            MouseEventKind::ScrollUp => -WHEEL_ROWS,
            MouseEventKind::ScrollDown => WHEEL_ROWS,
            MouseEventKind::Down(MouseButton::Left) => return self.click(m.column, m.row, at),
            _ => return vec![],
        };
        if self.overlay.is_open() {
            // The wheel scrolls the dialog as ↑/↓ would.
            let (code, action) = if down > 0 {
                (KeyCode::Down, Action::Down)
            } else {
                (KeyCode::Up, Action::Up)
            };
            let ev = KeyEvent::new(code, KeyModifiers::NONE);
            return self.on_overlay_key(Key {
                event: &ev,
                action: Some(action),
            });
        }
        match self.areas().at(m.column, m.row) {
            Some((pane, _)) => self.move_in(pane, down, false),
            None => vec![],
        }
    }

    fn click(&mut self, x: u16, y: u16, at: u64) -> Vec<Effect> {
        if self.overlay.is_open() || !matches!(self.input, super::Input::None) {
            return vec![];
        }
        let last = self.last_click.take();
        let double =
            last.filter(|c| c.x == x && c.y == y && at.saturating_sub(c.at) <= DOUBLE_CLICK_MS);
        if let Some(c) = double {
            // The first click may have moved the panes (two-pane layouts follow the focus):
            // open what that click selected.
            self.view_mut().focus = Some(c.pane);
            return if c.row.is_some() {
                self.enter()
            } else {
                vec![]
            };
        }
        let Some((pane, rect)) = self.areas().at(x, y) else {
            return vec![];
        };
        self.messages.toast = None;
        let row = self.row_at(pane, rect, y);
        self.view_mut().focus = Some(pane);
        let area = self.area();
        let v = self.view_mut();
        let h = v.height(area, pane);
        match (pane, row) {
            (Pane::Repos, Some(r)) => {
                v.repos.nav.selected = r;
                v.repos.nav.clamp(v.repos.view.len(), h);
            }
            (Pane::Tags, Some(r)) => v.tags.select(r, h),
            (Pane::Manifest, Some(r)) => v.manifest.platforms.selected = r,
            _ => {}
        }
        self.last_click = Some(Click {
            x,
            y,
            at,
            pane,
            row,
        });
        vec![]
    }

    /// The list row under screen line `y` of a pane drawn in `rect`, if there is one.
    fn row_at(&self, pane: Pane, rect: Rect, y: u16) -> Option<usize> {
        let v = self.view();
        // Lines above the first row: the border, and the header of the tags table; in the
        // manifest pane, type / digest / size and the "platforms" heading.
        let (skip, offset, len) = match pane {
            Pane::Repos => (1, v.repos.nav.offset, v.repos.view.len()),
            Pane::Tags => (2, v.tags.nav.offset, v.tags.view.len()),
            Pane::Manifest => {
                let n = v
                    .manifest
                    .data
                    .as_ref()
                    .map(|d| d.platforms.len())
                    .unwrap_or(0);
                if n < 2 {
                    return None;
                }
                (5, 0, n)
            }
            Pane::Layers => return None,
        };
        let line = y.checked_sub(rect.y + skip)? as usize;
        if y + 1 >= rect.bottom() {
            return None;
        }
        let row = offset + line;
        (row < len).then_some(row)
    }
}
