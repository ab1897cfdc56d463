//! The ingest queue between a source (a bag reader thread, subscriber callbacks) and the runtime that
//! assembles frame sets: bounded, and in real time a full queue drops its oldest item, so the freshest
//! data wins and ingest never waits for the pipeline. Every source uses this one queue.

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
use std::time::Duration;

/// The source's end of an ingest queue; clone it for each producer thread.
pub struct IngestSender<T> {
    tx: Sender<T>,
    /// A receiver of the producer's own, to take out the oldest item when the queue is full.
    drain: Option<Receiver<T>>,
}

impl<T> Clone for IngestSender<T> {
    fn clone(&self) -> Self {
        IngestSender {
            tx: self.tx.clone(),
            drain: self.drain.clone(),
        }
    }
}

/// Why an item did not go in: the runtime's end was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

/// A queue of at most `capacity` (≥ 1) items: the sender for the source, the receiver for the runtime.
pub fn ingest_queue<T>(capacity: usize) -> (IngestSender<T>, Receiver<T>) {
    let (tx, rx) = bounded(capacity.max(1));
    (
        IngestSender {
            tx,
            drain: Some(rx.clone()),
        },
        rx,
    )
}

impl<T> IngestSender<T> {
    /// Real time: puts `item` in without waiting. When the queue is full its oldest item is taken out
    /// and returned, for the caller to count by what it was.
    pub fn push(&self, item: T) -> Result<Option<T>, Disconnected> {
        let mut item = item;
        let mut dropped = None;
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return Ok(dropped),
                Err(TrySendError::Full(back)) => {
                    item = back;
                    if let Some(old) = self.drain.as_ref().and_then(|d| d.try_recv().ok()) {
                        // more than one can go only when another producer refilled the queue meanwhile;
                        // the caller counts the newest of those it took out
                        dropped = Some(old);
                    }
                }
                Err(TrySendError::Disconnected(_)) => return Err(Disconnected),
            }
        }
    }

    /// Evaluation and latched messages: waits for room, at most `timeout` (`None`: as long as it takes).
    pub fn send(&self, item: T, timeout: Option<Duration>) -> Result<(), Disconnected> {
        match timeout {
            None => self.tx.send(item).map_err(|_| Disconnected),
            Some(t) => match self.tx.send_timeout(item, t) {
                Ok(()) | Err(SendTimeoutError::Timeout(_)) => Ok(()),
                Err(SendTimeoutError::Disconnected(_)) => Err(Disconnected),
            },
        }
    }

    /// Gives up this producer's own receiver: from then on, dropping the runtime's receiver ends the
    /// sends (a producer that holds a receiver would otherwise keep the queue alive).
    pub fn release_drain(&mut self) {
        self.drain = None;
    }
}

/// The runtime's wait for the next item: `Ok(None)` on a timeout, `Err` when every source is gone.
pub fn recv_timeout<T>(rx: &Receiver<T>, timeout: Duration) -> Result<Option<T>, Disconnected> {
    match rx.recv_timeout(timeout) {
        Ok(v) => Ok(Some(v)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err(Disconnected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_its_oldest_item() {
        let (tx, rx) = ingest_queue::<u32>(3);
        for k in 0..3 {
            assert_eq!(tx.push(k), Ok(None));
        }
        assert_eq!(tx.push(3), Ok(Some(0)));
        assert_eq!(tx.push(4), Ok(Some(1)));
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![2, 3, 4]);
    }

    #[test]
    fn dropping_the_runtime_end_ends_the_sends_once_the_drain_is_released() {
        let (mut tx, rx) = ingest_queue::<u32>(1);
        drop(rx);
        // the producer's own receiver keeps the queue open: a push still goes in (and drops the old one)
        assert!(tx.push(1).is_ok());
        tx.release_drain();
        assert_eq!(tx.push(2), Err(Disconnected));
        assert_eq!(tx.send(3, None), Err(Disconnected));
    }

    #[test]
    fn send_waits_for_room() {
        let (tx, rx) = ingest_queue::<u32>(1);
        tx.push(1).expect("open");
        let other = tx.clone();
        let t = std::thread::spawn(move || tx.send(2, None));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(rx.recv().ok(), Some(1));
        assert_eq!(t.join().ok(), Some(Ok(())));
        assert_eq!(recv_timeout(&rx, Duration::from_millis(10)), Ok(Some(2)));
        assert_eq!(recv_timeout(&rx, Duration::from_millis(10)), Ok(None));
        drop(other);
        assert_eq!(recv_timeout(&rx, Duration::from_millis(10)), Err(Disconnected));
    }
}
