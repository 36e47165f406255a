//! Bulk (RFC 7644 §3.7): parsing and validating a BulkRequest against the
//! advertised limits, ordering operations by their `bulkId` references,
//! substituting `"bulkId:xyz"` references, and building the BulkResponse.
//!
//! The engine does not execute anything: the server runs the operations in
//! [`BulkPlan::order`], records each created id with
//! [`BulkIdMap`], and calls [`substitute_bulk_ids`] on each operation's
//! `path` and `data` before running it.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::error::{ScimError, ScimType};
use crate::schema::ResourceKind;
use crate::value::{JsonObject, get_ci};

/// URN of the BulkRequest message.
pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// URN of the BulkResponse message.
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

const BULK_ID_PREFIX: &str = "bulkId:";

/// The limits advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// `bulk.maxOperations`.
    pub max_operations: usize,
    /// `bulk.maxPayloadSize`, in bytes.
    pub max_payload_size: usize,
}

/// A bulk operation's HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    /// POST: create.
    Post,
    /// PUT: replace.
    Put,
    /// PATCH: modify.
    Patch,
    /// DELETE: delete.
    Delete,
}

impl BulkMethod {
    /// The upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation of a BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    /// The method.
    pub method: BulkMethod,
    /// The client's id for a POST, referable as `"bulkId:<id>"`.
    pub bulk_id: Option<String>,
    /// The ETag the client expects (`If-Match`).
    pub version: Option<String>,
    /// The resource type addressed.
    pub kind: ResourceKind,
    /// The target id for PUT/PATCH/DELETE (possibly a `bulkId:` reference).
    pub id: Option<String>,
    /// The original path, e.g. `/Users` or `/Groups/bulkId:qwerty`.
    pub path: String,
    /// The body for POST/PUT/PATCH.
    pub data: Option<Value>,
}

/// A parsed, validated BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors (`None`: run everything).
    pub fail_on_errors: Option<u32>,
    /// The operations, in request order.
    pub operations: Vec<BulkOperation>,
}

/// The execution plan: an order that runs every operation after those whose
/// `bulkId` it references, and the operations that cannot run.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkPlan {
    /// Indices into `operations`, in execution order (failed ones left out).
    pub order: Vec<usize>,
    /// Operations that fail before running: unresolved references (409
    /// `invalidValue`) or circular ones (409).
    pub failures: Vec<(usize, ScimError)>,
}

/// bulkId → server id of the resources created so far.
pub type BulkIdMap = HashMap<String, String>;

fn op_error(i: usize, e: ScimError) -> ScimError {
    ScimError::new(
        e.status(),
        e.scim_type(),
        format!("Operations[{i}]: {}", e.detail()),
    )
}

impl BulkRequest {
    /// Parses `body` (whose serialized size is `payload_size` bytes) and
    /// checks it against `limits`: too large or too many operations → 413.
    pub fn parse(body: &Value, payload_size: usize, limits: BulkLimits) -> Result<Self, ScimError> {
        if payload_size > limits.max_payload_size {
            return Err(ScimError::payload_too_large(format!(
                "The size of the bulk operation exceeds the maxPayloadSize ({}).",
                limits.max_payload_size
            )));
        }
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the bulk request must be a JSON object"))?;
        if let Some(s) = get_ci(obj, "schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(BULK_REQUEST_URN))
                })
            });
            if !ok {
                return Err(ScimError::invalid_syntax(format!(
                    "\"schemas\" must contain {BULK_REQUEST_URN:?}"
                )));
            }
        }
        let fail_on_errors = match get_ci(obj, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        ScimError::invalid_value("failOnErrors must be a positive integer")
                    })?,
            ),
        };
        let ops = get_ci(obj, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be an array"))?;
        if ops.len() > limits.max_operations {
            return Err(ScimError::payload_too_large(format!(
                "The number of operations exceeds the maxOperations ({}).",
                limits.max_operations
            )));
        }
        let mut operations: Vec<BulkOperation> = Vec::with_capacity(ops.len());
        let mut bulk_ids: HashSet<String> = HashSet::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let parsed = parse_operation(op).map_err(|e| op_error(i, e))?;
            if let Some(b) = &parsed.bulk_id
                && !bulk_ids.insert(b.clone())
            {
                return Err(op_error(
                    i,
                    ScimError::invalid_value(format!("duplicate bulkId {b:?}")),
                ));
            }
            operations.push(parsed);
        }
        Ok(Self {
            fail_on_errors,
            operations,
        })
    }

    /// Orders the operations so that each runs after the operations whose
    /// `bulkId` it references (request order otherwise), and reports those
    /// that reference an unknown `bulkId` or sit on a reference cycle.
    pub fn plan(&self) -> BulkPlan {
        // Linear in the operations and their references: a hostile request of
        // maxOperations operations, each full of references, costs one pass.
        let n = self.operations.len();
        let index: HashMap<&str, usize> = self
            .operations
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.bulk_id.as_deref().map(|b| (b, i)))
            .collect();
        let mut failed: HashMap<usize, ScimError> = HashMap::new();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, op) in self.operations.iter().enumerate() {
            let mut refs = References::default();
            if let Some(id) = &op.id {
                refs.collect_str(id);
            }
            if let Some(d) = &op.data {
                refs.collect(d);
            }
            let mut seen: HashSet<usize> = HashSet::new();
            for r in refs.in_order {
                match index.get(r) {
                    Some(&j) => {
                        if seen.insert(j) {
                            deps[i].push(j);
                        }
                    }
                    None => {
                        failed.entry(i).or_insert_with(|| {
                            ScimError::new(
                                409,
                                Some(ScimType::InvalidValue),
                                format!("Reference to bulkId {r:?} could not be resolved"),
                            )
                        });
                    }
                }
            }
        }
        // Kahn's algorithm, always taking the lowest ready index so the
        // order stays as close to the request order as possible.
        let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, ds) in deps.iter().enumerate() {
            for &j in ds {
                dependents[j].push(i);
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            // An operation with an unresolvable reference is not run; its
            // dependents still are, and fail on their own missing reference.
            if !failed.contains_key(&i) {
                order.push(i);
            }
            for &d in &dependents[i] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        let mut failures: Vec<(usize, ScimError)> = failed.into_iter().collect();
        for (i, _) in pending.iter().enumerate().filter(|(_, p)| **p > 0) {
            failures.push((
                i,
                ScimError::conflict("circular bulkId reference; the operation was not run"),
            ));
        }
        failures.sort_by_key(|(i, _)| *i);
        BulkPlan { order, failures }
    }
}

/// The distinct `bulkId` references of one operation, in the order met.
#[derive(Default)]
struct References<'a> {
    seen: HashSet<&'a str>,
    in_order: Vec<&'a str>,
}

impl<'a> References<'a> {
    fn collect_str(&mut self, s: &'a str) {
        if let Some(r) = s.strip_prefix(BULK_ID_PREFIX)
            && self.seen.insert(r)
        {
            self.in_order.push(r);
        }
    }

    fn collect(&mut self, v: &'a Value) {
        match v {
            Value::String(s) => self.collect_str(s),
            Value::Array(a) => a.iter().for_each(|x| self.collect(x)),
            Value::Object(o) => o.values().for_each(|x| self.collect(x)),
            _ => {}
        }
    }
}

fn parse_operation(v: &Value) -> Result<BulkOperation, ScimError> {
    let o: &JsonObject = v
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
    let method_name = get_ci(o, "method")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("\"method\" is missing"))?;
    let method = [
        BulkMethod::Post,
        BulkMethod::Put,
        BulkMethod::Patch,
        BulkMethod::Delete,
    ]
    .into_iter()
    .find(|m| m.as_str().eq_ignore_ascii_case(method_name))
    .ok_or_else(|| ScimError::invalid_syntax(format!("unsupported method {method_name:?}")))?;
    let text = |k: &str| -> Result<Option<String>, ScimError> {
        match get_ci(o, k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_syntax(format!("{k:?} must be a string"))),
        }
    };
    let bulk_id = text("bulkId")?;
    let version = text("version")?;
    let path = text("path")?.ok_or_else(|| ScimError::invalid_syntax("\"path\" is missing"))?;
    let data = get_ci(o, "data").filter(|d| !d.is_null()).cloned();

    let trimmed = path.trim_start_matches('/');
    let (endpoint, id) = match trimmed.split_once('/') {
        Some((e, id)) => (e, Some(id)),
        None => (trimmed, None),
    };
    let kind = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find(|k| k.endpoint()[1..].eq_ignore_ascii_case(endpoint))
        .ok_or_else(|| ScimError::invalid_path(format!("unsupported bulk path {path:?}")))?;
    if id.is_some_and(|i| i.is_empty() || i.contains('/')) {
        return Err(ScimError::invalid_path(format!(
            "unsupported bulk path {path:?}"
        )));
    }
    match method {
        BulkMethod::Post => {
            if id.is_some() {
                return Err(ScimError::invalid_path(
                    "POST paths name an endpoint, e.g. \"/Users\"",
                ));
            }
            if bulk_id.as_deref().is_none_or(str::is_empty) {
                return Err(ScimError::invalid_syntax(
                    "a POST operation needs a \"bulkId\"",
                ));
            }
        }
        _ if id.is_none() => {
            return Err(ScimError::invalid_path(format!(
                "{} paths name a resource, e.g. \"/Users/<id>\"",
                method.as_str()
            )));
        }
        _ => {}
    }
    if method != BulkMethod::Delete && data.is_none() {
        return Err(ScimError::invalid_syntax(format!(
            "a {} operation needs \"data\"",
            method.as_str()
        )));
    }
    Ok(BulkOperation {
        method,
        bulk_id,
        version,
        kind,
        id: id.map(str::to_owned),
        path,
        data,
    })
}

/// The bulkIds referenced (as `"bulkId:<id>"` strings) anywhere in `v`, each once.
pub fn bulk_id_refs(v: &Value) -> Vec<String> {
    let mut refs = References::default();
    refs.collect(v);
    refs.in_order.into_iter().map(str::to_owned).collect()
}

/// Replaces every `"bulkId:<id>"` string in `v` with the created resource's
/// id. An unknown bulkId is a 409 `invalidValue` error and leaves `v` as it was.
pub fn substitute_bulk_ids(v: &mut Value, ids: &BulkIdMap) -> Result<(), ScimError> {
    if let Some(missing) = bulk_id_refs(v).into_iter().find(|r| !ids.contains_key(r)) {
        return Err(ScimError::new(
            409,
            Some(ScimType::InvalidValue),
            format!("Reference to bulkId {missing:?} could not be resolved"),
        ));
    }
    substitute(v, ids);
    Ok(())
}

/// Same for a path such as `/Groups/bulkId:qwerty`.
pub fn substitute_bulk_id_in_path(path: &str, ids: &BulkIdMap) -> Result<String, ScimError> {
    let mut v = Value::String(path.rsplit_once('/').map_or(path, |(_, id)| id).to_owned());
    substitute_bulk_ids(&mut v, ids)?;
    let id = v.as_str().unwrap_or_default();
    Ok(match path.rsplit_once('/') {
        Some((head, _)) => format!("{head}/{id}"),
        None => id.to_owned(),
    })
}

fn substitute(v: &mut Value, ids: &BulkIdMap) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|r| ids.get(r)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

/// Whether to stop running operations after `errors` failures.
pub fn should_stop(fail_on_errors: Option<u32>, errors: u32) -> bool {
    fail_on_errors.is_some_and(|limit| errors >= limit)
}

/// The outcome of one bulk operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperationResult {
    /// The method.
    pub method: BulkMethod,
    /// The client's bulkId, echoed.
    pub bulk_id: Option<String>,
    /// The resource's new version (ETag).
    pub version: Option<String>,
    /// The resource's URL, when one exists.
    pub location: Option<String>,
    /// The HTTP status of the operation.
    pub status: u16,
    /// The body: a SCIM error for failures, optionally the resource otherwise.
    pub response: Option<Value>,
}

impl BulkOperationResult {
    /// A failed operation, with the error as its response body.
    pub fn failed(op: &BulkOperation, e: &ScimError) -> Self {
        Self {
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            version: None,
            location: None,
            status: e.status(),
            response: Some(e.to_json()),
        }
    }
}

/// A BulkResponse.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkResponse {
    /// Results, in execution order.
    pub operations: Vec<BulkOperationResult>,
}

impl BulkResponse {
    /// The response as JSON (statuses as strings, like the RFC's examples).
    pub fn to_json(&self) -> Value {
        let ops: Vec<Value> = self
            .operations
            .iter()
            .map(|r| {
                let mut o = JsonObject::new();
                o.insert("method".into(), r.method.as_str().into());
                if let Some(b) = &r.bulk_id {
                    o.insert("bulkId".into(), b.clone().into());
                }
                if let Some(v) = &r.version {
                    o.insert("version".into(), v.clone().into());
                }
                if let Some(l) = &r.location {
                    o.insert("location".into(), l.clone().into());
                }
                o.insert("status".into(), r.status.to_string().into());
                if let Some(resp) = &r.response {
                    o.insert("response".into(), resp.clone());
                }
                Value::Object(o)
            })
            .collect();
        serde_json::json!({"schemas": [BULK_RESPONSE_URN], "Operations": ops})
    }
}

#[cfg(test)]
mod tests;
