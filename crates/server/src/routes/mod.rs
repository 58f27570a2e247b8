//! The HTTP API. Each module holds one resource's handlers; `api_router` gathers them with their
//! OpenAPI descriptions so that the document cannot drift from the routes.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod carts;
pub mod categories;
pub mod fx;
pub mod health;
pub mod market_access;
pub mod membership;
pub mod orders;
pub mod organisations;
pub mod pavilions;
pub mod payments;
pub mod product_images;
pub mod product_import;
pub mod products;
pub mod programmes;
pub mod quotes;
pub mod search;
pub mod shipments;
pub mod tokens;
pub mod training;
pub mod users;
pub mod views;

use crate::checkout::holder::{CartToken, OrderToken, TokenHeader};
use crate::state::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pavilion API",
        description = "The JSON API of Pavilion, an open electronic world trade platform. \
            Errors are RFC 9457 problem details (`application/problem+json`) with a stable `type`, \
            a `detail` and, where there is one, the offending `field`. Every operation states its \
            permission; protected operations accept a session cookie or `Authorization: Bearer <token>`.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/api/v1")),
    modifiers(&SecuritySchemes),
    tags(
        (name = "accounts", description = "Sign-up, sign-in and users"),
        (name = "tokens", description = "API tokens for machines"),
        (name = "organisations", description = "Platform, agencies, sellers and business buyers"),
        (name = "audit", description = "Who changed what, when"),
        (name = "programmes", description = "Agency programmes, memberships, exporter onboarding, invoices, KPIs"),
        (name = "pavilions", description = "Country pavilions"),
        (name = "training", description = "Courses, cohorts and enrollments"),
        (name = "fx", description = "Exchange rates by day"),
        (name = "catalogue", description = "Sellers' products"),
        (name = "checkout", description = "Carts, orders, payments, shipments and refunds"),
        (name = "quotes", description = "Landed-cost quotes: duties, taxes, freight and insurance before the buyer pays"),
        (name = "market access", description = "Which HS lines may go where, from when, under which requirements"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, header) in [
            ("cart_token", <CartToken as TokenHeader>::HEADER),
            ("order_token", <OrderToken as TokenHeader>::HEADER),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(header))),
            );
        }
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::app::SESSION_COOKIE))),
        );
    }
}

/// The routes under `/api/v1` and their OpenAPI document.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::sign_up))
        .routes(routes!(auth::sign_in))
        .routes(routes!(auth::sign_out))
        .routes(routes!(auth::me))
        .routes(routes!(users::create_user))
        .routes(routes!(tokens::create_token, tokens::list_tokens))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(
            organisations::create_organisation,
            organisations::list_organisations
        ))
        .routes(routes!(
            organisations::get_organisation,
            organisations::update_organisation
        ))
        .routes(routes!(audit::list_audit))
        .routes(routes!(membership::create_plan, membership::list_plans))
        .routes(routes!(membership::create_promotion))
        .routes(routes!(
            programmes::create_programme,
            programmes::list_programmes
        ))
        .routes(routes!(programmes::get_programme))
        .routes(routes!(programmes::add_term))
        .routes(routes!(programmes::set_sponsorship))
        .routes(routes!(programmes::kpis))
        .routes(routes!(applications::apply))
        .routes(routes!(applications::list_applications))
        .routes(routes!(applications::get_application))
        .routes(routes!(applications::decide))
        .routes(routes!(applications::renew))
        .routes(routes!(applications::invoices))
        .routes(routes!(
            pavilions::create_pavilion,
            pavilions::list_pavilions
        ))
        .routes(routes!(pavilions::get_pavilion))
        .routes(routes!(pavilions::pavilion_products))
        .routes(routes!(pavilions::feature))
        .routes(routes!(pavilions::feature_products))
        .routes(routes!(
            categories::create_category,
            categories::list_categories
        ))
        .routes(routes!(product_import::import_products))
        .routes(routes!(product_import::export_products))
        .routes(routes!(products::create_product))
        .routes(routes!(
            products::get_product,
            products::update_product,
            products::archive_product
        ))
        .routes(routes!(products::seller_products))
        .routes(routes!(products::offer))
        .merge(product_images::router())
        .routes(routes!(search::search))
        .routes(routes!(training::create_course))
        .routes(routes!(training::create_cohort))
        .routes(routes!(training::enroll))
        .routes(routes!(training::complete))
        .routes(routes!(fx::import_rates))
        .routes(routes!(fx::rate))
        .routes(routes!(
            market_access::list_rules,
            market_access::import_rules
        ))
        .routes(routes!(market_access::put_rule))
        .routes(routes!(market_access::delete_rule))
        .routes(routes!(market_access::check))
        .routes(routes!(carts::create_cart))
        .routes(routes!(carts::get_cart))
        .routes(routes!(carts::set_line))
        .routes(routes!(orders::place_order, orders::my_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::cancel_order))
        .merge(shipments::router())
        .merge(payments::router())
        .routes(routes!(quotes::create_quote))
        .routes(routes!(quotes::get_quote))
}
