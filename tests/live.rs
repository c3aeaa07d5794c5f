//! Live job progress: per-tenant channels, and the WebSocket route, driven by a real
//! WebSocket client over loopback.
#![cfg(all(feature = "live", feature = "axum"))]

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use tenantry::auth::{Auth, SESSION_COOKIE, Session};
use tenantry::live::{JobProgress, ProgressHub, progress_socket};
use tenantry::{Admin, Error, SqliteDatabase, TenantId};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use uuid::Uuid;

#[derive(Clone, FromRef)]
struct App {
    auth: Auth,
    hub: ProgressHub,
}

/// The route on a loopback port; its address.
async fn serve(app: App) -> String {
    let routes = Router::new().route("/progress", get(progress_socket)).with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    format!("ws://{addr}/progress")
}

fn app(hub: ProgressHub) -> App {
    let db = SqliteDatabase::open_in_memory().unwrap();
    let auth = Auth::builder(&Admin::new("live progress tests build the auth service"), db).build().unwrap();
    App { auth, hub }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, cookie: Option<&str>) -> Result<Socket, tungstenite::Error> {
    let mut request = url.into_client_request().unwrap();
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

/// The next event on the socket, or `None` if none comes within a moment.
async fn next_event(socket: &mut Socket) -> Option<serde_json::Value> {
    loop {
        match tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

fn cookie(session: &Session) -> String {
    let cookie = session.cookie();
    cookie.split(';').next().unwrap().to_owned()
}

fn status(err: tungstenite::Error) -> u16 {
    match err {
        tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_sees_only_its_own_jobs_over_the_socket() {
    // Guard: channels are keyed by tenant (`ProgressHub::publish` and `subscribe`), and the
    // socket subscribes to the cookie's tenant (`progress_socket`). Seen failing with `publish`
    // sending to every tenant's channel: Alice's socket then got "bob rendering".
    let hub = ProgressHub::new();
    let app = app(hub.clone());
    let url = serve(app.clone()).await;
    let alice = app.auth.start_anonymous().unwrap();
    let bob = app.auth.start_anonymous().unwrap();
    let mut alice_socket = connect(&url, Some(&cookie(&alice))).await.unwrap();
    let mut bob_socket = connect(&url, Some(&cookie(&bob))).await.unwrap();
    let wait = Instant::now();
    while hub.subscribers(alice.identity.tenant()) + hub.subscribers(bob.identity.tenant()) < 2 {
        assert!(wait.elapsed() < Duration::from_secs(5), "both sockets subscribe");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The same job id for both tenants: ids overlap, channels do not.
    let job = Uuid::from_u128(7);
    hub.publish(alice.identity.tenant(), JobProgress::running(job, 30, "alice rendering"));
    hub.publish(bob.identity.tenant(), JobProgress::running(job, 60, "bob rendering"));
    hub.publish(alice.identity.tenant(), JobProgress::finished(job, "alice done"));

    let a1 = next_event(&mut alice_socket).await.unwrap();
    let a2 = next_event(&mut alice_socket).await.unwrap();
    assert_eq!((a1["stage"].as_str(), a1["percent"].as_u64()), (Some("alice rendering"), Some(30)));
    assert_eq!((a2["stage"].as_str(), a2["finished"].as_bool()), (Some("alice done"), Some(true)));
    assert_eq!(a1["job_id"].as_str(), Some(job.to_string().as_str()));
    assert_eq!(next_event(&mut alice_socket).await, None, "nothing of Bob's");

    let b1 = next_event(&mut bob_socket).await.unwrap();
    assert_eq!(b1["stage"].as_str(), Some("bob rendering"));
    assert_eq!(next_event(&mut bob_socket).await, None, "nothing of Alice's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_forged_cookie_is_refused() {
    let app = app(ProgressHub::new());
    let url = serve(app.clone()).await;
    assert_eq!(status(connect(&url, None).await.unwrap_err()), 401);
    let forged = format!("{SESSION_COOKIE}=not-a-session");
    assert_eq!(status(connect(&url, Some(&forged)).await.unwrap_err()), 401);
    // A well-formed token that is no live session.
    let session = app.auth.start_anonymous().unwrap();
    let real = cookie(&session);
    let (name, value) = real.split_once('=').unwrap();
    let mut altered = value.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(status(connect(&url, Some(&format!("{name}={altered}"))).await.unwrap_err()), 401);
    // The real one works.
    let mut socket = connect(&url, Some(&real)).await.unwrap();
    socket.send(Message::Close(None)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_starts_from_the_last_state() {
    let hub = ProgressHub::new();
    let app = app(hub.clone());
    let url = serve(app.clone()).await;
    let me = app.auth.start_anonymous().unwrap();
    let tenant = *me.identity.tenant();
    let (render, upload) = (Uuid::new_v4(), Uuid::new_v4());
    hub.publish(&tenant, JobProgress::running(render, 10, "rendering"));
    hub.publish(&tenant, JobProgress::running(upload, 50, "uploading"));
    hub.publish(&tenant, JobProgress::running(render, 80, "rendering"));
    // Nobody listened to those; a socket opened now gets each job's latest state.
    let mut socket = connect(&url, Some(&cookie(&me))).await.unwrap();
    let first = next_event(&mut socket).await.unwrap();
    let second = next_event(&mut socket).await.unwrap();
    assert_eq!((first["job_id"].as_str(), first["percent"].as_u64()), (Some(upload.to_string().as_str()), Some(50)));
    assert_eq!((second["job_id"].as_str(), second["percent"].as_u64()), (Some(render.to_string().as_str()), Some(80)));
    assert_eq!(next_event(&mut socket).await, None);
    drop(socket);
    hub.publish(&tenant, JobProgress::finished(render, "done"));
    let mut again = connect(&url, Some(&cookie(&me))).await.unwrap();
    let states: Vec<_> = [next_event(&mut again).await.unwrap(), next_event(&mut again).await.unwrap()].into();
    assert!(states.iter().any(|s| s["job_id"] == render.to_string() && s["finished"] == true), "{states:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_per_tenant_are_bounded() {
    let hub = ProgressHub::builder().max_subscribers(2).build();
    let app = app(hub.clone());
    let url = serve(app.clone()).await;
    let me = app.auth.start_anonymous().unwrap();
    let other = app.auth.start_anonymous().unwrap();
    let first = connect(&url, Some(&cookie(&me))).await.unwrap();
    let _second = connect(&url, Some(&cookie(&me))).await.unwrap();
    assert_eq!(status(connect(&url, Some(&cookie(&me))).await.unwrap_err()), 429);
    // Another tenant has its own bound.
    let _theirs = connect(&url, Some(&cookie(&other))).await.unwrap();
    // Closing one frees its place.
    drop(first);
    let wait = Instant::now();
    while hub.subscribers(me.identity.tenant()) > 1 {
        assert!(wait.elapsed() < Duration::from_secs(5), "the closed socket's place is freed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _third = connect(&url, Some(&cookie(&me))).await.unwrap();
    while hub.subscribers(me.identity.tenant()) < 2 {
        assert!(wait.elapsed() < Duration::from_secs(5), "the new socket subscribes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The bound holds for direct subscriptions too.
    assert!(matches!(hub.subscribe(me.identity.tenant()), Err(Error::TooManySubscribers)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_never_holds_up_the_worker_and_catches_up_to_the_current_state() {
    let hub = ProgressHub::builder().buffer(8).build();
    let tenant = TenantId::generate();
    let mut slow = hub.subscribe(&tenant).unwrap();
    let job = Uuid::new_v4();
    // The worker publishes far more than the buffer while nobody reads.
    let started = Instant::now();
    for i in 0..10_000u32 {
        hub.publish(&tenant, JobProgress::running(job, (i / 100) as u8, format!("step {i}")));
    }
    hub.publish(&tenant, JobProgress::finished(job, "done"));
    assert!(started.elapsed() < Duration::from_secs(5), "publishing never waits on a subscriber");
    // The slow subscriber skips what it missed: the job's current state, then nothing stale.
    let caught_up = slow.next().await.unwrap();
    assert_eq!((caught_up.stage.as_str(), caught_up.finished), ("done", true));
    assert!(tokio::time::timeout(Duration::from_millis(200), slow.next()).await.is_err(), "no stale event after");
    // Live again afterwards.
    hub.publish(&tenant, JobProgress::running(Uuid::new_v4(), 5, "next job"));
    assert_eq!(slow.next().await.unwrap().stage, "next job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_does_not_read_does_not_hold_up_the_worker() {
    let hub = ProgressHub::builder().buffer(4).build();
    let app = app(hub.clone());
    let url = serve(app.clone()).await;
    let me = app.auth.start_anonymous().unwrap();
    let tenant = *me.identity.tenant();
    let mut socket = connect(&url, Some(&cookie(&me))).await.unwrap();
    while hub.subscribers(&tenant) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let job = Uuid::new_v4();
    let padding = "x".repeat(4096);
    let started = Instant::now();
    for i in 0..5_000u32 {
        hub.publish(&tenant, JobProgress::running(job, (i / 50) as u8, format!("{i} {padding}")));
    }
    hub.publish(&tenant, JobProgress::finished(job, "done"));
    assert!(started.elapsed() < Duration::from_secs(5), "the worker published 20 MB of events without waiting");
    // Reading now, the client ends at the job's final state.
    let mut last = None;
    while let Some(event) = next_event(&mut socket).await {
        last = Some(event);
    }
    let last = last.expect("events arrive");
    assert_eq!((last["stage"].as_str(), last["finished"].as_bool()), (Some("done"), Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_closes_when_its_session_ends() {
    let hub = ProgressHub::builder().heartbeat(Duration::from_millis(100)).build();
    let app = app(hub.clone());
    let url = serve(app.clone()).await;
    let me = app.auth.start_anonymous().unwrap();
    let mut socket = connect(&url, Some(&cookie(&me))).await.unwrap();
    // Alive across several heartbeats while the session lives: the client, reading,
    // answers the pings.
    let job = Uuid::new_v4();
    let reading = Instant::now();
    while reading.elapsed() < Duration::from_millis(400) {
        let read = tokio::time::timeout(Duration::from_millis(50), socket.next()).await;
        assert!(!matches!(read, Ok(Some(Ok(Message::Close(_)) | Err(_)) | None)), "closed while the session lives");
    }
    hub.publish(me.identity.tenant(), JobProgress::running(job, 10, "still here"));
    assert_eq!(next_event(&mut socket).await.unwrap()["stage"], "still here");
    app.auth.logout(&me.identity).unwrap();
    // Closed within a heartbeat or two of the logout.
    let closed = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket of an ended session is closed");
    let wait = Instant::now();
    while hub.subscribers(me.identity.tenant()) > 0 {
        assert!(wait.elapsed() < Duration::from_secs(5), "its subscription is gone");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_is_refused() {
    let app = app(ProgressHub::new());
    let url = serve(app.clone()).await;
    let me = app.auth.start_anonymous().unwrap();
    let host = url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
    let with_origin = |origin: String| {
        let mut request = url.as_str().into_client_request().unwrap();
        request.headers_mut().insert("cookie", cookie(&me).parse().unwrap());
        request.headers_mut().insert("origin", origin.parse().unwrap());
        request
    };
    let refused =
        tokio_tungstenite::connect_async(with_origin(String::from("https://evil.example"))).await.unwrap_err();
    assert_eq!(status(refused), 403);
    tokio_tungstenite::connect_async(with_origin(format!("http://{host}"))).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_the_listed_origins_are_allowed() {
    let app = app(ProgressHub::builder().allowed_origins(["https://clips.example/"]).build());
    let url = serve(app.clone()).await;
    let me = app.auth.start_anonymous().unwrap();
    let with_origin = |origin: &str| {
        let mut request = url.as_str().into_client_request().unwrap();
        request.headers_mut().insert("cookie", cookie(&me).parse().unwrap());
        request.headers_mut().insert("origin", origin.parse().unwrap());
        request
    };
    tokio_tungstenite::connect_async(with_origin("https://clips.example")).await.unwrap();
    let host = url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
    let own_host = tokio_tungstenite::connect_async(with_origin(&format!("http://{host}"))).await.unwrap_err();
    assert_eq!(status(own_host), 403, "with a list, only the list");
}

#[test]
fn many_publishers_and_subscribers_at_once_keep_tenants_apart() {
    // Guard: channels keyed by tenant under one lock (`ProgressHub::publish`, `subscribe`).
    // Eight publisher threads over four tenants with overlapping job ids, while eight
    // subscribers (two a tenant) read: each sees only its tenant's events, ending at the
    // final state of each of its jobs.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let hub = ProgressHub::builder().buffer(16).build();
    let tenants: Vec<TenantId> = (0..4).map(|_| TenantId::generate()).collect();
    let readers: Vec<_> = tenants
        .iter()
        .flat_map(|t| [*t, *t])
        .map(|t| {
            let mut subscription = hub.subscribe(&t).unwrap();
            let mine = t.to_string();
            runtime.spawn(async move {
                let mut finished = std::collections::HashSet::new();
                while finished.len() < 2 {
                    let event = subscription.next().await.unwrap();
                    assert!(event.stage.starts_with(&mine), "{} is another tenant's", event.stage);
                    if event.finished {
                        finished.insert(event.job_id);
                    }
                }
            })
        })
        .collect();
    std::thread::scope(|scope| {
        for (i, t) in tenants.iter().cycle().take(8).enumerate() {
            let hub = &hub;
            scope.spawn(move || {
                let job = Uuid::from_u128(i as u128 / 4);
                for p in 0..500u32 {
                    hub.publish(t, JobProgress::running(job, (p / 5) as u8, format!("{t} {p}")));
                }
                hub.publish(t, JobProgress::finished(job, format!("{t} done")));
            });
        }
    });
    runtime.block_on(async {
        for reader in readers {
            tokio::time::timeout(Duration::from_secs(10), reader).await.expect("every reader ends").unwrap();
        }
    });
}
