//! Tag rows kept compact (issue 12: 100,000 detailed rows in well under 100 MB): every digest,
//! media type, platform and date is one shared string, and a row is a few indexes into them.
//! The tags pane holds its rows this way, and the store loads a cached list straight into it.

use std::collections::HashMap;
use std::sync::Arc;

use super::model::{PlatformEntry, TagRow, unix_nanos};

/// No string (an absent date).
const NONE: u32 = u32::MAX;

/// Nanoseconds as i64 (dates outside 1678–2261 keep their order's ends).
fn clamp(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

/// Interned strings: each distinct string is kept once and named by its index.
#[derive(Debug, Clone, Default)]
pub struct Strings {
    ids: HashMap<Arc<str>, u32>,
    all: Vec<Arc<str>>,
}

impl Strings {
    /// The index of `s`, adding it when new.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(i) = self.ids.get(s) {
            return *i;
        }
        let i = self.all.len() as u32;
        let a: Arc<str> = Arc::from(s);
        self.all.push(a.clone());
        self.ids.insert(a, i);
        i
    }

    /// The string of index `i` (empty for an index it never gave out).
    pub fn get(&self, i: u32) -> &str {
        self.all.get(i as usize).map(|s| &**s).unwrap_or("")
    }

    /// The string of index `i`, shared.
    pub fn arc(&self, i: u32) -> Arc<str> {
        self.all
            .get(i as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }

    /// How many distinct strings are kept.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether no string is kept.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Every string in index order (a stored table's form).
    pub fn to_vec(&self) -> Vec<String> {
        self.all.iter().map(|s| s.to_string()).collect()
    }

    /// The strings of a stored table, in its order (so its indexes stay valid); `None` when
    /// one is listed twice (two indexes for one digest would hide that tags share it).
    pub fn from_vec(v: Vec<String>) -> Option<Strings> {
        let mut s = Strings {
            ids: HashMap::with_capacity(v.len()),
            all: Vec::with_capacity(v.len()),
        };
        for x in v {
            let a: Arc<str> = Arc::from(x);
            let i = s.all.len() as u32;
            s.all.push(a.clone());
            if s.ids.insert(a, i).is_some() {
                return None;
            }
        }
        Some(s)
    }
}

/// `(platform, digest, size)` of each platform: most images have one, kept inline.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Platforms {
    One([(u32, u32, u64); 1]),
    Many(Box<[(u32, u32, u64)]>),
}

impl Platforms {
    fn of(v: Vec<(u32, u32, u64)>) -> Platforms {
        match v[..] {
            [one] => Platforms::One([one]),
            _ => Platforms::Many(v.into()),
        }
    }

    fn get(&self) -> &[(u32, u32, u64)] {
        match self {
            Platforms::One(p) => p,
            Platforms::Many(p) => p,
        }
    }
}

/// What few rows have: the service's lock and the last pull.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rare {
    locked: Option<Box<str>>,
    pulled: Option<Option<Box<str>>>,
}

/// One tag's details (a [`TagRow`] without its name), its strings as indexes into a
/// [`Strings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compact {
    digest: u32,
    media: u32,
    /// See [`TagRow::size`].
    pub size: u64,
    created: u32,
    pushed: u32,
    /// [`TagRow::date_nanos`], worked out once (as i64: years 1678 to 2261, the rest clamped).
    date: Option<i64>,
    platforms: Platforms,
    blobs: Box<[(u32, u64)]>,
    rare: Option<Box<Rare>>,
}

impl Compact {
    /// `r` with its strings interned in `s`.
    pub fn of(r: &TagRow, s: &mut Strings) -> Compact {
        let mut opt = |v: &Option<String>| v.as_deref().map_or(NONE, |x| s.id(x));
        let (created, pushed) = (opt(&r.created), opt(&r.pushed));
        Compact {
            digest: s.id(&r.digest),
            media: s.id(&r.media_type),
            size: r.size,
            created,
            pushed,
            date: r.date_nanos().map(clamp),
            platforms: Platforms::of(
                r.platforms
                    .iter()
                    .map(|p| (s.id(&p.platform), s.id(&p.digest), p.size))
                    .collect(),
            ),
            blobs: r.blobs.iter().map(|(d, n)| (s.id(d), *n)).collect(),
            rare: (r.locked.is_some() || r.pulled.is_some()).then(|| {
                Box::new(Rare {
                    locked: r.locked.as_deref().map(Box::from),
                    pulled: r.pulled.as_ref().map(|p| p.as_deref().map(Box::from)),
                })
            }),
        }
    }

    /// A row read from the store: `digest`, `media` and the platforms' and blobs' strings are
    /// indexes into `s` already (checked here: `None` when one is out of range).
    #[allow(clippy::too_many_arguments)]
    pub fn stored(
        s: &mut Strings,
        digest: u32,
        media: u32,
        size: u64,
        created: Option<String>,
        pushed: Option<String>,
        platforms: Vec<(u32, u32, u64)>,
        blobs: Vec<(u32, u64)>,
        locked: Option<String>,
        pulled: Option<Option<String>>,
    ) -> Option<Compact> {
        let n = s.len() as u32;
        let ok = |i: u32| i < n;
        if !ok(digest)
            || !ok(media)
            || !platforms.iter().all(|(p, d, _)| ok(*p) && ok(*d))
            || !blobs.iter().all(|(d, _)| ok(*d))
        {
            return None;
        }
        let date = pushed
            .as_deref()
            .and_then(unix_nanos)
            .or_else(|| created.as_deref().and_then(unix_nanos))
            .map(clamp);
        let mut opt = |v: Option<String>| v.as_deref().map_or(NONE, |x| s.id(x));
        let (created, pushed) = (opt(created), opt(pushed));
        Some(Compact {
            digest,
            media,
            size,
            created,
            pushed,
            date,
            platforms: Platforms::of(platforms),
            blobs: blobs.into(),
            rare: (locked.is_some() || pulled.is_some()).then(|| {
                Box::new(Rare {
                    locked: locked.map(Box::from),
                    pulled: pulled.map(|p| p.map(Box::from)),
                })
            }),
        })
    }

    /// The whole row again, named `tag`.
    pub fn row(&self, tag: &str, s: &Strings) -> TagRow {
        let opt = |i: u32| (i != NONE).then(|| s.get(i).to_string());
        TagRow {
            tag: tag.to_string(),
            digest: s.get(self.digest).to_string(),
            media_type: s.get(self.media).to_string(),
            size: self.size,
            created: opt(self.created),
            pushed: opt(self.pushed),
            platforms: self
                .platforms
                .get()
                .iter()
                .map(|(p, d, size)| PlatformEntry {
                    platform: s.get(*p).to_string(),
                    digest: s.get(*d).to_string(),
                    size: *size,
                })
                .collect(),
            blobs: self
                .blobs
                .iter()
                .map(|(d, n)| (s.get(*d).to_string(), *n))
                .collect(),
            locked: self.locked().map(str::to_string),
            pulled: self
                .rare
                .as_ref()
                .and_then(|r| r.pulled.as_ref())
                .map(|p| p.as_deref().map(str::to_string)),
        }
    }

    /// The same row with its strings interned in `to` instead of `from`.
    pub fn moved(&self, from: &Strings, to: &mut Strings) -> Compact {
        let mut id = |i: u32| if i == NONE { NONE } else { to.id(from.get(i)) };
        Compact {
            digest: id(self.digest),
            media: id(self.media),
            size: self.size,
            created: id(self.created),
            pushed: id(self.pushed),
            date: self.date,
            platforms: Platforms::of(
                self.platforms
                    .get()
                    .iter()
                    .map(|(p, d, n)| (id(*p), id(*d), *n))
                    .collect(),
            ),
            blobs: self.blobs.iter().map(|(d, n)| (id(*d), *n)).collect(),
            rare: self.rare.clone(),
        }
    }

    /// The media type's index.
    pub fn media_id(&self) -> u32 {
        self.media
    }

    /// The creation date's index (see [`TagRow::created`]).
    pub fn created_id(&self) -> Option<u32> {
        (self.created != NONE).then_some(self.created)
    }

    /// The push date's index (see [`TagRow::pushed`]).
    pub fn pushed_id(&self) -> Option<u32> {
        (self.pushed != NONE).then_some(self.pushed)
    }

    /// `(platform, digest, size)` of each platform, strings as indexes.
    pub fn platform_ids(&self) -> &[(u32, u32, u64)] {
        self.platforms.get()
    }

    /// The digest's index in its [`Strings`].
    pub fn digest_id(&self) -> u32 {
        self.digest
    }

    /// The digest the tag points at.
    pub fn digest<'a>(&self, s: &'a Strings) -> &'a str {
        s.get(self.digest)
    }

    /// [`TagRow::date_nanos`] (clamped to i64).
    pub fn date_nanos(&self) -> Option<i64> {
        self.date
    }

    /// [`TagRow::date`] (Unix seconds).
    pub fn date(&self) -> Option<i64> {
        self.date.map(|n| n.div_euclid(1_000_000_000))
    }

    /// See [`TagRow::locked`].
    pub fn locked(&self) -> Option<&str> {
        self.rare.as_ref()?.locked.as_deref()
    }

    /// See [`TagRow::pulled`].
    pub fn pulled(&self) -> Option<Option<&str>> {
        self.rare.as_ref()?.pulled.as_ref().map(|p| p.as_deref())
    }

    /// The platforms' names in order (`linux/amd64`, …).
    pub fn platform_names<'a>(&'a self, s: &'a Strings) -> impl Iterator<Item = &'a str> + 'a {
        self.platforms.get().iter().map(move |(p, _, _)| s.get(*p))
    }

    /// `(digest index, size)` of every blob (see [`TagRow::blobs`]).
    pub fn blobs(&self) -> &[(u32, u64)] {
        &self.blobs
    }
}

/// `names` in natural order, each once (a list in order already costs one pass).
pub fn natural_names(mut names: Vec<String>) -> Vec<String> {
    super::ops::sort_natural_by(&mut names, |s| s);
    names.dedup();
    names
}

/// `names` as a shared list in natural order, each once: kept as it is when it is so already
/// (one pass), else sorted into a new one.
pub fn natural_list(names: Arc<[String]>) -> Arc<[String]> {
    let in_order = names
        .windows(2)
        .all(|w| super::ops::natural_cmp(&w[0], &w[1]) == std::cmp::Ordering::Less);
    if in_order {
        names
    } else {
        natural_names(names.to_vec()).into()
    }
}

/// What each of `new` (natural order, distinct) had in `old` (the same order, items aligned
/// with `old_names`): one merge walk, `None` for a name not there before.
pub fn carry_over<T>(old_names: &[String], old: Vec<T>, new: &[String]) -> Vec<Option<T>> {
    use super::ops::natural_cmp;
    let mut old = old_names.iter().zip(old).peekable();
    new.iter()
        .map(|n| {
            while old
                .peek()
                .is_some_and(|(o, _)| natural_cmp(o, n) == std::cmp::Ordering::Less)
            {
                old.next();
            }
            old.next_if(|(o, _)| *o == n).map(|(_, x)| x)
        })
        .collect()
}

/// Bytes of `rows` (strings in one table), each blob (config, layer) counted once; rows a
/// provider sized without naming blobs count once per manifest.
pub fn distinct_bytes<'a>(rows: impl Iterator<Item = &'a Compact>) -> u64 {
    let mut manifests = std::collections::HashSet::new();
    let mut blobs: HashMap<u32, u64> = HashMap::new();
    let mut other = 0u64;
    for r in rows {
        if !manifests.insert(r.digest) {
            continue;
        }
        if r.blobs.is_empty() {
            other = other.saturating_add(r.size);
        }
        for (d, size) in &r.blobs {
            blobs.insert(*d, *size);
        }
    }
    super::model::sum_sizes(blobs.into_values()).saturating_add(other)
}

/// A repository's cached rows as the tags pane takes them: names with their details, built
/// off the UI thread (the store's list, or a head of it).
#[derive(Debug, Clone, Default)]
pub struct TagTable {
    /// Tag names, each with its row in `rows` at the same index.
    pub names: Vec<String>,
    pub rows: Vec<Compact>,
    pub strings: Strings,
    /// Set by [`TagTable::prepare`].
    pub prepared: Option<Prepared>,
}

/// What the tags pane works out from a table, worked out where the table was built (off the
/// UI thread), so taking in 100,000 rows is a few moves.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// How many rows point at each digest, by the digest's string index.
    pub per_digest: Vec<u32>,
    /// Cells of the widest size and platform list.
    pub widths: (usize, usize),
    /// Row indexes newest first (unknown dates last, ties by name), artifact tags left out:
    /// the pane's first view.
    pub newest_first: Vec<usize>,
}

/// Newest first, unknown dates last (ties are left to the caller).
pub fn newest_first(a: &Compact, b: &Compact) -> std::cmp::Ordering {
    b.date.cmp(&a.date)
}

impl TagTable {
    /// Puts the rows in natural order of their names (a tag listed twice keeps its last row)
    /// and works out [`Prepared`].
    pub fn prepare(&mut self) {
        use super::ops::natural_cmp;
        if !self
            .names
            .is_sorted_by(|a, b| natural_cmp(a, b) == std::cmp::Ordering::Less)
        {
            let mut pairs: Vec<(String, Compact)> = std::mem::take(&mut self.names)
                .into_iter()
                .zip(std::mem::take(&mut self.rows))
                .collect();
            pairs.reverse();
            super::ops::sort_natural_by(&mut pairs, |p| &p.0);
            pairs.dedup_by(|later, kept| later.0 == kept.0);
            (self.names, self.rows) = pairs.into_iter().unzip();
        }
        let mut per_digest = vec![0u32; self.strings.len()];
        for c in &self.rows {
            per_digest[c.digest as usize] += 1;
        }
        let mut view: Vec<usize> = (0..self.rows.len())
            .filter(|i| !super::referrers::is_artifact_tag(&self.names[*i]))
            .collect();
        // Names are in natural order now: their indexes break ties as names would.
        view.sort_by(|a, b| newest_first(&self.rows[*a], &self.rows[*b]).then(a.cmp(b)));
        self.prepared = Some(Prepared {
            per_digest,
            widths: crate::fmt::row_widths(self.rows.iter(), &self.strings),
            newest_first: view,
        });
    }

    /// A table of `rows` (each keeps its own name).
    pub fn from_rows(rows: &[TagRow]) -> TagTable {
        let mut t = TagTable::default();
        for r in rows {
            t.push(r);
        }
        t
    }

    /// Adds `r`.
    pub fn push(&mut self, r: &TagRow) {
        self.rows.push(Compact::of(r, &mut self.strings));
        self.names.push(r.tag.clone());
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every row in full (the CLI's and the tests' form).
    pub fn to_rows(&self) -> Vec<TagRow> {
        self.names
            .iter()
            .zip(&self.rows)
            .map(|(n, r)| r.row(n, &self.strings))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tag: &str) -> TagRow {
        TagRow {
            tag: tag.into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: 1624,
            created: Some("2024-06-01T12:00:00.5Z".into()),
            pushed: None,
            platforms: vec![PlatformEntry {
                platform: "linux/amd64".into(),
                digest: format!("sha256:{}", "ab".repeat(32)),
                size: 1624,
            }],
            blobs: vec![(format!("sha256:{}", "cd".repeat(32)), 600)],
            locked: Some("immutable".into()),
            pulled: Some(None),
        }
    }

    #[test]
    fn a_compact_row_gives_back_the_row_it_was_made_of_sharing_its_strings() {
        let (a, mut b) = (row("v1"), row("v2"));
        b.locked = None;
        b.pulled = Some(Some("2024-07-01T00:00:00Z".into()));
        let t = TagTable::from_rows(&[a.clone(), b.clone()]);
        assert_eq!(t.to_rows(), vec![a.clone(), b]);
        // One digest, one media type, one platform, one date, one blob: five strings.
        assert_eq!(t.strings.len(), 5);
        assert_eq!(t.rows[0].date_nanos().map(i128::from), a.date_nanos());
        assert_eq!(t.rows[0].date(), a.date());
        assert_eq!(t.rows[0].locked(), Some("immutable"));
        assert_eq!(t.rows[0].digest(&t.strings), a.digest);
    }

    #[test]
    fn a_stored_row_with_an_index_out_of_range_is_refused() {
        assert!(Strings::from_vec(vec!["a".into(), "a".into()]).is_none());
        let mut s = Strings::from_vec(vec!["sha256:x".into(), "mt".into()]).unwrap();
        let c = |s: &mut Strings, d| {
            Compact::stored(s, d, 1, 1, None, None, vec![], vec![], None, None)
        };
        assert!(c(&mut s, 0).is_some());
        assert!(c(&mut s, 7).is_none());
        let bad_blob = Compact::stored(
            &mut s,
            0,
            1,
            1,
            None,
            None,
            vec![],
            vec![(9, 1)],
            None,
            None,
        );
        assert!(bad_blob.is_none());
    }
}
