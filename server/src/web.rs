//! The HTTP server behind `peerplan serve`: SSR and hydration of the app, static files, the
//! export downloads (`POST /api/export/{format}`), applies from the planner ([`crate::apply_web`]), the audit
//! trail ([`crate::audit_web`]), `/healthz`; guarded by [`crate::security`].

use std::{net::SocketAddr, path::PathBuf};

use app::{shell, App};
use axum::{routing::get, Router};
use controlplane::service::AppState;
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};

/// What `peerplan serve` needs to start.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Folder for the SQLite files.
    pub data_dir: PathBuf,
    /// Folder holding the built site (`pkg/` with the WASM, JS and CSS).
    pub site_root: PathBuf,
    /// Control-plane database URL; `None`: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Seed the demo into an empty control plane.
    pub demo: bool,
    /// Control-plane requests per second per API key.
    pub rate_limit: f64,
    /// Host names served besides the bind address and the loopback names (`--allowed-host`).
    pub allowed_hosts: Vec<String>,
    /// `--insecure-public`: accepted for old scripts; it no longer turns sign-in off (a non-loopback address
    /// always signs in).
    pub insecure_public: bool,
    /// `--auth`: sign-in for every page, server function, export and form (also on loopback).
    pub auth: bool,
    /// `--secure-cookies`: the session cookie always carries `Secure` (behind a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// The single sign-on flags (`--oidc-*`, `--auth-proxy-*`, `--trusted-proxy`).
    pub sso_args: crate::sso_config::SsoArgs,
    /// What they started ([`serve`] starts it once it knows the address it serves).
    pub sso: crate::sso_config::Sso,
    /// Web exports running at once.
    pub export_concurrency: usize,
    /// How long one web export may run.
    pub export_timeout: std::time::Duration,
    /// `--require-review`: an apply needs an approval by an applier other than the person who starts it.
    pub require_review: bool,
}

/// Leptos options for this build; the site root comes from cargo-leptos when it runs us
/// (`LEPTOS_SITE_ROOT`), otherwise from the configuration (default `target/site`).
pub fn leptos_options(cfg: &ServeConfig) -> LeptosOptions {
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("DEV") | Ok("dev") => Env::DEV,
        _ => Env::PROD,
    };
    LeptosOptions::builder()
        .output_name("peerplan")
        .site_root(cfg.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(cfg.addr)
        .env(env)
        .build()
}

/// What every rendered page and server function finds in its context: the plan library (the store as an
/// `Arc<dyn PlanLibrary>`, [`crate::library`], acting as the request's actor, [`crate::audit_web::actor_of`]), the
/// audit trail read as that actor (`Arc<dyn AuditSource>`, for the audit page),
/// and from the request
/// (put there by [`crate::security::guard`]) the CSRF token its forms echo, the nonce its inline scripts carry,
/// and in team mode the signed-in user ([`app::auth::SignedIn`]).
fn page_context(store: controlplane::store::Store) -> impl Fn() + Clone + Send + 'static {
    move || {
        use leptos::prelude::{provide_context, use_context};
        let parts = use_context::<axum::http::request::Parts>();
        let by = parts.as_ref().map_or_else(
            || controlplane::audit::Actor::local("unknown"),
            |p| crate::audit_web::actor_of(&p.extensions),
        );
        provide_context(crate::library::StoreAudit::shared(store.clone(), by.clone()));
        provide_context(crate::library::StoreLibrary::shared(store.clone(), by));
        if let Some(parts) = parts {
            if let Some(id) = parts.extensions.get::<crate::auth::Identity>() {
                provide_context(app::auth::SignedIn {
                    name: id.user.name.clone(),
                    role: id.user.role.as_str().to_string(),
                });
            }
            if let Some(token) = parts.extensions.get::<app::csrf::CsrfToken>() {
                provide_context(token.clone());
            }
            if let Some(nonce) = parts.extensions.get::<crate::security::CspNonce>() {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
            }
        }
    }
}

/// A route of the server: its method and axum path pattern.
pub type RouteEntry = (axum::http::Method, String);

/// The whole application router: the control plane's `/v1`, `/healthz`, the exports, the plan forms, sign-in,
/// then the Leptos app (whose server functions find the plan store in their context) — all behind
/// [`crate::security::guard`] (Host, sign-in and roles in team mode, Origin, CSRF token, Content-Security-Policy)
/// and the fixed security headers. Fails on a bad `--allowed-host`.
pub fn router(cfg: &ServeConfig, control: AppState) -> anyhow::Result<Router> {
    Ok(router_and_routes(cfg, control)?.0)
}

/// Every route the server answers besides `/v1` and the static files: the axum routes the modules list
/// ([`crate::access::Routes`]), the Leptos pages and the server functions — what [`crate::access`]'s table must
/// cover.
pub fn route_inventory(cfg: &ServeConfig, control: AppState) -> anyhow::Result<Vec<RouteEntry>> {
    Ok(router_and_routes(cfg, control)?.1)
}

fn router_and_routes(cfg: &ServeConfig, control: AppState) -> anyhow::Result<(Router, Vec<RouteEntry>)> {
    let options = leptos_options(cfg);
    let routes = generate_route_list(App);
    let mut listed: Vec<RouteEntry> = Vec::new();
    for r in &routes {
        for m in r.methods() {
            let method = match m {
                leptos_router::Method::Get => axum::http::Method::GET,
                leptos_router::Method::Post => axum::http::Method::POST,
                leptos_router::Method::Put => axum::http::Method::PUT,
                leptos_router::Method::Delete => axum::http::Method::DELETE,
                leptos_router::Method::Patch => axum::http::Method::PATCH,
            };
            listed.push((method, r.path().to_string()));
        }
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        listed.push((method, path.to_string()));
    }
    let store = control.store.clone();
    let context = page_context(store.clone());
    let heavy = crate::heavy::HeavyWork::new(
        cfg.export_concurrency,
        cfg.export_timeout,
        crate::heavy::this_program(),
    );
    let auth = crate::security::auth_required(&cfg.addr, cfg.auth).then(|| crate::auth::Auth {
        store: store.clone(),
        secure_cookies: cfg.secure_cookies,
        proxy: cfg.sso.proxy.clone(),
        oidc: cfg.sso.oidc.is_some(),
        sign_ins: crate::auth::sign_in_slots(),
    });
    let oidc = cfg
        .sso
        .oidc
        .clone()
        .filter(|_| auth.is_some())
        .map(|client| crate::oidc_web::OidcWeb {
            client,
            store: store.clone(),
            secure_cookies: cfg.secure_cookies,
        });
    let guard = crate::security::Guard {
        hosts: std::sync::Arc::new(crate::security::AllowedHosts::new(cfg.addr, &cfg.allowed_hosts)?),
        auth: auth.clone(),
        secure_cookies: cfg.secure_cookies,
    };
    let own = crate::access::Routes::<LeptosOptions>::new()
        .get("/healthz", healthz)
        .get("/favicon.ico", favicon)
        .route(
            axum::http::Method::POST,
            app::paths::EXPORT,
            crate::exports::export_handler,
            |r| {
                r.layer::<_, std::convert::Infallible>(axum::Extension(heavy))
                    .layer(axum::extract::DefaultBodyLimit::max(
                        crate::exports::MAX_PLAN_BYTES,
                    ))
            },
        );
    listed.extend(own.listed.iter().map(|(m, p)| (m.clone(), p.to_string())));
    let modules = [
        crate::plans_web::router(store.clone()),
        crate::audit_web::router(store.clone()),
        crate::apply_web::router(crate::apply_web::ApplyService::new(
            store,
            cfg.data_dir.clone(),
            embedded_url(cfg.addr),
            cfg.require_review,
        )),
        crate::auth::router(auth),
        crate::oidc_web::router(oidc),
    ];
    let mut app = own
        .router
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        // Server functions carry whole plans (a 1,000-VPC plan is ~4.5 MB of JSON): above axum's 2 MB default.
        .layer(axum::extract::DefaultBodyLimit::max(
            controlplane::plans::MAX_BODY + 1024 * 1024,
        ))
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .with_state(options);
    for m in modules {
        listed.extend(m.listed.iter().map(|(m, p)| (m.clone(), p.to_string())));
        app = app.merge(m.router);
    }
    let app = app
        .merge(controlplane::service::router(control))
        .layer(axum::middleware::from_fn_with_state(
            guard,
            crate::security::guard,
        ));
    Ok((crate::security::headers(app), listed))
}

/// The embedded control plane's URL for the apply engine: this server, on loopback when it listens on every
/// address.
fn embedded_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

async fn healthz() -> &'static str {
    "ok"
}

/// The site icon (`public/favicon.ico`, 16, 32 and 48 px), built into the binary: browsers ask every page for
/// `/favicon.ico`, whether or not the site folder was built.
async fn favicon() -> impl axum::response::IntoResponse {
    const FAVICON: &[u8] = include_bytes!("../../public/favicon.ico");
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/x-icon"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// Binds, prints the address it listens on (scripts and tests read that line), and serves until Ctrl+C.
/// Sign-in is on with `--auth` and always on a non-loopback address; the demo accounts are never seeded on such
/// an address.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    if cfg.require_review && !crate::security::auth_required(&cfg.addr, cfg.auth) {
        anyhow::bail!(
            "--require-review needs sign-in: add --auth (without it everyone is `local`, and an apply could never be \
             approved by someone other than the person who starts it)"
        );
    }
    crate::security::AllowedHosts::new(cfg.addr, &cfg.allowed_hosts)?;
    crate::datadir::private_dir(&cfg.data_dir)?;
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.addr))?;
    let local = listener.local_addr()?;
    let store = crate::control::open(&cfg.data_dir, cfg.database_url.as_deref()).await?;
    let stale = store.apply_locks_reset().await?;
    if stale > 0 {
        tracing::warn!(
            locks = stale,
            "cleared the apply locks a previous run of the server left; applying again resumes from the journal"
        );
    }
    let public = !crate::security::is_loopback(&local);
    if cfg.demo && public {
        println!("control plane: not seeding the demo accounts on the public address {local}");
    }
    if cfg.demo && !public {
        if let Some(path) = crate::control::seed_demo(&store, &cfg.data_dir).await? {
            println!(
                "control plane: seeded the demo accounts; their API keys are in {}",
                path.display()
            );
        }
    }
    if crate::security::auth_required(&local, cfg.auth) {
        if cfg.insecure_public {
            println!(
                "--insecure-public no longer turns anything off: sign-in is required on {local} (team mode)"
            );
        }
        let users = store.user_count().await?;
        if users == 0 {
            println!("sign-in required (team mode): no users yet; create one with `peerplan user create NAME --role admin`");
        } else {
            println!("sign-in required (team mode): {users} user(s) (`peerplan user list`)");
        }
        if cfg.require_review {
            println!("two-person rule: an apply needs another applier's approval (--require-review)");
        }
    }
    let sso = cfg.sso_args.start(local).await?;
    if let Some(oidc) = &sso.oidc {
        println!(
            "single sign-on: OpenID provider {} (redirect URI {})",
            oidc.settings().issuer,
            oidc.settings().redirect_uri
        );
    }
    if let Some(proxy) = &sso.proxy {
        println!(
            "single sign-on: the {} header from {:?}",
            proxy.header, proxy.trusted
        );
    }
    let rate = cfg.rate_limit;
    let app = router(
        &ServeConfig {
            addr: local,
            sso,
            ..cfg
        },
        crate::control::state(store, rate),
    )?;
    println!("peerplan listening on http://{local}");
    tracing::info!(%local, "serving");
    // The client's address reaches the handlers (ConnectInfo): the audit trail records it.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `peerplan control-plane serve`: the `/v1` API alone.
pub async fn serve_control_plane(
    addr: SocketAddr,
    data: &std::path::Path,
    database_url: Option<&str>,
    rate_limit: f64,
) -> anyhow::Result<()> {
    let store = crate::control::open(data, database_url).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let app = controlplane::service::router(crate::control::state(store, rate_limit))
        .route("/healthz", get(healthz));
    println!("peerplan control plane listening on http://{local}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
