//! Per-stream bounded ring buffers between ingest and processing: ingest never blocks; a
//! full ring drops its oldest item and counts it.

use ringbuf::traits::{Consumer, Observer, RingBuffer};
use ringbuf::HeapRb;

use crate::error::EngineError;

/// A bounded FIFO that overwrites its oldest item when full (freshest data wins).
pub struct StreamRing<T> {
    rb: HeapRb<T>,
    pushed: u64,
    dropped: u64,
}

impl<T> StreamRing<T> {
    /// A ring holding at most `capacity` (≥ 1) items.
    pub fn new(capacity: usize) -> Result<Self, EngineError> {
        if capacity == 0 {
            return Err(EngineError::InvalidPipeline {
                field: "ring capacity",
                value: "0".into(),
                problem: "must be at least 1",
            });
        }
        Ok(StreamRing {
            rb: HeapRb::new(capacity),
            pushed: 0,
            dropped: 0,
        })
    }

    /// Appends `item`; when the ring was full, the oldest item is removed, counted and returned.
    pub fn push(&mut self, item: T) -> Option<T> {
        self.pushed += 1;
        let dropped = self.rb.push_overwrite(item);
        if dropped.is_some() {
            self.dropped += 1;
        }
        dropped
    }

    /// Removes and returns the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.rb.try_pop()
    }

    /// Removes every item, oldest first, into `f`.
    pub fn drain_into(&mut self, mut f: impl FnMut(T)) {
        while let Some(item) = self.rb.try_pop() {
            f(item);
        }
    }

    pub fn len(&self) -> usize {
        self.rb.occupied_len()
    }

    pub fn is_empty(&self) -> bool {
        self.rb.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.rb.capacity().get()
    }

    /// Items ever pushed.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Items lost because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets every held item (counted as neither pushed nor dropped again).
    pub fn clear(&mut self) {
        self.rb.clear();
    }
}

impl<T> std::fmt::Debug for StreamRing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRing")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("pushed", &self.pushed)
            .field("dropped", &self.dropped)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_ring_drops_oldest_and_counts() {
        let mut ring = StreamRing::new(3).unwrap();
        for k in 0..3 {
            assert_eq!(ring.push(k), None);
        }
        assert_eq!(ring.push(3), Some(0));
        assert_eq!(ring.push(4), Some(1));
        assert_eq!((ring.len(), ring.pushed(), ring.dropped()), (3, 5, 2));
        let mut got = Vec::new();
        ring.drain_into(|x| got.push(x));
        assert_eq!(got, vec![2, 3, 4]);
        assert!(ring.is_empty());
        assert!(StreamRing::<u8>::new(0).is_err());
    }

    #[test]
    fn memory_stays_bounded_under_flood() {
        let mut ring = StreamRing::new(8).unwrap();
        for k in 0..100_000u64 {
            ring.push(vec![k; 4]);
        }
        assert_eq!(ring.len(), 8);
        assert_eq!(ring.capacity(), 8);
        assert_eq!(ring.dropped(), 100_000 - 8);
        assert_eq!(ring.pop(), Some(vec![99_992; 4]));
    }
}
