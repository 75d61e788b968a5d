//! Strips control and escape sequences from registry-supplied text before it is shown.
//!
//! Everything a registry returns (names, labels, env, history, error texts) may try to
//! move the cursor, set the clipboard (OSC 52) or change colours. [`clean`] removes whole
//! escape sequences, drops other control characters, bidi overrides and invisible characters,
//! and turns tabs and line breaks into spaces, so a string always draws as one inert line.
//! [`inert_json`] makes JSON output safe to print on a terminal in the same spirit.

use std::borrow::Cow;

/// Bidi controls and U+2028/U+2029: they reorder or break what a terminal shows.
fn is_bidi_or_separator(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Zero-width characters and the BOM: invisible, they make two different names look the same.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn is_dangerous(c: char) -> bool {
    c.is_control() || is_bidi_or_separator(c) || is_invisible(c)
}

/// Whether JSON output must escape `c` to stay inert on a terminal (serde_json only escapes
/// below U+0020 and DEL is harmless): C1 controls, bidi controls, line/paragraph separators and
/// invisible characters.
fn json_needs_escape(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9F}') || is_bidi_or_separator(c) || is_invisible(c)
}

/// Returns serialized JSON with C1 controls, bidi controls, U+2028/U+2029 and invisible characters
/// written as `\uXXXX` escapes: the same value, but inert when printed to a terminal.
///
/// Only valid on JSON text: its structure is ASCII, so such characters occur only inside strings,
/// where `\uXXXX` means the same character.
pub fn inert_json(s: String) -> String {
    if !s.chars().any(json_needs_escape) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if json_needs_escape(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns `s` with escape sequences removed and control characters dropped or turned into spaces.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek().copied() {
                // CSI: ESC [ params… final byte in 0x40..=0x7e
                Some('[') => {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: run until BEL or ST (ESC \)
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                // two-character escape
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\u{9b}' => {
                for n in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&n) {
                        break;
                    }
                }
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_dangerous(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(n) = chars.next() {
        match n {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{clean, inert_json};

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            clean("team/app:v1.2 ✓"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn removes_escape_sequences_whole() {
        assert_eq!(clean("a\u{1b}[31;1mred\u{1b}[0m b"), "ared b");
        assert_eq!(clean("x\u{1b}]52;c;ZXZpbA==\u{7}y"), "xy");
        assert_eq!(clean("x\u{1b}]0;title\u{1b}\\y"), "xy");
        assert_eq!(clean("x\u{9b}2Jy"), "xy");
        assert_eq!(clean("x\u{1b}cy"), "xy");
    }

    #[test]
    fn drops_controls_and_bidi_and_flattens_lines() {
        assert_eq!(clean("a\u{0}b\u{7}c\u{7f}d"), "abcd");
        assert_eq!(clean("line1\nline2\tz\r"), "line1 line2 z ");
        assert_eq!(clean("evil\u{202E}txt.exe"), "eviltxt.exe");
    }

    #[test]
    fn drops_zero_width_separators_and_bom() {
        assert_eq!(clean("a\u{200B}b\u{200C}c\u{200D}d\u{2060}e"), "abcde");
        assert_eq!(clean("\u{FEFF}line\u{2028}one\u{2029}two"), "lineonetwo");
        assert_eq!(clean("team\u{200B}/app"), "team/app");
    }

    #[test]
    fn json_output_escapes_c1_bidi_and_separators_and_keeps_the_value() {
        let nasty = "a\u{9b}2J\u{85}b\u{202E}c\u{2066}d\u{200E}e\u{061C}f\u{2028}g\u{2029}h\u{200B}i\u{FEFF}j";
        let value = serde_json::json!({ "name": nasty, "list": [nasty, "plain ✓"] });
        let text = inert_json(serde_json::to_string_pretty(&value).unwrap());
        for c in text.chars() {
            assert!(
                !(('\u{80}'..='\u{9f}').contains(&c)
                    || ('\u{202A}'..='\u{202E}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
                    || matches!(
                        c,
                        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}'
                    )
                    || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')),
                "raw U+{:04X} in {text}",
                c as u32
            );
        }
        assert!(
            text.contains("\\u009b") && text.contains("\\u202e"),
            "{text}"
        );
        assert!(text.contains("plain ✓"), "other text unchanged: {text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        let plain = "{\"a\": \"b\"}".to_string();
        assert_eq!(inert_json(plain.clone()), plain);
    }
}
