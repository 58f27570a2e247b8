//! Who holds a cart or an order: a signed-in caller, or a guest with the token. Extracted before
//! the body, so a request with neither gets 401 whatever it sends.

use crate::auth::Caller;
use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use std::marker::PhantomData;

/// The header a guest's token comes in, and what to tell a caller without one.
pub trait TokenHeader: Send + Sync + 'static {
    const HEADER: &'static str;
    const MISSING: &'static str;
}

pub struct CartToken;
impl TokenHeader for CartToken {
    const HEADER: &'static str = "x-cart-token";
    const MISSING: &'static str = "sign in, or send the cart's token in X-Cart-Token";
}

pub struct OrderToken;
impl TokenHeader for OrderToken {
    const HEADER: &'static str = "x-order-token";
    const MISSING: &'static str = "sign in, or send the order's token in X-Order-Token";
}

pub struct Holder<T: TokenHeader> {
    pub caller: Option<Caller>,
    pub token: Option<String>,
    _header: PhantomData<T>,
}

impl<T: TokenHeader> FromRequestParts<AppState> for Holder<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller =
            <Caller as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
                .await?;
        let token = parts
            .headers
            .get(T::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if caller.is_none() && token.is_none() {
            return Err(ApiError::unauthenticated(T::MISSING));
        }
        Ok(Holder {
            caller,
            token,
            _header: PhantomData,
        })
    }
}
