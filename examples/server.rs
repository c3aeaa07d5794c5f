//! The seed's video-clip service on the embedded default (a SQLite file and a local object
//! store), the whole flow: an anonymous visitor creates a project and uploads a video, a
//! worker renders it, the visitor signs in by magic link (links go to an outbox file) and
//! everything they made joins their account, the account links a Stripe customer, and
//! finally deletes itself. Every handler is scoped to the caller's tenant.
//!
//! Run: `cargo run --example server --features axum,object-store,tokio,smtp,http-mail,live,oauth` and follow the curl
//! walkthrough in the README ("Try the server"). `LAYOUT=per-tenant` keeps each tenant's
//! projects in a SQLite file of its own (layout C: export jobs stay shared).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use axum::extract::{ConnectInfo, FromRef, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router, middleware};
use serde::{Deserialize, Serialize};
use tenantry::auth::{
    AsyncAuth, Auth, CurrentUser, EmailApi, HttpMailer, MailTemplate, Mailer, MaybeUser, Merge, Outbox, SmtpMailer,
    SmtpSecurity, Visitor, anonymous_session, logout_cookie, timestamp,
};
use tenantry::auth::{OAuthLogin, OAuthProvider};
use tenantry::jobs::Jobs;
use tenantry::live::{JobProgress, ProgressHub, progress_socket};
use tenantry::{Admin, Async, Error, Layout, ObjectKey, SqliteDatabase, TenantStore};
use uuid::Uuid;

#[path = "common/app.rs"]
mod app;
use app::{ExportJob, InputVideo, NewExportJob, NewProject, OutputVideo, Project};

#[derive(Clone, FromRef)]
struct App {
    layout: Async<Layout>,
    auth: Auth,
    store: TenantStore,
    jobs: Jobs,
    /// Job progress, pushed to the owner's browser over `/progress`.
    progress: ProgressHub,
    /// Google and GitHub sign-in, when configured.
    oauth: Option<OAuthLogin>,
}

/// tenantry errors as HTTP answers; none says more than the status needs.
struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, format!("{}\n", self.0)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs a job-queue call on tokio's blocking pool, so no handler blocks a runtime worker
/// thread; statements go through `Async<Layout>`, auth calls through `AsyncAuth`.
async fn off<R: Send + 'static>(f: impl FnOnce() -> tenantry::Result<R> + Send + 'static) -> tenantry::Result<R> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn now() -> String {
    timestamp(SystemTime::now())
}

async fn home(MaybeUser(me): MaybeUser) -> String {
    match me {
        Some(me) => match &me.user.email {
            Some(email) => format!("signed in as {email} (tenant {})\n", me.tenant()),
            None => format!("anonymous visitor (tenant {})\n", me.tenant()),
        },
        // Reading creates nobody: a visitor becomes a user at their first write.
        None => "new visitor: nothing stored yet\n".to_owned(),
    }
}

async fn health() -> &'static str {
    "ok\n"
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
}

async fn request_link(
    State(auth): State<Auth>,
    MaybeUser(me): MaybeUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> ApiResult<(StatusCode, &'static str)> {
    // This session's anonymous data joins the account only if this session confirms.
    let caller = peer.ip().to_string();
    AsyncAuth::new(auth).request_link(&form.email, &caller, me.as_ref()).await?;
    Ok((StatusCode::ACCEPTED, "if the address can receive mail, a sign-in link is on its way\n"))
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
}

/// GET shows a confirm button only: a mail scanner that follows the link uses nothing up,
/// and the page names the account, so nobody confirms someone else's link unawares.
async fn confirm_page(State(auth): State<Auth>, Query(q): Query<TokenForm>) -> ApiResult<Html<String>> {
    let token: String = q.token.chars().filter(char::is_ascii_hexdigit).collect();
    let Some(masked) = AsyncAuth::new(auth).peek_link(&token).await? else { return Err(Error::InvalidLink.into()) };
    Ok(Html(format!(
        "<form method=post action=/auth/verify><input type=hidden name=token value={token}>\
         <button>Sign in as {masked}</button></form>"
    )))
}

async fn verify(
    State(auth): State<Auth>,
    MaybeUser(me): MaybeUser,
    headers: axum::http::HeaderMap,
    Form(form): Form<TokenForm>,
) -> ApiResult<Response> {
    // Login CSRF: another site auto-posting someone's link would sign the visitor in as
    // that someone. Browsers say where a request comes from; refuse cross-site posts.
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site") {
        return Ok((StatusCode::FORBIDDEN, "cross-site sign-in refused\n").into_response());
    }
    let login = AsyncAuth::new(auth.clone()).verify_link(&form.token, me.as_ref(), Merge::IntoAccount).await?;
    signed_in(&auth, login).await
}

/// The answer to a finished sign-in (magic link or OAuth): the merge's objects moved, the
/// new session's cookie set.
async fn signed_in(auth: &Auth, login: tenantry::auth::Login) -> ApiResult<Response> {
    // The rows moved with the login; the videos move now (copy, check, delete).
    let objects = auth.finish_login(&login).await?;
    let body = format!(
        "signed in as {}; moved from your anonymous session: {} row(s), {} object(s)\n",
        login.session.identity.user.email.as_deref().unwrap_or_default(),
        login.merged.rows_moved,
        objects.objects,
    );
    Ok(([(header::SET_COOKIE, login.session.cookie())], body).into_response())
}

#[derive(Deserialize)]
struct Callback {
    code: String,
    state: String,
}

/// `GET /auth/oauth/{provider}`: off to the provider's sign-in page.
async fn oauth_start(
    State(oauth): State<Option<OAuthLogin>>,
    Path(provider): Path<String>,
    MaybeUser(me): MaybeUser,
) -> ApiResult<Response> {
    let Some(oauth) = oauth else { return Ok(StatusCode::NOT_FOUND.into_response()) };
    let start = oauth.start(&provider, me.as_ref()).await?;
    // The cookie binds the sign-in to this browser: a callback URL sent to anyone else fails.
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, start.authorize_url), (header::SET_COOKIE, start.cookie)])
        .into_response())
}

/// `GET /auth/oauth/{provider}/callback`: the provider sends the browser back here.
async fn oauth_callback(
    State(oauth): State<Option<OAuthLogin>>,
    State(auth): State<Auth>,
    Path(provider): Path<String>,
    MaybeUser(me): MaybeUser,
    headers: axum::http::HeaderMap,
    Query(callback): Query<Callback>,
) -> ApiResult<Response> {
    let Some(oauth) = oauth else { return Ok(StatusCode::NOT_FOUND.into_response()) };
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let login =
        oauth.finish(&provider, &callback.state, &callback.code, cookies, me.as_ref(), Merge::IntoAccount).await?;
    signed_in(&auth, login).await
}

/// Google and GitHub sign-in when their client ids and secrets are set
/// (`GOOGLE_CLIENT_ID`/`GOOGLE_CLIENT_SECRET`, `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET`),
/// with callbacks under `base`.
fn oauth(admin: &Admin, auth: &Auth, base: &str) -> tenantry::Result<Option<OAuthLogin>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut providers = Vec::new();
    if let (Some(id), Some(secret)) = (var("GOOGLE_CLIENT_ID"), var("GOOGLE_CLIENT_SECRET")) {
        providers.push(OAuthProvider::google(id, secret, format!("{base}/auth/oauth/google/callback")));
    }
    if let (Some(id), Some(secret)) = (var("GITHUB_CLIENT_ID"), var("GITHUB_CLIENT_SECRET")) {
        providers.push(OAuthProvider::github(id, secret, format!("{base}/auth/oauth/github/callback")));
    }
    if providers.is_empty() {
        return Ok(None);
    }
    for p in &providers {
        println!("sign-in with {}: {base}/auth/oauth/{}", p.name(), p.name());
    }
    OAuthLogin::new(admin, auth.clone(), providers).map(Some)
}

async fn logout(State(auth): State<Auth>, CurrentUser(me): CurrentUser) -> ApiResult<Response> {
    AsyncAuth::new(auth).logout(&me).await?;
    Ok(([(header::SET_COOKIE, logout_cookie())], "signed out\n").into_response())
}

#[derive(Serialize)]
struct ProjectOut {
    id: Uuid,
    name: String,
    created_at: String,
}

impl From<Project> for ProjectOut {
    fn from(p: Project) -> Self {
        ProjectOut { id: p.id, name: p.name, created_at: p.created_at }
    }
}

#[derive(Deserialize)]
struct ProjectIn {
    name: String,
}

async fn list_projects(
    State(layout): State<Async<Layout>>,
    MaybeUser(me): MaybeUser,
) -> ApiResult<Json<Vec<ProjectOut>>> {
    let Some(me) = me else { return Ok(Json(Vec::new())) };
    let rows = layout.fetch_all(Project::select(me.tenant()).order_by(Project::created_at().desc()).limit(100)).await?;
    Ok(Json(rows.into_iter().map(ProjectOut::from).collect()))
}

/// The first write: a visitor without a session becomes an anonymous user here.
async fn create_project(
    State(layout): State<Async<Layout>>,
    Visitor(me): Visitor,
    Json(body): Json<ProjectIn>,
) -> ApiResult<(StatusCode, Json<ProjectOut>)> {
    let row = NewProject { id: Uuid::new_v4(), name: body.name, created_at: now() };
    let out = ProjectOut { id: row.id, name: row.name.clone(), created_at: row.created_at.clone() };
    layout.execute(Project::insert(me.tenant(), row)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn rename_project(
    State(layout): State<Async<Layout>>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
    Json(body): Json<ProjectIn>,
) -> ApiResult<StatusCode> {
    // Another tenant's project id updates nothing: it answers 404 like a missing one.
    match layout
        .execute(Project::update(me.tenant()).set(Project::name(), body.name).filter(Project::id().eq(id)))
        .await?
    {
        0 => Err(Error::NotFound.into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

async fn delete_project(
    State(layout): State<Async<Layout>>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    match layout.execute(Project::delete_by_key(me.tenant(), id)).await? {
        0 => Err(Error::NotFound.into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

#[derive(Serialize)]
struct ExportOut {
    job_id: Uuid,
    project_id: Uuid,
    status: String,
    upload_url: String,
}

async fn create_export(
    State(layout): State<Async<Layout>>,
    CurrentUser(me): CurrentUser,
    Path(project_id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<ExportOut>)> {
    let t = me.tenant();
    layout.fetch_one(Project::get(t, project_id)).await?; // 404 for a project that is not the caller's
    let job_id = Uuid::new_v4();
    let row = NewExportJob { id: job_id, project_id, status: "waiting for upload".into(), created_at: now() };
    layout.execute(ExportJob::insert(t, row)).await?;
    // The upload key is issued by the server, from the tenant: the client names no key.
    let out =
        ExportOut { job_id, project_id, status: "waiting for upload".into(), upload_url: format!("/uploads/{job_id}") };
    Ok((StatusCode::CREATED, Json(out)))
}

async fn list_exports(
    State(layout): State<Async<Layout>>,
    MaybeUser(me): MaybeUser,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let Some(me) = me else { return Ok(Json(Vec::new())) };
    let jobs = layout.fetch_all(ExportJob::select(me.tenant()).order_by(ExportJob::created_at().desc())).await?;
    Ok(Json(
        jobs.into_iter()
            .map(|j| serde_json::json!({"job_id": j.id, "project_id": j.project_id, "status": j.status, "created_at": j.created_at}))
            .collect(),
    ))
}

/// The local stand-in for a presigned PUT URL: the body becomes the job's input video, and
/// the render is queued.
async fn upload(
    State(app): State<App>,
    CurrentUser(me): CurrentUser,
    Path(job_id): Path<Uuid>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let t = me.tenant();
    app.layout.fetch_one(ExportJob::get(t, job_id)).await?;
    app.store.put(&InputVideo { job_id }.key(t)?, body).await?;
    app.layout
        .execute(ExportJob::update(t).set(ExportJob::status(), "queued").filter(ExportJob::id().eq(job_id)))
        .await?;
    let (jobs, tenant) = (app.jobs.clone(), *t);
    off(move || jobs.enqueue(&tenant, "render", &job_id.to_string())).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn output(State(app): State<App>, CurrentUser(me): CurrentUser, Path(job_id): Path<Uuid>) -> ApiResult<Vec<u8>> {
    Ok(app.store.get(&OutputVideo { job_id }.key(me.tenant())?).await?.to_vec())
}

#[derive(Deserialize)]
struct CustomerForm {
    customer_id: String,
}

/// After checkout: the account's Stripe customer, linked once.
async fn link_customer(
    State(auth): State<Auth>,
    CurrentUser(me): CurrentUser,
    Form(form): Form<CustomerForm>,
) -> ApiResult<StatusCode> {
    AsyncAuth::new(auth).link_stripe_customer(me.tenant(), &form.customer_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A Stripe webhook (signature checking left out of this example): no session, no
/// placement; finding the customer's tenant is a cross-tenant act, audited.
async fn stripe_webhook(State(auth): State<Auth>, Form(form): Form<CustomerForm>) -> ApiResult<String> {
    let webhooks = Admin::new("stripe webhook finds the customer's account");
    match AsyncAuth::new(auth).user_by_stripe_customer(&webhooks, &form.customer_id).await? {
        Some((tenant, _user)) => Ok(format!("customer belongs to tenant {tenant}\n")),
        None => Err(Error::NotFound.into()),
    }
}

/// Deletes the caller's account: sessions, links, email, Stripe link, every row, the
/// queued jobs, the videos.
async fn delete_account(State(auth): State<Auth>, CurrentUser(me): CurrentUser) -> ApiResult<Response> {
    let tenant = *me.tenant();
    let deleted = AsyncAuth::new(auth.clone()).delete_account(&tenant).await?;
    let objects = auth.finish_account_deletion(me.tenant()).await?;
    let body = format!("account deleted: {} row(s), {} object(s)\n", deleted.rows, objects.objects);
    Ok(([(header::SET_COOKIE, logout_cookie())], body).into_response())
}

/// The render worker: claims the next job of any tenant under a lease, renders the input
/// video into the output key, and marks the export done, all scoped to the job's tenant.
/// A worker killed mid-job leaves its job to be claimed again when the lease ends.
async fn worker(app: App) {
    loop {
        let admin = Admin::new("render worker claims the next queued job");
        let jobs = app.jobs.clone();
        let claim = off(move || jobs.claim(&admin, Duration::from_secs(60))).await;
        let claimed = match claim {
            Ok(Some(job)) => job,
            Ok(None) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            Err(e) => {
                eprintln!("worker: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let t = *claimed.tenant();
        let job_id: Option<Uuid> = claimed.payload().parse().ok();
        let result: tenantry::Result<()> = async {
            let job_id = job_id.ok_or(Error::NotFound)?;
            // Progress goes to the job's tenant only: publishing takes its TenantId.
            app.progress.publish(&t, JobProgress::running(job_id, 10, "reading the upload"));
            let input = app.store.get(&InputVideo { job_id }.key(&t)?).await?;
            app.progress.publish(&t, JobProgress::running(job_id, 60, "rendering"));
            let rendered: Vec<u8> = [b"rendered:".as_slice(), &input].concat();
            app.store.put(&OutputVideo { job_id }.key(&t)?, rendered).await?;
            app.layout
                .execute(ExportJob::update(&t).set(ExportJob::status(), "done").filter(ExportJob::id().eq(job_id)))
                .await?;
            Ok(())
        }
        .await;
        if let Some(job_id) = job_id {
            let stage = match &result {
                Ok(()) => String::from("done"),
                Err(e) => format!("failed: {e}"),
            };
            app.progress.publish(&t, JobProgress::finished(job_id, stage));
        }
        let jobs = app.jobs.clone();
        let done = off(move || match result {
            Ok(()) => jobs.complete(claimed),
            Err(e) => jobs.fail(claimed, &e.to_string()).map(|_| ()),
        })
        .await;
        if let Err(e) = done {
            eprintln!("worker: {e}");
        }
    }
}

/// Where sign-in links go: an SMTP server (`SMTP_HOST`, with `SMTP_PORT`, `SMTP_USER`,
/// `SMTP_PASSWORD`, `SMTP_SECURITY` = `starttls` (default), `tls` or `plaintext` for a
/// server on this machine), Resend (`RESEND_API_KEY`) or SendGrid (`SENDGRID_API_KEY`),
/// sending as `MAIL_FROM`; without any of them, a file to click the links from.
fn mailer(outbox: &std::path::Path) -> Result<std::sync::Arc<dyn Mailer>, Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let from = var("MAIL_FROM").unwrap_or_else(|| "Clips <login@clips.localhost>".to_owned());
    if let Some(host) = var("SMTP_HOST") {
        let security = match var("SMTP_SECURITY").as_deref() {
            None | Some("starttls") => SmtpSecurity::StartTls,
            Some("tls") => SmtpSecurity::Tls,
            Some("plaintext") => SmtpSecurity::Plaintext,
            Some(_) => return Err("SMTP_SECURITY is starttls, tls or plaintext".into()),
        };
        let mut smtp = SmtpMailer::builder(host, from).security(security);
        if let Some(port) = var("SMTP_PORT") {
            smtp = smtp.port(port.parse()?);
        }
        if let (Some(user), Some(password)) = (var("SMTP_USER"), var("SMTP_PASSWORD")) {
            smtp = smtp.credentials(user, password);
        }
        println!("sign-in links go through the SMTP server");
        return Ok(std::sync::Arc::new(smtp.build()?));
    }
    for (api, key) in [(EmailApi::Resend, "RESEND_API_KEY"), (EmailApi::SendGrid, "SENDGRID_API_KEY")] {
        if let Some(key) = var(key) {
            println!("sign-in links go through {api:?}");
            return Ok(std::sync::Arc::new(HttpMailer::builder(api, key, from).build()?));
        }
    }
    println!("sign-in links go to {}", outbox.display());
    Ok(std::sync::Arc::new(Outbox::file(outbox)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir =
        std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("tenantry-server"));
    std::fs::create_dir_all(&dir)?;
    // The schema's migrations run as the database opens (ops.rs runs the same ones).
    let migrations = app::migrations(&Admin::new("the server's schema migrations"));
    let shared = SqliteDatabase::builder(dir.join("app.db")).migrations(&migrations).open()?;
    let layout = app::layout(shared, &dir).build()?;
    let store = TenantStore::local(dir.join("objects"))?;
    let outbox = dir.join("outbox.txt");
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    // The auth service can sign in to any account: it is built once, with an audited capability.
    let admin = Admin::new("the server's auth service");
    let auth = Auth::builder(&admin, layout.shared_database().clone())
        .verify_url(format!("http://127.0.0.1:{port}/auth/verify"))
        .mailer(mailer(&outbox)?)
        .mail_template(MailTemplate::new("Clips"))
        .layout(layout.clone())
        .objects(store.clone())
        .build()?;
    // Merges and deletions a crash interrupted are finished before serving.
    auth.finish_leaving_objects(&admin).await?;
    let jobs = Jobs::new(&layout)?;
    let oauth = oauth(&admin, &auth, &format!("http://127.0.0.1:{port}"))?;
    let app = App { layout: Async::new(layout), auth: auth.clone(), store, jobs, progress: ProgressHub::new(), oauth };
    tokio::spawn(worker(app.clone()));

    let routes = Router::new()
        .route("/", get(home))
        .route("/auth/login", post(request_link))
        .route("/auth/verify", get(confirm_page).post(verify))
        .route("/auth/logout", post(logout))
        .route("/auth/oauth/{provider}", get(oauth_start))
        .route("/auth/oauth/{provider}/callback", get(oauth_callback))
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{id}", axum::routing::patch(rename_project).delete(delete_project))
        .route("/projects/{id}/exports", post(create_export))
        .route("/exports", get(list_exports))
        .route("/progress", get(progress_socket))
        .route("/exports/{job_id}/output", get(output))
        .route("/uploads/{job_id}", put(upload))
        .route("/billing/customer", post(link_customer))
        .route("/account", axum::routing::delete(delete_account))
        .layer(middleware::from_fn_with_state(auth, anonymous_session))
        // Outside the session middleware: no cookie is read or set.
        .route("/webhooks/stripe", post(stripe_webhook))
        .route("/healthz", get(health))
        .with_state(app);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("tenantry server on http://127.0.0.1:{port}; data in {}", dir.display());
    axum::serve(listener, routes.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
