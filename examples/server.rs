//! The seed's video-clip service on the embedded default (a SQLite file and a local object
//! store): anonymous start, magic-link login (links go to an outbox file), projects, export
//! jobs and upload keys, all scoped to the caller's tenant.
//!
//! Run: `cargo run --example server --features axum,object-store` and follow the printed
//! curl commands (README, "Try the server").

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use axum::extract::{ConnectInfo, FromRef, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router, middleware};
use serde::{Deserialize, Serialize};
use tenantry::auth::{Auth, CurrentUser, Merge, Outbox, anonymous_session, logout_cookie, timestamp};
use tenantry::{Admin, Database, Error, ObjectKey, Table, TenantId, TenantStore};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    name: String,
    #[index]
    created_at: String,
}

#[derive(Table, Debug)]
#[table(name = "export_jobs", owned, index(status, created_at))]
struct ExportJob {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    #[index]
    project_id: Uuid,
    status: String,
    created_at: String,
}

/// `{user_id}/input/{job_id}/video.mp4`, as in the seed's R2 layout.
#[derive(ObjectKey)]
#[key("{tenant}/input/{job_id}/video.mp4")]
struct InputVideo {
    job_id: Uuid,
}

#[derive(Clone, FromRef)]
struct App {
    db: Database,
    auth: Auth,
    store: TenantStore,
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
        let status = match self.0 {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::InvalidLink | Error::InvalidEmail | Error::InvalidKey { .. } => StatusCode::BAD_REQUEST,
            Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Error::Conflict { .. } | Error::ObjectExists => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.0.to_string()).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn now() -> String {
    timestamp(SystemTime::now())
}

async fn home(CurrentUser(me): CurrentUser) -> String {
    match &me.user.email {
        Some(email) => format!("signed in as {email} (tenant {})\n", me.tenant()),
        None => format!("anonymous visitor (tenant {})\n", me.tenant()),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
}

async fn request_link(
    State(auth): State<Auth>,
    CurrentUser(me): CurrentUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> ApiResult<(StatusCode, &'static str)> {
    // This session's anonymous data joins the account only if this session confirms.
    auth.request_link(&form.email, &peer.ip().to_string(), Some(&me))?;
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
    let Some(masked) = auth.peek_link(&token)? else { return Err(Error::InvalidLink.into()) };
    Ok(Html(format!(
        "<form method=post action=/auth/verify><input type=hidden name=token value={token}>\
         <button>Sign in as {masked}</button></form>"
    )))
}

async fn verify(
    State(auth): State<Auth>,
    CurrentUser(me): CurrentUser,
    headers: axum::http::HeaderMap,
    Form(form): Form<TokenForm>,
) -> ApiResult<Response> {
    // Login CSRF: another site auto-posting someone's link would sign the visitor in as
    // that someone. Browsers say where a request comes from; refuse cross-site posts.
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site") {
        return Ok((StatusCode::FORBIDDEN, "cross-site sign-in refused\n").into_response());
    }
    let login = auth.verify_link(&form.token, Some(&me), Merge::IntoAccount)?;
    let body = format!(
        "signed in as {}; {} row(s) moved from your anonymous session\n",
        login.session.identity.user.email.as_deref().unwrap_or_default(),
        login.merged.rows_moved
    );
    Ok(([(header::SET_COOKIE, login.session.cookie())], body).into_response())
}

async fn logout(State(auth): State<Auth>, CurrentUser(me): CurrentUser) -> ApiResult<Response> {
    auth.logout(&me)?;
    Ok(([(header::SET_COOKIE, logout_cookie())], "signed out\n").into_response())
}

#[derive(Serialize)]
struct ProjectOut {
    owner: String,
    id: Uuid,
    name: String,
    created_at: String,
}

impl From<Project> for ProjectOut {
    fn from(p: Project) -> Self {
        ProjectOut { owner: p.user_id.to_string(), id: p.id, name: p.name, created_at: p.created_at }
    }
}

#[derive(Deserialize)]
struct ProjectIn {
    name: String,
}

async fn list_projects(State(db): State<Database>, CurrentUser(me): CurrentUser) -> ApiResult<Json<Vec<ProjectOut>>> {
    let rows = db.fetch_all(Project::select(me.tenant()).order_by(Project::created_at().desc()).limit(100))?;
    Ok(Json(rows.into_iter().map(ProjectOut::from).collect()))
}

async fn create_project(
    State(db): State<Database>,
    CurrentUser(me): CurrentUser,
    Json(body): Json<ProjectIn>,
) -> ApiResult<(StatusCode, Json<ProjectOut>)> {
    let row = NewProject { id: Uuid::new_v4(), name: body.name, created_at: now() };
    let out = ProjectOut {
        owner: me.tenant().to_string(),
        id: row.id,
        name: row.name.clone(),
        created_at: row.created_at.clone(),
    };
    db.execute(Project::insert(me.tenant(), row))?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn rename_project(
    State(db): State<Database>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
    Json(body): Json<ProjectIn>,
) -> ApiResult<StatusCode> {
    // Another tenant's project id updates nothing: it answers 404 like a missing one.
    match db.execute(Project::update(me.tenant()).set(Project::name(), body.name).filter(Project::id().eq(id)))? {
        0 => Err(Error::NotFound.into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

async fn delete_project(
    State(db): State<Database>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    match db.execute(Project::delete_by_key(me.tenant(), id))? {
        0 => Err(Error::NotFound.into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

#[derive(Serialize)]
struct ExportOut {
    job_id: Uuid,
    project_id: Uuid,
    status: String,
    upload_key: String,
    upload_url: String,
}

async fn create_export(
    State(db): State<Database>,
    CurrentUser(me): CurrentUser,
    Path(project_id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<ExportOut>)> {
    let t = me.tenant();
    db.fetch_one(Project::get(t, project_id))?; // 404 for a project that is not the caller's
    let job_id = Uuid::new_v4();
    db.execute(ExportJob::insert(
        t,
        NewExportJob { id: job_id, project_id, status: "queued".into(), created_at: now() },
    ))?;
    // The upload key is issued by the server, from the tenant: the client names no key.
    let key = InputVideo { job_id }.key(t)?;
    let out = ExportOut {
        job_id,
        project_id,
        status: "queued".into(),
        upload_key: key.to_string(),
        upload_url: format!("/uploads/{job_id}"),
    };
    Ok((StatusCode::CREATED, Json(out)))
}

async fn list_exports(
    State(db): State<Database>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let jobs = db.fetch_all(ExportJob::select(me.tenant()).order_by(ExportJob::created_at().desc()))?;
    Ok(Json(
        jobs.into_iter()
            .map(|j| serde_json::json!({"owner": j.user_id.to_string(), "job_id": j.id, "project_id": j.project_id, "status": j.status, "created_at": j.created_at}))
            .collect(),
    ))
}

/// The local stand-in for a presigned PUT URL: the body becomes the job's input video.
async fn upload(
    State(app): State<App>,
    CurrentUser(me): CurrentUser,
    Path(job_id): Path<Uuid>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    app.db.fetch_one(ExportJob::get(me.tenant(), job_id))?;
    app.store.put(&InputVideo { job_id }.key(me.tenant())?, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir =
        std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("tenantry-server"));
    std::fs::create_dir_all(&dir)?;
    let db = Database::open(dir.join("app.db"))?;
    db.create_all_tables()?;
    let outbox = dir.join("outbox.txt");
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    // The auth service can sign in to any account: it is built once, with an audited capability.
    let auth = Auth::builder(&Admin::new("the server's auth service"), db.clone())
        .verify_url(format!("http://127.0.0.1:{port}/auth/verify"))
        .mailer(std::sync::Arc::new(Outbox::file(&outbox)))
        .build()?;
    let store = TenantStore::local(dir.join("objects"))?;
    let app = App { db, auth: auth.clone(), store };

    let routes = Router::new()
        .route("/", get(home))
        .route("/auth/login", post(request_link))
        .route("/auth/verify", get(confirm_page).post(verify))
        .route("/auth/logout", post(logout))
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{id}", axum::routing::patch(rename_project).delete(delete_project))
        .route("/projects/{id}/exports", post(create_export))
        .route("/exports", get(list_exports))
        .route("/uploads/{job_id}", put(upload))
        .layer(middleware::from_fn_with_state(auth, anonymous_session))
        .with_state(app);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "tenantry server on http://127.0.0.1:{port}; data in {}, sign-in links in {}",
        dir.display(),
        outbox.display()
    );
    axum::serve(listener, routes.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
