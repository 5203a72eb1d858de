//! A fixed team of threads for the engine's two fork-joins a tick.
//!
//! A tick shares its neuron updates and its spike delivery among threads,
//! and each share takes tens of microseconds: waking a sleeping thread
//! costs about as much (a futex round trip, measured at ~25 µs a join on
//! this project's 2-core machine with a rayon pool, which made the
//! 64-block network twice as slow on two threads). The helpers here spin
//! on an epoch counter between jobs, yield after a while, and sleep only
//! when the engine has been idle for some milliseconds.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A job: called once with each share index `0..threads`.
type Job = dyn Fn(usize) + Sync;

/// Spins (with the CPU's pause hint) before a waiting thread yields its
/// core (which, with nothing else to run, returns at once, and with more
/// threads than cores lets the one with work run).
const SPINS: u32 = 1 << 8;
/// How long a waiting helper yields before it sleeps.
const YIELD_FOR: Duration = Duration::from_millis(2);

struct Shared {
    /// Bumped once per job (and to stop).
    epoch: AtomicU64,
    /// The current job, valid while `run` waits for it.
    job: Mutex<Option<&'static Job>>,
    /// Helpers done with the current job.
    done: AtomicUsize,
    /// Helpers asleep (parked), to be woken.
    sleeping: AtomicUsize,
    /// A helper's job panicked.
    panicked: AtomicBool,
    stop: AtomicBool,
}

/// The calling thread and `threads − 1` helpers.
pub(super) struct Team {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
    /// One job at a time (engines cloned from one share their team).
    lock: Mutex<()>,
}

impl Team {
    /// A team of `threads` (≥ 2), or `None` if the helpers cannot start.
    pub(super) fn new(threads: usize) -> Option<Team> {
        let shared = Arc::new(Shared {
            epoch: AtomicU64::new(0),
            job: Mutex::new(None),
            done: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let mut helpers = Vec::new();
        for k in 1..threads {
            let s = Arc::clone(&shared);
            let h = std::thread::Builder::new()
                .name(format!("snn-runtime-{k}"))
                .spawn(move || helper(&s, k));
            match h {
                Ok(h) => helpers.push(h),
                Err(_) => {
                    let team = Team {
                        shared,
                        helpers,
                        lock: Mutex::new(()),
                    };
                    drop(team);
                    return None;
                }
            }
        }
        Some(Team {
            shared,
            helpers,
            lock: Mutex::new(()),
        })
    }

    /// Threads in the team, the caller's included.
    pub(super) fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Calls `job(k)` for every `k` in `0..threads`, `k = 0` on this
    /// thread, and returns when all are done.
    pub(super) fn run(&self, job: &(dyn Fn(usize) + Sync + '_)) {
        let _one = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let s = &*self.shared;
        // SAFETY: the job is only called until every helper has counted
        // itself done below, and this function does not return (or
        // unwind) before that, so the borrow outlives every use.
        let erased: &'static Job =
            unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync + '_), &'static Job>(job) };
        *s.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(erased);
        s.done.store(0, Ordering::SeqCst);
        s.epoch.fetch_add(1, Ordering::SeqCst);
        if s.sleeping.load(Ordering::SeqCst) > 0 {
            for h in &self.helpers {
                h.thread().unpark();
            }
        }
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        let helpers = self.helpers.len();
        let mut spins = 0u32;
        while s.done.load(Ordering::Acquire) < helpers {
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        *s.job.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Err(p) = mine {
            resume_unwind(p);
        }
        if s.panicked.swap(false, Ordering::SeqCst) {
            panic!("a runtime thread panicked");
        }
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        for h in self.helpers.drain(..) {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// Helper `k`'s loop: wait for a new epoch, run its share, count done.
fn helper(s: &Shared, k: usize) {
    // The epoch the team started at: a job may be posted before this
    // thread first runs.
    let mut seen = 0;
    loop {
        // Wait: spin, then yield, then sleep.
        let mut spins = 0u32;
        let mut since: Option<Instant> = None;
        while s.epoch.load(Ordering::Acquire) == seen {
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            let start = *since.get_or_insert_with(Instant::now);
            if start.elapsed() < YIELD_FOR {
                std::thread::yield_now();
                continue;
            }
            s.sleeping.fetch_add(1, Ordering::SeqCst);
            // Re-check after saying so: `run` bumps the epoch before it
            // reads `sleeping`, so one of the two sees the other.
            if s.epoch.load(Ordering::SeqCst) == seen {
                std::thread::park();
            }
            s.sleeping.fetch_sub(1, Ordering::SeqCst);
        }
        seen = s.epoch.load(Ordering::Acquire);
        if s.stop.load(Ordering::SeqCst) {
            return;
        }
        let job = *s.job.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(job) = job
            && catch_unwind(AssertUnwindSafe(|| job(k))).is_err()
        {
            s.panicked.store(true, Ordering::SeqCst);
        }
        s.done.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_share_runs_once_per_job_and_the_team_survives_idle_sleep() {
        let team = Team::new(3).expect("threads");
        assert_eq!(team.threads(), 3);
        let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        for round in 0..200 {
            team.run(&|k| {
                hits[k].fetch_add(k + 1, Ordering::SeqCst);
            });
            if round == 100 {
                // Long enough for the helpers to go to sleep.
                std::thread::sleep(YIELD_FOR * 3);
            }
        }
        let got: Vec<usize> = hits.iter().map(|h| h.load(Ordering::SeqCst)).collect();
        assert_eq!(got, vec![200, 400, 600]);
    }

    #[test]
    fn a_helper_panic_reaches_the_caller_after_every_share_is_done() {
        let team = Team::new(2).expect("threads");
        let finished = AtomicUsize::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(&|k| {
                if k == 1 {
                    panic!("share 1");
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
        }));
        assert!(r.is_err());
        assert_eq!(finished.load(Ordering::SeqCst), 1);
        // The team still works.
        team.run(&|_| {
            finished.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(finished.load(Ordering::SeqCst), 3);
    }
}
