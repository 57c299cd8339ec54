//! The client's TLS: which library, and which roots it trusts.
//!
//! | features | library | trusted roots (without `root_certificates_pem`) |
//! |---|---|---|
//! | none (default) | rustls | Mozilla's, compiled in (`webpki-roots`) |
//! | `platform-verifier` | rustls | the operating system's, through its verifier |
//! | `native-tls` (with or without `platform-verifier`) | native-tls | the operating system's |
//!
//! With [`root_certificates_pem`](crate::ClientBuilder::root_certificates_pem), the given
//! certificates are the only roots, whatever the library.

use crate::Error;
use ureq::tls::{PemItem, RootCerts, TlsConfig};

/// The TLS configuration of a client trusting `root_certificates` (PEM bundles) alone, or the
/// default roots of the chosen TLS library when there are none.
///
/// # Errors
///
/// [`Error::InvalidInput`] (`root_certificates`) for a bundle that is not PEM or holds no
/// certificate.
pub(crate) fn config(root_certificates: &[Vec<u8>]) -> Result<TlsConfig, Error> {
    let roots = if root_certificates.is_empty() {
        default_roots()
    } else {
        RootCerts::new_with_certs(&certificates(root_certificates)?)
    };
    let builder = TlsConfig::builder().root_certs(roots);
    #[cfg(feature = "native-tls")]
    let builder = builder.provider(ureq::tls::TlsProvider::NativeTls);
    Ok(builder.build())
}

/// The roots trusted without `root_certificates_pem`: the operating system's when a feature
/// asks for them, else Mozilla's. (ureq's native-tls is built without its own WebPki roots, so
/// native-tls must never be given `RootCerts::WebPki`: it would panic.)
fn default_roots() -> RootCerts {
    if cfg!(any(feature = "native-tls", feature = "platform-verifier")) {
        RootCerts::PlatformVerifier
    } else {
        RootCerts::WebPki
    }
}

/// Every certificate of every bundle; each bundle must hold at least one.
fn certificates(bundles: &[Vec<u8>]) -> Result<Vec<ureq::tls::Certificate<'static>>, Error> {
    let mut roots = Vec::new();
    for pem in bundles {
        let before = roots.len();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(c)) => roots.push(c.to_owned()),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::invalid("root_certificates", format!("bad PEM: {e}")));
                }
            }
        }
        if roots.len() == before {
            return Err(Error::invalid(
                "root_certificates",
                "the PEM bundle holds no certificate",
            ));
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_without_certificates_are_refused_naming_the_setting() {
        let key_only = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec();
        for bundles in [vec![b"no PEM here".to_vec()], vec![key_only]] {
            let e = config(&bundles).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { param, .. } if param == "root_certificates"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn the_default_roots_follow_the_features() {
        let os = cfg!(any(feature = "native-tls", feature = "platform-verifier"));
        assert_eq!(matches!(default_roots(), RootCerts::PlatformVerifier), os);
        assert_eq!(matches!(default_roots(), RootCerts::WebPki), !os);
        assert!(config(&[]).is_ok());
    }
}
