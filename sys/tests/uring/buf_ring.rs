use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use hiver_sys::uring::{op, Cqe};

use super::{complete, push_all, ring};

const ENOBUFS: i32 = 105;

#[test]
fn provided_buffers_are_handed_out_and_recycled() {
    let mut r = ring(8);
    let b = r.setup_buf_ring(3, 4, 64).unwrap();
    assert_eq!((b.available(), b.buf_len(), b.group()), (4, 64, 3));
    let (mut a, s) = UnixStream::pair().unwrap();
    // SAFETY: buffer-selecting recv names no memory of ours; the buffer ring's memory is
    // owned by the Ring until it is unregistered.
    unsafe {
        push_all(
            &mut r,
            &[op::recv_multishot(s.as_raw_fd(), 3, 0).user_data(1)],
        )
    };
    r.submit().unwrap();
    let mut used = Vec::new();
    for i in 0..4u8 {
        a.write_all(&[b'a' + i; 10]).unwrap();
        let c: Cqe = complete(&mut r, 1)[0];
        assert!(
            c.more(),
            "multishot recv stays armed while buffers last: {c:?}"
        );
        let bid = c.buffer_id().expect("a provided buffer was used");
        let data = r
            .buf_ring(3)
            .unwrap()
            .take(bid, c.result().unwrap())
            .unwrap()
            .to_vec();
        assert_eq!(data, [b'a' + i; 10]);
        used.push(bid);
    }
    used.sort_unstable();
    assert_eq!(used, [0, 1, 2, 3], "each buffer handed out once");
    assert_eq!(r.buf_ring(3).unwrap().available(), 0);
    // A taken buffer cannot be taken twice, nor an unlent one recycled.
    assert!(r.buf_ring(3).unwrap().take(used[0], 1).is_err());
    // The ring is empty: the next arrival ends the multishot with ENOBUFS, no MORE.
    a.write_all(b"late").unwrap();
    let end = complete(&mut r, 1)[0];
    assert_eq!(end.result().unwrap_err().raw_os_error(), Some(ENOBUFS));
    assert!(!end.more());
    // Recycle, re-arm: the waiting bytes arrive in a recycled buffer.
    let ring_b = r.buf_ring(3).unwrap();
    ring_b.recycle(2).unwrap();
    assert!(
        ring_b.recycle(2).is_err(),
        "a buffer already in the ring is refused"
    );
    // SAFETY: as above.
    unsafe {
        push_all(
            &mut r,
            &[op::recv_multishot(s.as_raw_fd(), 3, 0).user_data(2)],
        )
    };
    let c = complete(&mut r, 1)[0];
    assert_eq!(c.buffer_id(), Some(2));
    assert_eq!(
        r.buf_ring(3).unwrap().take(2, c.result().unwrap()).unwrap(),
        b"late"
    );
}

#[test]
fn buffer_ring_sizes_are_checked_and_groups_unique() {
    let mut r = ring(4);
    assert!(r.setup_buf_ring(1, 3, 64).is_err(), "not a power of two");
    assert!(r.setup_buf_ring(1, 4, 0).is_err(), "empty buffers");
    r.setup_buf_ring(1, 4, 64).unwrap();
    assert!(r.setup_buf_ring(1, 4, 64).is_err(), "group 1 exists");
    r.remove_buf_ring(1).unwrap();
    assert!(r.buf_ring(1).is_none());
    r.setup_buf_ring(1, 8, 32).unwrap();
    assert_eq!(
        r.remove_buf_ring(9).unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );
}
