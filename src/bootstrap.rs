//! The first administrator: on a store without its identity handle, the bootstrap creates it (`[bootstrap]`), so
//! that a new node can be administered at all.

use serde::{Deserialize, Serialize};

use crate::demo;
use crate::error::ConfigError;
use crate::id::{Handle, SuffixCase};
use crate::records;
use crate::store::{Batch, Store, StoreError};

/// The first administrator identity, created when its handle does not exist yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    /// The administrator's handle (default `0.NA/<node prefix>`).
    pub admin_handle: Option<String>,
    /// Index of its `HS_SECKEY` value.
    pub admin_index: u32,
    /// The secret; better given as `IDNODE_ADMIN_SECRET`. Nothing is created without one.
    pub admin_secret: Option<String>,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { admin_handle: None, admin_index: 300, admin_secret: None }
    }
}

impl BootstrapConfig {
    /// Checks what serde cannot; handles are read with `suffix_case`.
    pub fn validate(&self, suffix_case: SuffixCase) -> Result<(), ConfigError> {
        if let Some(h) = &self.admin_handle {
            Handle::parse(h, suffix_case).map_err(|e| ConfigError::Invalid(format!("bootstrap.admin_handle: {e}")))?;
        }
        if self.admin_secret.as_deref() == Some("") {
            return Err(ConfigError::Invalid("bootstrap.admin_secret must not be empty".into()));
        }
        Ok(())
    }

    /// The administrator's handle: `0.NA/<node_prefix>` unless configured.
    pub fn admin_handle(&self, node_prefix: &str) -> String {
        self.admin_handle.clone().unwrap_or_else(|| format!("0.NA/{node_prefix}"))
    }

    /// Creates the administrator in `store` when a secret is configured and its handle does not exist yet;
    /// returns its identity (`index:handle`) when it did.
    pub fn run(
        &self,
        store: &dyn Store,
        node_prefix: &str,
        suffix_case: SuffixCase,
    ) -> Result<Option<String>, StoreError> {
        let Some(secret) = &self.admin_secret else { return Ok(None) };
        let handle = self.admin_handle(node_prefix);
        let Ok(h) = Handle::parse(&handle, suffix_case) else { return Ok(None) };
        if records::exists(store, &h)? {
            return Ok(None);
        }
        let values = demo::identity_record(&handle, self.admin_index, secret, Vec::new());
        let mut b = Batch::new();
        records::put(&mut b, &h, &handle, &values);
        store.write(b)?;
        Ok(Some(format!("{}:{handle}", self.admin_index)))
    }
}
