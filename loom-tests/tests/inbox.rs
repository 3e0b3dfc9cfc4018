//! The inbox: concurrent pushes against the owner taking them, and close racing pushes.
#![cfg(loom)]

use std::sync::Arc;

use hiver_loom_tests::support::model;
use hiver_runtime::__loom::{spawn_with_id, Inbox, Owned, Task, TestQueue};
use loom::thread;

fn task(q: &Arc<TestQueue>, id: u64) -> Task {
    let (t, h) = spawn_with_id(q.clone(), async {}, id);
    drop(h);
    t
}

#[test]
fn pushes_from_two_threads_against_the_owner() {
    model("inbox: 2 producers x 2 pushes vs owner", || {
        let q = Arc::new(TestQueue::default());
        let inbox = Arc::new(Inbox::new());
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let (inbox, q) = (inbox.clone(), q.clone());
                thread::spawn(move || {
                    for i in 0..2 {
                        inbox.push(task(&q, p * 10 + i)).ok().expect("open inbox");
                    }
                })
            })
            .collect();
        // The owner runs what it takes: polling reads the task's future, which the
        // producer wrote before its push (a causality violation if the push did not
        // publish it).
        let run = |tasks: Vec<Task>| -> Vec<u64> {
            tasks
                .into_iter()
                .map(|t| {
                    let id = t.id();
                    assert!(Owned::new().run(t), "an empty future finishes at once");
                    id
                })
                .collect()
        };
        let mut seen = run(inbox.take_all());
        for p in producers {
            p.join().unwrap();
        }
        seen.extend(run(inbox.take_all()));
        for p in 0..2 {
            let mine: Vec<u64> = seen.iter().copied().filter(|id| id / 10 == p).collect();
            assert_eq!(
                mine,
                [p * 10, p * 10 + 1],
                "lost, duplicated or reordered: {seen:?}"
            );
        }
        assert_eq!(seen.len(), 4);
    });
}

#[test]
fn close_racing_a_push_loses_nothing() {
    model("inbox: close vs push", || {
        let q = Arc::new(TestQueue::default());
        let inbox = Arc::new(Inbox::new());
        let producer = {
            let (inbox, q) = (inbox.clone(), q.clone());
            thread::spawn(move || match inbox.push(task(&q, 1)) {
                Ok(()) => 0u64,
                Err(t) => t.id(),
            })
        };
        inbox.push(task(&q, 2)).ok().expect("open");
        let closed: Vec<u64> = inbox.close().iter().map(Task::id).collect();
        let handed_back = producer.join().unwrap();
        let mut all = closed.clone();
        if handed_back != 0 {
            all.push(handed_back);
        }
        all.sort_unstable();
        assert_eq!(
            all,
            [1, 2],
            "every task is taken by close or handed back: {closed:?} {handed_back}"
        );
        assert!(inbox.take_all().is_empty());
    });
}
