//! The slot locks: callers that need both vpcd slots queue rather than
//! deadlock. Before `acquire_pair`, two tests each taking one slot and then
//! waiting for the other hung for the full 5-minute timeout (seen in CI).

use std::sync::{Arc, Barrier};
use std::time::Duration;

use virtual_yubikey::harness::Harness;

#[test]
fn concurrent_pair_acquisitions_all_complete() {
    const THREADS: usize = 4;
    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut ports = vec![];
                for _ in 0..3 {
                    let [a, b] = Harness::acquire_pair().expect("both slots");
                    ports.push((a.port(), b.port()));
                    std::thread::sleep(Duration::from_millis(20));
                }
                ports
            })
        })
        .collect();
    for w in workers {
        for (a, b) in w.join().expect("worker") {
            assert_ne!(a, b, "a pair holds two distinct slots");
        }
    }
}

#[test]
fn a_single_slot_holder_does_not_block_a_pair_forever() {
    let single = Harness::acquire().expect("one slot");
    let held = single.port();
    let waiter = std::thread::spawn(|| {
        let [a, b] = Harness::acquire_pair().expect("both slots");
        (a.port(), b.port())
    });
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !waiter.is_finished(),
        "the pair must wait for the held slot"
    );
    drop(single);
    let (a, b) = waiter.join().expect("pair after release");
    assert!(a == held || b == held);
}
