//! HTTP routes, one module per resource. Every route is registered through `routes!` so the
//! OpenAPI document at `/openapi.json` always lists exactly what the server serves.

mod catalogue;
pub(crate) mod common_responses;
mod credential_policy;
mod gate;
mod gate_devices;
pub(crate) mod gate_page;
mod gate_places;
mod gate_uploads;
mod holds;
mod login_links;
pub mod my;
mod orders;
mod queue;

pub use credential_policy::CredentialPolicyDto;

use crate::error::Problem;
use crate::state::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Admit API",
        description = "Mobile ticketing: browse events, hold seats, pay, receive signed tickets, check in at the gate. \
                       Errors are RFC 9457 problem+json; every state-changing request accepts an Idempotency-Key header."
    ),
    tags(
        (name = "catalogue", description = "Events, sessions, grades, prices and live availability"),
        (name = "holds", description = "Setting seats or units aside while the buyer pays"),
        (name = "orders", description = "Paying, orders and tickets"),
        (name = "waiting room", description = "On-sale queue: places, admission passes, organiser settings"),
        (name = "gate", description = "Manifests, online check-in, the credential policy and the gate page's choices (staff token)"),
        (name = "phone", description = "The buyer's phone: live tickets, device binding, inspection (buyer-session cookie from a one-time login link)"),
        (name = "gate terminals", description = "Enrolled gate terminals: sync for offline checks, scan upload, reconciliation"),
    ),
    components(schemas(Problem)),
    modifiers(&StaffToken)
)]
pub struct ApiDoc;

struct StaffToken;

impl Modify for StaffToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "staff_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "buyer_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::buyer::COOKIE,
                "Set by opening the one-time login link of an order (`login_url`).",
            ))),
        );
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalogue::list_events))
        .routes(routes!(catalogue::get_event))
        .routes(routes!(catalogue::availability))
        .routes(routes!(catalogue::seats))
        .routes(routes!(holds::create_hold))
        .routes(routes!(holds::get_hold, holds::cancel_hold))
        .routes(routes!(orders::pay))
        .routes(routes!(orders::get_order))
        .routes(routes!(login_links::create))
        .routes(routes!(orders::credential))
        .routes(routes!(orders::qr_svg))
        .routes(routes!(orders::qr_png))
        .routes(routes!(queue::put_waiting_room, queue::delete_waiting_room, queue::get_waiting_room))
        .routes(routes!(queue::join_queue))
        .routes(routes!(queue::get_standing))
        .routes(routes!(gate::manifest))
        .routes(routes!(gate::scan))
        .routes(routes!(credential_policy::put_credential_policy))
        .routes(routes!(gate_places::places))
        .routes(routes!(my::tickets::list))
        .routes(routes!(my::tickets::get))
        .routes(routes!(my::device::bind))
        .routes(routes!(my::inspection::inspect))
        .routes(routes!(gate_devices::enrol))
        .routes(routes!(gate_devices::revoke))
        .routes(routes!(gate_devices::sync))
        .routes(routes!(gate_uploads::upload))
        .routes(routes!(gate_uploads::conflicts))
        .routes(routes!(gate_uploads::entries))
}
