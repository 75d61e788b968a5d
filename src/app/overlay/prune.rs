//! The cleanup preview, its confirmation, the progress and the summary.

use crossterm::event::KeyCode;

use super::{Key, Reply};
use crate::app::ReqIds;
use crate::app::keymap::Action;
use crate::client_task::{Command, ReqId};
use crate::registry::prune::{Outcome, Plan};

/// Where the cleanup dialog is.
#[derive(Debug, Clone)]
pub enum PruneStage {
    /// The client task is surveying the repository.
    Planning,
    /// The preview, waiting for confirmation.
    Ready(Box<Plan>),
    /// Deleting; results so far.
    Running {
        plan: Box<Plan>,
        done: usize,
        results: Vec<Outcome>,
    },
    /// Finished; every result.
    Done {
        plan: Box<Plan>,
        results: Vec<Outcome>,
    },
    Failed(String),
}

/// The cleanup preview, confirmation, progress and summary.
#[derive(Debug, Clone)]
pub struct PruneDialog {
    pub profile: String,
    pub repo: String,
    pub req: ReqId,
    pub stage: PruneStage,
    /// The Delete button has focus (Cancel is the default).
    pub confirm: bool,
    /// First list line shown.
    pub scroll: usize,
    /// The registry needs garbage collection to return the space (distribution).
    pub gc_note: bool,
}

impl PruneDialog {
    /// While planning, failed or done: Esc/Enter/q close. On the preview: ←/→ choose, Enter
    /// confirms the choice (Cancel first), j/k scroll. Nothing interrupts the deletes.
    pub fn on_key(&mut self, k: Key, ids: &mut ReqIds) -> Option<Reply> {
        let plan = match &self.stage {
            PruneStage::Running { .. } => return None,
            PruneStage::Planning | PruneStage::Failed(_) | PruneStage::Done { .. } => {
                return matches!(
                    k.event.code,
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')
                )
                .then_some(Reply::Close);
            }
            PruneStage::Ready(plan) => plan,
        };
        match k.event.code {
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab => {
                self.confirm = !self.confirm && !plan.is_empty();
            }
            KeyCode::Char('h') => self.confirm = false,
            KeyCode::Char('l') => self.confirm = !plan.is_empty(),
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('n') => return Some(Reply::Close),
            KeyCode::Enter if !self.confirm => return Some(Reply::Close),
            KeyCode::Enter => {
                let plan = plan.clone();
                let req = ids.next();
                self.req = req;
                self.stage = PruneStage::Running {
                    plan: plan.clone(),
                    done: 0,
                    results: Vec::new(),
                };
                return Some(Reply::Send(Command::RunPrune {
                    req,
                    profile: self.profile.clone(),
                    plan,
                }));
            }
            _ => match k.action {
                Some(Action::Down) => self.scroll += 1,
                Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
                _ => {}
            },
        }
        None
    }
}
