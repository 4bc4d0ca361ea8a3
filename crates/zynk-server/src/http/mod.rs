//! The HTTP API: the one route table (`api`), the middleware stack
//! (`router`) and the OpenAPI document derived from the same table.

mod account;
mod auth;
mod calls;
mod files;
mod health;
mod keys;
mod ledger;
mod messaging;
mod ratelimit;
mod trust;
mod ws;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, problem_response};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Zynk API", description = "End-to-end encrypted messaging. Errors are application/problem+json."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every route of the API, in one place.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::delete_session))
        .routes(routes!(account::list_devices))
        .routes(routes!(account::update_device, account::delete_device))
        .routes(routes!(account::get_me))
        .routes(routes!(account::update_profile))
        .routes(routes!(account::get_user))
        .routes(routes!(
            messaging::create_conversation,
            messaging::list_conversations
        ))
        .routes(routes!(messaging::get_conversation))
        .routes(routes!(messaging::send_message, messaging::list_messages))
        .routes(routes!(messaging::edit_message, messaging::delete_message))
        .routes(routes!(messaging::add_reaction, messaging::remove_reaction))
        .routes(routes!(messaging::create_group))
        .routes(routes!(messaging::get_group, messaging::update_group))
        .routes(routes!(messaging::add_member))
        .routes(routes!(
            messaging::remove_member,
            messaging::set_member_role
        ))
        .routes(routes!(messaging::send_device_messages))
        .routes(routes!(keys::upload_keys))
        .routes(routes!(keys::claim_keys))
        .routes(routes!(keys::user_devices))
        // File bodies are streams: the JSON body limit does not apply to
        // them; `max_file_bytes` is enforced while streaming.
        .routes(routes!(files::upload_file))
        .routes(routes!(files::get_file, files::delete_file))
        .routes(routes!(files::file_content))
        .routes(routes!(files::file_thumbnail, files::put_thumbnail))
        .routes(routes!(calls::create_call, calls::list_calls))
        .routes(routes!(calls::ice_servers))
        .routes(routes!(calls::ring))
        .routes(routes!(calls::accept))
        .routes(routes!(calls::decline))
        .routes(routes!(calls::hangup))
        .routes(routes!(calls::join))
        .routes(routes!(calls::leave))
        .routes(routes!(calls::share_location, calls::stop_location))
        .routes(routes!(calls::list_locations))
        .routes(routes!(ledger::key))
        .routes(routes!(ledger::head))
        .routes(routes!(ledger::block))
        .routes(routes!(ledger::transaction))
        .routes(routes!(ledger::inclusion))
        .routes(routes!(ledger::consistency))
        .routes(routes!(ledger::did))
        .routes(routes!(ledger::message_proof))
        .routes(routes!(trust::verify))
        .routes(routes!(trust::report))
        .routes(routes!(trust::trust))
        .routes(routes!(ws::websocket))
        .routes(routes!(health::openapi_json))
}

/// Routes outside the rate limits (probes).
fn probes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = api().split_for_parts();
    let (_, probes) = probes().split_for_parts();
    doc.merge(probes);
    doc
}

pub(crate) static OPENAPI_JSON: LazyLock<serde_json::Value> =
    LazyLock::new(|| serde_json::to_value(openapi()).unwrap_or_default());

/// The whole application: routes, limits, error rendering.
pub fn router(state: AppState) -> Router {
    let (api, _) = api().split_for_parts();
    let (probes, _) = probes().split_for_parts();
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        ratelimit::limit,
    ));
    api.merge(probes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "method not allowed on this endpoint",
    )
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    problem_response(
        &ApiError::internal(anyhow::anyhow!("panic")).problem(),
        None,
    )
    .into_response()
}
