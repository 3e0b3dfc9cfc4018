//! The hand-written `RawWakerVTable` of tasks: clone adds a reference, drop releases one,
//! wake schedules the task on its owner (local queue on the owner thread, inbox and one
//! driver wake-up elsewhere: the scheduler's `Schedule` impl decides).
//!
//! # Safety
//!
//! A task waker's data pointer is a task header carrying one reference (or, for
//! [`waker_ref`], borrowing the caller's); the vtable functions keep that count exact.
#![allow(unsafe_code)]

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::{release, wake_by_ref, Header};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_ref, drop_waker);

fn header(data: *const ()) -> NonNull<Header> {
    // SAFETY: only this module makes RawWakers, always from a non-null header pointer.
    unsafe { NonNull::new_unchecked(data.cast_mut().cast::<Header>()) }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds a reference, so the header is alive.
    unsafe { header(data).as_ref() }.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: this waker's reference is held across the wake, then given up.
    unsafe {
        wake_by_ref(header(data));
        release(header(data));
    }
}

unsafe fn wake_ref(data: *const ()) {
    // SAFETY: the waker's reference is held across the call.
    unsafe { wake_by_ref(header(data)) };
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the reference this waker owned.
    unsafe { release(header(data)) };
}

/// A waker that borrows the caller's reference to the task (no count change).
///
/// # Safety
///
/// The caller holds a reference to the task for as long as the returned waker (and any
/// use of it without cloning) lives.
pub(crate) unsafe fn waker_ref(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(ptr.as_ptr().cast_const().cast(), &VTABLE);
    // SAFETY: the vtable upholds the RawWaker contract; ManuallyDrop keeps the borrowed
    // reference from being released.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}
