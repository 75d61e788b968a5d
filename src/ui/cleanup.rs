//! Cleanup dialogs: the rules form and the preview / progress / summary.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};

use super::dialogs::{button, centered, frame};
use super::theme::Theme;
use crate::app::overlay::{PruneDialog, PruneStage, RuleDialog};
use crate::fmt::{GC_AFTER_PRUNE, human_size, plural};
use crate::registry::digest::short;
use crate::registry::prune::{Outcome, Plan};
use crate::sanitize::clean;

/// The rules form: four fields (five where the registry records pulls), how many tags they
/// would mark, Apply.
pub fn rules(d: &RuleDialog, f: &mut Frame, area: Rect, t: Theme) {
    let n = d.field_count();
    let r = centered(area, 72, 6 + n as u16);
    let inner = frame(f, r, "Mark by rules", t);
    let mut constraints = vec![Constraint::Length(1); n + 3];
    constraints.push(Constraint::Min(0));
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints(constraints)
        .split(inner);
    for (i, label) in RuleDialog::LABELS.iter().take(n).enumerate() {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Length(28), Constraint::Min(1)])
            .split(rows[i]);
        let style = if d.field == i { t.accent() } else { t.dim() };
        f.render_widget(Paragraph::new(Line::styled(*label, style)), cols[0]);
        if d.field == i {
            let mut ta = d.fields[i].clone();
            ta.set_cursor_line_style(Default::default());
            f.render_widget(&ta, cols[1]);
        } else {
            let v = d.fields[i].lines().join("");
            let shown = if v.is_empty() {
                "-".to_string()
            } else {
                clean(&v).into_owned()
            };
            f.render_widget(Paragraph::new(shown), cols[1]);
        }
    }
    if !d.pull_dates {
        // Said, not offered: the registry keeps no pull dates to choose by.
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Length(28), Constraint::Min(1)])
            .split(rows[n]);
        f.render_widget(
            Paragraph::new(Line::styled("unpulled for", t.dim())),
            cols[0],
        );
        f.render_widget(
            Paragraph::new(Line::styled("not recorded by this registry", t.dim())),
            cols[1],
        );
    }
    let msg = match &d.error {
        Some(e) => Line::styled(clean(e).into_owned(), t.error()),
        None => Line::styled(
            format!(
                "would mark {}; protected tags are never marked",
                plural(d.would_mark, "tag")
            ),
            t.ok(),
        ),
    };
    f.render_widget(Paragraph::new(msg), rows[n + 1]);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            button("Apply", d.field == d.apply_index(), t),
            Span::styled(
                "  Tab moves · Enter applies on Apply · Esc cancels",
                t.dim(),
            ),
        ])),
        rows[n + 2],
    );
    f.render_widget(
        Paragraph::new(Line::styled(
            "dates: pushed where the registry records it, else created",
            t.dim(),
        ))
        .wrap(Wrap { trim: true }),
        rows[n + 3],
    );
}

/// One line per plan item, as in `regtui prune`'s preview.
fn plan_lines(p: &Plan, t: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for d in &p.delete {
        out.push(Line::from(vec![
            Span::styled("delete ", t.error()),
            Span::raw(format!(
                "{}  {}  {}",
                short(&d.digest),
                human_size(d.size),
                clean(&d.tags.join(", "))
            )),
        ]));
    }
    for u in &p.untag {
        let why = u.why();
        out.push(Line::from(vec![
            Span::styled("untag  ", t.warn()),
            Span::raw(format!("{}  ({})", clean(&u.tag), clean(&why))),
        ]));
    }
    for s in &p.skipped {
        out.push(Line::from(vec![
            Span::styled("skip   ", t.dim()),
            Span::raw(format!("{}: {}", clean(&s.tag), clean(&s.reason))),
        ]));
    }
    out
}

fn outcome_line(o: &Outcome, t: Theme) -> Line<'static> {
    let (mark, style, text) = match o {
        Outcome::Untagged { tag, .. } => ("✓ untagged ", t.ok(), tag.clone()),
        Outcome::Deleted { digest, tags } => (
            "✓ deleted  ",
            t.ok(),
            format!("{} ({})", short(digest), tags.join(", ")),
        ),
        Outcome::Skipped { what, reason } => ("– skipped  ", t.warn(), format!("{what}: {reason}")),
        Outcome::Failed { what, error } => ("✗ failed   ", t.error(), format!("{what}: {error}")),
        Outcome::Unknown { what, error } => ("? unknown  ", t.warn(), format!("{what}: {error}")),
    };
    Line::from(vec![
        Span::styled(mark, style),
        Span::raw(clean(&text).into_owned()),
    ])
}

/// Header lines, list lines, progress (done, total), footer.
type Parts = (
    Vec<Line<'static>>,
    Vec<Line<'static>>,
    Option<(usize, usize)>,
    Line<'static>,
);

/// The cleanup dialog at each stage.
pub fn prune(d: &PruneDialog, f: &mut Frame, area: Rect, t: Theme) {
    let (head, body, gauge, foot): Parts = match &d.stage {
        PruneStage::Planning => (
            vec![Line::styled(
                "checking every tag, digest and blob of the repository, then whether other \
                 repositories use its blobs…",
                t.accent(),
            )],
            vec![],
            None,
            Line::styled("Esc closes (nothing is deleted)", t.dim()),
        ),
        PruneStage::Failed(e) => (
            vec![Line::styled(clean(e).into_owned(), t.error())],
            vec![],
            None,
            Line::styled("nothing was deleted · Esc closes", t.dim()),
        ),
        PruneStage::Ready(p) => {
            let tags = p.untag.len() + p.delete.iter().map(|x| x.tags.len()).sum::<usize>();
            let head = vec![
                Line::raw(format!(
                    "{} go: {} deleted, {} untagged only; {} stay",
                    plural(tags, "tag"),
                    plural(p.delete.len(), "manifest"),
                    plural(p.untag.len(), "tag"),
                    plural(p.kept.len(), "tag")
                )),
                Line::styled(
                    clean(&p.gc.frees_text(p.bytes_freed)).into_owned(),
                    if p.gc.exact { t.ok() } else { t.warn() },
                ),
                Line::styled(
                    format!(
                        "{} stays, shared with remaining images",
                        human_size(p.bytes_shared)
                    ),
                    t.dim(),
                ),
            ];
            let mut head = head;
            let shared = p.gc.shared_text();
            if !shared.is_empty() {
                head.push(Line::styled(clean(&shared).into_owned(), t.dim()));
            }
            if let Some(line) = p.orphans_text() {
                head.push(Line::styled(clean(&line).into_owned(), t.warn()));
            }
            let foot = if p.is_empty() {
                Line::styled("nothing to delete · Esc closes", t.dim())
            } else {
                Line::from(vec![
                    button("Cancel", !d.confirm, t),
                    Span::raw(" "),
                    button(&format!("Delete {}", plural(p.len(), "item")), d.confirm, t),
                    Span::styled("  ←/→ choose · Enter confirm · j/k scroll", t.dim()),
                ])
            };
            (head, plan_lines(p, t), None, foot)
        }
        PruneStage::Running {
            plan,
            done,
            results,
        } => (
            vec![Line::styled(
                format!(
                    "deleting {}; each tag is resolved again first",
                    plural(plan.len(), "item")
                ),
                t.accent(),
            )],
            results.iter().map(|o| outcome_line(o, t)).collect(),
            Some((*done, plan.len())),
            Line::styled("deletes are never interrupted or retried", t.dim()),
        ),
        PruneStage::Done { plan, results } => {
            let ok = results.iter().filter(|o| o.ok()).count();
            let mut head = vec![Line::styled(
                format!(
                    "done: {ok} of {} succeeded; {} skipped or failed; {} to be freed",
                    results.len(),
                    results.len() - ok,
                    human_size(plan.bytes_deleted(results))
                ),
                if ok == results.len() {
                    t.ok()
                } else {
                    t.warn()
                },
            )];
            if d.gc_note {
                head.push(Line::styled(GC_AFTER_PRUNE, t.dim()));
            }
            (
                head,
                results.iter().map(|o| outcome_line(o, t)).collect(),
                Some((results.len(), results.len())),
                Line::styled("Enter or Esc closes", t.dim()),
            )
        }
    };
    // As tall as the content, at most the screen minus a margin.
    let want = head.len() + 1 + body.len().max(1) + 1 + 1 + 2;
    let r = centered(
        area,
        100,
        (want as u16).min(area.height.saturating_sub(2)).max(8),
    );
    let inner = frame(f, r, &format!("Clean up {}", clean(&d.repo)), t);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(head.len() as u16 + 1),
            Constraint::Min(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .split(inner);
    f.render_widget(Paragraph::new(head).wrap(Wrap { trim: true }), rows[0]);
    let h = rows[1].height as usize;
    let start = d.scroll.min(body.len().saturating_sub(h));
    let shown: Vec<Line> = body.into_iter().skip(start).take(h).collect();
    f.render_widget(Paragraph::new(shown), rows[1]);
    if let Some((done, total)) = gauge {
        let ratio = if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        };
        f.render_widget(
            Gauge::default()
                .gauge_style(t.accent())
                .ratio(ratio.clamp(0.0, 1.0))
                .label(format!("{done}/{total}")),
            rows[2],
        );
    }
    f.render_widget(Paragraph::new(foot), rows[3]);
}
