//! The per-tenant schema registry and attribute-path resolution.

use std::sync::Arc;

use super::core_defs::{COMMON, ENTERPRISE_USER, GROUP, USER};
use super::{AttributeDef, CustomAttribute, GROUP_URN, ROSTER_USER_URN, SchemaDef, USER_URN};
use crate::error::ScimError;
use crate::path::AttrPath;

/// The two resource types Roster serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `/Users`
    User,
    /// `/Groups`
    Group,
}

impl ResourceKind {
    /// The resource type name (`meta.resourceType`), e.g. `"User"`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }
    /// The endpoint relative to the base URL, e.g. `"/Users"`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }
    /// The core schema URN.
    pub fn core_urn(self) -> &'static str {
        match self {
            ResourceKind::User => USER_URN,
            ResourceKind::Group => GROUP_URN,
        }
    }
}

/// What an [`AttrPath`] points at.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    /// An attribute, optionally one of its sub-attributes.
    Attr {
        /// The extension the attribute lives in (`None`: core or common,
        /// stored at the top level of the document).
        extension: Option<&'a SchemaDef>,
        /// The attribute.
        attr: &'a AttributeDef,
        /// The sub-attribute, when the path names one.
        sub: Option<&'a AttributeDef>,
    },
    /// A whole extension schema, named by its bare URN.
    Extension(&'a SchemaDef),
}

/// The schemas of one resource type: core, common attributes and extensions.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    kind: ResourceKind,
    core: Arc<SchemaDef>,
    extensions: Vec<Arc<SchemaDef>>,
}

/// Case-insensitive "is `full` equal to `urn` + ':' + `name`", without allocating.
fn urn_joins_to(full: &str, urn: &str, name: &str) -> bool {
    // Compared as bytes: the client's `urn` need not end on a character
    // boundary of `full`.
    let (f, u, n) = (full.as_bytes(), urn.as_bytes(), name.as_bytes());
    f.len() == u.len() + 1 + n.len()
        && f[u.len()] == b':'
        && f[..u.len()].eq_ignore_ascii_case(u)
        && f[u.len() + 1..].eq_ignore_ascii_case(n)
}

impl ResourceSchema {
    /// The resource type.
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// The core schema (User or Group).
    pub fn core(&self) -> &SchemaDef {
        &self.core
    }

    /// `id`, `externalId` and `meta`.
    pub fn common(&self) -> &SchemaDef {
        &COMMON
    }

    /// The extension schemas, in registry order.
    pub fn extensions(&self) -> impl Iterator<Item = &SchemaDef> {
        self.extensions.iter().map(|e| &**e)
    }

    /// The extension whose URN is `urn` (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&SchemaDef> {
        self.extensions().find(|e| e.id.eq_ignore_ascii_case(urn))
    }

    /// A common or core attribute by name.
    pub fn core_attr(&self, name: &str) -> Option<&AttributeDef> {
        self.common().attr(name).or_else(|| self.core.attr(name))
    }

    /// Finds an attribute by optional URN and name. Unqualified names are
    /// looked up in the common and core attributes first, then in each
    /// extension, so `employeeNumber` works as well as its qualified form.
    pub fn find_attr(
        &self,
        urn: Option<&str>,
        name: &str,
    ) -> Option<(Option<&SchemaDef>, &AttributeDef)> {
        match urn {
            Some(u) if u.eq_ignore_ascii_case(&self.core.id) => {
                self.core_attr(name).map(|a| (None, a))
            }
            Some(u) => {
                let ext = self.extension(u)?;
                ext.attr(name).map(|a| (Some(ext), a))
            }
            None => self.core_attr(name).map(|a| (None, a)).or_else(|| {
                self.extensions()
                    .find_map(|e| e.attr(name).map(|a| (Some(e), a)))
            }),
        }
    }

    /// Resolves a path against this resource type's schemas.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        if let (Some(urn), None) = (&path.urn, &path.sub_attr)
            && let Some(ext) = self
                .extensions()
                .find(|e| urn_joins_to(&e.id, urn, &path.name))
        {
            return Some(Resolved::Extension(ext));
        }
        let (extension, attr) = self.find_attr(path.urn.as_deref(), &path.name)?;
        let sub = match &path.sub_attr {
            None => None,
            Some(s) => Some(attr.sub_attr(s)?),
        };
        Some(Resolved::Attr {
            extension,
            attr,
            sub,
        })
    }

    /// The canonical spelling of a resolved path, e.g. `name.givenName` or
    /// `urn:…:enterprise:2.0:User:manager` (used to report changed attributes).
    pub fn canonical_path(
        extension: Option<&SchemaDef>,
        attr: &AttributeDef,
        sub: Option<&AttributeDef>,
    ) -> String {
        let mut out = String::new();
        if let Some(e) = extension {
            out.push_str(&e.id);
            out.push(':');
        }
        out.push_str(&attr.name);
        if let Some(s) = sub {
            out.push('.');
            out.push_str(&s.name);
        }
        out
    }
}

/// All schemas of one tenant: core User and Group, the Enterprise User
/// extension and, when the tenant defined any, the Roster custom extension.
///
/// Build one per tenant (cheap: the standard schemas are shared) and keep it
/// for as long as the tenant's custom attribute definitions do not change.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    user: ResourceSchema,
    group: ResourceSchema,
}

impl SchemaRegistry {
    /// The standard schemas plus the tenant's custom User attributes.
    ///
    /// Fails with `invalidValue` when a definition is malformed or a name
    /// repeats (case-insensitively).
    pub fn new(custom: &[CustomAttribute]) -> Result<Self, ScimError> {
        let mut extensions = vec![ENTERPRISE_USER.clone()];
        if !custom.is_empty() {
            let mut attributes: Vec<AttributeDef> = Vec::with_capacity(custom.len());
            for c in custom {
                if attributes
                    .iter()
                    .any(|a| a.name.eq_ignore_ascii_case(&c.name))
                {
                    return Err(ScimError::invalid_value(format!(
                        "duplicate custom attribute {:?}",
                        c.name
                    )));
                }
                attributes.push(c.to_def(false)?);
            }
            extensions.push(Arc::new(SchemaDef {
                id: ROSTER_USER_URN.into(),
                name: "RosterUser".into(),
                description: "Attributes defined by this tenant.".into(),
                attributes,
            }));
        }
        Ok(Self {
            user: ResourceSchema {
                kind: ResourceKind::User,
                core: USER.clone(),
                extensions,
            },
            group: ResourceSchema {
                kind: ResourceKind::Group,
                core: GROUP.clone(),
                extensions: Vec::new(),
            },
        })
    }

    /// The standard schemas only.
    pub fn standard() -> Self {
        Self {
            user: ResourceSchema {
                kind: ResourceKind::User,
                core: USER.clone(),
                extensions: vec![ENTERPRISE_USER.clone()],
            },
            group: ResourceSchema {
                kind: ResourceKind::Group,
                core: GROUP.clone(),
                extensions: Vec::new(),
            },
        }
    }

    /// The User resource type.
    pub fn user(&self) -> &ResourceSchema {
        &self.user
    }

    /// The Group resource type.
    pub fn group(&self) -> &ResourceSchema {
        &self.group
    }

    /// A resource type by kind.
    pub fn get(&self, kind: ResourceKind) -> &ResourceSchema {
        match kind {
            ResourceKind::User => &self.user,
            ResourceKind::Group => &self.group,
        }
    }

    /// Every schema this tenant supports, in `/Schemas` order.
    pub fn schemas(&self) -> impl Iterator<Item = &SchemaDef> {
        std::iter::once(self.user.core())
            .chain(std::iter::once(self.group.core()))
            .chain(self.user.extensions())
            .chain(self.group.extensions())
    }

    /// A schema by URN (case-insensitive).
    pub fn schema(&self, urn: &str) -> Option<&SchemaDef> {
        self.schemas().find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttrType, ENTERPRISE_USER_URN};

    fn registry() -> SchemaRegistry {
        SchemaRegistry::new(&[CustomAttribute::new("badgeNumber", AttrType::Integer)]).unwrap()
    }

    #[test]
    fn resolves_core_common_extension_and_urn_paths() {
        let r = registry();
        let u = r.user();
        let Some(Resolved::Attr {
            extension,
            attr,
            sub,
        }) = u.resolve(&AttrPath::parse("NAME.GivenName").unwrap())
        else {
            panic!("name.givenName")
        };
        assert!(extension.is_none());
        assert_eq!(
            (attr.name.as_str(), sub.unwrap().name.as_str()),
            ("name", "givenName")
        );

        let Some(Resolved::Attr {
            extension, attr, ..
        }) = u.resolve(&AttrPath::new("ID"))
        else {
            panic!("id")
        };
        assert!(extension.is_none());
        assert_eq!(attr.name, "id");

        let p = AttrPath::parse(&format!("{ENTERPRISE_USER_URN}:employeeNumber")).unwrap();
        let Some(Resolved::Attr { extension, .. }) = u.resolve(&p) else {
            panic!("qualified")
        };
        assert_eq!(extension.unwrap().id, ENTERPRISE_USER_URN);

        // Unqualified extension attributes resolve too.
        let Some(Resolved::Attr { extension, .. }) = u.resolve(&AttrPath::new("badgenumber"))
        else {
            panic!("custom")
        };
        assert_eq!(extension.unwrap().id, ROSTER_USER_URN);

        let p = AttrPath::parse(&format!("{USER_URN}:userName")).unwrap();
        assert!(matches!(
            u.resolve(&p),
            Some(Resolved::Attr {
                extension: None,
                ..
            })
        ));
    }

    #[test]
    fn resolves_bare_extension_urn() {
        let r = registry();
        let p = AttrPath::parse(ENTERPRISE_USER_URN).unwrap();
        assert!(
            matches!(r.user().resolve(&p), Some(Resolved::Extension(e)) if e.id == ENTERPRISE_USER_URN)
        );
    }

    #[test]
    fn unknown_paths_do_not_resolve() {
        let r = registry();
        assert!(r.user().resolve(&AttrPath::new("nope")).is_none());
        assert!(
            r.user()
                .resolve(&AttrPath::new("name").with_sub("nope"))
                .is_none()
        );
        assert!(r.group().resolve(&AttrPath::new("userName")).is_none());
        let p = AttrPath::parse("urn:example:unknown:attr").unwrap();
        assert!(r.user().resolve(&p).is_none());
    }

    #[test]
    fn registry_lists_schemas_and_rejects_duplicates() {
        let ids: Vec<_> = registry().schemas().map(|s| s.id.clone()).collect();
        assert_eq!(
            ids,
            [USER_URN, GROUP_URN, ENTERPRISE_USER_URN, ROSTER_USER_URN]
        );
        assert_eq!(SchemaRegistry::standard().schemas().count(), 3);
        let dup = [
            CustomAttribute::new("a", AttrType::String),
            CustomAttribute::new("A", AttrType::String),
        ];
        assert!(SchemaRegistry::new(&dup).is_err());
    }
}
