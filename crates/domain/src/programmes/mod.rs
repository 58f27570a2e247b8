//! Trade programmes: an agency's partnership terms and targets, what its exporters pay for
//! membership (with promotions and the agency's sponsorship), and when a country pavilion opens.

pub mod membership;
pub mod onboarding;
pub mod pavilion;
pub mod percent;
pub mod targets;
pub mod term;

pub use membership::{FeeSplit, Payer, Promotion, SplitLine, Sponsorship, split_membership_fee};
pub use onboarding::{ApplicationStatus, IllegalTransition};
pub use pavilion::{Channel, PavilionStatus};
pub use percent::Percent;
pub use targets::{Metric, TargetPeriod};
pub use term::{DateRange, ProgrammeStatus, Term, TermKind};
