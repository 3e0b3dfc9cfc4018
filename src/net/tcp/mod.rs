//! TCP: a listener and a stream (its halves are `net::split`'s).

pub(crate) mod listener;
pub(crate) mod stream;
