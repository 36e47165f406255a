//! The SCIM 2.0 protocol engine of Roster (RFC 7643, RFC 7644), including the
//! real dialects of Okta and Microsoft Entra ID.
//!
//! **Architecture invariant: knows nothing of HTTP, SQL or tenants.** It takes
//! and returns `serde_json` values and plain Rust types; the web crate maps
//! [`ScimError`] to responses, the store translates [`Filter`] to SQL, and
//! "a tenant" is only ever a [`schema::SchemaRegistry`] built from data
//! handed in. Its dependencies are serde, serde_json, thiserror and time.
//!
//! # Public API
//!
//! | module | what | key items |
//! |---|---|---|
//! | [`schema`] | attribute characteristics, core/enterprise/custom schemas, per-tenant registry, path resolution | [`schema::SchemaRegistry::new`], [`schema::CustomAttribute`], [`schema::ResourceSchema::resolve`], [`schema::AttributeDef`] |
//! | [`resource`] | parse and validate User/Group bodies; typed accessors; render with `meta`; ETags | [`resource::parse_user`], [`resource::parse_group`], [`resource::parse_replacement`], [`resource::UserView`], [`resource::render`], [`resource::weak_etag`], [`resource::etag_matches`] |
//! | [`filter`] | filter AST, parser, canonical printer, evaluator, schema validation | [`Filter::parse`], [`Filter::parse_for`], [`filter::matches`], [`filter::validate`], [`FilterLimits`] |
//! | [`patch`] | PatchOp parsing and atomic application; members delta | [`patch::PatchRequest::parse`], [`patch::apply_patch`], [`patch::PatchOutcome`], [`patch::MembersChange`] |
//! | [`projection`] | `attributes` / `excludedAttributes` with `returned` rules | [`projection::Projection::parse`], [`projection::Projection::includes`] |
//! | [`list`] | query parameters, SearchRequest, paging, sorting, ListResponse | [`list::ListQuery::from_query`], [`list::ListQuery::from_search_request`], [`list::ListQuery::page`], [`list::ListResponse`], [`list::sort_resources`] |
//! | [`bulk`] | BulkRequest validation, bulkId ordering and substitution, BulkResponse | [`bulk::BulkRequest::parse`], [`bulk::BulkRequest::plan`], [`bulk::substitute_bulk_ids`], [`bulk::BulkResponse`] |
//! | [`discovery`] | `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` | [`discovery::service_provider_config`], [`discovery::resource_types`], [`discovery::schemas`], [`discovery::Capabilities`] |
//! | [`error`] | the SCIM error with status and `scimType` | [`ScimError`], [`ScimType`] |
//! | [`path`], [`value`] | attribute paths; JSON helpers and comparisons | [`AttrPath`], [`JsonObject`] |
//!
//! # Documents
//!
//! What the server stores is a *document*: a JSON object with canonical
//! attribute names, core attributes at the top level and extension attributes
//! under their schema URN, without `id`, `meta`, `schemas`, `password` or
//! group `members` (those are rows). [`resource::parse_user`] produces one,
//! [`patch::apply_patch`] transforms one, [`resource::render`] presents one.
//!
//! ```
//! use roster_scim::{patch, resource, schema::SchemaRegistry, Filter};
//! use serde_json::json;
//!
//! let registry = SchemaRegistry::new(&[])?;
//! let users = registry.user();
//! let parsed = resource::parse_user(users, &json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen@example.com", "active": "True", "password": "dropped"
//! }))?;
//! assert_eq!(parsed.user().active(), Some(true));
//!
//! let req = patch::PatchRequest::parse(&json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "value": {"active": false}}]
//! }))?;
//! let out = patch::apply_patch(users, "id-1", &parsed.document, &req)?;
//! assert_eq!(out.changed, ["active"]);
//!
//! let filter = Filter::parse_for(r#"userName eq "BJENSEN@example.com""#, users)?;
//! let mut resource = out.document.clone();
//! resource.insert("id".into(), json!("id-1"));
//! assert!(filter.matches(&resource, users));
//! # Ok::<(), roster_scim::ScimError>(())
//! ```

pub mod bulk;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod value;

pub use error::{ScimError, ScimType};
pub use filter::{CompValue, CompareOp, Filter, FilterLimits};
pub use path::AttrPath;
pub use value::JsonObject;
