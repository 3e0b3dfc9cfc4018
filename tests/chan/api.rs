//! Capacity (0 is rejected), len, the try_ operations, the error types, auto traits.

use std::error::Error;
use std::rc::Rc;

use hiver_runtime::{
    bounded, unbounded, Receiver, RecvError, RecvFuture, SendError, SendFuture, Sender,
    TryRecvError, TrySendError,
};

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn capacity_zero_is_rejected_with_a_clear_message() {
    let _ = bounded::<u8>(0);
}

#[test]
fn capacity_zero_message_names_the_alternative() {
    let err = std::panic::catch_unwind(|| bounded::<u8>(0)).unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(
        msg.contains("rendezvous") && msg.contains("bounded(1)"),
        "{msg}"
    );
}

#[test]
fn capacity_and_len() {
    let (tx, rx) = bounded(3);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(3), Some(3)));
    assert!(tx.is_empty() && rx.is_empty());
    for i in 0..3 {
        tx.try_send(i).unwrap();
        assert_eq!((tx.len(), rx.len()), (i + 1, i + 1));
    }
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.len(), 2);

    let (tx, rx) = unbounded();
    assert_eq!((tx.capacity(), rx.capacity()), (None, None));
    for i in 0..100 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.len(), 100);
}

#[test]
fn try_operations_report_full_empty_and_closed() {
    let (tx, rx) = bounded(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(1).unwrap();
    let full = tx.try_send(2).unwrap_err();
    assert!(full.is_full() && !full.is_closed());
    assert_eq!(full.into_inner(), 2);
    drop(tx);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1), "buffered values outlive the senders");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, rx) = unbounded::<&str>();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send("x"), Err(TrySendError::Closed("x")));
}

fn error_trait<E: Error + Send + Sync + 'static>(e: E) -> String {
    let boxed: Box<dyn Error + Send + Sync> = Box::new(e);
    format!("{boxed} / {boxed:?}")
}

#[test]
fn errors_implement_debug_display_and_error() {
    // Rc<()> is neither Debug-required nor Send: the errors' traits do not depend on T
    // (except the auto traits).
    struct NoDebug;
    assert_eq!(
        error_trait(SendError(NoDebug)),
        "sending on a closed channel / SendError(..)"
    );
    assert_eq!(
        error_trait(TrySendError::Full(NoDebug)),
        "sending on a full channel / Full(..)"
    );
    assert_eq!(
        error_trait(TrySendError::Closed(NoDebug)),
        "sending on a closed channel / Closed(..)"
    );
    assert_eq!(
        error_trait(RecvError),
        "receiving on a closed and empty channel / RecvError"
    );
    assert_eq!(
        error_trait(TryRecvError::Empty),
        "receiving on an empty channel / Empty"
    );
    assert_eq!(
        error_trait(TryRecvError::Closed),
        "receiving on a closed and empty channel / Closed"
    );
    assert_eq!(SendError(Rc::new(1)).into_inner(), Rc::new(1));
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Closed);
    assert!(TrySendError::from(SendError(())).is_closed());
}

fn send_sync<T: Send + Sync>() {}
fn send_unpin<T: Send + Unpin>() {}

#[test]
fn both_ends_and_their_futures_are_send_and_sync() {
    send_sync::<Sender<String>>();
    send_sync::<Receiver<String>>();
    send_unpin::<SendFuture<'static, String>>();
    send_unpin::<RecvFuture<'static, String>>();
    send_sync::<SendError<String>>();
    send_sync::<TrySendError<String>>();
    send_sync::<RecvError>();
    send_sync::<TryRecvError>();
    fn clone<T: Clone>() {}
    clone::<Sender<Rc<u8>>>();
}

#[test]
fn handles_print_their_state() {
    let (tx, rx) = bounded::<u8>(2);
    tx.try_send(1).unwrap();
    assert_eq!(
        format!("{tx:?}"),
        "Sender { capacity: Some(2), len: 1, closed: false }"
    );
    rx.close();
    assert_eq!(
        format!("{rx:?}"),
        "Receiver { capacity: Some(2), len: 1, closed: true }"
    );
}
