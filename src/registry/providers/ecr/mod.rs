//! AWS ECR: the profile keys and the connect function (always built, so a profile can say the
//! feature is missing); the provider itself in [`sdk`], with the `ecr` feature.

use std::sync::Arc;

use serde::Deserialize;

use crate::registry::Backend;
use crate::registry::Result;
use crate::registry::connect::ConnectOptions;

#[cfg(feature = "ecr")]
pub mod sdk;
#[cfg(feature = "ecr")]
pub use sdk::{Ecr, EcrSettings};

/// The keys of a `kind = "ecr"` profile (serde rejects any other provider's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// AWS region (default: the AWS chain, e.g. AWS_REGION or the profile's region).
    pub region: Option<String>,
    /// Named profile of ~/.aws/config and ~/.aws/credentials.
    pub aws_profile: Option<String>,
    /// Account id of the registry (default: the caller's).
    pub registry_id: Option<String>,
    /// Endpoint of the ECR API (an emulator or a VPC endpoint).
    pub endpoint_url: Option<String>,
}

impl Keys {
    /// The key names, for the config file's checks.
    pub const NAMES: &'static [&'static str] =
        &["region", "aws_profile", "registry_id", "endpoint_url"];

    /// `(key, why)` when the profile cannot work.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if cfg!(feature = "ecr") {
            Ok(())
        } else {
            Err((
                "kind",
                "this regtui was built without the `ecr` feature".into(),
            ))
        }
    }

    /// Whether `host` (`<account>.dkr.ecr.<region>.amazonaws.com`) can be this registry: `None`
    /// when it may be (the account is only known after connecting), `Some(false)` when not.
    pub fn may_serve(&self, host: &str) -> Option<bool> {
        // The region and the account must be the profile's where it names them.
        let ecr = host.contains(".dkr.ecr.")
            && self
                .region
                .as_deref()
                .is_none_or(|r| host.contains(&format!(".dkr.ecr.{r}.")))
            && self
                .registry_id
                .as_deref()
                .is_none_or(|id| host.starts_with(&format!("{id}.")));
        if !ecr {
            Some(false)
        } else if self.registry_id.is_some() {
            Some(true)
        } else {
            None
        }
    }
}

/// The ECR backend for a profile: credentials from the AWS chain, v2 with the token of
/// GetAuthorizationToken (the profile's TLS and concurrency settings apply).
#[cfg(feature = "ecr")]
pub fn connect(keys: &Keys, opts: &ConnectOptions) -> Result<Arc<dyn Backend>> {
    use crate::registry::auth::Credential;
    use crate::registry::providers::Provider;
    let template = opts.v2_options(opts.addr(Some("ecr.invalid"))?, Credential::Anonymous)?;
    Ok(Arc::new(Provider::new(Ecr::new(EcrSettings {
        region: keys.region.clone(),
        aws_profile: keys.aws_profile.clone(),
        registry_id: keys.registry_id.clone(),
        endpoint_url: keys.endpoint_url.clone(),
        registry: opts.registry.clone(),
        v2_template: Some(template),
    }))))
}

/// Without the `ecr` feature: says so.
#[cfg(not(feature = "ecr"))]
pub fn connect(_keys: &Keys, _opts: &ConnectOptions) -> Result<Arc<dyn Backend>> {
    Err(crate::registry::Error::Unsupported(
        "this regtui was built without the `ecr` feature".into(),
    ))
}

#[cfg(all(test, feature = "ecr"))]
mod tests {
    use super::*;
    use crate::registry::providers::ProviderApi;

    #[test]
    fn the_label_before_the_first_token_names_no_placeholder_host() {
        let label = |region: Option<&str>| {
            Ecr::new(EcrSettings {
                region: region.map(str::to_string),
                ..Default::default()
            })
            .label()
        };
        assert_eq!(label(Some("eu-west-1")), "AWS ECR (eu-west-1)");
        assert_eq!(label(None), "AWS ECR");
        let with_id = Ecr::new(EcrSettings {
            region: Some("eu-west-1".into()),
            registry_id: Some("123456789012".into()),
            ..Default::default()
        });
        assert_eq!(
            with_id.label(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com (ECR)"
        );
        assert!(!with_id.accepts_login());
    }
}
