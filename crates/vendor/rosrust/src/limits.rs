//! Caps on what a peer can make this process reserve (sensorium's patch of rosrust 0.9.12).
//!
//! ROS1 has no authentication: any process on the network can publish on a topic this node subscribes
//! to, and the node then reads that publisher's lengths off TCPROS. Upstream rosrust reserved whatever
//! a length said (a message claiming 4 GB reserved 4 GB; where that fails, the process aborts). Every
//! such length is now checked against [`max_message_bytes`] first: a message over it closes that
//! connection with an error (counted by [`oversized_messages`]); other connections go on.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// roscpp's own limit on a message (1 GB), the default here.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000_000;

static MAX_MESSAGE_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_MESSAGE_BYTES);
static OVERSIZED: AtomicU64 = AtomicU64::new(0);

/// The largest message (or array inside one) a peer may send; larger ones are refused.
pub fn set_max_message_bytes(bytes: usize) {
    MAX_MESSAGE_BYTES.store(bytes, Ordering::Relaxed);
}

pub fn max_message_bytes() -> usize {
    MAX_MESSAGE_BYTES.load(Ordering::Relaxed)
}

/// Messages refused so far for claiming more than [`max_message_bytes`].
pub fn oversized_messages() -> u64 {
    OVERSIZED.load(Ordering::Relaxed)
}

/// `Ok` when `bytes` (as claimed by a peer) is within the cap.
pub(crate) fn check(bytes: Option<usize>, what: &str) -> io::Result<()> {
    let max = max_message_bytes();
    match bytes {
        Some(b) if b <= max => Ok(()),
        _ => {
            OVERSIZED.fetch_add(1, Ordering::Relaxed);
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} of {} bytes is over the cap of {} bytes (rosrust::limits::set_max_message_bytes)",
                    what,
                    bytes.map_or_else(|| "more than usize::MAX".to_string(), |b| b.to_string()),
                    max
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_over_the_cap_are_refused_and_counted() {
        let before = oversized_messages();
        assert!(check(Some(10), "message").is_ok());
        set_max_message_bytes(100);
        let e = check(Some(101), "message").unwrap_err();
        assert!(e.to_string().contains("over the cap of 100"), "{}", e);
        assert!(check(None, "array").is_err());
        assert_eq!(oversized_messages(), before + 2);
        set_max_message_bytes(DEFAULT_MAX_MESSAGE_BYTES);
        // a length-prefixed array claiming 4 G elements is refused before anything is reserved
        set_max_message_bytes(1 << 20);
        let wire = [0xff_u8, 0xff, 0xff, 0xff, 1, 2, 3];
        let r: io::Result<Vec<u32>> = crate::rosmsg::decode_variable_primitive_vec(&wire[..]);
        assert!(r.is_err());
        set_max_message_bytes(DEFAULT_MAX_MESSAGE_BYTES);
    }

    #[test]
    fn primitive_arrays_decode_from_initialized_buffers() {
        use crate::rosmsg::decode_variable_primitive_vec as decode;
        let wire = |n: u32, body: &[u8]| [&n.to_le_bytes()[..], body].concat();
        let b: Vec<bool> = decode(&wire(3, &[0, 1, 7])[..]).unwrap();
        assert_eq!(b, [false, true, true]);
        let u: Vec<u8> = decode(&wire(2, &[9, 250])[..]).unwrap();
        assert_eq!(u, [9, 250]);
        let i: Vec<i16> = decode(&wire(2, &[0xff, 0xff, 2, 0])[..]).unwrap();
        assert_eq!(i, [-1, 2]);
        let f: Vec<f64> = decode(&wire(1, &1.5f64.to_le_bytes())[..]).unwrap();
        assert_eq!(f, [1.5]);
        let e: Vec<f32> = decode(&wire(0, &[])[..]).unwrap();
        assert!(e.is_empty());
        // fewer bytes than the count says: an error, not a short or uninitialized vector
        let short: io::Result<Vec<u32>> = decode(&wire(2, &[1, 0, 0, 0, 2])[..]);
        assert!(short.is_err());
    }
}
