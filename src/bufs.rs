//! The caller's side of a read or a write, for sockets and files alike: where a read puts
//! its bytes ([`Dest`]: a slice, several, or a [`ReadSink`] such as tokio's or hyper's
//! read buffer), what a write sends ([`Src`]), and the per-thread pool of copy buffers.

use std::io::{self, IoSlice, IoSliceMut};

/// A read destination that is not a plain `&mut [u8]`: a buffer that may be partly
/// uninitialized (tokio's `ReadBuf`, hyper's `ReadBufCursor`), or a growing `Vec`. It only
/// ever receives bytes by copy, so no `unsafe` is needed to fill uninitialized memory.
/// `Send` and `Sync`, as the read futures that hold one must be.
pub(crate) trait ReadSink: Send + Sync {
    /// How many bytes it takes at most.
    fn remaining(&self) -> usize;

    /// Appends as much of `src` as fits; how much.
    fn put(&mut self, src: &[u8]) -> usize;

    /// The most bytes [`read_with`](Self::read_with) lets `read` fill: a `recv` that
    /// brings fewer has emptied the socket, so this must be exact.
    fn read_room(&self) -> usize {
        scratch_room(self.remaining())
    }

    /// Lets `read` (a readiness driver's `recv`) fill the sink, at most
    /// [`read_room`](Self::read_room) bytes; the count it read. The default reads into this
    /// thread's scratch buffer and copies what came (only those bytes, never the whole
    /// room); a sink with initialized room lends it directly.
    fn read_with(
        &mut self,
        read: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let room = self.remaining();
        read_through_scratch(self, room, read)
    }
}

/// Lets `read` fill at most `room` bytes (and at most `SCRATCH_MAX`: the default
/// `read_room`) of this thread's scratch buffer, and puts what it read into `sink`.
pub(crate) fn read_through_scratch<S: ReadSink + ?Sized>(
    sink: &mut S,
    room: usize,
    read: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    with_scratch(scratch_room(room), |scratch| {
        let n = read(scratch)?;
        Ok(sink.put(&scratch[..n]))
    })
}

/// The largest scratch read ([`ReadSink::read_with`]'s default).
const SCRATCH_MAX: usize = 64 * 1024;

/// What a read through the scratch buffer takes at most of `room`.
pub(crate) fn scratch_room(room: usize) -> usize {
    room.min(SCRATCH_MAX)
}

thread_local! {
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` over `len` initialized bytes of this thread's scratch buffer (zeroed once,
/// when it grows).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = SCRATCH.try_with(std::cell::Cell::take).unwrap_or_default();
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let r = f(&mut buf[..len]);
    let _ = SCRATCH.try_with(|s| s.set(buf));
    r
}

/// A [`ReadSink`] that appends to a `Vec`, at most `room` bytes per read.
pub(crate) struct VecSink<'a> {
    pub(crate) vec: &'a mut Vec<u8>,
    pub(crate) room: usize,
}

impl ReadSink for VecSink<'_> {
    fn remaining(&self) -> usize {
        self.room
    }

    fn put(&mut self, src: &[u8]) -> usize {
        let n = src.len().min(self.room);
        self.vec.extend_from_slice(&src[..n]);
        self.room -= n;
        n
    }
}

/// Where a read puts its bytes.
pub(crate) enum Dest<'a, 'b> {
    Slice(&'a mut [u8]),
    Vectored(&'a mut [IoSliceMut<'b>]),
    Sink(&'a mut dyn ReadSink),
}

impl Dest<'_, '_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Dest::Slice(b) => b.len(),
            Dest::Vectored(bs) => bs.iter().map(|b| b.len()).sum(),
            Dest::Sink(s) => s.remaining(),
        }
    }

    /// The most bytes one `recv` into it takes (a sink may read through a smaller scratch
    /// buffer): a shorter `recv` means the socket ran empty.
    pub(crate) fn recv_room(&self) -> usize {
        match self {
            Dest::Sink(s) => s.read_room(),
            _ => self.len(),
        }
    }

    /// Copies as much of `src` as fits; returns how much.
    pub(crate) fn fill(&mut self, src: &[u8]) -> usize {
        match self {
            Dest::Slice(b) => {
                let n = src.len().min(b.len());
                b[..n].copy_from_slice(&src[..n]);
                n
            }
            Dest::Vectored(bs) => {
                let mut done = 0;
                for b in bs.iter_mut() {
                    if done == src.len() {
                        break;
                    }
                    let n = (src.len() - done).min(b.len());
                    b[..n].copy_from_slice(&src[done..done + n]);
                    done += n;
                }
                done
            }
            Dest::Sink(s) => s.put(src),
        }
    }
}

/// What a write sends.
pub(crate) enum Src<'a, 'b> {
    Slice(&'a [u8]),
    Vectored(&'a [IoSlice<'b>]),
}

impl Src<'_, '_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Src::Slice(b) => b.len(),
            Src::Vectored(bs) => bs.iter().map(|b| b.len()).sum(),
        }
    }

    /// A copy of the first `max` bytes, in a buffer from [`take`].
    pub(crate) fn gather(&self, max: usize) -> Vec<u8> {
        let mut v = take(self.len().min(max));
        match self {
            Src::Slice(b) => v.extend_from_slice(&b[..b.len().min(max)]),
            Src::Vectored(bs) => {
                for b in bs.iter() {
                    let room = max - v.len();
                    if room == 0 {
                        break;
                    }
                    v.extend_from_slice(&b[..b.len().min(room)]);
                }
            }
        }
        v
    }
}

/// An empty buffer with room for `len` bytes (reused on io_uring threads).
pub(crate) fn take(len: usize) -> Vec<u8> {
    #[cfg(target_os = "linux")]
    return crate::driver::uring::buf::send_bufs::take(len);
    #[cfg(not(target_os = "linux"))]
    Vec::with_capacity(len)
}

/// Gives a buffer from [`take`] back.
pub(crate) fn give(v: Vec<u8>) {
    #[cfg(target_os = "linux")]
    crate::driver::uring::buf::send_bufs::give(v);
    #[cfg(not(target_os = "linux"))]
    drop(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vec_sink_takes_at_most_its_room_and_reads_through_the_scratch() {
        let mut v = b"ab".to_vec();
        let mut sink = VecSink {
            vec: &mut v,
            room: 4,
        };
        assert_eq!(Dest::Sink(&mut sink).fill(b"cdefgh"), 4);
        assert_eq!(v, b"abcdef");
        let mut sink = VecSink {
            vec: &mut v,
            room: 3,
        };
        let n = sink
            .read_with(&mut |b| {
                assert_eq!(b.len(), 3, "the scratch is lent at the sink's room");
                b[..2].copy_from_slice(b"xy");
                Ok(2)
            })
            .unwrap();
        assert_eq!((n, sink.room), (2, 1));
        assert_eq!(v, b"abcdefxy");
    }

    #[test]
    fn gather_copies_a_prefix_of_several_slices() {
        let (a, b) = (b"hello ".to_vec(), b"world".to_vec());
        let bufs = [IoSlice::new(&a), IoSlice::new(&b)];
        let src = Src::Vectored(&bufs);
        assert_eq!(src.len(), 11);
        assert_eq!(src.gather(8), b"hello wo");
    }
}
