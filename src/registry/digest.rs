//! Content digests: validation of `algo:hex` strings and verification of bodies.

use sha2::{Digest as _, Sha256, Sha512};

use super::error::{Error, Result};

/// Checks that `d` is `sha256:<64 hex>` or `sha512:<128 hex>` (lower case), so it is safe in URLs and paths.
pub fn validate(d: &str) -> Result<()> {
    let ok = match d.split_once(':') {
        Some(("sha256", hex)) => hex.len() == 64 && is_lower_hex(hex),
        Some(("sha512", hex)) => hex.len() == 128 && is_lower_hex(hex),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "digest".into(),
            detail: format!("{d:?} is not sha256:<hex> or sha512:<hex>"),
        })
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a reference string is a digest rather than a tag.
pub fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

/// The sha256 digest of `body` as `sha256:<hex>`.
pub fn sha256(body: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(body)))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Computes the digest of `body` with the algorithm of `expected` and checks it matches.
pub fn verify(expected: &str, body: &[u8]) -> Result<()> {
    validate(expected)?;
    let actual = if expected.starts_with("sha512:") {
        format!("sha512:{}", hex(&Sha512::digest(body)))
    } else {
        sha256(body)
    };
    if actual == expected {
        Ok(())
    } else {
        Err(Error::DigestMismatch {
            expected: expected.to_string(),
            actual,
        })
    }
}

/// The first 12 hex characters of a digest, for narrow columns.
pub fn short(d: &str) -> &str {
    let hex = d.split_once(':').map(|(_, h)| h).unwrap_or(d);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_verifies() {
        let d = sha256(b"hello");
        assert_eq!(
            d,
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(verify(&d, b"hello").is_ok());
        assert!(matches!(
            verify(&d, b"hellO"),
            Err(Error::DigestMismatch { .. })
        ));
        assert!(validate("sha256:../../etc/passwd").is_err());
        assert!(validate("md5:abcd").is_err());
        assert!(validate(&d.to_uppercase()).is_err());
        assert_eq!(short(&d), "2cf24dba5fb0");
        assert!(is_digest(&d));
        assert!(!is_digest("v1.2"));
    }
}
