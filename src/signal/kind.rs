//! `SignalKind`: which signal a listener waits for.

use hiver_sys::signal as sys;

/// A Unix signal, by number: the named constructors give this platform's numbers (`SIGUSR1`
/// is 10 on Linux, 30 on macOS), [`from_raw`](SignalKind::from_raw) any other.
///
/// A kind is only a number: whether the signal may be listened to is decided by
/// [`signal`](super::signal()).
///
/// ```
/// use hiver_runtime::signal::SignalKind;
///
/// let term = SignalKind::terminate();
/// assert_eq!(SignalKind::from_raw(term.as_raw_value()), term);
/// assert_ne!(term, SignalKind::interrupt());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// The signal numbered `signal` (not checked here).
    ///
    /// ```
    /// use hiver_runtime::signal::SignalKind;
    ///
    /// assert_eq!(SignalKind::from_raw(2).as_raw_value(), 2);
    /// ```
    pub const fn from_raw(signal: i32) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal's number.
    ///
    /// ```
    /// use hiver_runtime::signal::SignalKind;
    ///
    /// assert!(SignalKind::hangup().as_raw_value() > 0);
    /// ```
    pub const fn as_raw_value(&self) -> i32 {
        self.0
    }

    /// `SIGINT`: Ctrl-C at the terminal (what [`ctrl_c`](super::ctrl_c) waits for).
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::interrupt().as_raw_value(), 2);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(sys::SIGINT)
    }

    /// `SIGTERM`: a request to terminate, what `kill` and service managers send.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::terminate().as_raw_value(), 15);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(sys::SIGTERM)
    }

    /// `SIGHUP`: the terminal hung up; by convention, reload the configuration.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::hangup().as_raw_value(), 1);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(sys::SIGHUP)
    }

    /// `SIGQUIT`: Ctrl-\ at the terminal.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::quit().as_raw_value(), 3);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(sys::SIGQUIT)
    }

    /// `SIGUSR1`: user-defined signal 1.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_ne!(SignalKind::user_defined1(), SignalKind::user_defined2());
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(sys::SIGUSR1)
    }

    /// `SIGUSR2`: user-defined signal 2.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert!(SignalKind::user_defined2().as_raw_value() > 0);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(sys::SIGUSR2)
    }

    /// `SIGCHLD`: a child process stopped or exited.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert!(SignalKind::child().as_raw_value() > 0);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(sys::SIGCHLD)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader. Rust programs ignore it by
    /// default; listening to it replaces that.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::pipe().as_raw_value(), 13);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(sys::SIGPIPE)
    }

    /// `SIGALRM`: a timer set with `alarm` expired.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::alarm().as_raw_value(), 14);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(sys::SIGALRM)
    }

    /// `SIGWINCH`: the terminal window changed size.
    ///
    /// ```
    /// # use hiver_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::window_change().as_raw_value(), 28);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(sys::SIGWINCH)
    }
}
