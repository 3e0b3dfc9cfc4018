//! With the `task-spans` feature, every event a task emits carries the task's span (its id
//! and worker), on every driver. Its own binary: the subscriber is process-global.
#![cfg(feature = "task-spans")]

use hiver_runtime::{spawn, spawn_on};

#[path = "common/drivers.rs"]
mod drivers;
#[path = "common/log_buf.rs"]
mod log_buf;
use drivers::{drivers, runtime};
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
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        rt.block_on(async move {
            spawn_on(1, async move {
                tracing::info!("hello from worker one on {driver}");
                // Across an await: the span is entered again at the next poll.
                spawn(async {}).await.unwrap();
                tracing::info!("after the await on {driver}");
            })
            .unwrap()
            .await
            .unwrap();
        })
        .unwrap();
        drop(rt);
        let text = buf.text();
        for msg in [
            format!("hello from worker one on {driver}"),
            format!("after the await on {driver}"),
        ] {
            let line = text
                .lines()
                .find(|l| l.contains(&msg))
                .unwrap_or_else(|| panic!("{driver}: no event {msg:?} in:\n{text}"));
            assert!(
                line.contains("task{id=") && line.contains("worker=1"),
                "{driver}: the event is not inside its task's span: {line}"
            );
        }
    }
}
