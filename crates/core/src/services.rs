//! The one entry point the web layer and the CLI hold.

use crate::Database;
use crate::admins::AdminService;
use crate::tenants::TenantService;
use crate::tokens::TokenService;

/// Every service, sharing one database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    db: Database,
    tenants: TenantService,
    admins: AdminService,
    tokens: TokenService,
}

impl Services {
    pub fn new(db: Database) -> Self {
        Self {
            tenants: TenantService::new(db.clone()),
            admins: AdminService::new(db.clone()),
            tokens: TokenService::new(db.clone()),
            db,
        }
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn tenants(&self) -> &TenantService {
        &self.tenants
    }

    pub fn admins(&self) -> &AdminService {
        &self.admins
    }

    pub fn tokens(&self) -> &TokenService {
        &self.tokens
    }
}
