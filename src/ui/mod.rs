//! Drawing: `render(app, frame)` lays out the regions and calls one function per region. No I/O.

pub mod cleanup;
pub mod dialogs;
pub mod files;
pub mod help;
pub mod layers;
pub mod manifest;
pub mod promote;
pub mod repos;
pub mod status;
pub mod tags;
pub mod theme;

use ratatui::Frame;
use ratatui::text::Line;

use crate::app::App;
use crate::app::layout::{Pane, areas};
use crate::app::overlay::Overlay;
use theme::Theme;

/// Draws the whole screen from the app state.
pub fn render(app: &App, f: &mut Frame) {
    let t = Theme { color: app.color };
    let area = f.area();
    let focus = app.focus();
    let a = areas(area, focus, app.wants());
    status::header(app, f, a.header, t);
    for (pane, r) in &a.panes {
        let focused = *pane == focus;
        match pane {
            Pane::Repos => repos::render(app, f, *r, focused, t),
            Pane::Tags => tags::render(app, f, *r, focused, t),
            Pane::Manifest => manifest::render(app, f, *r, focused, t),
            Pane::Layers => layers::render(app, f, *r, focused, t),
        }
    }
    status::status(app, f, a.status, t);
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help(h) => help::render(h, f, area, t),
        Overlay::ConfirmDelete(c) => dialogs::confirm_delete(c, f, area, t),
        Overlay::Copy(m) => dialogs::copy_menu(m, f, area, t),
        Overlay::Profiles(p) => dialogs::profiles(app, p.selected, f, area, t),
        Overlay::Login(l) => dialogs::login(l, f, area, t),
        Overlay::Rules(d) => cleanup::rules(d, f, area, t),
        Overlay::Prune(d) => cleanup::prune(d, f, area, t),
        Overlay::Notice(n) => dialogs::notice(app, n, f, area, t),
        Overlay::Search(s) => dialogs::search(s, f, area, t),
        Overlay::Files(v) => files::render(v, f, area, t),
        Overlay::CopyTo(c) => promote::copy(c, f, area, t),
        Overlay::AddTag(a) => promote::add_tag(a, f, area, t),
    }
}

/// `title` made to fit the top border of a box `width` cells wide: its trailing space goes
/// first, then its end, which then shows `…`.
pub fn fit_title(title: &str, width: u16) -> String {
    let room = (width as usize).saturating_sub(2);
    if crate::fmt::width(title) <= room {
        return title.to_string();
    }
    crate::fmt::ellipsize(title.trim_end(), room)
}

/// `3/120` (or `3/12 of 120` when filtered): where the selection is, for a pane's bottom border.
pub fn position(selected: usize, shown: usize, total: usize) -> Line<'static> {
    let text = if shown == 0 {
        String::new()
    } else if shown < total {
        format!(" {}/{shown} of {total} ", selected + 1)
    } else {
        format!(" {}/{shown} ", selected + 1)
    };
    Line::from(text).right_aligned()
}
