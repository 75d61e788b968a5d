//! Test PKI: a self-signed CA, a server certificate for 127.0.0.1/localhost, and a token-signing key.

#![allow(dead_code)]

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use sha2::{Digest as _, Sha256};

pub struct Tls {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// A CA and a server certificate it signed, valid for 127.0.0.1 and localhost.
pub fn tls() -> Tls {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "regtui test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().unwrap()),
        SanType::IpAddress("127.0.0.1".parse().unwrap()),
    ];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    Tls {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// An ES256 key for signing registry tokens, with its certificate and libtrust key id.
pub struct SigningKey {
    pub pkcs8: Vec<u8>,
    pub cert_pem: String,
    pub kid: String,
}

/// The libtrust key id distribution expects in `kid`: base32 of the first 30 bytes of
/// sha256(DER public key), in 12 groups of 4 joined by `:`.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hash = Sha256::digest(spki_der);
    let bytes = &hash[..30];
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for b in bytes {
        buf = (buf << 8) | *b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buf >> bits) & 31) as usize] as char);
        }
    }
    out.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}

pub fn signing_key() -> SigningKey {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["token-signer".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "regtui test token signer");
    let cert = params.self_signed(&key).unwrap();
    SigningKey {
        pkcs8: key.serialize_der(),
        cert_pem: cert.pem(),
        kid: libtrust_kid(&key.public_key_der()),
    }
}

#[test]
fn kid_has_libtrust_shape() {
    let k = signing_key();
    assert_eq!(k.kid.len(), 48 + 11);
    assert_eq!(k.kid.split(':').count(), 12);
    assert!(
        k.kid
            .chars()
            .all(|c| c == ':' || c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );
}
