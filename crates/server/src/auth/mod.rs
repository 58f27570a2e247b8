//! Who is calling: passwords, API tokens, sessions, and the extractors that state each
//! handler's permission.

mod caller;
pub mod passwords;
pub mod tokens;

pub use caller::{Admin, Caller, Permission, SESSION_USER_KEY, SignedIn, request_id_of};
