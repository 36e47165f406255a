//! `/Bulk`: each operation runs as its own request through the same service functions
//! (own transaction, own log row), in an order that honours `bulkId` references.

use roster_scim::ScimError;
use roster_scim::bulk::{
    BulkIdMap, BulkLimits, BulkMethod, BulkOperation, BulkOperationResult, BulkRequest,
    BulkResponse, should_stop, substitute_bulk_ids,
};
use serde_json::Value;

use super::users::ProjectionParams;
use super::{Operation, ProvResult, Provisioning, ProvisioningError, RequestContext, Resource};

/// The BulkResponse body.
#[derive(Clone, Debug)]
pub struct BulkOutcome {
    pub body: Value,
}

fn internal(ctx: &RequestContext) -> ScimError {
    ScimError::new(
        500,
        None,
        format!("internal error (request {})", ctx.request_id),
    )
}

impl Provisioning {
    pub fn bulk_limits(&self) -> BulkLimits {
        self.settings.capabilities.bulk.unwrap_or(BulkLimits {
            max_operations: 0,
            max_payload_size: 0,
        })
    }

    pub async fn bulk(
        &self,
        ctx: &RequestContext,
        body: &Value,
        payload_size: usize,
    ) -> ProvResult<BulkOutcome> {
        let parsed = BulkRequest::parse(body, payload_size, self.bulk_limits());
        let request = self
            .run(ctx, Operation::Bulk, None, |_| async {
                parsed.map_err(Into::into)
            })
            .await?;
        let plan = request.plan();
        let mut results = Vec::with_capacity(request.operations.len());
        let mut errors: u32 = 0;
        for (i, err) in &plan.failures {
            if let Some(op) = request.operations.get(*i) {
                results.push(BulkOperationResult::failed(op, err));
                errors += 1;
            }
        }
        let mut ids = BulkIdMap::new();
        for &i in &plan.order {
            if should_stop(request.fail_on_errors, errors) {
                break;
            }
            let Some(op) = request.operations.get(i) else {
                continue;
            };
            match self.bulk_one(ctx, op, &ids).await {
                Ok(result) => {
                    if let (Some(bulk_id), Some(location)) = (&op.bulk_id, &result.location)
                        && op.method == BulkMethod::Post
                        && let Some(id) = location.rsplit('/').next()
                    {
                        ids.insert(bulk_id.clone(), id.to_owned());
                    }
                    results.push(result);
                }
                Err(err) => {
                    errors += 1;
                    let scim = match err {
                        ProvisioningError::Scim(scim) => scim,
                        ProvisioningError::Internal(_) | ProvisioningError::Stale => internal(ctx),
                    };
                    results.push(BulkOperationResult::failed(op, &scim));
                }
            }
        }
        Ok(BulkOutcome {
            body: BulkResponse {
                operations: results,
            }
            .to_json(),
        })
    }

    async fn bulk_one(
        &self,
        ctx: &RequestContext,
        op: &BulkOperation,
        ids: &BulkIdMap,
    ) -> ProvResult<BulkOperationResult> {
        let mut data = op.data.clone().unwrap_or(Value::Null);
        substitute_bulk_ids(&mut data, ids)?;
        let target = match &op.id {
            Some(id) => {
                let mut v = Value::String(id.clone());
                substitute_bulk_ids(&mut v, ids)?;
                v.as_str().map(str::to_owned)
            }
            None => None,
        };
        let target = || {
            target
                .clone()
                .ok_or_else(|| ScimError::invalid_syntax(format!("{}: an id is required", op.path)))
        };
        let version = op.version.as_deref();
        let params = ProjectionParams::default();
        let base = self.base_url(ctx);
        let done = |status: u16, resource: Option<Resource>, id: Option<String>| {
            let location = id
                .or_else(|| resource.as_ref().map(|r| r.id.clone()))
                .map(|id| format!("{base}{}/{id}", op.kind.endpoint()));
            BulkOperationResult {
                method: op.method,
                bulk_id: op.bulk_id.clone(),
                version: resource.as_ref().map(|r| format!("W/\"{}\"", r.version)),
                location,
                status,
                response: None,
            }
        };
        let kind = op.kind;
        Ok(match op.method {
            BulkMethod::Post => {
                let written = self.create(kind, ctx, &data, params).await?;
                done(201, Some(written.resource), None)
            }
            BulkMethod::Put => {
                let id = target()?;
                let resource = self.replace(kind, ctx, &id, &data, version, params).await?;
                done(200, Some(resource), None)
            }
            BulkMethod::Patch => {
                let id = target()?;
                let resource = self.patch(kind, ctx, &id, &data, version, params).await?;
                let status = if resource.is_some() { 200 } else { 204 };
                done(status, resource, Some(id))
            }
            BulkMethod::Delete => {
                let id = target()?;
                self.delete(kind, ctx, &id, version).await?;
                done(204, None, Some(id))
            }
        })
    }
}
