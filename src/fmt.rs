//! Display only: sizes, dates (relative and absolute), plurals, cutting and wrapping to a width,
//! and the garbage-collection texts. Used by the CLI and the terminal UI; the registry layer
//! hands up plain numbers and RFC 3339 strings.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Reminder shown after every delete.
pub const GC_REMINDER: &str = "space is reclaimed only after the registry's garbage collection \
(for distribution: `registry garbage-collect <config>`)";

/// What a cleanup summary says on a registry that needs garbage collection (distribution).
pub const GC_AFTER_PRUNE: &str = "the space returns after the registry's garbage collection: \
`registry garbage-collect <config>` (add `--delete-untagged` to also drop untagged manifests)";

/// How the terminal UI shows dates (`dates = "relative" | "absolute"` in the config; `t` switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dates {
    /// `3 months ago`, with the day as well where there is room.
    #[default]
    Relative,
    /// `2024-06-01 12:00` in UTC.
    Absolute,
}

impl Dates {
    /// The other mode.
    pub fn toggled(self) -> Self {
        match self {
            Dates::Relative => Dates::Absolute,
            Dates::Absolute => Dates::Relative,
        }
    }

    /// Ways to show `then`, widest first, for a column to pick the widest that fits.
    pub fn forms(self, then: i64, now: i64) -> Vec<String> {
        match self {
            Dates::Relative => vec![
                format!("{} ({})", utc_date(then), short_relative(then, now)),
                relative_time(then, now),
                // Beyond a year, "2y" on every row says little: the month does.
                if now.saturating_sub(then) < 365 * 86_400 {
                    short_relative(then, now)
                } else {
                    utc_date(then)[..7].to_string()
                },
            ],
            Dates::Absolute => vec![utc_minute(then), utc_date(then)],
        }
    }
}

/// Sizes as people read them: `6.35 KiB`, `77.62 MiB`; the unit is always whole.
pub fn human_size(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::BINARY)
}

/// `amd64,arm64/v8` from platform names (`linux/` left out), as the tags pane lists them.
pub fn platform_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|p| match p.split_once('/') {
            Some(("linux", rest)) => rest,
            _ => p,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Cells of the widest size and platform list of `rows` (their strings in `s`), measured
/// once per run of rows alike.
pub fn row_widths<'a>(
    rows: impl Iterator<Item = &'a crate::registry::table::Compact>,
    s: &crate::registry::table::Strings,
) -> (usize, usize) {
    let (mut size, mut plats) = (0, 0);
    let mut last: Option<&crate::registry::table::Compact> = None;
    for c in rows {
        let same =
            last.is_some_and(|l| l.size == c.size && l.platform_names(s).eq(c.platform_names(s)));
        if !same {
            size = size.max(width(&human_size(c.size)));
            plats = plats.max(width(&crate::sanitize::clean(&platform_list(
                c.platform_names(s),
            ))));
            last = Some(c);
        }
    }
    (size, plats)
}

/// `1 tag`, `2 tags`: `n` and the noun with an `s` unless `n` is 1.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// "3 days ago", "2 months ago", "just now"; "in the future" for times ahead of `now`.
pub fn relative_time(then: i64, now: i64) -> String {
    let d = now.saturating_sub(then);
    if d < -60 {
        return "in the future".into();
    }
    let (n, unit) = match span(d.max(0)) {
        None => return "just now".into(),
        Some(x) => x,
    };
    let name = match unit {
        'm' => "minute",
        'h' => "hour",
        'd' => "day",
        'M' => "month",
        _ => "year",
    };
    format!("{n} {name}{} ago", if n == 1 { "" } else { "s" })
}

/// The same as [`relative_time`] in at most 4 cells: `now`, `5m`, `3h`, `12d`, `3mo`, `2y`, `fut`.
pub fn short_relative(then: i64, now: i64) -> String {
    let d = now.saturating_sub(then);
    if d < -60 {
        return "fut".into();
    }
    match span(d.max(0)) {
        None => "now".into(),
        Some((n, 'M')) => format!("{n}mo"),
        Some((n, u)) => format!("{n}{u}"),
    }
}

/// `(count, unit)` of an age in seconds: m(inutes), h(ours), d(ays), M(onths), y(ears); `None`
/// under a minute.
fn span(d: i64) -> Option<(i64, char)> {
    Some(match d {
        0..=59 => return None,
        60..=3599 => (d / 60, 'm'),
        3600..=86_399 => (d / 3600, 'h'),
        86_400..=2_629_799 => (d / 86_400, 'd'),
        2_629_800..=31_557_599 => (d / 2_629_800, 'M'),
        _ => (d / 31_557_600, 'y'),
    })
}

/// `(year, month, day, hour, minute)` in UTC of Unix seconds (proleptic Gregorian).
fn civil(secs: i64) -> (i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60)
}

/// `2024-06-01 12:00` (UTC).
pub fn utc_minute(secs: i64) -> String {
    let (y, m, d, h, mi) = civil(secs);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}")
}

/// `2024-06-01` (UTC).
pub fn utc_date(secs: i64) -> String {
    let (y, m, d, ..) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}")
}

/// An RFC 3339 time to the minute, keeping its offset: `2024-06-01 14:00+02:00`, `2024-06-01 12:00Z`.
/// Text that is not RFC 3339 is returned as it is.
pub fn timestamp(rfc3339: &str) -> String {
    let s = rfc3339.trim();
    if s.len() < 19 || crate::registry::model::unix_seconds(s).is_none() {
        return s.to_string();
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = if rest.eq_ignore_ascii_case("z") {
        "Z"
    } else {
        rest
    };
    format!("{} {}{offset}", &s[..10], &s[11..16])
}

/// Cells `s` takes on a terminal.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` cells from the front, starting with `…` when cut (for paths whose
/// end matters: `…/nested/repository-name`).
pub fn ellipsize_start(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut w = 0;
    for c in s.chars().rev() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        kept.push(c);
        w += cw;
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// `s` cut to at most `max` cells, ending in `…` when cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Splits `s` into pieces of at most `max` cells, preferring to break after a space or one of
/// `,:/;=&.-+@` (a token boundary), and cutting inside a token only when it alone is too long.
/// Always returns at least one piece.
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    wrap_widths(s, max, max)
}

/// [`wrap`] with a first line of at most `first` cells and the others of at most `rest`.
pub fn wrap_widths(s: &str, first: usize, rest_width: usize) -> Vec<String> {
    let mut max = first.max(1);
    let mut out = Vec::new();
    let mut rest = s;
    while width(rest) > max {
        // Byte index just past the widest prefix that fits, and the last break points inside
        // it: after a space or `,:/;=&` (strong), or after `.-+@` (weak, inside names).
        let mut fit = 0;
        let (mut strong, mut weak) = (None, None);
        let mut w = 0;
        for (i, c) in rest.char_indices() {
            let cw = c.width().unwrap_or(0);
            if w + cw > max {
                break;
            }
            w += cw;
            fit = i + c.len_utf8();
            if matches!(c, ' ' | ',' | ':' | '/' | ';' | '=' | '&') {
                strong = Some((fit, w));
            } else if matches!(c, '.' | '-' | '+' | '@') {
                weak = Some((fit, w));
            }
        }
        // A strong break unless it leaves three quarters of the line empty; then a weak one.
        let brk = strong
            .filter(|(_, w)| *w * 4 >= max)
            .or(weak)
            .or(strong)
            .map(|(b, _)| b);
        if fit == 0 {
            // A character wider than the line: take it alone.
            fit = rest
                .chars()
                .next()
                .map(char::len_utf8)
                .unwrap_or(rest.len());
        }
        let at = brk.filter(|b| *b > 0).unwrap_or(fit);
        out.push(rest[..at].trim_end().to_string());
        rest = rest[at..].trim_start_matches(' ');
        max = rest_width.max(1);
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative_time(0, 30), "just now");
        assert_eq!(relative_time(0, 3 * 86_400 + 5), "3 days ago");
        assert_eq!(relative_time(0, 3600), "1 hour ago");
        assert_eq!(relative_time(0, 400 * 86_400), "1 year ago");
        assert_eq!(relative_time(1000, 0), "in the future");
        assert_eq!(short_relative(0, 30), "now");
        assert_eq!(short_relative(0, 3 * 86_400), "3d");
        assert_eq!(short_relative(0, 100 * 86_400), "3mo");
        assert_eq!(short_relative(0, 800 * 86_400), "2y");
    }

    #[test]
    fn the_narrowest_relative_date_tells_old_rows_apart() {
        let now = 1_735_689_600; // 2025-01-01
        let forms = Dates::Relative.forms(now - 100 * 86_400, now);
        assert_eq!(forms[2], "3mo");
        assert_eq!(Dates::Relative.forms(now - 400 * 86_400, now)[2], "2023-11");
        assert_eq!(
            Dates::Absolute.forms(now, now),
            ["2025-01-01 00:00", "2025-01-01"]
        );
        assert!(forms.iter().all(|f| width(f) <= 17), "{forms:?}");
    }

    #[test]
    fn absolute_dates_in_utc_and_cli_timestamps_keep_their_offset() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_717_243_200), "2024-06-01 12:00");
        assert_eq!(utc_date(1_709_164_800), "2024-02-29");
        assert_eq!(utc_minute(-60), "1969-12-31 23:59");
        assert_eq!(
            timestamp("2024-06-01T14:00:00.123+02:00"),
            "2024-06-01 14:00+02:00"
        );
        assert_eq!(timestamp("2024-06-01T12:00:00Z"), "2024-06-01 12:00Z");
        assert_eq!(timestamp("yesterday"), "yesterday");
        // Every day of four years round-trips through the parser.
        for day in 0..1461 {
            let s = day * 86_400 + 3_600 * 13;
            let text = format!("{}:00Z", utc_minute(s).replace(' ', "T"));
            assert_eq!(
                crate::registry::model::unix_seconds(&text),
                Some(s),
                "{text}"
            );
        }
    }

    #[test]
    fn sizes_never_lose_their_unit_and_plurals() {
        assert_eq!(human_size(1_046_374), "1021.85 KiB");
        assert_eq!(human_size(0), "0 B");
        assert_eq!(plural(1, "tag"), "1 tag");
        assert_eq!(plural(0, "tag"), "0 tags");
        assert_eq!(plural(3, "manifest"), "3 manifests");
    }

    #[test]
    fn cutting_and_wrapping() {
        assert_eq!(ellipsize("nightly-2024-06-01", 10), "nightly-2…");
        assert_eq!(ellipsize("short", 10), "short");
        assert_eq!(ellipsize_start("org/team/nested/app", 12), "…/nested/app");
        assert_eq!(ellipsize("日本語のタグ", 5), "日本…");
        assert_eq!(
            wrap("\"digest\": \"sha256:0123456789abcdef\",", 20),
            ["\"digest\": \"sha256:", "0123456789abcdef\","]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        for piece in wrap("org.opencontainers.image.source=https://github.com/x/y", 12) {
            assert!(width(&piece) <= 12, "{piece}");
        }
        // Names break at spaces and `=` before their dots and dashes.
        assert_eq!(
            wrap("org.opencontainers.image.title=api-1.3.0-arm64", 34),
            ["org.opencontainers.image.title=", "api-1.3.0-arm64"]
        );
        assert_eq!(
            wrap("RUN step-0 # api-1.3.0-arm64", 19),
            ["RUN step-0 #", "api-1.3.0-arm64"]
        );
    }
}
