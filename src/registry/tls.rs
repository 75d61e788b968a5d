//! TLS for registries: certificates pinned from `ca_cert` (the self-signed ones every lab guide
//! makes), chain verification against `ca_cert` and the system roots otherwise, and errors that
//! say which case failed and what to do.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::error::{Error, Result};

/// Marks our own certificate explanations inside rustls/reqwest error chains.
pub const MARK: &str = "[regtui-tls] ";

/// What `ca_cert` holds: its path (for messages) and its certificates.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The file as the profile names it.
    pub file: Option<String>,
    pub certs: Vec<CertificateDer<'static>>,
}

impl Trust {
    /// Reads the PEM certificates of `ca_cert`.
    pub fn from_pem(file: &str, pem: &[u8]) -> Result<Trust> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                Error::Config(format!("ca_cert {file}: not a PEM certificate bundle: {e}"))
            })?;
        if certs.is_empty() {
            return Err(Error::Config(format!(
                "ca_cert {file}: no certificate in the file"
            )));
        }
        Ok(Trust {
            file: Some(file.to_string()),
            certs,
        })
    }
}

/// The system's trusted certificates, read once per process (reading and parsing them took
/// tens of milliseconds, twice for every client built: the first screen waited on it).
fn native_certs() -> &'static [rustls::pki_types::CertificateDer<'static>] {
    static CERTS: std::sync::OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> =
        std::sync::OnceLock::new();
    CERTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// A client TLS config for one registry; `alpn` lists the protocols offered (`h2`, `http/1.1`).
pub fn client_config(
    trust: &Trust,
    insecure: bool,
    alpn: &[&[u8]],
    host_port: &str,
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in native_certs() {
        let _ = roots.add(c.clone());
    }
    for c in &trust.certs {
        // A certificate that cannot be an anchor may still be pinned.
        let _ = roots.add(c.clone());
    }
    let inner = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| Error::Config(format!("cannot set up TLS verification: {e}")))?,
        )
    };
    let verifier = Arc::new(Verifier {
        host_port: host_port.to_string(),
        trust: trust.clone(),
        insecure,
        inner,
        provider: provider.clone(),
    });
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(cfg)
}

/// Trusts a certificate byte-identical to one in `ca_cert` (the handshake proves the key, so its
/// CA flag and names do not matter), else verifies the chain and the name normally.
#[derive(Debug)]
struct Verifier {
    /// `host:port` as the profile names it, for the commands in messages.
    host_port: String,
    trust: Trust,
    insecure: bool,
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    /// Whether `cert` is byte-identical to a certificate of `ca_cert`.
    fn pinned(&self, cert: &CertificateDer<'_>) -> bool {
        self.trust.certs.iter().any(|c| c.as_ref() == cert.as_ref())
    }
}

/// Checks a handshake signature with the public key of a pinned certificate, read straight from
/// its DER: pinned certificates may be ones webpki will not parse (version 1, no extensions).
fn verify_with_key(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    provider: &CryptoProvider,
    tls13: bool,
) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
    let (alg_id, key) = public_key(cert.as_ref()).ok_or_else(bad)?;
    let candidates = provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, algs)| *algs)
        .ok_or_else(bad)?;
    let candidates = if tls13 {
        &candidates[..candidates.len().min(1)]
    } else {
        candidates
    };
    for alg in candidates {
        if alg.public_key_alg_id().as_ref() == alg_id
            && alg.verify_signature(key, message, dss.signature()).is_ok()
        {
            return Ok(HandshakeSignatureValid::assertion());
        }
    }
    Err(bad())
}

/// The algorithm identifier (contents) and key bits of a certificate's subjectPublicKeyInfo.
fn public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, cert, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(cert)?;
    let mut fields = Vec::new();
    while let Some((tag, body, rest)) = tlv(tbs) {
        fields.push((tag, body));
        tbs = rest;
    }
    // [version], serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    let skip = usize::from(fields.first()?.0 == 0xA0);
    let (_, spki) = *fields.get(skip + 5)?;
    let (_, alg, rest) = tlv(spki)?;
    let (tag, bits, _) = tlv(rest)?;
    if tag != 0x03 || bits.first() != Some(&0) {
        return None;
    }
    Some((alg, &bits[1..]))
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let host = server_name.to_str();
        if self.insecure {
            tracing::info!(target: "regtui::tls", "{host}: certificate not checked (insecure = true)");
            return Ok(ServerCertVerified::assertion());
        }
        if self.pinned(end_entity) {
            tracing::info!(target: "regtui::tls", "{host}: certificate pinned by ca_cert");
            return Ok(ServerCertVerified::assertion());
        }
        let verdict = match &self.inner {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        match verdict {
            Ok(v) => {
                tracing::info!(target: "regtui::tls", "{host}: certificate chain verified");
                Ok(v)
            }
            Err(e) => {
                let text = explain(&e, end_entity, &host, &self.host_port, &self.trust);
                tracing::info!(target: "regtui::tls", "{host}: refused: {text}");
                Err(rustls::Error::General(format!("{MARK}{text}")))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        // Pinned or insecure: the certificate may be one webpki will not parse (version 1).
        if self.pinned(cert) || self.insecure {
            return verify_with_key(message, cert, dss, &self.provider, false);
        }
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        if self.pinned(cert) || self.insecure {
            return verify_with_key(message, cert, dss, &self.provider, true);
        }
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What a refused certificate is, in the user's terms, with what to do.
fn explain(
    e: &rustls::Error,
    cert: &CertificateDer<'_>,
    host: &str,
    host_port: &str,
    trust: &Trust,
) -> String {
    let info = CertInfo::parse(cert.as_ref());
    let names = info.names();
    let what = format!(
        "the certificate of {host} (subject {}, {})",
        info.subject_or_unknown(),
        if info.sans.is_empty() {
            "no subjectAltName".to_string()
        } else {
            format!("subjectAltName {}", info.sans.join(", "))
        }
    );
    let debug = format!("{e:?}");
    let connect = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:443")
    };
    let fetch = format!(
        "save it with: openssl s_client -connect {connect} -showcerts </dev/null | openssl x509 > {file}; \
         then add to the profile: ca_cert = \"{file}\"",
        file = host_port.replace([':', '/'], "_") + ".crt"
    );
    if debug.contains("Expired") {
        return format!(
            "{what} expired{}; renew it on the registry",
            info.not_after
                .as_deref()
                .map(|t| format!(" on {t}"))
                .unwrap_or_default()
        );
    }
    if debug.contains("NotValidYet") {
        return format!("{what} is not valid yet (check the clocks)");
    }
    if debug.contains("NotValidForName") {
        return format!(
            "{what} is for {} but the registry is {host}; use one of those names in `registry`, \
             or make a certificate whose subjectAltName names {host}",
            if names.is_empty() {
                "no name at all".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    match &trust.file {
        Some(file) => {
            let held: Vec<String> = trust
                .certs
                .iter()
                .map(|c| CertInfo::parse(c.as_ref()).subject_or_unknown())
                .collect();
            format!(
                "{what} is neither in ca_cert {file} nor signed by it: the file holds {} \
                 certificate(s) ({}); put the registry's own certificate or its CA there ({fetch})",
                held.len(),
                held.join("; ")
            )
        }
        None if info.self_issued => format!(
            "{what} is self-signed and not trusted here; if it is the registry's own certificate, {fetch}"
        ),
        None => format!(
            "{what} is signed by {}, which is not among the system's trusted CAs; add that CA \
             as ca_cert in the profile ({fetch})",
            info.issuer_or_unknown()
        ),
    }
}

/// The few fields of an X.509 certificate that explain a refusal.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// `DNS:name` and `IP:address` entries.
    pub sans: Vec<String>,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub not_after: Option<String>,
    pub is_ca: bool,
    /// Issuer and subject are the same name.
    pub self_issued: bool,
}

impl CertInfo {
    /// Parses what it can of a DER certificate; fields it cannot read stay empty.
    pub fn parse(der: &[u8]) -> CertInfo {
        Self::try_parse(der).unwrap_or_default()
    }

    fn try_parse(der: &[u8]) -> Option<CertInfo> {
        let (_, cert, _) = tlv(der)?;
        let (_, mut tbs, _) = tlv(cert)?;
        let mut next = || -> Option<(u8, &[u8])> {
            let (tag, body, rest) = tlv(tbs)?;
            tbs = rest;
            Some((tag, body))
        };
        let mut item = next()?;
        if item.0 == 0xA0 {
            item = next()?; // version
        }
        let _serial = item;
        let _sig_alg = next()?;
        let (_, issuer) = next()?;
        let (_, validity) = next()?;
        let (_, subject) = next()?;
        let _spki = next()?;
        let mut info = CertInfo {
            issuer: name(issuer),
            subject: name(subject),
            self_issued: issuer == subject,
            ..Default::default()
        };
        let (_, _, after) = tlv(validity)?;
        if let Some((tag, t, _)) = tlv(after) {
            info.not_after = time(tag, t);
        }
        while let Some((tag, body)) = next() {
            if tag == 0xA3 {
                let (_, exts, _) = tlv(body)?;
                info.extensions(exts);
            }
        }
        Some(info)
    }

    fn extensions(&mut self, mut exts: &[u8]) {
        while let Some((_, ext, rest)) = tlv(exts) {
            exts = rest;
            let Some((_, oid, mut body)) = tlv(ext) else {
                continue;
            };
            // critical BOOLEAN, if present, then the OCTET STRING value.
            if let Some((0x01, _, rest)) = tlv(body) {
                body = rest;
            }
            let Some((0x04, value, _)) = tlv(body) else {
                continue;
            };
            match oid {
                // subjectAltName
                [0x55, 0x1d, 0x11] => {
                    let Some((_, mut names, _)) = tlv(value) else {
                        continue;
                    };
                    while let Some((tag, v, rest)) = tlv(names) {
                        names = rest;
                        match (tag, v.len()) {
                            (0x82, _) => self
                                .sans
                                .push(format!("DNS:{}", String::from_utf8_lossy(v))),
                            (0x87, 4) => self
                                .sans
                                .push(format!("IP:{}.{}.{}.{}", v[0], v[1], v[2], v[3])),
                            (0x87, 16) => {
                                let mut a = [0u8; 16];
                                a.copy_from_slice(v);
                                self.sans
                                    .push(format!("IP:{}", std::net::Ipv6Addr::from(a)));
                            }
                            _ => {}
                        }
                    }
                }
                // basicConstraints
                [0x55, 0x1d, 0x13] => {
                    if let Some((_, seq, _)) = tlv(value) {
                        if let Some((0x01, b, _)) = tlv(seq) {
                            self.is_ca = b.first().is_some_and(|x| *x != 0);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The names the certificate is valid for: its subjectAltName, else its CN (which modern
    /// clients ignore).
    pub fn names(&self) -> Vec<String> {
        if !self.sans.is_empty() {
            return self.sans.clone();
        }
        self.subject
            .split(", ")
            .filter_map(|p| p.strip_prefix("CN="))
            .map(|cn| format!("CN={cn} only (ignored without a subjectAltName)"))
            .collect()
    }

    fn subject_or_unknown(&self) -> String {
        if self.subject.is_empty() {
            "unreadable".into()
        } else {
            self.subject.clone()
        }
    }

    fn issuer_or_unknown(&self) -> String {
        if self.issuer.is_empty() {
            "an unreadable issuer".into()
        } else {
            self.issuer.clone()
        }
    }
}

/// One DER element: tag, contents, and what follows.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, head) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    Some((tag, b.get(head..end)?, b.get(end..)?))
}

/// `CN=…, O=…` of a Name.
fn name(mut rdns: &[u8]) -> String {
    let mut parts = Vec::new();
    while let Some((_, set, rest)) = tlv(rdns) {
        rdns = rest;
        let Some((_, atv, _)) = tlv(set) else {
            continue;
        };
        let Some((_, oid, value)) = tlv(atv) else {
            continue;
        };
        let Some((_, v, _)) = tlv(value) else {
            continue;
        };
        let key = match oid {
            [0x55, 0x04, 0x03] => "CN",
            [0x55, 0x04, 0x0a] => "O",
            [0x55, 0x04, 0x0b] => "OU",
            [0x55, 0x04, 0x06] => "C",
            [0x55, 0x04, 0x07] => "L",
            [0x55, 0x04, 0x08] => "ST",
            _ => continue,
        };
        parts.push(format!(
            "{key}={}",
            crate::sanitize::clean(&String::from_utf8_lossy(v))
        ));
    }
    parts.join(", ")
}

/// UTCTime or GeneralizedTime as `YYYY-MM-DD HH:MM UTC`.
fn time(tag: u8, t: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(t).ok()?;
    let full = match tag {
        0x17 => {
            let yy: u32 = s.get(0..2)?.parse().ok()?;
            format!("{}{s}", if yy >= 50 { "19" } else { "20" })
        }
        0x18 => s.to_string(),
        _ => return None,
    };
    Some(format!(
        "{}-{}-{} {}:{} UTC",
        full.get(0..4)?,
        full.get(4..6)?,
        full.get(6..8)?,
        full.get(8..10)?,
        full.get(10..12)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_subject_names_expiry_and_ca_flag() {
        let mut p = rcgen::CertificateParams::new(vec!["registry.local".to_string()]).unwrap();
        p.subject_alt_names
            .push(rcgen::SanType::IpAddress("10.0.0.5".parse().unwrap()));
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "registry.local");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.not_after = rcgen::date_time_ymd(2031, 4, 5);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        let info = CertInfo::parse(cert.der());
        assert_eq!(info.subject, "CN=registry.local");
        assert_eq!(info.sans, ["DNS:registry.local", "IP:10.0.0.5"]);
        assert_eq!(info.not_after.as_deref(), Some("2031-04-05 00:00 UTC"));
        assert!(info.is_ca && info.self_issued);
        // Garbage never panics.
        assert_eq!(
            CertInfo::parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            CertInfo::default()
        );
        assert_eq!(CertInfo::parse(&[]), CertInfo::default());
    }
}
