//! One error type for everything the registry layer can fail at, with messages written for users.

use std::fmt;

use crate::sanitize::clean;

/// One `{code, message}` entry of a registry's JSON error body.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
pub struct RegistryError {
    /// Machine-readable code such as `MANIFEST_UNKNOWN`.
    #[serde(default)]
    pub code: String,
    /// The registry's own explanation.
    #[serde(default)]
    pub message: String,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<RegistryError>,
}

/// Parses an OCI error body (`{"errors":[…]}`); anything else yields no entries.
pub fn parse_error_body(body: &[u8]) -> Vec<RegistryError> {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.errors)
        .unwrap_or_default()
}

/// Everything that can go wrong talking to a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// 401: credentials missing or refused.
    Unauthorized {
        registry: String,
        had_credentials: bool,
        errors: Vec<RegistryError>,
    },
    /// 403: authenticated but not allowed.
    Forbidden {
        registry: String,
        errors: Vec<RegistryError>,
    },
    /// 404: repository, manifest or blob unknown.
    NotFound {
        what: String,
        errors: Vec<RegistryError>,
    },
    /// 405 UNSUPPORTED on a delete: the registry has deletion switched off.
    DeleteDisabled { errors: Vec<RegistryError> },
    /// Another 405: the registry does not offer this operation.
    MethodNotAllowed {
        what: String,
        errors: Vec<RegistryError>,
    },
    /// 429, with the seconds of `Retry-After` when sent.
    RateLimited {
        retry_after: Option<u64>,
        errors: Vec<RegistryError>,
    },
    /// 5xx.
    Server {
        status: u16,
        errors: Vec<RegistryError>,
    },
    /// Any other unexpected status.
    Status {
        status: u16,
        what: String,
        errors: Vec<RegistryError>,
    },
    /// The TLS handshake failed (unknown CA, wrong name, plain HTTP server…).
    Tls { registry: String, detail: String },
    /// TLS failed in a way we can explain exactly (a certificate refused and why, the wrong
    /// scheme for the port), with what to do.
    TlsAdvice { registry: String, advice: String },
    /// Nothing listens at the address.
    ConnectionRefused { registry: String },
    /// The registry did not answer in time.
    Timeout { registry: String },
    /// Other transport failures (DNS, reset connection…).
    Network { registry: String, detail: String },
    /// A body's sha256 does not match the digest it was fetched by.
    DigestMismatch { expected: String, actual: String },
    /// A body exceeded the bound we accept for its kind.
    TooLarge { what: String, limit: u64 },
    /// A body or header that does not parse.
    Invalid { what: String, detail: String },
    /// Docker schema1 manifests are not supported.
    LegacySchema1 { reference: String },
    /// The backend cannot do this (e.g. deleting from the read-only demo).
    Unsupported(String),
    /// Configuration or credential problems found before any request.
    Config(String),
    /// A host the registry redirected to answered with a status of its own (401/403/…): an
    /// error of that host; the registry's credentials are never offered to it.
    Foreign {
        registry: String,
        host: String,
        status: u16,
    },
    /// The registry answered a request that changes something (DELETE, PUT, POST) with a redirect,
    /// which is never followed.
    Redirected { what: String, to: String },
    /// The registry accepted a delete, but what it was asked to delete is still there.
    StillPresent { what: String, detail: String },
    /// A delete whose answer never came (timeout, dropped connection); `after` says what a check
    /// found afterwards.
    OutcomeUnknown {
        what: String,
        cause: String,
        after: String,
    },
    /// A tag no longer points at the manifest the user saw: nothing was deleted.
    Moved {
        repo: String,
        tag: String,
        seen: String,
        now: String,
    },
    /// Since the confirmation, more tags point at the manifest: nothing was deleted; ask again.
    NewTags { digest: String, tags: Vec<String> },
    /// Tagging (or copying to a tag) would move existing tags, `(tag, digest it holds now)`:
    /// nothing was pushed; ask before moving them.
    TagsWouldMove { moves: Vec<(String, String)> },
    /// The manifest is a platform of a tagged index: nothing was deleted without a confirmation
    /// that names the index.
    UsedByIndex {
        digest: String,
        /// `tag (index digest)` of every tagged index that lists it.
        indexes: Vec<String>,
    },
    /// A tag-only delete stopped after it pushed its placeholder: the tag's state and how to
    /// finish or undo.
    Placeholder {
        tag: String,
        error: String,
        state: String,
        next: String,
    },
    /// A provider API (ECR, GitHub, Docker Hub) refused or failed; `hint` says what to do.
    Provider {
        service: String,
        status: Option<u16>,
        message: String,
        hint: String,
    },
}

/// Result alias for the registry layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn write_details(f: &mut fmt::Formatter<'_>, errors: &[RegistryError]) -> fmt::Result {
    for e in errors {
        match (e.code.is_empty(), e.message.is_empty()) {
            (true, true) => {}
            (false, true) => write!(f, " [{}]", clean(&e.code))?,
            (true, false) => write!(f, " (registry says: {})", clean(&e.message))?,
            (false, false) => write!(
                f,
                " [{}] (registry says: {})",
                clean(&e.code),
                clean(&e.message)
            )?,
        }
    }
    Ok(())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unauthorized {
                registry,
                had_credentials,
                errors,
            } => {
                if *had_credentials {
                    write!(f, "{registry} refused the credentials (401 unauthorized)")?;
                } else {
                    write!(f, "{registry} needs credentials (401 unauthorized)")?;
                }
                write_details(f, errors)?;
                if *had_credentials {
                    write!(f, "; check the username and password of this profile")
                } else {
                    write!(
                        f,
                        "; set username and password_env in the profile, or run `docker login`"
                    )
                }
            }
            Error::Forbidden { registry, errors } => {
                write!(f, "{registry} denied access (403 forbidden)")?;
                write_details(f, errors)?;
                write!(f, "; the account lacks permission for this operation")
            }
            Error::NotFound { what, errors } => {
                let code = errors.first().map(|e| e.code.as_str()).unwrap_or("");
                match code {
                    "NAME_UNKNOWN" => write!(f, "repository not found: {}", clean(what))?,
                    "MANIFEST_UNKNOWN" => write!(f, "manifest not found: {}", clean(what))?,
                    "BLOB_UNKNOWN" => write!(f, "blob not found: {}", clean(what))?,
                    _ => write!(f, "not found: {}", clean(what))?,
                }
                write_details(f, errors)
            }
            Error::DeleteDisabled { errors } => {
                write!(
                    f,
                    "this registry has deletion disabled (set storage.delete.enabled: true in its config; \
                     a pull-through cache never allows deletes)"
                )?;
                write_details(f, errors)
            }
            Error::MethodNotAllowed { what, errors } => {
                write!(
                    f,
                    "the registry does not allow this operation: {} (405)",
                    clean(what)
                )?;
                write_details(f, errors)
            }
            Error::RateLimited {
                retry_after,
                errors,
            } => {
                write!(f, "rate limited by the registry (429)")?;
                write_details(f, errors)?;
                match retry_after {
                    Some(s) => write!(f, "; retry after {s} s"),
                    None => write!(f, "; wait a while before retrying"),
                }
            }
            Error::Server { status, errors } => {
                write!(f, "the registry failed with {status}")?;
                write_details(f, errors)?;
                write!(f, "; this is a server-side problem, try again later")
            }
            Error::Status {
                status,
                what,
                errors,
            } => {
                write!(f, "unexpected status {status} for {}", clean(what))?;
                write_details(f, errors)
            }
            Error::Tls { registry, detail } => write!(
                f,
                "TLS failure talking to {registry}: {}; set ca_cert to the registry's CA, \
                 or insecure = true for testing, or use http:// if it serves plain HTTP",
                clean(detail)
            ),
            Error::TlsAdvice { registry, advice } => {
                write!(f, "TLS with {registry}: {}", clean(advice))
            }
            Error::ConnectionRefused { registry } => write!(
                f,
                "connection refused by {registry}: is the registry running on that address?"
            ),
            Error::Timeout { registry } => write!(f, "timed out waiting for {registry}"),
            Error::Network { registry, detail } => {
                write!(f, "network error talking to {registry}: {}", clean(detail))
            }
            Error::DigestMismatch { expected, actual } => write!(
                f,
                "content does not match its digest: expected {}, got {}",
                clean(expected),
                clean(actual)
            ),
            Error::TooLarge { what, limit } => write!(
                f,
                "{} is larger than the {} byte limit; refusing to read it",
                clean(what),
                limit
            ),
            Error::Invalid { what, detail } => {
                write!(f, "invalid {}: {}", clean(what), clean(detail))
            }
            Error::LegacySchema1 { reference } => write!(
                f,
                "{} is a legacy Docker schema1 manifest, not supported; re-push it with a current client",
                clean(reference)
            ),
            Error::Unsupported(what) => write!(f, "{}", clean(what)),
            // Built from config files, arguments and helper output: drawn inert like the rest.
            Error::Config(what) => write!(f, "{}", clean(what)),
            Error::Foreign {
                registry,
                host,
                status,
            } => write!(
                f,
                "{} (where {registry} redirected the request) answered {status}; regtui sends \
                 credentials only to {registry} itself",
                clean(host)
            ),
            Error::Redirected { what, to } => write!(
                f,
                "the registry redirected {} to {}; a request that changes something is never \
                 sent to another address, so nothing was done",
                clean(what),
                clean(to)
            ),
            Error::StillPresent { what, detail } => write!(
                f,
                "the registry accepted the delete but {} is still present{}",
                clean(what),
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", clean(detail))
                }
            ),
            Error::OutcomeUnknown { what, cause, after } => write!(
                f,
                "outcome unknown: the delete of {} got no answer ({}); {}",
                clean(what),
                clean(cause),
                clean(after)
            ),
            Error::Moved {
                repo,
                tag,
                seen,
                now,
            } => write!(
                f,
                "nothing deleted: {}:{} now points at {} (it was {} when you chose it); reload",
                clean(repo),
                clean(tag),
                super::digest::short(now),
                super::digest::short(seen)
            ),
            Error::TagsWouldMove { moves } => write!(
                f,
                "{} (nothing pushed yet)",
                clean(
                    &moves
                        .iter()
                        .map(|(t, d)| format!(
                            "this moves tag {t}, now on {}, to this image",
                            super::digest::short(d)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            ),
            Error::NewTags { digest, tags } => write!(
                f,
                "nothing deleted: since you confirmed, {} also point(s) at {}; confirm again",
                clean(&tags.join(", ")),
                super::digest::short(digest)
            ),
            Error::UsedByIndex { digest, indexes } => write!(
                f,
                "nothing deleted: {} is a platform of the tagged index(es) {}; deleting it breaks \
                 them, so it needs a confirmation that names them",
                super::digest::short(digest),
                clean(&indexes.join(", "))
            ),
            Error::Placeholder {
                tag,
                error,
                state,
                next,
            } => write!(
                f,
                "removing tag {} stopped half-way: {}; {}; {}",
                clean(tag),
                clean(error),
                clean(state),
                clean(next)
            ),
            Error::Provider {
                service,
                status,
                message,
                hint,
            } => {
                write!(f, "{service}")?;
                if let Some(s) = status {
                    write!(f, " ({s})")?;
                }
                write!(f, ": {}", clean(message))?;
                if !hint.is_empty() {
                    write!(f, "; {hint}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Whether this failure may pass on its own (a timeout, a dropped connection), so a read may
    /// be tried again.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::Network { .. })
    }

    /// The registry's first error code, if the response carried one.
    pub fn code(&self) -> Option<&str> {
        let errors = match self {
            Error::Unauthorized { errors, .. }
            | Error::Forbidden { errors, .. }
            | Error::NotFound { errors, .. }
            | Error::DeleteDisabled { errors }
            | Error::MethodNotAllowed { errors, .. }
            | Error::RateLimited { errors, .. }
            | Error::Server { errors, .. }
            | Error::Status { errors, .. } => errors,
            _ => return None,
        };
        errors.first().map(|e| e.code.as_str())
    }

    /// Maps a non-success HTTP status and its body to an error.
    pub fn from_status(
        status: u16,
        registry: &str,
        what: &str,
        is_delete: bool,
        had_credentials: bool,
        retry_after: Option<u64>,
        body: &[u8],
    ) -> Error {
        let errors = parse_error_body(body);
        match status {
            401 => Error::Unauthorized {
                registry: registry.to_string(),
                had_credentials,
                errors,
            },
            403 => Error::Forbidden {
                registry: registry.to_string(),
                errors,
            },
            404 => Error::NotFound {
                what: what.to_string(),
                errors,
            },
            405 if is_delete
                && (errors.is_empty() || errors.iter().any(|e| e.code == "UNSUPPORTED")) =>
            {
                Error::DeleteDisabled { errors }
            }
            405 => Error::MethodNotAllowed {
                what: what.to_string(),
                errors,
            },
            429 => Error::RateLimited {
                retry_after,
                errors,
            },
            500..=599 => Error::Server { status, errors },
            _ => Error::Status {
                status,
                what: what.to_string(),
                errors,
            },
        }
    }

    /// Classifies a transport error from reqwest without leaking request headers.
    pub fn from_transport(registry: &str, err: &reqwest::Error) -> Error {
        let registry = registry.to_string();
        if err.is_timeout() {
            return Error::Timeout { registry };
        }
        let mut chain = String::new();
        let mut refused = false;
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    refused = true;
                }
            }
            if !chain.is_empty() {
                chain.push_str(": ");
            }
            chain.push_str(&e.to_string());
            source = e.source();
        }
        if refused {
            return Error::ConnectionRefused { registry };
        }
        if let Some(pos) = chain.find(super::tls::MARK) {
            return Error::TlsAdvice {
                registry,
                advice: chain[pos + super::tls::MARK.len()..].to_string(),
            };
        }
        let lower = chain.to_lowercase();
        if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
            return Error::TlsAdvice {
                advice: format!(
                    "the registry answered the TLS handshake with something else: it serves \
                     plain HTTP on that port, so write http://{} in `registry`",
                    registry.trim_start_matches("https://")
                ),
                registry,
            };
        }
        if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
            || lower.contains("invalid peer")
            || lower.contains("record overflow")
        {
            return Error::Tls {
                registry,
                detail: chain,
            };
        }
        if lower.contains("timed out") {
            return Error::Timeout { registry };
        }
        Error::Network {
            registry,
            detail: chain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses_to_user_messages() {
        let body =
            br#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#;
        let e = Error::from_status(405, "r", "delete", true, false, None, body);
        assert_eq!(e.code(), Some("UNSUPPORTED"));
        assert!(
            e.to_string()
                .contains("deletion disabled (set storage.delete.enabled: true in its config")
        );

        let e = Error::from_status(429, "r", "x", false, false, Some(30), b"");
        assert_eq!(
            e.to_string(),
            "rate limited by the registry (429); retry after 30 s"
        );

        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#;
        let e = Error::from_status(404, "r", "team/x", false, false, None, body);
        assert!(e.to_string().starts_with("repository not found: team/x"));
        assert!(e.to_string().contains("NAME_UNKNOWN"));

        let e = Error::from_status(503, "r", "x", false, false, None, b"<html>");
        assert!(matches!(e, Error::Server { status: 503, .. }));
        let e = Error::from_status(401, "reg.example", "x", false, true, None, b"");
        assert!(e.to_string().contains("refused the credentials"));
        let e = Error::from_status(403, "reg.example", "x", false, true, None, b"");
        assert!(e.to_string().contains("403"));
        let e = Error::from_status(405, "r", "put", false, false, None, b"");
        assert!(matches!(e, Error::MethodNotAllowed { .. }));
    }

    #[test]
    fn registry_text_is_sanitized_in_messages() {
        let body =
            br#"{"errors":[{"code":"X\u001b[31m","message":"evil\u001b]52;c;aGk=\u0007 text"}]}"#;
        let e = Error::from_status(400, "r", "x", false, false, None, body);
        let s = e.to_string();
        assert!(!s.contains('\u{1b}'), "{s:?}");
        assert!(!s.contains('\u{7}'), "{s:?}");
        assert!(s.contains("evil text"), "{s:?}");
    }
}
