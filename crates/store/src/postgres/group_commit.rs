//! Group commit for PostgreSQL (issue 3): requests of one kind that arrive while earlier ones
//! are being written wait together and go to the database as one group, one transaction.
//!
//! A [`Group`] runs at most `slots` groups of its kind at once. A request that finds a slot
//! free runs at once, alone (so an idle server answers with the one-item path, at its
//! latency); while every slot is busy, requests queue, and the next free slot takes all that
//! queued (up to `most`). Under an on-sale rush that turns thousands of small transactions a
//! second into a few hundred larger ones, each one commit and a handful of set-based
//! statements (migration 0010) instead of a dozen statements per request.
//!
//! The function that runs a group answers each request on its own: a group is an
//! optimisation, never a change of meaning (`grouped.rs`).
//!
//! The queue is bounded ([`QUEUE`] requests, like the SQLite writer's): when the database falls
//! that far behind, `submit` waits for room instead of piling up memory without limit, which
//! slows callers down (backpressure) rather than letting them time out after the fact.

use crate::{StoreError, StoreResult};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Semaphore, mpsc, oneshot};

type Reply<O> = oneshot::Sender<StoreResult<O>>;

/// How many requests of one kind may wait for a slot before `submit` itself waits.
pub const QUEUE: usize = 8192;

/// A queue of requests of one kind, written in groups.
pub struct Group<I, O> {
    queue: mpsc::Sender<(I, Reply<O>)>,
    grouped: Arc<AtomicU64>,
}

impl<I: Send + 'static, O: Send + 'static> Group<I, O> {
    /// Starts the queue on the current tokio runtime. `run` gets the requests of one group
    /// and returns one result per request, in the same order.
    pub fn start<F, Fut>(slots: usize, most: usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<StoreResult<O>>> + Send + 'static,
    {
        Self::start_bounded(slots, most, QUEUE, run)
    }

    /// [`Group::start`] with a queue of `bound` requests.
    pub fn start_bounded<F, Fut>(slots: usize, most: usize, bound: usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<StoreResult<O>>> + Send + 'static,
    {
        let (queue, mut arrivals) = mpsc::channel::<(I, Reply<O>)>(bound.max(1));
        let run = Arc::new(run);
        let slots = Arc::new(Semaphore::new(slots.max(1)));
        let grouped = Arc::new(AtomicU64::new(0));
        let counted = grouped.clone();
        tokio::spawn(async move {
            while let Some(first) = arrivals.recv().await {
                // Waiting for a slot first is what lets the queue fill up behind a busy one.
                let Ok(slot) = slots.clone().acquire_owned().await else { break };
                let mut group = vec![first];
                while group.len() < most {
                    match arrivals.try_recv() {
                        Ok(next) => group.push(next),
                        Err(_) => break,
                    }
                }
                if group.len() > 1 {
                    counted.fetch_add(group.len() as u64, Ordering::Relaxed);
                }
                let run = run.clone();
                tokio::spawn(async move {
                    let (requests, replies): (Vec<I>, Vec<Reply<O>>) = group.into_iter().unzip();
                    let results = run(requests).await;
                    for (reply, result) in replies.into_iter().zip(results) {
                        // The caller may have gone away (a client that hung up); the write stands.
                        let _ = reply.send(result);
                    }
                    drop(slot);
                });
            }
        });
        Group { queue, grouped }
    }

    /// How many requests ran in a group of more than one, so far.
    pub fn grouped(&self) -> u64 {
        self.grouped.load(Ordering::Relaxed)
    }

    /// Requests waiting in the queue (not yet taken towards a group).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Queues one request (waiting for room when the queue is full) and waits for its own
    /// result.
    pub async fn submit(&self, request: I) -> StoreResult<O> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((request, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Other("the PostgreSQL group-commit queue has stopped (its runtime shut down)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[tokio::test]
    async fn requests_that_queue_behind_a_busy_slot_run_as_one_group_and_each_gets_its_own_answer() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let group = Arc::new(Group::start(1, 100, move |xs: Vec<u32>| {
            seen.lock().unwrap().push(xs.len());
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                xs.into_iter().map(|x| if x == 7 { Err(StoreError::SoldOut) } else { Ok(x * 10) }).collect()
            }
        }));
        let first = tokio::spawn({
            let g = group.clone();
            async move { g.submit(1).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let rest: Vec<_> = (2..=9)
            .map(|x| {
                let g = group.clone();
                tokio::spawn(async move { g.submit(x).await })
            })
            .collect();
        assert_eq!(first.await.unwrap().unwrap(), 10);
        for (x, handle) in (2..=9).zip(rest) {
            match handle.await.unwrap() {
                Ok(v) => assert_eq!(v, x * 10),
                Err(StoreError::SoldOut) => assert_eq!(x, 7),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(*sizes.lock().unwrap(), vec![1, 8], "the first ran alone, the other eight together");
        assert_eq!(group.grouped(), 8);
    }

    #[tokio::test]
    async fn a_group_never_exceeds_its_limit() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let group = Arc::new(Group::start(1, 3, move |xs: Vec<u32>| {
            seen.lock().unwrap().push(xs.len());
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                xs.into_iter().map(Ok).collect()
            }
        }));
        let all: Vec<_> = (0..10)
            .map(|x| {
                let g = group.clone();
                tokio::spawn(async move { g.submit(x).await })
            })
            .collect();
        for (x, handle) in (0..10).zip(all) {
            assert_eq!(handle.await.unwrap().unwrap(), x);
        }
        let sizes = sizes.lock().unwrap();
        assert!(sizes.iter().all(|&n| n <= 3), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 10);
    }

    #[tokio::test]
    async fn a_full_queue_makes_the_next_request_wait_for_room() {
        let gate = Arc::new(Semaphore::new(0));
        let held = gate.clone();
        let group = Arc::new(Group::start_bounded(1, 100, 2, move |xs: Vec<u32>| {
            let held = held.clone();
            async move {
                let _pass = held.acquire().await;
                xs.into_iter().map(Ok).collect()
            }
        }));
        let settle = || async {
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
        };
        let mut answers = Vec::new();
        // 1 runs (held at the gate), 2 waits for the slot, 3 and 4 fill the queue of two.
        for x in 1..=4 {
            let g = group.clone();
            answers.push(tokio::spawn(async move { g.submit(x).await }));
            settle().await;
        }
        let g = group.clone();
        let fifth = tokio::spawn(async move { g.submit(5).await });
        settle().await;

        assert_eq!(group.waiting(), 2, "the queue holds no more than its bound");
        assert!(!fifth.is_finished());
        gate.add_permits(100);
        answers.push(fifth);
        for (x, handle) in (1..=5).zip(answers) {
            assert_eq!(handle.await.unwrap().unwrap(), x, "every request is answered once there is room");
        }
        assert_eq!(group.waiting(), 0);
    }
}
