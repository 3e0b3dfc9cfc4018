//! Unix-domain sockets: a listener, a stream and a datagram socket, named by filesystem
//! paths (or, on Linux, by names in the abstract namespace).

pub(crate) mod addr;
pub(crate) mod datagram;
pub(crate) mod listener;
pub(crate) mod stream;
