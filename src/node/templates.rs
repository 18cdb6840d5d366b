//! The node's data templates: kept in the store's `templates` space ([`crate::template::put`]) and in memory,
//! where every write of a record finds the one it names; and the check that makes a record follow it
//! ([`Templates::apply`]), which every write path passes through the [`super::Registrar`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, Prefix};
use crate::record::HandleValue;
use crate::store::{Batch, Space, Store, Visit};
use crate::template::{
    TEMPLATE_ID_INDEX, TEMPLATE_ID_TYPE, TEMPLATE_VERSION_INDEX, TEMPLATE_VERSION_TYPE, Template, Violation,
};

/// The templates, by (prefix, version) and by their own identifier (upper-cased: looked up case-insensitively).
#[derive(Default)]
struct Registry {
    by_key: HashMap<(String, String), Arc<Template>>,
    by_handle: HashMap<String, Arc<Template>>,
}

impl Registry {
    fn insert(&mut self, t: Arc<Template>) {
        if let Some(old) = self.by_key.insert((t.prefix.clone(), t.version.clone()), t.clone()) {
            self.by_handle.remove(&old.handle.to_ascii_uppercase());
        }
        self.by_handle.insert(t.handle.to_ascii_uppercase(), t);
    }

    fn remove(&mut self, prefix: &str, version: &str) {
        if let Some(old) = self.by_key.remove(&(prefix.to_owned(), version.to_owned())) {
            self.by_handle.remove(&old.handle.to_ascii_uppercase());
        }
    }
}

/// The templates of the node.
pub(crate) struct Templates {
    store: Arc<dyn Store>,
    /// Loaded from the store on first use (`None` until then, and again after a failed load).
    registry: RwLock<Option<Registry>>,
    /// Serializes template writes, so that a check and its write see the same registry.
    writer: Mutex<()>,
    /// Prefixes whose records must name a template (`node.templates_required`).
    required: Vec<Prefix>,
}

fn violation(v: &Violation) -> NodeError {
    NodeError::new(ErrorCode::InvalidValue, v.english()).in_chinese(v.chinese())
}

impl Templates {
    pub(crate) fn new(store: Arc<dyn Store>, required: Vec<Prefix>) -> Self {
        Self { store, registry: RwLock::new(None), writer: Mutex::new(()), required }
    }

    /// Runs `f` on the registry, loading it first if needed.
    fn read<T>(&self, f: impl FnOnce(&Registry) -> T) -> Result<T, NodeError> {
        if let Some(r) = self.registry.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
            return Ok(f(r));
        }
        let mut slot = self.registry.write().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(self.load()?);
        }
        Ok(f(slot.as_ref().expect("loaded")))
    }

    fn load(&self) -> Result<Registry, NodeError> {
        let mut registry = Registry::default();
        let mut corrupt = 0;
        self.store.scan(Space::Templates, b"", None, &mut |_, v| {
            match crate::template::decode(v) {
                Ok(t) => registry.insert(Arc::new(t)),
                Err(_) => corrupt += 1,
            }
            Visit::Continue
        })?;
        if corrupt > 0 {
            tracing::error!(corrupt, "stored templates that do not decode are ignored");
        }
        Ok(registry)
    }

    /// The template (prefix, version) exactly.
    pub(crate) fn get(&self, prefix: &Prefix, version: &str) -> Result<Option<Arc<Template>>, NodeError> {
        self.read(|r| r.by_key.get(&(prefix.to_string(), version.to_owned())).cloned())
    }

    /// The template `version` that applies under `prefix`: its own, or that of the nearest prefix above.
    pub(crate) fn find(&self, prefix: &Prefix, version: &str) -> Result<Option<Arc<Template>>, NodeError> {
        self.read(|r| {
            let mut at = Some(prefix.clone());
            while let Some(p) = at {
                if let Some(t) = r.by_key.get(&(p.to_string(), version.to_owned())) {
                    return Some(t.clone());
                }
                at = p.parent();
            }
            None
        })
    }

    /// The templates of `prefix` (every one when `None`), by prefix and version.
    pub(crate) fn list(&self, prefix: Option<&Prefix>) -> Result<Vec<Arc<Template>>, NodeError> {
        let mut out = self.read(|r| {
            r.by_key.values().filter(|t| prefix.is_none_or(|p| p.as_str() == t.prefix)).cloned().collect::<Vec<_>>()
        })?;
        out.sort_by(|a, b| (&a.prefix, &a.version).cmp(&(&b.prefix, &b.version)));
        Ok(out)
    }

    /// Whether the store holds no template at all.
    pub(crate) fn is_empty(&self) -> Result<bool, NodeError> {
        self.read(|r| r.by_key.is_empty())
    }

    /// Writes `t` (or deletes (prefix, version) when `t` is `None`) with `batch` (its audit entry), after
    /// `check` of the stored version passes, under the writers' lock.
    pub(crate) fn write(
        &self,
        prefix: &Prefix,
        version: &str,
        check: impl FnOnce(Option<&Template>) -> Result<Option<Template>, NodeError>,
        mut batch: Batch,
    ) -> Result<Option<Arc<Template>>, NodeError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let old = self.get(prefix, version)?;
        let new = check(old.as_deref())?.map(Arc::new);
        if let Some(t) = &new {
            let clash = self.read(|r| r.by_handle.get(&t.handle.to_ascii_uppercase()).cloned())?;
            if clash.is_some_and(|c| (&c.prefix, &c.version) != (&t.prefix, &t.version)) {
                return Err(NodeError::new(
                    ErrorCode::HandleAlreadyExists,
                    format!("another template already has the identifier {}", t.handle),
                ));
            }
        }
        match &new {
            Some(t) => crate::template::put(&mut batch, t),
            None => {
                batch.delete(Space::Templates, crate::template::store_key(prefix.as_str(), version));
            }
        }
        self.store.write(batch)?;
        let mut slot = self.registry.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = slot.as_mut() {
            match &new {
                Some(t) => r.insert(t.clone()),
                None => r.remove(prefix.as_str(), version),
            }
        }
        Ok(new)
    }

    /// Makes `values`, about to be written as the record of `h`, follow the template it names: by its
    /// identifier at index 1000, or by the version alone at index 1001 (looked up from `h`'s prefix upward).
    /// The node then writes both, the version from the template. A record that names none passes as it is,
    /// unless its prefix is one of `node.templates_required`.
    pub(crate) fn apply(&self, h: &Handle, values: &mut Vec<HandleValue>) -> Result<(), NodeError> {
        let text = |index| {
            values.iter().find(|v| v.index == index).map(|v| String::from_utf8_lossy(&v.data).trim().to_owned())
        };
        let (named, version) = (text(TEMPLATE_ID_INDEX), text(TEMPLATE_VERSION_INDEX));
        let prefix = h.prefix();
        let template = match (&named, &version) {
            (Some(id), _) => self.read(|r| r.by_handle.get(&id.to_ascii_uppercase()).cloned())?,
            (None, Some(v)) => self.find(&prefix, v)?,
            (None, None) => {
                return match self.required.iter().find(|p| prefix.is_within(p)) {
                    Some(p) if h.administered_prefix().is_none() => {
                        Err(violation(&Violation::TemplateRequired(p.to_string())))
                    }
                    _ => Ok(()),
                };
            }
        };
        let name = || named.clone().or(version.clone()).unwrap_or_default();
        let template = template
            .filter(|t| t.published && prefix.is_within(&Prefix::parse(&t.prefix).expect("stored prefixes parse")))
            .ok_or_else(|| violation(&Violation::UnknownTemplate(name())))?;
        if let Some(v) = version.filter(|v| *v != template.version) {
            return Err(violation(&Violation::VersionMismatch { given: v, expected: template.version.clone() }));
        }
        template.check(values).map_err(|v| violation(&v))?;
        let stamp = super::now();
        set(values, HandleValue::new(TEMPLATE_ID_INDEX, TEMPLATE_ID_TYPE, template.handle.as_bytes(), stamp));
        set(
            values,
            HandleValue::new(TEMPLATE_VERSION_INDEX, TEMPLATE_VERSION_TYPE, template.version.as_bytes(), stamp),
        );
        Ok(())
    }
}

/// Puts `value` at its index in `values`, keeping the permissions and TTL of the value it replaces; a value
/// already equal in type and data stays as it is (with its timestamp).
fn set(values: &mut Vec<HandleValue>, value: HandleValue) {
    match values.iter_mut().find(|v| v.index == value.index) {
        Some(old) if old.ty == value.ty && old.data == value.data => {}
        Some(old) => {
            old.ty = value.ty;
            old.data = value.data;
            old.timestamp = value.timestamp;
        }
        None => values.push(value),
    }
}
