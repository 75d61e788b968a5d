//! Where each pane goes for a terminal size, focus and content (shared by update, for page sizes
//! and mouse clicks, and by ui), and how the tags table shares its width between columns.

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

    /// The pane under a cell, if any.
    pub fn at(&self, x: u16, y: u16) -> Option<(Pane, Rect)> {
        self.panes
            .iter()
            .find(|(_, r)| x >= r.x && x < r.right() && y >= r.y && y < r.bottom())
            .copied()
    }
}

/// How wide the list panes would like to be: their content and borders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wants {
    pub repos: u16,
    /// The tags table with every column at its richest (wide screens).
    pub tags: u16,
    /// The tags table without platforms and with a plain date (two panes side by side).
    pub tags_plain: u16,
}

/// `want` within `lo..=hi` (`hi` wins when they cross).
fn fit(want: u16, lo: u16, hi: u16) -> u16 {
    want.max(lo).min(hi)
}

/// Four columns from 160 columns, three from 110, else two around the focused pane. The list
/// panes take the width their content wants (within bounds); the manifest and layers get the rest.
pub fn areas(area: Rect, focus: Pane, wants: Wants) -> Areas {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    let (header, body, status) = (rows[0], rows[1], rows[2]);
    let w = body.width;
    let pct = |p: u16| (u32::from(w) * u32::from(p) / 100) as u16;
    let cols = |c: &[Constraint]| {
        Layout::default()
            .direction(Direction::Horizontal)
            .constraints(c.to_vec())
            .split(body)
    };
    let panes = if area.width >= 160 {
        // Up to a fifth: room for names with their TAGS and SIZE columns.
        let repos = fit(wants.repos, 16, pct(20));
        let tags = fit(wants.tags, 40, pct(40));
        let rest = w.saturating_sub(repos + tags);
        let c = cols(&[
            Constraint::Length(repos),
            Constraint::Length(tags),
            Constraint::Length(rest * 9 / 20),
            Constraint::Fill(1),
        ]);
        vec![
            (Pane::Repos, c[0]),
            (Pane::Tags, c[1]),
            (Pane::Manifest, c[2]),
            (Pane::Layers, c[3]),
        ]
    } else if area.width >= 110 {
        let repos = fit(wants.repos, 14, pct(25));
        let tags = fit(wants.tags, 36, pct(55));
        let c = cols(&[
            Constraint::Length(repos),
            Constraint::Length(tags),
            Constraint::Fill(1),
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
        let left = match pair.0 {
            Pane::Repos => fit(wants.repos, 14, pct(40)),
            // The tags table needs the room when it is the focused (left) pane.
            Pane::Tags => fit(wants.tags_plain, pct(55), pct(72)),
            _ => pct(40),
        };
        let c = cols(&[Constraint::Length(left), Constraint::Fill(1)]);
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
    let a = areas(area, focus, Wants::default());
    let h = a.get(pane).map(|r| r.height).unwrap_or(area.height) as usize;
    let chrome = if pane == Pane::Tags { 3 } else { 2 };
    h.saturating_sub(chrome).max(1)
}

/// Widths of what the tags table would show, in cells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagWidths {
    /// The longest tag name.
    pub name: usize,
    /// The widest size (`1021.85 KiB`).
    pub size: usize,
    /// The widest platform list (0: none known).
    pub platforms: usize,
    /// Width of each date form, widest first (see [`crate::fmt::Dates::forms`]).
    pub dates: Vec<usize>,
}

/// The full digest column: 12 characters and the shared-digest mark.
pub const DIGEST_FULL: usize = 13;
/// The short digest column: 8 characters and the mark.
pub const DIGEST_SHORT: usize = 9;
/// The widest platform list shown before it is cut.
pub const PLATFORMS_MAX: usize = 24;

/// How the tags table uses its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagColumns {
    /// Mark, name (and the shared mark when there is no digest column).
    pub name: usize,
    /// 0 (none), [`DIGEST_SHORT`] or [`DIGEST_FULL`].
    pub digest: usize,
    pub size: usize,
    /// Which date form (index into the widths) and its width.
    pub date_form: usize,
    pub date: usize,
    /// 0 when the column is not shown.
    pub platforms: usize,
}

impl TagColumns {
    /// Cells the columns take with one space between them.
    pub fn total(&self) -> usize {
        let cols = [self.name, self.digest, self.size, self.date, self.platforms];
        let shown = cols.iter().filter(|w| **w > 0).count();
        cols.iter().sum::<usize>() + shown.saturating_sub(1)
    }
}

/// Shares `avail` cells between the tag columns. The name is cut last: first the date becomes
/// shorter, the digest 8 characters, the date shorter still, then PLATFORMS and the digest go,
/// and only then is the name cut (with `…`).
pub fn tag_columns(avail: usize, w: &TagWidths) -> TagColumns {
    let header = |h: usize, v: usize| h.max(v);
    let last_date = w.dates.len().saturating_sub(1);
    let date_w = |i: usize| header(7, w.dates.get(i).copied().unwrap_or(1));
    let mut c = TagColumns {
        name: 1 + w.name.max(3),
        digest: DIGEST_FULL,
        size: header(4, w.size),
        date_form: 0,
        date: date_w(0),
        platforms: if w.platforms > 0 {
            header(9, w.platforms.min(PLATFORMS_MAX))
        } else {
            0
        },
    };
    let steps: [&dyn Fn(&mut TagColumns); 5] = [
        &|c| {
            c.date_form = 1.min(last_date);
            c.date = date_w(c.date_form);
        },
        &|c| c.digest = DIGEST_SHORT,
        &|c| {
            c.date_form = last_date;
            c.date = date_w(last_date);
        },
        &|c| c.platforms = 0,
        &|c| {
            c.digest = 0;
            c.name += 1;
        },
    ];
    for step in steps {
        if c.total() <= avail {
            return c.widen(avail, w);
        }
        step(&mut c);
    }
    if c.total() > avail {
        let others = c.total() - c.name;
        c.name = avail.saturating_sub(others).max(5);
    }
    c
}

impl TagColumns {
    /// Gives back what fits of the room left over: a longer date first, then the full digest.
    fn widen(mut self, avail: usize, w: &TagWidths) -> Self {
        let date_w = |i: usize| 7.max(w.dates.get(i).copied().unwrap_or(1));
        for form in (0..self.date_form).rev() {
            let wider = TagColumns {
                date_form: form,
                date: date_w(form),
                ..self
            };
            if wider.total() <= avail {
                self = wider;
            }
        }
        if self.digest == DIGEST_SHORT {
            let wider = TagColumns {
                digest: DIGEST_FULL,
                ..self
            };
            if wider.total() <= avail {
                self = wider;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(name: usize) -> TagWidths {
        TagWidths {
            name,
            size: 11,
            platforms: 18,
            dates: vec![17, 13, 4],
        }
    }

    #[test]
    fn the_name_is_cut_last() {
        // 80x24, tags focused: a 20-character tag shows whole.
        let a = areas(
            Rect::new(0, 0, 80, 24),
            Pane::Tags,
            Wants {
                repos: 16,
                tags: 90,
                tags_plain: 70,
            },
        );
        let inner = a.get(Pane::Tags).unwrap().width as usize - 2;
        let c = tag_columns(inner, &widths(20));
        assert_eq!(c.name, 21, "{c:?} in {inner}");
        assert!(c.digest > 0 && c.total() <= inner, "{c:?} in {inner}");
        // Narrower: the digest and platforms go before the name is cut.
        let c = tag_columns(42, &widths(20));
        assert_eq!((c.digest, c.platforms), (0, 0), "{c:?}");
        assert_eq!(c.name, 22, "mark, name, shared mark: {c:?}");
        let c = tag_columns(30, &widths(20));
        assert!(c.name < 21 && c.total() <= 30, "{c:?}");
        // Room left once PLATFORMS went is given back to the date (then the digest).
        let short_names = TagWidths {
            name: 6,
            size: 9,
            platforms: 14,
            dates: vec![17, 13, 4],
        };
        let c = tag_columns(45, &short_names);
        assert_eq!((c.platforms, c.date_form), (0, 0), "{c:?}");
        let c = tag_columns(41, &short_names);
        assert_eq!((c.platforms, c.date_form), (0, 1), "{c:?}");
        // Wide: everything, the richest date form.
        let c = tag_columns(200, &widths(20));
        assert_eq!((c.digest, c.date_form), (DIGEST_FULL, 0));
        assert!(c.platforms > 0);
    }

    #[test]
    fn panes_follow_their_content_and_platforms_show_from_120_columns() {
        let wants = Wants {
            repos: 18,
            tags: 2 + tag_columns(usize::MAX, &widths(10)).total() as u16,
            tags_plain: 50,
        };
        for (w, h) in [(120, 30), (160, 48), (200, 50)] {
            let a = areas(Rect::new(0, 0, w, h), Pane::Repos, wants);
            assert_eq!(a.get(Pane::Repos).unwrap().width, 18, "{w}");
            let tags = a.get(Pane::Tags).unwrap().width as usize - 2;
            assert!(tag_columns(tags, &widths(10)).platforms > 0, "{w}: {tags}");
        }
        let a = areas(Rect::new(0, 0, 200, 50), Pane::Repos, wants);
        let layers = a.get(Pane::Layers).unwrap().width;
        assert!(
            layers >= 50,
            "the rest goes to manifest and layers: {layers}"
        );
        let a = areas(Rect::new(0, 0, 10, 5), Pane::Tags, wants);
        assert!(a.panes.iter().all(|(_, r)| r.right() <= 10));
    }
}
