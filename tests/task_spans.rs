//! With the `task-spans` feature, every event a task emits carries the task's span (its id
//! and worker). Its own binary: the subscriber is process-global.
#![cfg(feature = "task-spans")]

use hiver_runtime::{spawn, spawn_on, Runtime};

#[path = "common/log_buf.rs"]
mod log_buf;
use log_buf::Buf;

#[test]
fn events_inside_a_task_carry_its_span() {
    let buf = Buf::default();
    let w = buf.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .init();
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        spawn_on(1, async {
            tracing::info!("hello from worker one");
            // Across an await: the span is entered again at the next poll.
            spawn(async {}).await.unwrap();
            tracing::info!("after the await");
        })
        .unwrap()
        .await
        .unwrap();
    })
    .unwrap();
    drop(rt);
    let text = buf.text();
    for msg in ["hello from worker one", "after the await"] {
        let line = text
            .lines()
            .find(|l| l.contains(msg))
            .unwrap_or_else(|| panic!("no event {msg:?} in:\n{text}"));
        assert!(
            line.contains("task{id=") && line.contains("worker=1"),
            "the event is not inside its task's span: {line}"
        );
    }
}
