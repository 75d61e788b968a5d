//! Supply-chain badges on tag rows (signed, SBOM, attested): first from the artifact tags already
//! in the tag list (cosign's `sha256-<hex>.sig` / `.att` / `.sbom`, the fallback index
//! `sha256-<hex>`; no request), then refined from the referrers of a manifest once it is opened.

use std::collections::HashMap;

use super::panes::TagsPane;
use crate::registry::referrers::{Kind, Referrer, is_artifact_tag};

/// What refers to one manifest, as far as known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Badges {
    pub signed: bool,
    pub sbom: bool,
    pub attested: bool,
    /// Referrers of a kind not known yet (a fallback index not opened) or of another kind.
    pub other: bool,
}

/// Cells a badge set takes at most (one per kind shown, `other` only alone).
pub const BADGES_WIDTH: usize = 3;

impl Badges {
    /// Whether nothing refers to the manifest (as far as known).
    pub fn is_empty(self) -> bool {
        self == Badges::default()
    }

    /// The badges of a list of referrers (a manifest's, once opened).
    pub fn from_referrers(list: &[Referrer]) -> Self {
        let mut b = Badges::default();
        for r in list {
            match r.kind {
                Kind::Signature { .. } => b.signed = true,
                Kind::Sbom { .. } => b.sbom = true,
                Kind::Attestation { .. } => b.attested = true,
                Kind::Other => b.other = true,
            }
        }
        b
    }

    /// The glyphs, in a fixed order: `✓` signed, `≡` SBOM, `◆` attested, `◇` other referrers;
    /// with `ascii`: `S`, `B`, `A`, `R`. `other` shows only when no known kind does.
    pub fn text(self, ascii: bool) -> String {
        let g = |u: &'static str, a: &'static str| if ascii { a } else { u };
        let mut s = String::new();
        if self.signed {
            s.push_str(g("✓", "S"));
        }
        if self.sbom {
            s.push_str(g("≡", "B"));
        }
        if self.attested {
            s.push_str(g("◆", "A"));
        }
        if s.is_empty() && self.other {
            s.push_str(g("◇", "R"));
        }
        s
    }
}

/// Whether to draw in ASCII: `REGTUI_ASCII=1`, or a locale set to something other than UTF-8
/// (`LC_ALL`, else `LC_CTYPE`, else `LANG`; `C`/`POSIX` count as not UTF-8). An unset locale
/// keeps Unicode (most terminals are UTF-8). `env` reads a variable.
pub fn wants_ascii(env: impl Fn(&str) -> Option<String>) -> bool {
    if let Some(v) = env("REGTUI_ASCII").filter(|v| !v.is_empty()) {
        return v != "0";
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()));
    match locale {
        None => false,
        Some(l) => {
            let l = l.to_ascii_lowercase();
            !(l.contains("utf-8") || l.contains("utf8"))
        }
    }
}

/// The digest an artifact tag is about: `sha256-<hex>.sig` → `sha256:<hex>`.
fn subject_of(tag: &str) -> Option<(String, Option<&str>)> {
    if !is_artifact_tag(tag) {
        return None;
    }
    let rest = &tag["sha256-".len()..];
    let (hex, suffix) = match rest.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (rest, None),
    };
    Some((format!("sha256:{}", hex.to_ascii_lowercase()), suffix))
}

/// Badges per subject digest from the artifact tags among `names`.
pub fn from_tags(names: &[String]) -> HashMap<String, Badges> {
    let mut out: HashMap<String, Badges> = HashMap::new();
    for n in names {
        let Some((digest, suffix)) = subject_of(n) else {
            continue;
        };
        let b = out.entry(digest).or_default();
        match suffix {
            Some("sig") => b.signed = true,
            Some("att") => b.attested = true,
            Some("sbom") => b.sbom = true,
            _ => b.other = true,
        }
    }
    out
}

impl TagsPane {
    /// Recomputes the badges from the tag names (known referrers of opened manifests stay).
    pub fn rebadge(&mut self) {
        let mut b = from_tags(&self.names);
        for (d, known) in &self.known_referrers {
            b.insert(d.clone(), *known);
        }
        b.retain(|_, v| !v.is_empty());
        self.badges = b;
    }

    /// The referrers of `digest` are known now (its manifest was opened): they replace what the
    /// tag names suggested.
    pub fn refine_badges(&mut self, digest: &str, referrers: &[Referrer]) {
        self.known_referrers
            .insert(digest.to_string(), Badges::from_referrers(referrers));
        self.rebadge();
    }

    /// The name column's width: the longest name shown (hidden artifact tags, 70 cells and
    /// more, do not count), plus room for the badges when any tag has some.
    pub fn rewidth(&mut self) {
        let show = self.show_artifacts;
        let mut widest = 0;
        for n in self.names.iter() {
            // No name is wider than its bytes (cleaning drops characters or makes them spaces;
            // a two-cell character takes three bytes): most of 100,000 need no measuring.
            if n.len() <= widest || (!show && is_artifact_tag(n)) {
                continue;
            }
            widest = widest.max(crate::fmt::width(&crate::sanitize::clean(&short_name(n))));
        }
        self.widths.0 = widest;
        if !self.badges.is_empty() {
            self.widths.0 += BADGES_WIDTH + 1;
        }
    }

    /// The badges of a tag whose details are loaded.
    pub fn badges_of(&self, tag: &str) -> Badges {
        self.digest_of(tag)
            .and_then(|d| self.badges.get(d).copied())
            .unwrap_or_default()
    }
}

/// A tag as the tags pane shows it: an artifact tag (`sha256-<64 hex>` and its cosign
/// suffixes) with its digest shortened to 12 hex digits, so one such tag does not push the
/// other columns out; any other tag as it is.
pub fn short_name(tag: &str) -> std::borrow::Cow<'_, str> {
    if !is_artifact_tag(tag) {
        return tag.into();
    }
    let rest = &tag["sha256-".len()..];
    format!("sha256-{}…{}", &rest[..12], &rest[64..]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_tags_are_shown_with_a_short_digest() {
        let hex = "0123456789ab".to_string() + &"c".repeat(52);
        assert_eq!(
            short_name(&format!("sha256-{hex}.sig")),
            "sha256-0123456789ab….sig"
        );
        assert_eq!(short_name(&format!("sha256-{hex}")), "sha256-0123456789ab…");
        assert_eq!(short_name("sha256-short.sig"), "sha256-short.sig");
        assert_eq!(short_name("v1.2"), "v1.2");
    }

    #[test]
    fn artifact_tags_give_badges_to_their_subject() {
        let hex = "ab".repeat(32);
        let names: Vec<String> = vec![
            format!("sha256-{hex}.sig"),
            format!("sha256-{hex}.sbom"),
            format!("sha256-{}", "cd".repeat(32)),
            "v1".into(),
            "sha256-short.sig".into(),
        ];
        let b = from_tags(&names);
        assert_eq!(b.len(), 2);
        let one = b[&format!("sha256:{hex}")];
        assert!(one.signed && one.sbom && !one.attested);
        assert_eq!(one.text(false), "✓≡");
        assert_eq!(one.text(true), "SB");
        let two = b[&format!("sha256:{}", "cd".repeat(32))];
        assert_eq!(two.text(false), "◇");
        assert_eq!(two.text(true), "R");
        assert!(Badges::default().text(false).is_empty());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(!wants_ascii(env(&[])));
        assert!(!wants_ascii(env(&[("LANG", "en_US.UTF-8")])));
        assert!(wants_ascii(env(&[
            ("LANG", "en_US.UTF-8"),
            ("LC_ALL", "C")
        ])));
        assert!(wants_ascii(env(&[("LANG", "POSIX")])));
        assert!(wants_ascii(env(&[
            ("REGTUI_ASCII", "1"),
            ("LANG", "C.UTF-8")
        ])));
        for x in [one, two] {
            assert!(crate::fmt::width(&x.text(false)) <= BADGES_WIDTH);
        }
    }
}
