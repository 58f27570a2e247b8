//! Accounts: who a caller is and what each role may touch.
//!
//! The rules are pure functions of the caller and the resource so that the server only has to
//! load both and ask; the tests of every endpoint's permission rest on these.

use crate::Country;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user does on the platform. A user has exactly one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the instance.
    Admin,
    /// Works for a country's trade body.
    AgencyOfficer,
    /// Works for an exporter.
    Seller,
    /// Works for a business buyer (wholesale).
    Buyer,
    /// Buys retail for themselves; belongs to no organisation.
    Consumer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::AgencyOfficer,
        Role::Seller,
        Role::Buyer,
        Role::Consumer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::AgencyOfficer => "agency_officer",
            Role::Seller => "seller",
            Role::Buyer => "buyer",
            Role::Consumer => "consumer",
        }
    }

    /// The kind of organisation a user of this role belongs to; consumers belong to none.
    pub fn organisation_kind(self) -> Option<OrganisationKind> {
        match self {
            Role::Admin => Some(OrganisationKind::Platform),
            Role::AgencyOfficer => Some(OrganisationKind::Agency),
            Role::Seller => Some(OrganisationKind::Seller),
            Role::Buyer => Some(OrganisationKind::BusinessBuyer),
            Role::Consumer => None,
        }
    }

    /// Roles anyone may take by signing up; the others are granted by an administrator.
    pub fn is_self_service(self) -> bool {
        matches!(self, Role::Seller | Role::Buyer | Role::Consumer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownVariant {
    pub what: &'static str,
    pub value: String,
}

impl FromStr for Role {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                what: "role",
                value: s.to_owned(),
            })
    }
}

/// The kinds of organisation on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Platform,
    Agency,
    Seller,
    BusinessBuyer,
}

impl OrganisationKind {
    pub const ALL: [OrganisationKind; 4] = [
        OrganisationKind::Platform,
        OrganisationKind::Agency,
        OrganisationKind::Seller,
        OrganisationKind::BusinessBuyer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::Platform => "platform",
            OrganisationKind::Agency => "agency",
            OrganisationKind::Seller => "seller",
            OrganisationKind::BusinessBuyer => "business_buyer",
        }
    }

    /// The role its members hold.
    pub fn member_role(self) -> Role {
        match self {
            OrganisationKind::Platform => Role::Admin,
            OrganisationKind::Agency => Role::AgencyOfficer,
            OrganisationKind::Seller => Role::Seller,
            OrganisationKind::BusinessBuyer => Role::Buyer,
        }
    }
}

impl fmt::Display for OrganisationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrganisationKind {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrganisationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                what: "organisation kind",
                value: s.to_owned(),
            })
    }
}

/// The facts about an organisation that access decisions need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrganisationScope<Id> {
    pub id: Id,
    pub kind: OrganisationKind,
    pub country: Country,
}

/// The caller of an operation, as far as permissions are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<Id> {
    pub role: Role,
    pub organisation: Option<OrganisationScope<Id>>,
}

impl<Id: PartialEq + Copy> Actor<Id> {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    fn is_member_of(&self, org: &OrganisationScope<Id>) -> bool {
        self.organisation.is_some_and(|own| own.id == org.id)
    }

    /// Admins see every organisation; members see their own; an agency officer sees the sellers
    /// of the agency's own country (and no other country's).
    pub fn can_read_organisation(&self, org: &OrganisationScope<Id>) -> bool {
        if self.is_admin() || self.is_member_of(org) {
            return true;
        }
        self.role == Role::AgencyOfficer
            && org.kind == OrganisationKind::Seller
            && self
                .organisation
                .is_some_and(|own| own.country == org.country)
    }

    /// Admins and the organisation's own members change its profile; an agency's oversight of
    /// its exporters goes through the onboarding workflow, not through profile edits.
    pub fn can_update_organisation(&self, org: &OrganisationScope<Id>) -> bool {
        self.is_admin() || self.is_member_of(org)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> Country {
        code.parse().unwrap()
    }

    fn org(id: u32, kind: OrganisationKind, c: &str) -> OrganisationScope<u32> {
        OrganisationScope {
            id,
            kind,
            country: country(c),
        }
    }

    fn actor(role: Role, org: Option<OrganisationScope<u32>>) -> Actor<u32> {
        Actor {
            role,
            organisation: org,
        }
    }

    #[test]
    fn roles_and_kinds_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            if let Some(kind) = role.organisation_kind() {
                assert_eq!(kind.member_role(), role);
            }
        }
        for kind in OrganisationKind::ALL {
            assert_eq!(kind.as_str().parse::<OrganisationKind>().unwrap(), kind);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn only_buyers_sellers_and_consumers_sign_up_themselves() {
        assert!(!Role::Admin.is_self_service());
        assert!(!Role::AgencyOfficer.is_self_service());
        assert!(Role::Seller.is_self_service() && Role::Buyer.is_self_service());
    }

    #[test]
    fn sellers_see_only_their_own_organisation() {
        let mine = org(1, OrganisationKind::Seller, "KH");
        let other = org(2, OrganisationKind::Seller, "KH");
        let me = actor(Role::Seller, Some(mine));
        assert!(me.can_read_organisation(&mine) && me.can_update_organisation(&mine));
        assert!(!me.can_read_organisation(&other) && !me.can_update_organisation(&other));
    }

    #[test]
    fn agency_officers_see_their_own_countrys_sellers_only() {
        let officer = actor(
            Role::AgencyOfficer,
            Some(org(9, OrganisationKind::Agency, "KH")),
        );
        assert!(officer.can_read_organisation(&org(1, OrganisationKind::Seller, "KH")));
        assert!(!officer.can_read_organisation(&org(2, OrganisationKind::Seller, "MX")));
        assert!(!officer.can_read_organisation(&org(3, OrganisationKind::BusinessBuyer, "KH")));
        assert!(!officer.can_update_organisation(&org(1, OrganisationKind::Seller, "KH")));
    }

    #[test]
    fn admins_see_and_change_everything() {
        let admin = actor(Role::Admin, Some(org(0, OrganisationKind::Platform, "KH")));
        let target = org(5, OrganisationKind::Agency, "RW");
        assert!(admin.can_read_organisation(&target) && admin.can_update_organisation(&target));
    }
}
