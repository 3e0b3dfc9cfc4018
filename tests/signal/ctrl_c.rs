//! `ctrl_c` completes on the next `SIGINT`, which no longer ends the process.

use hiver_runtime::signal::ctrl_c;

use crate::support::{drivers, finish, raise, runtime, serial, waiting};

#[test]
fn ctrl_c_completes_on_sigint() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 2);
        let got = rt
            .block_on(async {
                // The first poll installs the handler: only then may SIGINT come.
                let task = waiting(ctrl_c()).await;
                raise(libc::SIGINT);
                finish(task, &format!("{driver}")).await
            })
            .unwrap();
        assert!(got.is_ok(), "{driver}: {got:?}");
    }
}
