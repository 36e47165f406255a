//! The standard schemas of RFC 7643 §4 and §8.7, built once per process.
//!
//! They are written as data (not parsed from JSON at start-up) so a typo is a
//! compile error and there is nothing to fail at run time.

use std::sync::{Arc, LazyLock};

use super::{
    AttrType, AttributeDef, ENTERPRISE_USER_URN, GROUP_URN, Mutability, Returned, SchemaDef,
    USER_URN, Uniqueness,
};

/// Chainable tweaks so the tables below read like the RFC's.
impl AttributeDef {
    pub(crate) fn desc(mut self, d: &str) -> Self {
        self.description = d.to_owned();
        self
    }
    pub(crate) fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    pub(crate) fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub(crate) fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    pub(crate) fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    pub(crate) fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    pub(crate) fn unique(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    pub(crate) fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    pub(crate) fn refs(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    pub(crate) fn subs(mut self, subs: Vec<AttributeDef>) -> Self {
        self.sub_attributes = subs;
        self
    }
}

fn string(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::String)
}

fn reference(name: &str, types: &[&str]) -> AttributeDef {
    AttributeDef::new(name, AttrType::Reference)
        .refs(types)
        .case_exact()
}

fn complex(name: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    AttributeDef::new(name, AttrType::Complex).subs(subs)
}

/// The usual `value`/`display`/`type`/`primary` quartet of multi-valued attributes.
fn plural(name: &str, desc: &str, value: AttributeDef, types: &[&str]) -> AttributeDef {
    complex(
        name,
        vec![
            value.desc("The attribute's significant value."),
            string("display")
                .desc("A human-readable name, primarily used for display purposes.")
                .mutability(Mutability::ReadWrite),
            string("type")
                .desc("A label indicating the attribute's function.")
                .canonical(types),
            AttributeDef::new("primary", AttrType::Boolean)
                .desc("Whether this is the primary or preferred value; true at most once."),
        ],
    )
    .multi()
    .desc(desc)
}

/// `id`, `externalId` and `meta` (RFC 7643 §3.1). They belong to every
/// resource but to no schema, so they are not listed under `/Schemas`.
pub(crate) static COMMON: LazyLock<Arc<SchemaDef>> = LazyLock::new(|| {
    Arc::new(SchemaDef {
        id: String::new(),
        name: "Common".into(),
        description: "Attributes common to all resources.".into(),
        attributes: vec![
            string("id")
                .desc("Unique identifier of the resource, assigned by the service provider.")
                .case_exact()
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Always)
                .unique(Uniqueness::Server),
            string("externalId")
                .desc("Identifier of the resource as defined by the provisioning client.")
                .case_exact(),
            complex(
                "meta",
                vec![
                    string("resourceType")
                        .case_exact()
                        .mutability(Mutability::ReadOnly),
                    AttributeDef::new("created", AttrType::DateTime)
                        .mutability(Mutability::ReadOnly),
                    AttributeDef::new("lastModified", AttrType::DateTime)
                        .mutability(Mutability::ReadOnly),
                    reference("location", &["uri"]).mutability(Mutability::ReadOnly),
                    string("version")
                        .case_exact()
                        .mutability(Mutability::ReadOnly),
                ],
            )
            .desc("Resource metadata.")
            .mutability(Mutability::ReadOnly),
        ],
    })
});

pub(crate) static USER: LazyLock<Arc<SchemaDef>> =
    LazyLock::new(|| {
        let name = complex(
            "name",
            vec![
                string("formatted").desc("The full name, formatted for display."),
                string("familyName").desc("The family name (last name in Western languages)."),
                string("givenName").desc("The given name (first name in Western languages)."),
                string("middleName").desc("The middle name(s)."),
                string("honorificPrefix").desc("The honorific prefix(es), e.g. 'Ms.'."),
                string("honorificSuffix").desc("The honorific suffix(es), e.g. 'III'."),
            ],
        )
        .desc("The components of the user's real name.");
        let address = complex(
            "addresses",
            vec![
                string("formatted").desc("The full mailing address, formatted for display."),
                string("streetAddress").desc("The full street address component."),
                string("locality").desc("The city or locality component."),
                string("region").desc("The state or region component."),
                string("postalCode").desc("The zip code or postal code component."),
                string("country").desc("The country name component (ISO 3166-1 alpha-2)."),
                string("type")
                    .desc("A label indicating the address's function.")
                    .canonical(&["work", "home", "other"]),
                AttributeDef::new("primary", AttrType::Boolean)
                    .desc("Whether this is the primary address; true at most once."),
            ],
        )
        .multi()
        .desc("A physical mailing address for this user.");
        let groups = complex(
            "groups",
            vec![
                string("value")
                    .desc("The identifier of the user's group.")
                    .mutability(Mutability::ReadOnly),
                reference("$ref", &["User", "Group"])
                    .desc("The URI of the corresponding Group resource.")
                    .mutability(Mutability::ReadOnly),
                string("display")
                    .desc("A human-readable name for the group.")
                    .mutability(Mutability::ReadOnly),
                string("type")
                    .desc("How the membership was derived.")
                    .canonical(&["direct", "indirect"])
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .multi()
        .mutability(Mutability::ReadOnly)
        .desc("Groups the user belongs to, maintained by the service provider.");

        Arc::new(SchemaDef {
            id: USER_URN.into(),
            name: "User".into(),
            description: "User Account".into(),
            attributes: vec![
            // userName is returned "always" here (RFC 7643 says "default") so
            // that clients asking for a few attributes still see the key they
            // match users by; Okta's and Entra's lookups rely on it.
            string("userName")
                .desc("Unique identifier for the User, used by the user to authenticate. REQUIRED.")
                .required()
                .returned(Returned::Always)
                .unique(Uniqueness::Server),
            name,
            string("displayName").desc("The name of the User, suitable for display."),
            string("nickName").desc("The casual way to address the user."),
            reference("profileUrl", &["external"]).desc("A URI pointing to the user's profile."),
            string("title").desc("The user's title, such as 'Vice President'."),
            string("userType").desc("The relationship between the organization and the user."),
            string("preferredLanguage").desc("The user's preferred written or spoken language."),
            string("locale").desc("The user's default location for localization."),
            string("timezone").desc("The user's time zone in IANA Time Zone database format."),
            AttributeDef::new("active", AttrType::Boolean)
                .desc("The user's administrative status."),
            string("password")
                .desc("The user's cleartext password; accepted and never stored or returned.")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            plural(
                "emails",
                "Email addresses for the user.",
                string("value"),
                &["work", "home", "other"],
            ),
            plural(
                "phoneNumbers",
                "Phone numbers for the user.",
                string("value"),
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            plural(
                "ims",
                "Instant messaging addresses for the user.",
                string("value"),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            plural(
                "photos",
                "URLs of images of the user.",
                reference("value", &["external"]),
                &["photo", "thumbnail"],
            ),
            address,
            groups,
            plural(
                "entitlements",
                "A list of entitlements for the user.",
                string("value"),
                &[],
            ),
            plural("roles", "A list of roles for the user.", string("value"), &[]),
            plural(
                "x509Certificates",
                "A list of certificates issued to the user.",
                AttributeDef::new("value", AttrType::Binary),
                &[],
            ),
        ],
        })
    });

pub(crate) static GROUP: LazyLock<Arc<SchemaDef>> = LazyLock::new(|| {
    Arc::new(SchemaDef {
        id: GROUP_URN.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            // RFC 7643 §4.2 calls displayName REQUIRED; its §8.7.1 table says
            // otherwise. We require it: every client sends it and it is the
            // key Okta and Entra look groups up by.
            string("displayName")
                .desc("A human-readable name for the Group. REQUIRED.")
                .required(),
            complex(
                "members",
                vec![
                    string("value")
                        .desc("Identifier of the member of this Group.")
                        .case_exact()
                        .mutability(Mutability::Immutable),
                    reference("$ref", &["User", "Group"])
                        .desc("The URI of the member resource.")
                        .mutability(Mutability::Immutable),
                    string("type")
                        .desc("The type of the member.")
                        .canonical(&["User", "Group"])
                        .mutability(Mutability::Immutable),
                    string("display")
                        .desc("A human-readable name for the member.")
                        .mutability(Mutability::ReadOnly),
                ],
            )
            .multi()
            .desc("A list of members of the Group."),
        ],
    })
});

pub(crate) static ENTERPRISE_USER: LazyLock<Arc<SchemaDef>> = LazyLock::new(|| {
    Arc::new(SchemaDef {
        id: ENTERPRISE_USER_URN.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            string("employeeNumber").desc("Identifier assigned to a person by the organization."),
            string("costCenter").desc("Identifies the name of a cost center."),
            string("organization").desc("Identifies the name of an organization."),
            string("division").desc("Identifies the name of a division."),
            string("department").desc("Identifies the name of a department."),
            complex(
                "manager",
                vec![
                    string("value")
                        .desc("The id of the SCIM resource representing the user's manager.")
                        .case_exact(),
                    reference("$ref", &["User"])
                        .desc("The URI of the SCIM resource representing the user's manager."),
                    string("displayName")
                        .desc("The displayName of the user's manager.")
                        .mutability(Mutability::ReadOnly),
                ],
            )
            .desc("The user's manager."),
        ],
    })
});
