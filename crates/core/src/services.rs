//! The one entry point the web layer and the CLI hold.

use crate::Database;
use crate::admins::AdminService;
use crate::directory::DirectoryService;
use crate::memberships::MembershipService;
use crate::sessions::SessionService;
use crate::tenants::TenantService;
use crate::tokens::TokenService;

/// Every service, sharing one database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    db: Database,
    tenants: TenantService,
    admins: AdminService,
    tokens: TokenService,
    sessions: SessionService,
    memberships: MembershipService,
    directory: DirectoryService,
}

impl Services {
    pub fn new(db: Database) -> Self {
        Self {
            tenants: TenantService::new(db.clone()),
            admins: AdminService::new(db.clone()),
            tokens: TokenService::new(db.clone()),
            sessions: SessionService::new(db.clone()),
            memberships: MembershipService::new(db.clone()),
            directory: DirectoryService::new(db.clone()),
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

    pub fn sessions(&self) -> &SessionService {
        &self.sessions
    }

    pub fn memberships(&self) -> &MembershipService {
        &self.memberships
    }

    pub fn directory(&self) -> &DirectoryService {
        &self.directory
    }
}
