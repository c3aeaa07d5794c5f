//! Live job progress, pushed to the user (feature `live`): one channel per tenant.
//!
//! A job worker holds the job's [`TenantId`] ([`ClaimedJob::tenant`]) and
//! [`publish`](ProgressHub::publish)es its progress there; a subscriber, which also needs
//! the tenant's `TenantId` (in a web service, the one the session cookie resolves to), gets
//! that tenant's events and no one else's. With the `axum` feature,
//! [`progress_socket`] serves them over a WebSocket.
//!
//! - **The worker never waits.** Publishing is a short lock and a non-blocking send. A
//!   subscriber that falls more than the buffer behind skips what it missed and gets the
//!   current state of each job instead, then goes on live.
//! - **Reconnects start from the last state.** A new subscription first gets the latest
//!   event of each job the hub remembers for the tenant (running jobs, and finished ones
//!   for [`keep_finished`](ProgressHubBuilder::keep_finished)), then live events.
//! - **Bounded.** At most [`max_subscribers`](ProgressHubBuilder::max_subscribers)
//!   subscriptions per tenant (a further one is [`Error::TooManySubscribers`]), and at most
//!   [`max_jobs`](ProgressHubBuilder::max_jobs) remembered jobs per tenant; a tenant
//!   nobody listens to holds no channel, only its jobs' last events.
//!
//! The hub lives in one process: run the workers that publish and the web servers that
//! subscribe in the same one, or forward events between processes yourself.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> tenantry::Result<()> {
//! use tenantry::TenantId;
//! use tenantry::live::{JobProgress, ProgressHub};
//!
//! let hub = ProgressHub::new();
//! let (alice, bob) = (TenantId::generate(), TenantId::generate());
//! let job = uuid::Uuid::new_v4();
//! let mut watching = hub.subscribe(&alice)?;
//! hub.publish(&alice, JobProgress::running(job, 40, "rendering"));
//! hub.publish(&bob, JobProgress::running(uuid::Uuid::new_v4(), 10, "uploading"));
//! hub.publish(&alice, JobProgress::finished(job, "done"));
//! assert_eq!(watching.next().await.map(|e| e.percent), Some(40));
//! assert_eq!(watching.next().await.map(|e| e.finished), Some(true)); // nothing of Bob's
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::jobs::ClaimedJob;
use crate::tenant::TenantId;

/// One job's progress, as sent to its tenant's subscribers (and, by [`progress_socket`],
/// as JSON: `{"job_id": "…", "percent": 40, "stage": "rendering", "finished": false}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct JobProgress {
    /// The job.
    pub job_id: Uuid,
    /// How far it has got, 0 to 100.
    pub percent: u8,
    /// What it is doing, for the user ("rendering", "failed: the video is unreadable").
    pub stage: String,
    /// Whether it has ended (succeeded or failed): the last event of the job.
    pub finished: bool,
}

impl JobProgress {
    /// A running job at `percent` (capped at 100).
    pub fn running(job_id: Uuid, percent: u8, stage: impl Into<String>) -> Self {
        JobProgress { job_id, percent: percent.min(100), stage: stage.into(), finished: false }
    }

    /// A job that has ended: at 100 percent, the last event for it.
    pub fn finished(job_id: Uuid, stage: impl Into<String>) -> Self {
        JobProgress { job_id, percent: 100, stage: stage.into(), finished: true }
    }
}

/// Settings for a [`ProgressHub`]: [`ProgressHub::builder`].
#[derive(Debug, Clone)]
pub struct ProgressHubBuilder {
    settings: Settings,
    origins: Option<Vec<String>>,
}

impl ProgressHubBuilder {
    /// Events a subscriber may fall behind by before it skips to the current state
    /// (default 64; from 1 to 65,536).
    pub fn buffer(mut self, events: usize) -> Self {
        self.settings.buffer = events.clamp(1, MAX_BUFFER);
        self
    }

    /// Open subscriptions allowed per tenant, a browser tab each (default 16).
    pub fn max_subscribers(mut self, per_tenant: usize) -> Self {
        self.settings.max_subscribers = per_tenant;
        self
    }

    /// Jobs remembered per tenant for new subscriptions (default 64, at least 1); beyond
    /// it, finished ones go first, then the longest unheard-of.
    pub fn max_jobs(mut self, per_tenant: usize) -> Self {
        self.settings.max_jobs = per_tenant.max(1);
        self
    }

    /// How long a finished job's last event is kept for subscribers that reconnect
    /// (default 10 minutes).
    pub fn keep_finished(mut self, d: Duration) -> Self {
        self.settings.keep_finished = d;
        self
    }

    /// How long a running job's last event is kept without a newer one (default 1 hour):
    /// a worker that died mid-job leaves no job running forever.
    pub fn forget_running(mut self, d: Duration) -> Self {
        self.settings.forget_running = d;
        self
    }

    /// How often [`progress_socket`] pings its client (a client that has not answered
    /// since the last ping is closed) and checks the session is still live (a socket whose
    /// session ended, by logout or expiry, is closed). Default 30 seconds.
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.settings.heartbeat = every.max(Duration::from_millis(10));
        self
    }

    /// The pages allowed to open [`progress_socket`], as origins (`https://clips.example`).
    /// Without it, a browser's `Origin` must name the host the request was sent to (its
    /// `Host` header), which a proxy that rewrites `Host` breaks: behind one, list the
    /// origins.
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.origins = Some(origins.into_iter().map(|o| o.into().trim_end_matches('/').to_owned()).collect());
        self
    }

    /// The hub.
    pub fn build(self) -> ProgressHub {
        ProgressHub { hub: Arc::new(Hub { settings: self.settings, origins: self.origins, tenants: Mutex::default() }) }
    }
}

/// Tenant-scoped channels of [`JobProgress`]; cheap to clone (one hub, shared).
#[derive(Clone)]
pub struct ProgressHub {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for ProgressHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tenants are not listed: the debug output of a shared value is no place for them.
        f.debug_struct("ProgressHub").field("settings", &self.hub.settings).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    buffer: usize,
    max_subscribers: usize,
    max_jobs: usize,
    keep_finished: Duration,
    forget_running: Duration,
    heartbeat: Duration,
}

/// The largest buffer a channel gets, whatever is asked.
const MAX_BUFFER: usize = 1 << 16;

struct Hub {
    settings: Settings,
    origins: Option<Vec<String>>,
    tenants: Mutex<Tenants>,
}

#[derive(Default)]
struct Tenants {
    channels: HashMap<TenantId, Channel>,
    /// Publishes since the last sweep of every tenant.
    since_sweep: u32,
}

/// One tenant's channel: the live sender while anyone subscribes, the last event of each
/// remembered job (oldest first), and how many subscriptions are open.
struct Channel {
    sender: Option<broadcast::Sender<JobProgress>>,
    last: VecDeque<(JobProgress, Instant)>,
    subscribers: usize,
}

/// Every this many publishes, channels nobody listens to and nothing is remembered in are
/// dropped across all tenants (each publish already tidies its own tenant's).
const SWEEP_EVERY: u32 = 1024;

impl Default for ProgressHub {
    fn default() -> Self {
        ProgressHub::new()
    }
}

impl ProgressHub {
    /// A hub with a buffer of 64 events per tenant, at most 16 subscriptions and 64
    /// remembered jobs per tenant, and finished jobs remembered for 10 minutes.
    pub fn new() -> Self {
        let settings = Settings {
            buffer: 64,
            max_subscribers: 16,
            max_jobs: 64,
            keep_finished: Duration::from_secs(600),
            forget_running: Duration::from_secs(3600),
            heartbeat: Duration::from_secs(30),
        };
        ProgressHub { hub: Arc::new(Hub { settings, origins: None, tenants: Mutex::default() }) }
    }

    /// Settings for a hub other than [`new`](Self::new)'s.
    pub fn builder() -> ProgressHubBuilder {
        ProgressHubBuilder { settings: ProgressHub::new().hub.settings, origins: None }
    }

    fn tenants(&self) -> MutexGuard<'_, Tenants> {
        // Every critical section leaves the maps consistent, so a poisoned lock is usable.
        self.hub.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `event` to `tenant`'s subscribers and remembers it as the job's state. Never
    /// waits for a subscriber.
    pub fn publish(&self, tenant: &TenantId, event: JobProgress) {
        let settings = self.hub.settings;
        let mut tenants = self.tenants();
        let channel = tenants.channels.entry(*tenant).or_insert_with(Channel::new);
        channel.last.retain(|(e, _)| e.job_id != event.job_id);
        channel.last.push_back((event.clone(), Instant::now()));
        channel.tidy(&settings);
        if let Some(sender) = &channel.sender {
            // An error only means every subscriber is gone this instant.
            let _ = sender.send(event);
        }
        if channel.is_idle() {
            tenants.channels.remove(tenant);
        }
        tenants.since_sweep += 1;
        if tenants.since_sweep >= SWEEP_EVERY {
            tenants.since_sweep = 0;
            tenants.channels.retain(|_, c| {
                c.tidy(&settings);
                !c.is_idle()
            });
        }
    }

    /// [`publish`](Self::publish) for a claimed job: its tenant and id.
    pub fn publish_for(&self, job: &ClaimedJob, percent: u8, stage: impl Into<String>) {
        self.publish(job.tenant(), JobProgress::running(job.id(), percent, stage));
    }

    /// A subscription to `tenant`'s events: first the state of each job the hub remembers
    /// for the tenant, then every event as it is published.
    /// [`Error::TooManySubscribers`] when the tenant already has the most allowed.
    pub fn subscribe(&self, tenant: &TenantId) -> Result<Subscription> {
        let settings = self.hub.settings;
        let mut tenants = self.tenants();
        let channel = tenants.channels.entry(*tenant).or_insert_with(Channel::new);
        if channel.subscribers >= settings.max_subscribers {
            if channel.is_idle() {
                tenants.channels.remove(tenant);
            }
            return Err(Error::TooManySubscribers);
        }
        channel.tidy(&settings);
        channel.subscribers += 1;
        let sender = channel.sender.get_or_insert_with(|| broadcast::channel(settings.buffer).0);
        Ok(Subscription {
            hub: self.clone(),
            tenant: *tenant,
            receiver: sender.subscribe(),
            pending: channel.last.iter().map(|(e, _)| e.clone()).collect(),
        })
    }

    /// How many subscriptions `tenant` has open.
    pub fn subscribers(&self, tenant: &TenantId) -> usize {
        self.tenants().channels.get(tenant).map_or(0, |c| c.subscribers)
    }
}

impl Channel {
    fn new() -> Self {
        Channel { sender: None, last: VecDeque::new(), subscribers: 0 }
    }

    /// Forgets finished jobs past their time, then the oldest beyond `max_jobs` (finished
    /// ones first).
    fn tidy(&mut self, settings: &Settings) {
        self.last
            .retain(|(e, at)| at.elapsed() < if e.finished { settings.keep_finished } else { settings.forget_running });
        while self.last.len() > settings.max_jobs {
            let victim = self.last.iter().position(|(e, _)| e.finished).unwrap_or(0);
            self.last.remove(victim);
        }
    }

    fn is_idle(&self) -> bool {
        self.subscribers == 0 && self.last.is_empty()
    }
}

/// One tenant's events, as a subscriber gets them ([`ProgressHub::subscribe`]). Dropping
/// it frees its place under the tenant's bound.
pub struct Subscription {
    hub: ProgressHub,
    tenant: TenantId,
    receiver: broadcast::Receiver<JobProgress>,
    pending: VecDeque<JobProgress>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("pending", &self.pending.len()).finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next event: the remembered states first, then live ones. After falling more
    /// than the buffer behind, the current state of each job (what was skipped is not
    /// sent), then live again. Waits while there is nothing new.
    pub async fn next(&mut self) -> Option<JobProgress> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up(),
                // The hub keeps the sender while this subscription is open.
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// After a lag: the current states, and a receiver that starts after them (taken
    /// under the lock that publishing holds, so nothing is missed or seen twice).
    fn catch_up(&mut self) {
        let tenants = self.hub.tenants();
        if let Some(channel) = tenants.channels.get(&self.tenant)
            && let Some(sender) = &channel.sender
        {
            self.receiver = sender.subscribe();
            self.pending = channel.last.iter().map(|(e, _)| e.clone()).collect();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut tenants = self.hub.tenants();
        if let Some(channel) = tenants.channels.get_mut(&self.tenant) {
            channel.subscribers = channel.subscribers.saturating_sub(1);
            if channel.subscribers == 0 {
                channel.sender = None;
            }
            if channel.is_idle() {
                tenants.channels.remove(&self.tenant);
            }
        }
    }
}

/// An axum handler that streams the signed-in user's job progress over a WebSocket
/// (features `live` and `axum`): each event a JSON text message ([`JobProgress`]).
///
/// The user comes from the session cookie ([`CurrentUser`](crate::auth::CurrentUser)):
/// without a live session the upgrade is refused with `401`, over the tenant's
/// subscription bound with `429`, and from a page of another origin (its `Origin` header
/// names another host than `Host`, or one not in
/// [`allowed_origins`](ProgressHubBuilder::allowed_origins)) with `403`. Every
/// [`heartbeat`](ProgressHubBuilder::heartbeat) the client is pinged and the session
/// checked: a client that did not answer the last ping, or whose session has ended
/// (logout, expiry, account deletion), is closed. Messages from the client are ignored;
/// one that reads too slowly skips to the current state (the worker never waits for it).
///
/// ```
/// use axum::{Router, extract::FromRef, routing::get};
/// use tenantry::auth::Auth;
/// use tenantry::live::{ProgressHub, progress_socket};
///
/// #[derive(Clone, FromRef)]
/// struct App { auth: Auth, hub: ProgressHub }
///
/// fn routes(app: App) -> Router {
///     Router::new().route("/progress", get(progress_socket)).with_state(app)
/// }
/// ```
#[cfg(feature = "axum")]
pub async fn progress_socket(
    axum::extract::State(hub): axum::extract::State<ProgressHub>,
    axum::extract::State(auth): axum::extract::State<crate::auth::Auth>,
    crate::auth::CurrentUser(me): crate::auth::CurrentUser,
    headers: axum::http::HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    if !same_origin(&headers, hub.hub.origins.as_deref()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let cookies: Vec<&str> =
        headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
    let cookies = cookies.join("; ");
    match hub.subscribe(me.tenant()) {
        Ok(subscription) => {
            let watch = Watch { auth: crate::auth::AsyncAuth::new(auth), cookies, tenant: *me.tenant() };
            let every = hub.hub.settings.heartbeat;
            upgrade.on_upgrade(move |socket| stream(socket, subscription, watch, every))
        }
        Err(_) => StatusCode::TOO_MANY_REQUESTS.into_response(),
    }
}

/// Whether a browser's `Origin` (if any: other clients send none) is one of `allowed`, or
/// without a list, the host the request was sent to.
#[cfg(feature = "axum")]
fn same_origin(headers: &axum::http::HeaderMap, allowed: Option<&[String]>) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let origin = origin.trim_end_matches('/');
    if let Some(allowed) = allowed {
        return allowed.iter().any(|a| a.eq_ignore_ascii_case(origin));
    }
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// What a socket re-checks each heartbeat: that its cookie still resolves to its tenant.
#[cfg(feature = "axum")]
struct Watch {
    auth: crate::auth::AsyncAuth,
    cookies: String,
    tenant: TenantId,
}

#[cfg(feature = "axum")]
impl Watch {
    async fn still_signed_in(&self) -> bool {
        matches!(self.auth.resolve_cookie(&self.cookies).await, Ok(Some(me)) if *me.tenant() == self.tenant)
    }
}

/// Sends the subscription's events until either side ends, the client stops answering
/// pings, or the session ends.
#[cfg(feature = "axum")]
async fn stream(
    mut socket: axum::extract::ws::WebSocket,
    mut subscription: Subscription,
    watch: Watch,
    every: Duration,
) {
    use axum::extract::ws::Message;
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut answered = true;
    loop {
        tokio::select! {
            event = subscription.next() => {
                let Some(event) = event else { break };
                let Ok(text) = serde_json::to_string(&event) else { break };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => answered = true,
            },
            _ = beat.tick() => {
                if !answered || !watch.still_signed_in().await {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
                answered = false;
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
}
