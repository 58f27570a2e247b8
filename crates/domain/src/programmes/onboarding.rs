//! An exporter's application to a programme: applied → verified → approved, with suspension and
//! rejection, each step taken by an officer with a reason.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Applied,
    Verified,
    Approved,
    Suspended,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an application that is {from} cannot become {to}")]
pub struct IllegalTransition {
    pub from: ApplicationStatus,
    pub to: ApplicationStatus,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 5] = [
        ApplicationStatus::Applied,
        ApplicationStatus::Verified,
        ApplicationStatus::Approved,
        ApplicationStatus::Suspended,
        ApplicationStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Applied => "applied",
            ApplicationStatus::Verified => "verified",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Suspended => "suspended",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The workflow: documents are verified before approval; an approved exporter may be
    /// suspended and reinstated; a rejection is final (the exporter applies again instead).
    pub fn can_become(self, to: ApplicationStatus) -> bool {
        use ApplicationStatus::*;
        matches!(
            (self, to),
            (Applied, Verified)
                | (Applied, Rejected)
                | (Verified, Approved)
                | (Verified, Rejected)
                | (Approved, Suspended)
                | (Suspended, Approved)
        )
    }

    pub fn transition(self, to: ApplicationStatus) -> Result<ApplicationStatus, IllegalTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

impl fmt::Display for ApplicationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ApplicationStatus::*;

    #[test]
    fn the_workflow_goes_through_verification() {
        assert_eq!(Applied.transition(Verified), Ok(Verified));
        assert_eq!(Verified.transition(Approved), Ok(Approved));
        assert!(Applied.transition(Approved).is_err());
        assert!(
            Approved.transition(Approved).is_err(),
            "approving twice is refused"
        );
        assert_eq!(Approved.transition(Suspended), Ok(Suspended));
        assert_eq!(Suspended.transition(Approved), Ok(Approved));
        assert!(Rejected.transition(Verified).is_err());
        let err = Approved.transition(Verified).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an application that is approved cannot become verified"
        );
    }
}
