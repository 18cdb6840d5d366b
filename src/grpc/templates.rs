//! The Templates service: data templates as the SNMS API has them, in protobuf.

use tonic::{Request, Response, Status};

use super::{ServiceState, pb, status};
use crate::error::{ErrorCode, NodeError};
use crate::node::{Caller, Node};
use crate::request::Operation;
use crate::template::{Item, Schema, Template};

/// The Templates service.
#[derive(Clone)]
pub struct TemplatesService(pub(crate) ServiceState);

fn schema_out(s: &Schema) -> pb::ItemSchema {
    use pb::item_schema::Kind;
    let kind = match s {
        Schema::String { min_length, max_length } => {
            Kind::String(pb::StringSchema { min_length: *min_length, max_length: *max_length })
        }
        Schema::Number { minimum, maximum, integer } => {
            Kind::Number(pb::NumberSchema { minimum: *minimum, maximum: *maximum, integer: *integer })
        }
        Schema::Date => Kind::Date(pb::DateSchema {}),
        Schema::Enumeration { values } => Kind::Enumeration(pb::EnumerationSchema { values: values.clone() }),
        Schema::Url => Kind::Url(pb::UrlSchema {}),
        Schema::Reference { prefix } => Kind::Reference(pb::ReferenceSchema { prefix: prefix.clone() }),
    };
    pb::ItemSchema { kind: Some(kind) }
}

fn schema_in(s: Option<pb::ItemSchema>) -> Schema {
    use pb::item_schema::Kind;
    match s.and_then(|s| s.kind) {
        None => Schema::default(),
        Some(Kind::String(s)) => Schema::String { min_length: s.min_length, max_length: s.max_length },
        Some(Kind::Number(n)) => Schema::Number { minimum: n.minimum, maximum: n.maximum, integer: n.integer },
        Some(Kind::Date(_)) => Schema::Date,
        Some(Kind::Enumeration(e)) => Schema::Enumeration { values: e.values },
        Some(Kind::Url(_)) => Schema::Url,
        Some(Kind::Reference(r)) => Schema::Reference { prefix: r.prefix },
    }
}

/// The protobuf form of a template.
pub fn template_out(t: &Template) -> pb::Template {
    pb::Template {
        prefix: t.prefix.clone(),
        version: t.version.clone(),
        description: t.description.clone(),
        industry_category: t.industry_category.clone(),
        industry_specific: t.industry_specific.clone(),
        industry_trade: t.industry_trade.clone(),
        industry_subclass: t.industry_subclass.clone(),
        carrier_type: u32::from(t.carrier),
        handle: t.handle.clone(),
        items: t
            .items
            .iter()
            .map(|i| pb::TemplateItem {
                name: i.name.clone(),
                id_type: i.id_type.clone(),
                id_index: i.id_index,
                required: i.required,
                enabled: i.is_enabled(),
                schema: Some(schema_out(&i.metadata)),
            })
            .collect(),
        published: t.published,
    }
}

/// The core form of a protobuf template.
pub fn template_in(t: pb::Template) -> Template {
    Template {
        prefix: t.prefix,
        version: t.version,
        description: t.description,
        industry_category: t.industry_category,
        industry_specific: t.industry_specific,
        industry_trade: t.industry_trade,
        industry_subclass: t.industry_subclass,
        carrier: t.carrier_type.min(255) as u8,
        handle: t.handle,
        items: t
            .items
            .into_iter()
            .map(|i| Item {
                name: i.name,
                id_type: i.id_type,
                id_index: i.id_index,
                required: i.required,
                state: u8::from(i.enabled),
                metadata: schema_in(i.schema),
            })
            .collect(),
        published: t.published,
    }
}

fn not_found(name: &pb::TemplateName) -> NodeError {
    NodeError::new(ErrorCode::HandleNotFound, format!("no template {} under prefix {}", name.version, name.prefix))
}

impl TemplatesService {
    /// Runs a core call on the blocking pool (template writes fsync, and every call may read the store).
    async fn run<R, T: Send + 'static>(
        &self,
        req: Request<R>,
        f: impl FnOnce(&Node, &Caller, R) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<Response<T>, Status>
    where
        R: Send + 'static,
    {
        let _admitted = self.0.dispatch(&req, Operation::Templates)?;
        let caller = self.0.caller(&req)?;
        let node = self.0.node.clone();
        let body = req.into_inner();
        crate::runtime::blocking(move || f(&node, &caller, body))
            .await
            .map_err(|_| Status::internal("request task failed"))?
            .map(Response::new)
            .map_err(status)
    }
}

#[tonic::async_trait]
impl pb::templates_server::Templates for TemplatesService {
    async fn get_template(&self, req: Request<pb::TemplateName>) -> Result<Response<pb::Template>, Status> {
        self.run(req, |node, _, name| {
            let prefix = crate::node::template_prefix(&name.prefix)?;
            let t = node.template(&prefix, &name.version)?.ok_or_else(|| not_found(&name))?;
            Ok(template_out(&t))
        })
        .await
    }

    async fn list_templates(
        &self,
        req: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        self.run(req, |node, _, r| {
            let prefix = (!r.prefix.is_empty()).then(|| crate::node::template_prefix(&r.prefix)).transpose()?;
            let templates = node.templates(prefix.as_ref())?.iter().map(|t| template_out(t)).collect();
            Ok(pb::ListTemplatesResponse { templates })
        })
        .await
    }

    async fn define_template(&self, req: Request<pb::Template>) -> Result<Response<pb::Template>, Status> {
        self.run(req, |node, caller, t| Ok(template_out(&node.define_template(caller, template_in(t))?))).await
    }

    async fn update_template(&self, req: Request<pb::Template>) -> Result<Response<pb::Template>, Status> {
        self.run(req, |node, caller, t| Ok(template_out(&node.update_template(caller, template_in(t))?))).await
    }

    async fn publish_template(&self, req: Request<pb::TemplateName>) -> Result<Response<pb::Template>, Status> {
        self.run(req, |node, caller, name| {
            let prefix = crate::node::template_prefix(&name.prefix)?;
            Ok(template_out(&node.publish_template(caller, &prefix, &name.version)?))
        })
        .await
    }

    async fn delete_template(
        &self,
        req: Request<pb::TemplateName>,
    ) -> Result<Response<pb::DeleteTemplateResponse>, Status> {
        self.run(req, |node, caller, name| {
            let prefix = crate::node::template_prefix(&name.prefix)?;
            node.delete_template(caller, &prefix, &name.version)?;
            Ok(pb::DeleteTemplateResponse {})
        })
        .await
    }
}
