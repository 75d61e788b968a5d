//! Pane state: repositories, tags (with details and sorting), manifest/layers; list navigation and filtering.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::client_task::ReqId;
use crate::fmt::{Dates, human_size, platform_list};
use crate::registry::model::{Inspection, TagRow};
use crate::registry::ops::natural_cmp;
use crate::registry::prune::Protected;
use crate::registry::referrers::is_artifact_tag;
use crate::registry::table::{Compact, Strings, TagTable};
use crate::sanitize::clean;

/// Loading state of a pane.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LoadState {
    #[default]
    Idle,
    Loading,
    Loaded,
    /// The error text (already user-facing) and a hint.
    Failed(String),
}

/// Selection and scroll position of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListNav {
    pub selected: usize,
    pub offset: usize,
}

impl ListNav {
    /// Moves by `delta` rows within `len`, keeping the selection visible in `height` rows.
    pub fn move_by(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            *self = ListNav::default();
            return;
        }
        let s = (self.selected as isize + delta).clamp(0, len as isize - 1) as usize;
        self.selected = s;
        self.clamp(len, height);
    }

    /// Selects `pos`, keeping it on the same screen row as the selection was (when it can).
    pub fn follow(&mut self, pos: usize, len: usize, height: usize) {
        let row = self.selected.saturating_sub(self.offset);
        self.selected = pos;
        self.offset = pos.saturating_sub(row);
        self.clamp(len, height);
    }

    /// Keeps the selection inside `len` and visible in `height` rows.
    pub fn clamp(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        if len == 0 {
            *self = ListNav::default();
            return;
        }
        self.selected = self.selected.min(len - 1);
        if self.selected < self.offset {
            self.offset = self.selected;
        }
        if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }
}

/// Indices of `items` matching `filter` (fuzzy), best first; all, in order, when empty.
pub fn filter_indices<'a>(items: impl Iterator<Item = &'a str>, filter: &str) -> Vec<usize> {
    if filter.is_empty() {
        return items.enumerate().map(|(i, _)| i).collect();
    }
    let mut matcher = Matcher::new(Config::DEFAULT);
    let pattern = Pattern::parse(filter, CaseMatching::Ignore, Normalization::Smart);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, usize)> = items
        .enumerate()
        .filter_map(|(i, s)| {
            pattern
                .score(Utf32Str::new(s, &mut buf), &mut matcher)
                .map(|score| (score, i))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

/// A tag's platforms as the tags pane lists them: `amd64,arm64` (Linux implied), others whole.
pub fn platforms(row: &TagRow) -> String {
    platform_list(row.platforms.iter().map(|p| p.platform.as_str()))
}

/// The repositories pane.
#[derive(Debug, Clone, Default)]
pub struct ReposPane {
    pub names: Vec<String>,
    pub state: LoadState,
    pub nav: ListNav,
    pub filter: String,
    /// Indices into `names` in display order.
    pub view: Vec<usize>,
    pub req: Option<ReqId>,
    /// Cells of the longest name (for the pane's width).
    pub name_width: usize,
    /// Tag count and bytes per repository, loaded lazily in the background.
    pub sizes: HashMap<String, RepoSize>,
    /// The request loading `sizes`.
    pub sizes_req: Option<ReqId>,
    /// The repositories `sizes_req` asked for, in the order they are sized.
    pub sizes_queue: Vec<String>,
    /// Sizes wait until the repository the user opened has its tag list (a size costs a
    /// tag list too: the registry answers what the user asked for first).
    pub sizes_deferred: bool,
    /// The registry was unreachable: the names are the cached list, seen at this Unix time.
    pub offline: Option<i64>,
}

/// A repository's tag count and distinct bytes, as far as known (the repositories pane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoSize {
    /// Asked for, no answer yet.
    Pending,
    /// Tags, and bytes unless the repository has too many tags to size here.
    Known { tags: usize, bytes: Option<u64> },
    /// Could not be sized (the pane shows a dash).
    Failed,
}

/// Cells the TAGS and SIZE columns of the repositories pane take (` 12345  188M`).
pub const REPO_SIZE_COLUMNS: usize = 12;

/// Repositories sized for the pane at most (each needs its tags and manifests).
pub const MAX_SIZED_REPOS: usize = 1000;

impl ReposPane {
    /// Repositories still without a size (or waiting for one), rows in view (`h` rows from the scroll offset) first,
    /// then the rest of the filtered view, at most [`MAX_SIZED_REPOS`] in all.
    pub fn unsized_in_view_order(&self, h: usize) -> Vec<String> {
        let start = self.nav.offset.min(self.view.len());
        let order = self.view[start..]
            .iter()
            .take(h)
            .chain(self.view[..start].iter())
            .chain(self.view[start..].iter().skip(h));
        order
            .map(|i| &self.names[*i])
            // Pending ones too: a new request replaces (and cancels) the one they wait for.
            .filter(|n| matches!(self.sizes.get(*n), None | Some(RepoSize::Pending)))
            .take(MAX_SIZED_REPOS)
            .cloned()
            .collect()
    }

    /// Whether any repository has a size to show (the pane then has its columns).
    pub fn has_sizes(&self) -> bool {
        !self.sizes.is_empty()
    }

    /// Recomputes the filtered view (and the widest name).
    pub fn refilter(&mut self) {
        self.view = filter_indices(self.names.iter().map(String::as_str), &self.filter);
        self.name_width = self
            .names
            .iter()
            .map(|n| crate::fmt::width(&clean(n)))
            .max()
            .unwrap_or(0);
    }

    /// The selected repository.
    pub fn selected(&self) -> Option<&str> {
        self.view
            .get(self.nav.selected)
            .map(|i| self.names[*i].as_str())
    }
}

/// Details of one tag as far as known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    Pending,
    Loaded(TagRow),
    Failed(String),
}

/// Where the rows of the tags pane stand against the registry, when they came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Shown from the cache; the registry is being asked again.
    Refreshing,
    /// Every row was checked against the registry.
    Current,
    /// The registry is unreachable: the rows are the cached ones.
    Offline,
}

/// The cached rows' age and where revalidation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheMark {
    /// Unix time the cached list was seen.
    pub seen: i64,
    pub state: Freshness,
    /// The head of the list is shown while the whole list (this many rows) is read.
    pub reading: Option<usize>,
}

impl CacheMark {
    /// `cached 3 h ago · refreshing`, `current`, `offline · cached 3 h ago`.
    pub fn label(&self, now: i64) -> String {
        let age = match crate::fmt::short_relative(self.seen, now).as_str() {
            "now" => "just now".to_string(),
            a => format!(
                "{} ago",
                a.replace('m', " min").replace('h', " h").replace('d', " d")
            ),
        };
        match self.state {
            Freshness::Refreshing if self.reading.is_some() => format!(
                "cached {age} · reading {} rows",
                self.reading.unwrap_or_default()
            ),
            Freshness::Refreshing => format!("cached {age} · refreshing"),
            Freshness::Current => "current".into(),
            Freshness::Offline => format!("offline · cached {age}"),
        }
    }
}

/// How tags are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Newest first; unknown dates last.
    #[default]
    Created,
    /// Natural order (v1.9 before v1.10).
    Name,
    /// Largest first.
    Size,
}

impl SortKey {
    /// The next key in the `s` cycle.
    pub fn next(self) -> Self {
        match self {
            SortKey::Created => SortKey::Name,
            SortKey::Name => SortKey::Size,
            SortKey::Size => SortKey::Created,
        }
    }
    /// Shown in the pane title.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Created => "newest first",
            SortKey::Name => "by name",
            SortKey::Size => "largest first",
        }
    }
}

/// What the tags pane knows of one tag, kept compact (see [`crate::registry::table`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Pending,
    /// Asked for with the tag list (the first screen of a repository opened cold): on its way,
    /// not to be asked for again.
    Coming,
    Loaded(Compact),
    Failed(Box<str>),
}

/// How many of `slots` are [`Slot::Coming`].
fn count_coming(slots: &[Slot]) -> usize {
    slots.iter().filter(|s| matches!(s, Slot::Coming)).count()
}

/// The tags pane. Rows live in vectors aligned with `names` (kept in natural order, so a
/// tag's position is a binary search away), their strings interned: 100,000 detailed rows
/// take a few tens of MB.
#[derive(Debug, Clone, Default)]
pub struct TagsPane {
    pub repo: Option<String>,
    /// In natural order, each once; shared with the client task's copy (no clone of 100,000
    /// names on the way).
    pub names: Arc<[String]>,
    /// Per name, its details as far as known.
    slots: Vec<Slot>,
    /// The strings the loaded rows point into.
    strings: Strings,
    pub state: LoadState,
    pub sort: SortKey,
    pub view: Vec<usize>,
    pub nav: ListNav,
    pub filter: String,
    /// Show the `sha256-…` signature/SBOM/attestation tags (hidden by default).
    pub show_artifacts: bool,
    pub list_req: Option<ReqId>,
    pub details_req: Option<ReqId>,
    /// How many loaded tags point at each digest, by the digest's index in `strings` (for the
    /// shared-digest marker).
    per_digest: Vec<u32>,
    /// Tags marked for cleanup.
    pub marked: BTreeSet<String>,
    /// The tag last toggled with space: one end of a `V` range.
    pub anchor: Option<String>,
    /// The selection stays on the top row while details stream in and rows reorder, until the
    /// user moves it (then it follows its tag, on the same screen row).
    pub pinned: bool,
    /// After a reload the user did not ask for (tags added, an image copied here): the tag to
    /// select again once it is listed, so the next key acts where the user was.
    pub reselect: Option<String>,
    /// Cells of the longest name, the widest size and platform list (for column widths).
    pub widths: (usize, usize, usize),
    /// Signed / SBOM / attested badges per digest (see `app::badges`).
    pub badges: HashMap<String, super::badges::Badges>,
    /// Badges from the referrers of manifests opened (they win over the tag names).
    pub known_referrers: HashMap<String, super::badges::Badges>,
    /// Sort keys aligned with `names` (see [`TagsPane::key`]).
    keys: Vec<(i64, u64)>,
    /// Set when the rows came from the persistent cache: their age and revalidation state.
    pub cache: Option<CacheMark>,
    /// Per name: its row came from the cache and was not checked against the registry yet.
    stale: Vec<bool>,
    /// How many `stale` are set.
    stale_count: usize,
    /// The registry's own tag list arrived (the cached names were replaced by it).
    pub fresh_list: bool,
    /// How many rows are [`Slot::Coming`].
    coming: usize,
    /// The names are the head of the list (its first screen): the whole list follows.
    pub partial: bool,
}

impl TagsPane {
    /// Position of `tag` in `names`.
    fn pos(&self, tag: &str) -> Option<usize> {
        self.names.binary_search_by(|n| natural_cmp(n, tag)).ok()
    }

    /// Whether `tag` is listed.
    pub fn has(&self, tag: &str) -> bool {
        self.pos(tag).is_some()
    }

    /// Rows whose details arrived (loaded or failed).
    pub fn done(&self) -> usize {
        self.slots
            .iter()
            .filter(|r| !matches!(r, Slot::Pending | Slot::Coming))
            .count()
    }

    /// Marks `tags` as on their way (their details come with the list's request).
    pub fn mark_coming(&mut self, tags: &[String]) {
        for t in tags {
            if let Some(i) = self.pos(t) {
                if matches!(self.slots[i], Slot::Pending) {
                    self.slots[i] = Slot::Coming;
                    self.coming += 1;
                }
            }
        }
    }

    /// How many rows wait for details that come with the list's request.
    pub fn coming(&self) -> usize {
        self.coming
    }

    /// Whether details are on their way (asked for, or coming with the list).
    pub fn details_loading(&self) -> bool {
        self.details_req.is_some() || self.coming > 0
    }

    fn loaded(&self, tag: &str) -> Option<&Compact> {
        match self.slots.get(self.pos(tag)?) {
            Some(Slot::Loaded(c)) => Some(c),
            _ => None,
        }
    }

    /// The loaded details of a tag (made whole from the compact form).
    pub fn row(&self, tag: &str) -> Option<TagRow> {
        Some(self.loaded(tag)?.row(tag, &self.strings))
    }

    /// What is known of a tag (`None` when it is not listed).
    pub fn row_state(&self, tag: &str) -> Option<RowState> {
        Some(match self.slots.get(self.pos(tag)?)? {
            Slot::Pending | Slot::Coming => RowState::Pending,
            Slot::Loaded(c) => RowState::Loaded(c.row(tag, &self.strings)),
            Slot::Failed(e) => RowState::Failed(e.to_string()),
        })
    }

    /// The digest a loaded tag points at.
    pub fn digest_of(&self, tag: &str) -> Option<&str> {
        Some(self.loaded(tag)?.digest(&self.strings))
    }

    /// Whether another loaded tag points at the same digest as `tag`.
    pub fn shares_digest(&self, tag: &str) -> bool {
        self.loaded(tag).is_some_and(|c| {
            self.per_digest
                .get(c.digest_id() as usize)
                .is_some_and(|n| *n > 1)
        })
    }

    /// The selected tag name.
    pub fn selected(&self) -> Option<&str> {
        self.view
            .get(self.nav.selected)
            .and_then(|i| self.names.get(*i))
            .map(String::as_str)
    }

    /// Other loaded tags on the same digest as `tag`.
    pub fn siblings(&self, tag: &str) -> Vec<String> {
        let Some(d) = self.loaded(tag).map(Compact::digest_id) else {
            return vec![];
        };
        // `names` is in natural order already.
        self.names
            .iter()
            .zip(&self.slots)
            .filter(|(t, r)| *t != tag && matches!(r, Slot::Loaded(x) if x.digest_id() == d))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Every cached row was checked (or none came from the cache).
    pub fn none_stale(&self) -> bool {
        self.stale_count == 0
    }

    /// Marks every row as cached and not checked yet.
    pub fn mark_all_stale(&mut self) {
        self.stale = vec![true; self.names.len()];
        self.stale_count = self.names.len();
    }

    /// Forgets which rows were unchecked (the registry cannot be asked).
    pub fn clear_stale(&mut self) {
        self.stale = vec![false; self.names.len()];
        self.stale_count = 0;
    }

    /// Clears the unchecked mark of `tag`; returns whether it was set.
    pub fn take_stale(&mut self, tag: &str) -> bool {
        let Some(i) = self.pos(tag) else {
            return false;
        };
        let was = std::mem::replace(&mut self.stale[i], false);
        if was {
            self.stale_count -= 1;
        }
        was
    }

    /// Replaces the tag list (sorted naturally, deduplicated); new tags start pending, known
    /// ones keep their rows.
    pub fn set_names(&mut self, names: Vec<String>, height: usize) {
        self.set_list(crate::registry::table::natural_names(names).into(), height);
    }

    /// [`TagsPane::set_names`] with a shared list (taken as it is when in natural order).
    pub fn set_list(&mut self, names: Arc<[String]>, height: usize) {
        let names = crate::registry::table::natural_list(names);
        // The same list again (the registry's over the cached one, unchanged): nothing to redo.
        if names == self.names && self.slots.len() == names.len() {
            return;
        }
        // The selected tag, read before the names change under the view's indexes.
        let keep = self.selected().map(str::to_string);
        if self.slots.is_empty() {
            // Nothing to carry over (a repository opened cold).
            self.slots = std::iter::repeat_with(|| Slot::Pending)
                .take(names.len())
                .collect();
            self.stale = vec![false; names.len()];
            self.stale_count = 0;
            self.coming = 0;
            self.names = names;
            return self.renamed(keep, height);
        }
        // Both lists are in natural order: one merge walk carries each known row over.
        let old: Vec<(Slot, bool)> = std::mem::take(&mut self.slots)
            .into_iter()
            .zip(std::mem::take(&mut self.stale))
            .collect();
        let (slots, stale): (Vec<Slot>, Vec<bool>) =
            crate::registry::table::carry_over(&self.names, old, &names)
                .into_iter()
                .map(|x| x.unwrap_or((Slot::Pending, false)))
                .unzip();
        // Rows still coming (with the list request the pane waits for) stay so.
        self.coming = count_coming(&slots);
        self.names = names;
        self.slots = slots;
        self.stale_count = stale.iter().filter(|s| **s).count();
        self.stale = stale;
        self.renamed(keep, height);
    }

    /// What follows new names and slots: marks of tags gone dropped, badges, widths, keys and
    /// counts made again, the view re-sorted (selecting `keep` when still there).
    fn renamed(&mut self, keep: Option<String>, height: usize) {
        self.marked
            .retain(|t| self.names.binary_search_by(|n| natural_cmp(n, t)).is_ok());
        self.view.clear();
        self.rebadge();
        self.rewidth();
        self.rekey();
        self.recount();
        self.resort_keeping(keep, height);
    }

    /// Moves the selection by `delta` rows (the user did: it is no longer pinned to the top).
    pub fn move_by(&mut self, delta: isize, height: usize) {
        self.pinned = false;
        self.reselect = None;
        self.nav.move_by(delta, self.view.len(), height);
    }

    /// Selects the row at `pos` of the view (a click).
    pub fn select(&mut self, pos: usize, height: usize) {
        self.pinned = false;
        self.reselect = None;
        self.nav.selected = pos;
        self.nav.clamp(self.view.len(), height);
    }

    /// Drops tags (after a delete) and re-sorts. The selection stays on its tag when that tag
    /// stays, else on the row that takes its place (the last row when the list got shorter).
    pub fn remove(&mut self, gone: &[String], height: usize) {
        let keep = self.selected().map(str::to_string);
        let gone: std::collections::HashSet<&str> = gone.iter().map(String::as_str).collect();
        let n = self.names.len();
        let drop: Vec<bool> = self
            .names
            .iter()
            .map(|t| gone.contains(t.as_str()))
            .collect();
        let mut it = drop.iter();
        self.names = self
            .names
            .iter()
            .filter(|_| !*it.next().unwrap_or(&false))
            .cloned()
            .collect();
        let mut it = drop.iter();
        self.slots.retain(|_| !*it.next().unwrap_or(&false));
        self.coming = count_coming(&self.slots);
        let mut it = drop.iter();
        self.stale.retain(|_| !*it.next().unwrap_or(&false));
        debug_assert_eq!(self.names.len() + drop.iter().filter(|d| **d).count(), n);
        self.stale_count = self.stale.iter().filter(|s| **s).count();
        for t in &gone {
            self.marked.remove(*t);
        }
        if self.anchor.as_deref().is_some_and(|a| gone.contains(a)) {
            self.anchor = None;
        }
        // The old view holds indices into the old names: drop it before anything reads it.
        self.view.clear();
        self.rebadge();
        self.rekey();
        self.recount();
        self.resort_keeping(keep, height);
    }

    /// A row's sort keys in 16 bytes: the date in Unix nanoseconds (`i64::MIN` when unknown)
    /// and the size plus one (0 while unknown), so unknowns sort last under "newest first" and
    /// "largest first".
    fn key(c: &Compact) -> (i64, u64) {
        (c.date_nanos().unwrap_or(i64::MIN), c.size.saturating_add(1))
    }

    fn key_of(row: &Slot) -> (i64, u64) {
        match row {
            Slot::Loaded(c) => Self::key(c),
            _ => (i64::MIN, 0),
        }
    }

    fn rekey(&mut self) {
        self.keys = self.slots.iter().map(Self::key_of).collect();
    }

    /// The service's own lock on `tag` (`TagRow::locked`), once its details are loaded.
    pub fn lock_of(&self, tag: &str) -> Option<&str> {
        self.loaded(tag)?.locked()
    }

    /// When a loaded tag was last pulled (see [`TagRow::pulled`]).
    pub fn pulled_of(&self, tag: &str) -> Option<Option<Option<&str>>> {
        Some(self.loaded(tag)?.pulled())
    }

    /// Marks or unmarks `tag`; a protected or locked tag is refused with the reason.
    pub fn toggle_mark(&mut self, tag: &str, protected: &Protected) -> Result<(), String> {
        if !self.marked.remove(tag) {
            if protected.covers(tag) {
                return Err(format!("{tag} is protected (protected_tags)"));
            }
            if let Some(lock) = self.lock_of(tag) {
                return Err(format!("{tag} is locked by the registry: {lock}"));
            }
            self.marked.insert(tag.to_string());
        }
        self.anchor = Some(tag.to_string());
        Ok(())
    }

    /// Marks every unprotected tag between the anchor and the selection (as shown); returns how many.
    pub fn mark_range(&mut self, protected: &Protected) -> usize {
        let pos_of = |t: &str| self.view.iter().position(|i| self.names[*i] == t);
        let Some(a) = self.anchor.as_deref().and_then(pos_of) else {
            return 0;
        };
        let b = self.nav.selected.min(self.view.len().saturating_sub(1));
        let (lo, hi) = (a.min(b), a.max(b));
        let mut n = 0;
        for i in lo..=hi.min(self.view.len().saturating_sub(1)) {
            let t = &self.names[self.view[i]];
            if !protected.covers(t) && self.lock_of(t).is_none() && self.marked.insert(t.clone()) {
                n += 1;
            }
        }
        n
    }

    /// Inverts the marks of the tags shown (the filter applies); protected tags stay unmarked.
    pub fn invert_marks(&mut self, protected: &Protected) {
        for i in &self.view {
            let t = &self.names[*i];
            if !self.marked.remove(t) && !protected.covers(t) && self.lock_of(t).is_none() {
                self.marked.insert(t.clone());
            }
        }
    }

    /// Bytes of the marked tags whose details are loaded, each blob (config, layer) counted
    /// once; rows a provider sized without naming blobs count once per manifest.
    pub fn marked_size(&self) -> u64 {
        crate::registry::table::distinct_bytes(self.marked.iter().filter_map(|t| self.loaded(t)))
    }

    /// `(tag, date)` of every tag, for retention rules (unknown while details load); a tag the
    /// service locks is left out, so rules never mark it.
    pub fn dates(&self) -> Vec<(String, Option<i64>)> {
        self.names
            .iter()
            .zip(&self.slots)
            .filter_map(|(t, s)| match s {
                Slot::Loaded(c) if c.locked().is_some() => None,
                Slot::Loaded(c) => Some((t.clone(), c.date())),
                _ => Some((t.clone(), None)),
            })
            .collect()
    }

    /// How many `sha256-…` artifact tags the view hides.
    pub fn hidden_artifacts(&self) -> usize {
        if self.show_artifacts {
            0
        } else {
            self.names.iter().filter(|t| is_artifact_tag(t)).count()
        }
    }

    /// Counts `c` in the digest counts, `by` up or down.
    fn count(&mut self, c: &Compact, up: bool) {
        let d = c.digest_id() as usize;
        if self.per_digest.len() <= d {
            self.per_digest.resize(self.strings.len().max(d + 1), 0);
        }
        let n = &mut self.per_digest[d];
        *n = if up { *n + 1 } else { n.saturating_sub(1) };
    }

    /// Widens the size and platform columns for a row.
    fn widen(&mut self, c: &Compact) {
        let (size, plats) = crate::fmt::row_widths(std::iter::once(c), &self.strings);
        self.widths.1 = self.widths.1.max(size);
        self.widths.2 = self.widths.2.max(plats);
    }

    /// Records a tag's details and moves just that row to its sorted place (no full re-sort).
    pub fn set_row(&mut self, tag: &str, row: RowState, height: usize) {
        let Some(i) = self.pos(tag) else {
            return;
        };
        let slot = match row {
            RowState::Pending => Slot::Pending,
            RowState::Loaded(r) => Slot::Loaded(Compact::of(&r, &mut self.strings)),
            RowState::Failed(e) => Slot::Failed(e.into()),
        };
        match std::mem::replace(&mut self.slots[i], Slot::Pending) {
            Slot::Loaded(old) => self.count(&old, false),
            Slot::Coming => self.coming -= 1,
            _ => {}
        }
        if let Slot::Loaded(c) = &slot {
            let c = c.clone();
            self.count(&c, true);
            self.widen(&c);
        }
        self.keys[i] = Self::key_of(&slot);
        self.slots[i] = slot;
        if !self.filter.is_empty()
            || self.sort == SortKey::Name
            || (!self.show_artifacts && is_artifact_tag(tag))
        {
            return;
        }
        let keep = self.view.get(self.nav.selected).copied();
        let before = |x: &usize| self.cmp(*x, i) == std::cmp::Ordering::Less;
        match self.view.iter().position(|x| *x == i) {
            Some(pos) => {
                // Its place among the others (which stay sorted), then a rotation of just the
                // rows between: no shift of the whole view per row.
                let (left, right) = (&self.view[..pos], &self.view[pos + 1..]);
                let at = if left.last().is_some_and(|x| !before(x)) {
                    left.partition_point(before)
                } else {
                    pos + right.partition_point(before)
                };
                if at < pos {
                    self.view[at..=pos].rotate_right(1);
                } else {
                    self.view[pos..=at].rotate_left(1);
                }
            }
            None => {
                let at = self.view.partition_point(before);
                self.view.insert(at, i);
            }
        }
        self.place(keep, height);
    }

    /// After a reorder: the top row when pinned, else `keep` (a name index) on its screen row.
    fn place(&mut self, keep: Option<usize>, height: usize) {
        let again = self.reselect.as_ref().and_then(|t| {
            let k = self.pos(t)?;
            self.view.iter().position(|x| *x == k)
        });
        if let Some(p) = again {
            self.nav.follow(p, self.view.len(), height.max(1));
        } else if self.pinned {
            self.nav = ListNav::default();
        } else if let Some(p) = keep.and_then(|k| self.view.iter().position(|x| *x == k)) {
            self.nav.follow(p, self.view.len(), height.max(1));
        }
        self.nav.clamp(self.view.len(), height);
    }

    /// What the width columns assume for the date (see [`Dates::forms`]).
    pub fn date_widths(dates: Dates) -> Vec<usize> {
        match dates {
            Dates::Relative => vec![17, 13, 4],
            Dates::Absolute => vec![16, 10],
        }
    }

    /// The widths of the table's content under `dates`.
    pub fn column_widths(&self, dates: Dates) -> crate::app::layout::TagWidths {
        crate::app::layout::TagWidths {
            name: self.widths.0,
            size: self.widths.1,
            platforms: self.widths.2,
            dates: Self::date_widths(dates),
        }
    }

    /// Order of two name indices under the current sort key.
    fn cmp(&self, a: usize, b: usize) -> std::cmp::Ordering {
        let (ka, kb) = (&self.keys[a], &self.keys[b]);
        // `names` is kept in natural order, so its indexes compare as the names do.
        let by_name = || a.cmp(&b);
        match self.sort {
            SortKey::Name => by_name(),
            SortKey::Created => kb.0.cmp(&ka.0).then_with(by_name),
            SortKey::Size => kb.1.cmp(&ka.1).then_with(by_name),
        }
    }

    /// Replaces the list by a table of cached rows. Prepared off the UI thread
    /// ([`TagTable::prepare`]), its vectors move in whole and the default view needs no sort.
    pub fn load_table(&mut self, mut t: TagTable, height: usize) {
        let p = match t.prepared.take() {
            Some(p) => p,
            None => {
                t.prepare();
                t.prepared.take().unwrap_or_default()
            }
        };
        let TagTable {
            names,
            rows,
            strings,
            ..
        } = t;
        let keep = self.selected().map(str::to_string);
        self.strings = strings;
        self.per_digest = p.per_digest;
        self.per_digest.resize(self.strings.len(), 0);
        self.widths.1 = self.widths.1.max(p.widths.0);
        self.widths.2 = self.widths.2.max(p.widths.1);
        self.keys = rows.iter().map(Self::key).collect();
        self.slots = rows.into_iter().map(Slot::Loaded).collect();
        self.stale = vec![false; names.len()];
        self.stale_count = 0;
        self.coming = 0;
        self.names = names.into();
        self.marked
            .retain(|t| self.names.binary_search_by(|n| natural_cmp(n, t)).is_ok());
        self.rebadge();
        self.rewidth();
        if self.sort == SortKey::Created
            && self.filter.is_empty()
            && !self.show_artifacts
            && p.newest_first.len() <= self.names.len()
        {
            // The prepared view is what resort would make.
            self.view = p.newest_first;
            let keep = keep.and_then(|k| self.pos(&k));
            self.place(keep, height);
        } else {
            // The old view holds indices into the old names.
            self.view.clear();
            self.resort_keeping(keep, height);
        }
    }

    /// Recomputes the digest counts.
    fn recount(&mut self) {
        self.per_digest = vec![0; self.strings.len()];
        for s in &self.slots {
            if let Slot::Loaded(c) = s {
                self.per_digest[c.digest_id() as usize] += 1;
            }
        }
    }

    /// Re-sorts and re-filters, keeping the selected tag selected.
    pub fn resort(&mut self, height: usize) {
        let keep = self.selected().map(str::to_string);
        self.resort_keeping(keep, height);
    }

    /// Re-sorts and re-filters, selecting `keep` when it is still shown.
    fn resort_keeping(&mut self, keep: Option<String>, height: usize) {
        if self.keys.len() != self.names.len() {
            self.rekey();
        }
        let mut idx = filter_indices(self.names.iter().map(String::as_str), &self.filter);
        if !self.show_artifacts {
            idx.retain(|i| !is_artifact_tag(&self.names[*i]));
        }
        if self.filter.is_empty() {
            idx.sort_by(|a, b| self.cmp(*a, *b));
        }
        self.view = idx;
        let keep = keep.and_then(|k| self.pos(&k));
        self.place(keep, height);
    }

    /// Checks the pane's invariants (used by tests after every step): the view holds distinct
    /// indices of existing names, the selection and offset lie inside it, and the vectors agree.
    pub fn check_invariants(&self, height: usize) -> Result<(), String> {
        let n = self.names.len();
        if let Some(i) = self.view.iter().find(|i| **i >= n) {
            return Err(format!("view index {i} outside {n} names"));
        }
        let distinct: std::collections::HashSet<&usize> = self.view.iter().collect();
        if distinct.len() != self.view.len() {
            return Err("view lists a row twice".into());
        }
        if self.view.is_empty() {
            if self.nav != ListNav::default() {
                return Err(format!("empty view but nav {:?}", self.nav));
            }
        } else {
            if self.nav.selected >= self.view.len() {
                return Err(format!(
                    "selected {} outside {} rows",
                    self.nav.selected,
                    self.view.len()
                ));
            }
            if self.nav.selected < self.nav.offset
                || self.nav.selected >= self.nav.offset + height.max(1)
            {
                return Err(format!("selection not visible: {:?}", self.nav));
            }
        }
        if self.keys.len() != n || self.slots.len() != n || self.stale.len() != n {
            return Err("sort keys, rows or stale marks out of step with names".into());
        }
        if !self
            .names
            .is_sorted_by(|a, b| natural_cmp(a, b) == std::cmp::Ordering::Less)
        {
            return Err("names not in natural order".into());
        }
        if self.marked.iter().any(|t| !self.has(t)) {
            return Err("a marked tag is not in the list".into());
        }
        // Rows placed one at a time (set_row) keep the view as a full sort would.
        if self.filter.is_empty()
            && !self
                .view
                .windows(2)
                .all(|w| self.cmp(w[0], w[1]) != std::cmp::Ordering::Greater)
        {
            return Err(format!("view out of {:?} order", self.sort));
        }
        if count_coming(&self.slots) != self.coming {
            return Err("coming count out of step with the rows".into());
        }
        Ok(())
    }

    /// Tags still without details: those in view (from `offset`, `height` rows) first, then the rest.
    pub fn pending_in_view_order(&self, height: usize) -> Vec<String> {
        let pending = |i: &&usize| matches!(self.slots[**i], Slot::Pending) || self.stale[**i];
        let start = self.nav.offset.min(self.view.len());
        let end = (start + height).min(self.view.len());
        let mut out: Vec<String> = self.view[start..end]
            .iter()
            .filter(pending)
            .map(|i| self.names[*i].clone())
            .collect();
        out.extend(
            self.view[..start]
                .iter()
                .chain(self.view[end..].iter())
                .filter(pending)
                .map(|i| self.names[*i].clone()),
        );
        // Tags the filter hides come last (they still load, for sorting and rules).
        if self.view.len() < self.names.len() {
            let mut shown = vec![false; self.names.len()];
            for i in &self.view {
                shown[*i] = true;
            }
            out.extend(
                (0..self.names.len())
                    .filter(|i| !shown[*i])
                    .filter(|i| pending(&i))
                    .map(|i| self.names[i].clone()),
            );
        }
        out
    }

    /// Whether a row in view (from `offset`, `height` rows) still waits for its details.
    pub fn pending_in_view(&self, height: usize) -> bool {
        self.view
            .iter()
            .skip(self.nav.offset)
            .take(height)
            .any(|i| matches!(self.slots[*i], Slot::Pending))
    }
}

/// The manifest pane (and the layers/config pane, which shows the same inspection).
#[derive(Debug, Clone, Default)]
pub struct ManifestPane {
    /// (repository, reference, label shown in the breadcrumb)
    pub target: Option<(String, String, String)>,
    pub state: LoadState,
    pub data: Option<Box<Inspection>>,
    /// Pretty-printed manifest JSON, one entry per line.
    pub lines: Vec<String>,
    pub scroll: usize,
    /// Selection in an index's platform list.
    pub platforms: ListNav,
    pub layers_scroll: usize,
    pub req: Option<ReqId>,
    /// The index this platform manifest was opened from.
    pub parent: Option<Box<ManifestPane>>,
}

/// One line of the layers/config pane, already wrapped to the pane's width.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoLine {
    /// `key        value`; the key is empty on a continuation line.
    Field {
        key: &'static str,
        text: String,
    },
    Blank,
    Heading(String),
    /// A layer: its size, its share of the image, and the start of the command that made it.
    Layer {
        size: String,
        share: f64,
        text: String,
    },
    /// The rest of a layer's command, under its start.
    More(String),
    Note(&'static str),
}

/// Cells of a field's key column.
pub const KEY_WIDTH: usize = 11;
/// Cells before a layer's command: size, bar, share.
pub const LAYER_PREFIX: usize = 27;

impl ManifestPane {
    /// The layers/config pane's lines for `width` cells (registry text sanitized, then wrapped).
    pub fn info_lines(&self, now: i64, dates: Dates, width: usize) -> Vec<InfoLine> {
        let Some(d) = &self.data else {
            return vec![];
        };
        let mut out = Vec::new();
        let field = |out: &mut Vec<InfoLine>, key: &'static str, v: &str| {
            let text = clean(v);
            for (i, piece) in crate::fmt::wrap(&text, width.saturating_sub(KEY_WIDTH))
                .into_iter()
                .enumerate()
            {
                let key = if i == 0 { key } else { "" };
                out.push(InfoLine::Field { key, text: piece });
            }
        };
        if let Some(c) = &d.config {
            let created = match c.created.as_deref() {
                Some(s) => match crate::registry::model::unix_seconds(s) {
                    Some(secs) => match dates {
                        Dates::Relative => format!(
                            "{} ({})",
                            crate::fmt::timestamp(s),
                            crate::fmt::relative_time(secs, now)
                        ),
                        Dates::Absolute => format!(
                            "{} UTC ({})",
                            crate::fmt::utc_minute(secs),
                            crate::fmt::relative_time(secs, now)
                        ),
                    },
                    None => s.to_string(),
                },
                None => "-".into(),
            };
            field(&mut out, "created", &created);
            field(&mut out, "platform", &c.platform());
            if !c.entrypoint.is_empty() {
                field(&mut out, "entrypoint", &c.entrypoint.join(" "));
            }
            if !c.cmd.is_empty() {
                field(&mut out, "cmd", &c.cmd.join(" "));
            }
            if let Some(w) = &c.working_dir {
                field(&mut out, "workdir", w);
            }
            if let Some(u) = &c.user {
                field(&mut out, "user", u);
            }
            if !c.exposed_ports.is_empty() {
                field(&mut out, "ports", &c.exposed_ports.join(", "));
            }
            for e in &c.env {
                field(&mut out, "env", e);
            }
            for (k, v) in &c.labels {
                field(&mut out, "label", &format!("{k}={v}"));
            }
        } else if d.platforms.len() > 1 {
            out.push(InfoLine::Note(
                "an index: open a platform to see its layers",
            ));
        }
        if !d.layers.is_empty() {
            let total = crate::registry::model::sum_sizes(d.layers.iter().map(|l| l.size)).max(1);
            out.push(InfoLine::Blank);
            out.push(InfoLine::Heading(crate::fmt::plural(
                d.layers.len(),
                "layer",
            )));
            for l in &d.layers {
                let cmd = clean(l.created_by.as_deref().unwrap_or(""));
                let mut pieces =
                    crate::fmt::wrap(&cmd, width.saturating_sub(LAYER_PREFIX)).into_iter();
                out.push(InfoLine::Layer {
                    size: human_size(l.size),
                    share: l.size as f64 / total as f64,
                    text: pieces.next().unwrap_or_default(),
                });
                out.extend(pieces.map(InfoLine::More));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nav_stays_in_bounds_and_visible() {
        let mut n = ListNav::default();
        n.move_by(5, 3, 10);
        assert_eq!(n.selected, 2);
        n.move_by(-10, 3, 10);
        assert_eq!(n.selected, 0);
        let mut n = ListNav::default();
        n.move_by(25, 100, 10);
        assert_eq!((n.selected, n.offset), (25, 16));
        n.move_by(-20, 100, 10);
        assert_eq!((n.selected, n.offset), (5, 5));
    }

    #[test]
    fn a_new_list_keeps_the_selected_tag_selected() {
        let mut p = TagsPane::default();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        p.set_names(names(&["a", "c", "e"]), 20);
        p.move_by(1, 20);
        assert_eq!(p.selected(), Some("c"));
        // Tags added before it: the selection follows "c", not its old row.
        p.set_names(names(&["a", "b", "c", "d", "e"]), 20);
        assert_eq!(p.selected(), Some("c"));
    }

    #[test]
    fn incremental_placement_matches_a_full_sort() {
        let mut p = TagsPane::default();
        let names: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
        p.set_names(names.clone(), 20);
        p.nav.selected = 7;
        let selected = p.selected().unwrap().to_string();
        for (n, i) in names.iter().zip((0..200u64).map(|i| (i * 7919) % 200)) {
            let row = TagRow {
                locked: None,
                pulled: None,
                tag: n.clone(),
                digest: format!("sha256:{i:064x}"),
                media_type: String::new(),
                size: (i * 31) % 17,
                created: (i % 5 != 0).then(|| format!("2024-01-{:02}T00:00:00Z", 1 + i % 28)),
                pushed: None,
                platforms: vec![],
                blobs: vec![],
            };
            p.set_row(n, RowState::Loaded(row), 20);
        }
        assert_eq!(
            p.selected(),
            Some(selected.as_str()),
            "selection follows its tag"
        );
        let incremental = p.view.clone();
        p.resort(20);
        assert_eq!(incremental, p.view);
        p.sort = SortKey::Size;
        p.resort(20);
        let sizes: Vec<u64> = p
            .view
            .iter()
            .map(|i| p.row(&p.names[*i]).unwrap().size)
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
    }

    /// A small deterministic generator (xorshift), so the property test needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn row(tag: &str, i: u64) -> TagRow {
        TagRow {
            locked: None,
            pulled: None,
            tag: tag.to_string(),
            digest: format!("sha256:{:064x}", i % 7),
            media_type: String::new(),
            size: (i * 31) % 17,
            created: (i % 3 != 0).then(|| format!("2024-01-{:02}T00:00:00Z", 1 + i % 28)),
            pushed: None,
            platforms: vec![],
            blobs: vec![],
        }
    }

    #[test]
    fn cached_rows_load_as_names_then_rows_would() {
        // Out of order, one tag twice, over a pane that showed another repository.
        let tags = ["v1.10", "v1.9", "latest", "v1.9", "b", "a10", "a9"];
        let rows: Vec<TagRow> = tags
            .iter()
            .enumerate()
            .map(|(i, t)| row(t, i as u64))
            .collect();
        for sort in [SortKey::Created, SortKey::Name, SortKey::Size] {
            let mut old = TagsPane {
                sort,
                ..TagsPane::default()
            };
            old.set_names(vec!["gone".into(), "b".into()], 3);
            old.marked.insert("gone".into());
            old.marked.insert("b".into());
            let mut new = old.clone();
            let names = rows.iter().map(|r| r.tag.clone()).collect();
            old.set_names(names, 3);
            for r in &rows {
                old.set_row(&r.tag, RowState::Loaded(r.clone()), 3);
            }
            old.resort(3);
            new.load_table(TagTable::from_rows(&rows), 3);
            new.check_invariants(3).unwrap();
            assert_eq!(new.names, old.names);
            assert_eq!(*new.names, ["a9", "a10", "b", "latest", "v1.9", "v1.10"]);
            for t in new.names.iter() {
                assert_eq!(new.row_state(t), old.row_state(t), "{t}");
                assert_eq!(new.shares_digest(t), old.shares_digest(t), "{t}");
            }
            assert_eq!(new.view, old.view);
            assert_eq!(new.widths, old.widths);
            assert_eq!(new.marked, old.marked);
            // The selected tag stays selected.
            assert_eq!(new.selected(), Some("b"));
            // The same list again changes nothing.
            let before = new.view.clone();
            new.set_names(new.names.to_vec(), 3);
            assert_eq!(new.view, before);
            new.check_invariants(3).unwrap();
        }
    }

    #[test]
    fn deleting_the_selected_last_row_keeps_the_selection_inside() {
        // The crash of issue #9: the only tag removed, and the last row removed while selected.
        let mut p = TagsPane::default();
        p.set_names(vec!["only".into()], 10);
        p.remove(&["only".to_string()], 10);
        assert_eq!(p.selected(), None);
        p.check_invariants(10).unwrap();
        let names: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        p.set_names(names.clone(), 3);
        p.sort = SortKey::Name;
        p.resort(3);
        p.nav.move_by(10, 5, 3);
        assert_eq!(p.selected(), Some("t4"));
        p.remove(&["t3".to_string(), "t4".to_string()], 3);
        assert_eq!(p.selected(), Some("t2"), "the row that takes its place");
        p.check_invariants(3).unwrap();
        p.marked = names
            .iter()
            .filter(|t| *t != "t3" && *t != "t4")
            .cloned()
            .collect();
        p.remove(&names, 3);
        p.check_invariants(3).unwrap();
        assert!(p.view.is_empty() && p.marked.is_empty());
    }

    #[test]
    fn selection_never_leaves_the_rows_under_random_steps() {
        let pool: Vec<String> = (0..40)
            .map(|i| match i % 4 {
                0 => format!("v1.{i}"),
                1 => format!("build-{i}"),
                2 => format!("nightly-{i}"),
                _ => format!("pr-{i}"),
            })
            .collect();
        let filters = ["", "v1", "build", "1", "zz", "n"];
        for seed in 1..=60u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut p = TagsPane::default();
            let mut height = 1 + rng.below(12);
            for step in 0..300 {
                match rng.below(9) {
                    0 => {
                        let n = rng.below(pool.len());
                        let names = (0..n)
                            .map(|_| pool[rng.below(pool.len())].clone())
                            .collect();
                        p.set_names(names, height);
                    }
                    1 => {
                        if !p.names.is_empty() {
                            let t = p.names[rng.below(p.names.len())].clone();
                            if rng.below(5) == 0 {
                                // On its way with the list (then loaded like any other).
                                p.mark_coming(std::slice::from_ref(&t));
                                continue;
                            }
                            let r = if rng.below(4) == 0 {
                                RowState::Failed("x".into())
                            } else {
                                RowState::Loaded(row(&t, rng.next() % 1000))
                            };
                            p.set_row(&t, r, height);
                        }
                    }
                    2 => {
                        p.filter = filters[rng.below(filters.len())].to_string();
                        p.resort(height);
                    }
                    3 => {
                        p.sort = p.sort.next();
                        p.resort(height);
                    }
                    4 => {
                        let d = rng.below(30) as isize - 15;
                        p.nav.move_by(d, p.view.len(), height);
                    }
                    5 | 6 => {
                        // Removal of a random subset, often including the selection.
                        let mut gone: Vec<String> = p
                            .names
                            .iter()
                            .filter(|_| rng.below(3) == 0)
                            .cloned()
                            .collect();
                        if let Some(s) = p.selected() {
                            if rng.below(2) == 0 {
                                gone.push(s.to_string());
                            }
                        }
                        p.remove(&gone, height);
                    }
                    7 => {
                        if let Some(s) = p.selected().map(str::to_string) {
                            let _ = p.toggle_mark(&s, &Protected::default());
                        }
                        if rng.below(2) == 0 {
                            p.invert_marks(&Protected(vec!["pr-*".into()]));
                        }
                        p.mark_range(&Protected::default());
                    }
                    _ => {
                        height = 1 + rng.below(12);
                        p.nav.clamp(p.view.len(), height);
                    }
                }
                if let Err(e) = p.check_invariants(height) {
                    panic!("seed {seed} step {step}: {e}");
                }
                let _ = p.pending_in_view_order(height);
            }
        }
    }

    #[test]
    fn fuzzy_filter_ranks_matches() {
        let items = [
            "team/app/api",
            "team/app/web",
            "tools/busybox",
            "library/hello",
        ];
        let v = filter_indices(items.iter().copied(), "tapi");
        assert_eq!(v.first(), Some(&0));
        assert!(!v.contains(&2));
        assert_eq!(filter_indices(items.iter().copied(), "").len(), 4);
    }
}
