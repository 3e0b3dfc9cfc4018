use std::os::fd::AsRawFd;

use hiver_sys::uring::op;

use super::{by_ud, complete, push_all, ring};

#[test]
fn fixed_files_are_used_by_index() {
    let mut r = ring(8);
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    r.register_files(&[-1, -1, -1, -1]).unwrap();
    assert_eq!(r.update_files(2, &[wr.as_raw_fd()]).unwrap(), 1);
    let msg = b"fixed";
    // SAFETY: `msg` is static; slot 2 holds the pipe's write end.
    unsafe {
        push_all(
            &mut r,
            &[op::write(2, msg.as_ptr(), msg.len(), u64::MAX)
                .fixed_file()
                .user_data(1)],
        )
    };
    assert_eq!(complete(&mut r, 1)[0].result().unwrap(), 5);
    let mut buf = [0u8; 8];
    assert_eq!(rustix::io::read(&rd, &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], msg);
    // An empty slot is EBADF, and close_fixed empties a slot.
    // SAFETY: as above; slot 0 is empty.
    unsafe {
        push_all(
            &mut r,
            &[
                op::write(0, msg.as_ptr(), 1, u64::MAX)
                    .fixed_file()
                    .user_data(2),
                op::close_fixed(2).user_data(3),
            ],
        )
    };
    let c = complete(&mut r, 2);
    assert_eq!(by_ud(&c, 2).result().unwrap_err().raw_os_error(), Some(9));
    assert_eq!(by_ud(&c, 3).result().unwrap(), 0);
    r.unregister_files().unwrap();
    assert!(r.unregister_files().is_err());
}

#[test]
fn files_update_op_fills_slots() {
    let mut r = ring(4);
    let (_rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    r.register_files(&[-1, -1]).unwrap();
    let fds = [wr.as_raw_fd()];
    // SAFETY: `fds` outlives the completion.
    unsafe { push_all(&mut r, &[op::files_update(fds.as_ptr(), 1, 1).user_data(1)]) };
    assert_eq!(complete(&mut r, 1)[0].result().unwrap(), 1);
    // SAFETY: static buffer; slot 1 now holds the write end.
    unsafe {
        push_all(
            &mut r,
            &[op::write(1, b"x".as_ptr(), 1, u64::MAX)
                .fixed_file()
                .user_data(2)],
        )
    };
    assert_eq!(complete(&mut r, 1)[0].result().unwrap(), 1);
}
