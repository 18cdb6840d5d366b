//! Data templates (数据模板): the metadata a prefix defines for its records, in the SNMS v5 model, and the
//! check of a record against one.
//!
//! A template is keyed by (prefix, version) and has its own identifier (`handle`), which records name at index
//! 1000 (`TEMPLATE_ID`); the node writes the version at 1001 (`TEMPLATE`). Its items give each attribute index
//! (2000 and up) a Chinese name, an English type, a required and an enabled flag and a [`Schema`]. A version is a
//! draft until published, and immutable after: items are never deleted, only disabled, and an update matches
//! an item by index and type ([`Template::update`]).
//!
//! - `schema`: what one value may hold, and [`Violation`], why a record does not satisfy a template;
//! - [`ceramics`]: the templates the node ships with.

use std::collections::HashSet;

use serde::{Deserialize, Deserializer, Serialize};

use crate::id::{Handle, Prefix, SuffixCase};
use crate::record::HandleValue;
use crate::store::{Batch, Space};

pub mod ceramics;
mod schema;

pub use schema::{Rule, Schema, Violation};

/// Index of the value naming the template a record follows (its identifier).
pub const TEMPLATE_ID_INDEX: u32 = 1000;
/// Index of the template version, written by the node.
pub const TEMPLATE_VERSION_INDEX: u32 = 1001;
/// Type of the value at [`TEMPLATE_ID_INDEX`].
pub const TEMPLATE_ID_TYPE: &str = "TEMPLATE_ID";
/// Type of the value at [`TEMPLATE_VERSION_INDEX`].
pub const TEMPLATE_VERSION_TYPE: &str = "TEMPLATE";
/// The first index of a template's items.
pub const FIRST_ITEM_INDEX: u32 = 2000;
/// Longest version name (SNMS: 128).
pub const MAX_VERSION_LEN: usize = 128;
/// Most items in one template.
pub const MAX_ITEMS: usize = 512;

/// A template version: the SNMS v5 fields, and whether it is published (an idnode extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// The prefix whose records (and those of the prefixes below it) may follow it.
    pub prefix: String,
    /// The version, unique under the prefix.
    pub version: String,
    /// What the template describes.
    #[serde(default)]
    pub description: String,
    /// GB/T 4754 section (门类), e.g. `C`.
    #[serde(default)]
    pub industry_category: String,
    /// GB/T 4754 division (大类), e.g. `30`.
    #[serde(default)]
    pub industry_specific: String,
    /// GB/T 4754 group (中类), e.g. `307`.
    #[serde(default)]
    pub industry_trade: String,
    /// GB/T 4754 class (小类), e.g. `3074`.
    #[serde(default)]
    pub industry_subclass: String,
    /// 1: an active identifier carrier; 2: other (0, unset, is read as 2).
    #[serde(rename = "type", default)]
    pub carrier: u8,
    /// The template's own identifier, which records name at index 1000; `<prefix>/TEMPLATE.<version>` when
    /// none is given.
    #[serde(default)]
    pub handle: String,
    /// The attributes.
    #[serde(default)]
    pub items: Vec<Item>,
    /// Whether records may be registered against it; a published version no longer changes.
    #[serde(default)]
    pub published: bool,
}

/// One attribute of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// The Chinese name, unique in the template.
    pub name: String,
    /// The English type name, unique in the template: the type of the record's value.
    pub id_type: String,
    /// The index of the record's value, 2000 and up.
    pub id_index: u32,
    /// Whether every record must have it.
    #[serde(default, deserialize_with = "flag")]
    pub required: bool,
    /// 1 enabled, 0 disabled (a disabled item's index is refused).
    #[serde(default = "enabled")]
    pub state: u8,
    /// What its value may hold.
    #[serde(default)]
    pub metadata: Schema,
}

fn enabled() -> u8 {
    1
}

/// A flag sent as `true`/`false` or as `1`/`0`, as SNMS clients do both.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}

impl Item {
    /// Whether values may be written at its index.
    pub fn is_enabled(&self) -> bool {
        self.state != 0
    }
}

impl Template {
    /// Checks the template itself and fills in its identifier; `Err` says what is wrong.
    pub fn normalize(&mut self) -> Result<(), String> {
        let prefix = Prefix::parse(&self.prefix).map_err(|e| format!("prefix: {e}"))?;
        self.prefix = prefix.to_string();
        if self.version.trim().is_empty() || self.version.chars().count() > MAX_VERSION_LEN {
            return Err(format!("version must be 1 to {MAX_VERSION_LEN} characters"));
        }
        if self.version.contains(['\0', '/']) {
            return Err("version may not contain '/' or NUL".into());
        }
        if self.carrier == 0 {
            self.carrier = 2;
        }
        if !matches!(self.carrier, 1 | 2) {
            return Err(format!("type must be 1 (active carrier) or 2 (other), not {}", self.carrier));
        }
        if self.handle.is_empty() {
            self.handle = format!("{}/TEMPLATE.{}", self.prefix, self.version);
        }
        Handle::parse(&self.handle, SuffixCase::Sensitive).map_err(|e| format!("handle: {e}"))?;
        if self.items.len() > MAX_ITEMS {
            return Err(format!("a template has at most {MAX_ITEMS} items"));
        }
        let (mut names, mut types, mut indexes) = (HashSet::new(), HashSet::new(), HashSet::new());
        for item in &self.items {
            let at = item.id_index;
            if at < FIRST_ITEM_INDEX {
                return Err(format!("item {}: idIndex must be {FIRST_ITEM_INDEX} or more, not {at}", item.name));
            }
            if item.name.trim().is_empty() || item.id_type.trim().is_empty() {
                return Err(format!("item at index {at}: name and idType must not be empty"));
            }
            if !names.insert(item.name.as_str()) {
                return Err(format!("item name {} appears twice", item.name));
            }
            if !types.insert(item.id_type.as_str()) {
                return Err(format!("item idType {} appears twice", item.id_type));
            }
            if !indexes.insert(at) {
                return Err(format!("item idIndex {at} appears twice"));
            }
            if item.state > 1 {
                return Err(format!("item at index {at}: state must be 0 or 1"));
            }
            item.metadata.check().map_err(|e| format!("item at index {at}: {e}"))?;
        }
        self.items.sort_by_key(|i| i.id_index);
        Ok(())
    }

    /// The item at `index`.
    pub fn item(&self, index: u32) -> Option<&Item> {
        self.items.binary_search_by_key(&index, |i| i.id_index).ok().map(|at| &self.items[at])
    }

    /// Applies an update (SNMS `PUT`) of this version: the descriptive fields it gives replace these (empty
    /// ones, and an unset type, stay as they are), items matched by index and type are replaced, the rest are
    /// added; items not sent stay as they are. The version cannot change, and neither can an item be deleted
    /// (disable it).
    pub fn update(&mut self, change: Template) -> Result<(), String> {
        if change.version != self.version {
            return Err("the version of a template cannot change".into());
        }
        let mut next = self.clone();
        let given = |new: String, old: &mut String| {
            if !new.is_empty() {
                *old = new;
            }
        };
        given(change.description, &mut next.description);
        given(change.industry_category, &mut next.industry_category);
        given(change.industry_specific, &mut next.industry_specific);
        given(change.industry_trade, &mut next.industry_trade);
        given(change.industry_subclass, &mut next.industry_subclass);
        given(change.handle, &mut next.handle);
        if change.carrier != 0 {
            next.carrier = change.carrier;
        }
        for item in change.items {
            match next.items.iter_mut().find(|i| i.id_index == item.id_index && i.id_type == item.id_type) {
                Some(old) => *old = item,
                None => next.items.push(item),
            }
        }
        next.normalize()?;
        *self = next;
        Ok(())
    }

    /// Checks `values`, a record that names this template, and returns the first rule it breaks: every
    /// enabled required item present, no value at an index of the template's range that no enabled item
    /// defines or with another type, every item's value valid for its schema.
    pub fn check(&self, values: &[HandleValue]) -> Result<(), Violation> {
        for v in values.iter().filter(|v| v.index >= FIRST_ITEM_INDEX) {
            let Some(item) = self.item(v.index) else { return Err(Violation::UnknownIndex { index: v.index }) };
            if !item.is_enabled() {
                return Err(Violation::Disabled { index: v.index, name: item.name.clone() });
            }
            if v.ty != item.id_type {
                return Err(Violation::WrongType { index: v.index, expected: item.id_type.clone() });
            }
            let text = std::str::from_utf8(&v.data).map_err(|_| Violation::Invalid {
                index: v.index,
                name: item.name.clone(),
                rule: Rule::NotText,
            })?;
            item.metadata.check_value(text).map_err(|rule| Violation::Invalid {
                index: v.index,
                name: item.name.clone(),
                rule,
            })?;
        }
        for item in self.items.iter().filter(|i| i.required && i.is_enabled()) {
            if !values.iter().any(|v| v.index == item.id_index) {
                return Err(Violation::Missing {
                    index: item.id_index,
                    ty: item.id_type.clone(),
                    name: item.name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The store key of the template (prefix, version) in the `templates` space.
pub fn store_key(prefix: &str, version: &str) -> Vec<u8> {
    format!("{prefix}\0{version}").into_bytes()
}

/// Puts `t` into `batch` (as JSON, under [`store_key`]): the one encoding of a stored template.
pub fn put(batch: &mut Batch, t: &Template) {
    batch.put(Space::Templates, store_key(&t.prefix, &t.version), serde_json::to_vec(t).expect("a template encodes"));
}

/// A stored template, from the bytes [`put`] wrote.
pub fn decode(bytes: &[u8]) -> Result<Template, serde_json::Error> {
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests;
