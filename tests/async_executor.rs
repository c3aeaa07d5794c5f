//! The async executor (`Async`, feature `tokio`): statements run on tokio's blocking pool,
//! so a wait on SQLite's write lock never stalls the runtime's worker threads.
#![cfg(feature = "tokio")]

use std::time::Duration;

use tenantry::{Admin, Async, Error, Layout, SqliteDatabase, Table, TenantId};

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "as_notes", owned)]
struct Note {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    body: String,
}

fn temp() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-async-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn one_worker_thread_serves_a_second_request_while_the_first_waits_on_the_write_lock() {
    // Guard: every call goes through `spawn_blocking`. Seen failing (the test timed out)
    // with the call run inline on the worker: the writer blocked the only worker thread
    // while it waited for the lock, so the reader that releases it never ran.
    let dir = temp();
    let db = SqliteDatabase::builder(dir.join("app.db")).busy_timeout(Duration::from_secs(20)).open().unwrap();
    db.create_table::<Note>().unwrap();
    let layout = Async::new(Layout::shared(db.clone()).unwrap());
    let (alice, bob) = (TenantId::generate(), TenantId::generate());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build().unwrap();
    runtime.block_on(async {
        layout.execute(Note::insert(&alice, NewNote { id: 1, body: "a".into() })).await.unwrap();
        // Another connection holds the write lock until the read below has been served.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (locked, is_locked) = tokio::sync::oneshot::channel::<()>();
        let holder = std::thread::spawn({
            let db = db.clone();
            move || {
                db.transaction(|tx| {
                    tx.execute(Note::insert(&bob, NewNote { id: 1, body: "b".into() }))?;
                    locked.send(()).unwrap();
                    released.recv().unwrap();
                    Ok(())
                })
                .unwrap();
            }
        });
        is_locked.await.unwrap();
        // A writer of Alice's now waits on the lock, on the blocking pool ...
        let writer = tokio::spawn({
            let layout = layout.clone();
            async move { layout.execute(Note::insert(&alice, NewNote { id: 2, body: "waits".into() })).await }
        });
        // ... while the runtime's only worker thread serves a read (a task of its own, as
        // a second request would be).
        let reader = tokio::spawn({
            let layout = layout.clone();
            async move { layout.fetch_all(Note::select(&alice)).await }
        });
        let read = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("the read was not served while a writer waited");
        assert_eq!(read.unwrap().unwrap().len(), 1);
        release.send(()).unwrap();
        assert_eq!(writer.await.unwrap().unwrap(), 1);
        holder.join().unwrap();
        assert_eq!(layout.fetch_all(Note::select(&alice)).await.unwrap().len(), 2);
        assert_eq!(layout.fetch_all(Note::select(&bob)).await.unwrap().len(), 1);
    });
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn async_calls_keep_the_sync_rules_and_errors() {
    let db = Async::new(SqliteDatabase::open_in_memory().unwrap());
    db.run(|db| db.create_table::<Note>()).await.unwrap();
    let (alice, bob) = (TenantId::generate(), TenantId::generate());
    db.execute(Note::insert(&alice, NewNote { id: 1, body: "mine".into() })).await.unwrap();
    // Bob asks for Alice's note by its id: it does not exist for him.
    assert!(matches!(db.fetch_one(Note::get(&bob, 1)).await, Err(Error::NotFound)));
    assert!(matches!(
        db.execute(Note::insert(&alice, NewNote { id: 1, body: "again".into() })).await,
        Err(Error::Conflict { table: "as_notes", .. })
    ));
    let admin = Admin::new("async test counts every note");
    let all: Vec<i64> =
        db.run(move |db| db.fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM as_notes"), |r| r.get(0))).await.unwrap();
    assert_eq!(all, [1]);
}
