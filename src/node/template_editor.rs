//! Defining, changing, publishing and deleting data templates: authorized (see
//! [`Access::authorize_templates`]) and audited, and refused in the terms SNMS nodes use.

use super::templates::Templates;
use super::{Access, Caller, Journal};
use crate::audit::Action;
use crate::error::{ErrorCode, NodeError};
use crate::id::Prefix;
use crate::store::Batch;
use crate::template::Template;

/// The template operations of one request.
pub(crate) struct TemplateEditor<'a> {
    pub(crate) templates: &'a Templates,
    pub(crate) journal: &'a Journal,
    pub(crate) access: Access<'a>,
}

fn invalid(reason: String) -> NodeError {
    let zh = format!("模板不合法：{reason}");
    NodeError::new(ErrorCode::InvalidValue, format!("invalid template: {reason}")).in_chinese(zh)
}

fn not_found(prefix: &Prefix, version: &str) -> NodeError {
    NodeError::new(ErrorCode::HandleNotFound, format!("no template {version} under prefix {prefix}"))
        .in_chinese("模板不存在")
}

fn published(prefix: &Prefix, version: &str) -> NodeError {
    NodeError::new(
        ErrorCode::BadRequest,
        format!("template {version} of {prefix} is published and cannot change; define a new version"),
    )
    .in_chinese("模板已发布，不可修改，请创建新版本")
}

/// The prefix of a template as a request names it.
pub(crate) fn template_prefix(prefix: &str) -> Result<Prefix, NodeError> {
    Prefix::parse(prefix.trim()).map_err(|e| invalid(format!("prefix: {e}")))
}

impl TemplateEditor<'_> {
    fn batch(&self, caller: &Caller, action: Action, handle: &str) -> Batch {
        let mut b = Batch::new();
        self.journal.audit_template(&mut b, caller, action, handle);
        b
    }

    /// The audit entry of a change of the stored (prefix, version), named by its identifier.
    fn batch_for(&self, caller: &Caller, action: Action, prefix: &Prefix, version: &str) -> Result<Batch, NodeError> {
        let handle = self.templates.get(prefix, version)?.map(|t| t.handle.clone());
        Ok(self.batch(caller, action, &handle.unwrap_or_else(|| format!("{prefix}/TEMPLATE.{version}"))))
    }

    /// Defines a new template version; it is published at once when `t.published` says so.
    pub fn define(&self, caller: &Caller, mut t: Template) -> Result<Template, NodeError> {
        t.normalize().map_err(invalid)?;
        let prefix = template_prefix(&t.prefix)?;
        self.access.authorize_templates(caller, &prefix)?;
        let (version, batch) = (t.version.clone(), self.batch(caller, Action::DefineTemplate, &t.handle));
        let written = self.templates.write(
            &prefix,
            &version,
            |old| match old {
                Some(_) => Err(NodeError::new(
                    ErrorCode::HandleAlreadyExists,
                    format!("template {version} of {prefix} already exists"),
                )
                .in_chinese("模板已存在")),
                None => Ok(Some(t)),
            },
            batch,
        )?;
        Ok(written.expect("written").as_ref().clone())
    }

    /// Changes a draft: see [`Template::update`]. A published version is refused.
    pub fn update(&self, caller: &Caller, change: Template) -> Result<Template, NodeError> {
        let prefix = template_prefix(&change.prefix)?;
        self.access.authorize_templates(caller, &prefix)?;
        let version = change.version.clone();
        let batch = self.batch_for(caller, Action::UpdateTemplate, &prefix, &version)?;
        let written = self.templates.write(
            &prefix,
            &version,
            |old| {
                let mut t = old.ok_or_else(|| not_found(&prefix, &version))?.clone();
                if t.published {
                    return Err(published(&prefix, &version));
                }
                t.update(change).map_err(invalid)?;
                Ok(Some(t))
            },
            batch,
        )?;
        Ok(written.expect("written").as_ref().clone())
    }

    /// Publishes a version (again: no change).
    pub fn publish(&self, caller: &Caller, prefix: &Prefix, version: &str) -> Result<Template, NodeError> {
        self.access.authorize_templates(caller, prefix)?;
        let batch = self.batch_for(caller, Action::PublishTemplate, prefix, version)?;
        let written = self.templates.write(
            prefix,
            version,
            |old| {
                let mut t = old.ok_or_else(|| not_found(prefix, version))?.clone();
                t.published = true;
                Ok(Some(t))
            },
            batch,
        )?;
        Ok(written.expect("written").as_ref().clone())
    }

    /// Deletes a draft; a published version stays, since records may name it.
    pub fn delete(&self, caller: &Caller, prefix: &Prefix, version: &str) -> Result<(), NodeError> {
        self.access.authorize_templates(caller, prefix)?;
        let batch = self.batch_for(caller, Action::DeleteTemplate, prefix, version)?;
        self.templates.write(
            prefix,
            version,
            |old| match old {
                None => Err(not_found(prefix, version)),
                Some(t) if t.published => Err(NodeError::new(
                    ErrorCode::BadRequest,
                    format!("template {version} of {prefix} is published; records may name it, so it stays"),
                )
                .in_chinese("模板已发布，不可删除")),
                Some(_) => Ok(None),
            },
            batch,
        )?;
        Ok(())
    }
}
