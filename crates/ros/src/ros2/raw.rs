//! Raw CDR samples for RustDDS: the bytes as they travel, encapsulation header first, so the shared
//! decoders read them and the node's CDR goes out unchanged.

use rustdds::bytes::Bytes;
use rustdds::no_key::{Decode, DefaultDecoder, DeserializerAdapter, SerializerAdapter};
use rustdds::RepresentationIdentifier;

/// A CDR message: the 4-byte encapsulation header (representation, options), then the body.
#[derive(Debug, Clone)]
pub struct RawCdr(Bytes);

#[allow(clippy::len_without_is_empty)]
impl RawCdr {
    /// `cdr` starts with its encapsulation header (what [`sensorium_msgs::ros2::Ros2Type::to_cdr`]
    /// writes).
    pub fn new(cdr: Vec<u8>) -> RawCdr {
        RawCdr(Bytes::from(cdr))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// A sample RustDDS could not hand over as CDR.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error("a message of {0} bytes is too short for its CDR encapsulation header")]
    Short(usize),
    #[error("representation {0:?} is not plain CDR (XCDR1, little or big endian)")]
    Representation([u8; 2]),
}

/// Serializer and deserializer adapter of [`RawCdr`] (no key: ROS 2 topics have none).
pub struct RawAdapter;

const ENCODINGS: [RepresentationIdentifier; 2] =
    [RepresentationIdentifier::CDR_LE, RepresentationIdentifier::CDR_BE];

impl DeserializerAdapter<RawCdr> for RawAdapter {
    type Error = RawError;
    type Decoded = RawCdr;

    fn supported_encodings() -> &'static [RepresentationIdentifier] {
        &ENCODINGS
    }

    fn transform_decoded(decoded: RawCdr) -> RawCdr {
        decoded
    }
}

/// Copies the body behind its encapsulation header.
#[derive(Clone, Copy)]
pub struct RawDecoder;

impl<'de> Decode<'de, RawCdr> for RawDecoder {
    type Error = RawError;

    fn decode_bytes(self, input: &'de [u8], encoding: RepresentationIdentifier) -> Result<RawCdr, RawError> {
        let rep = encoding.to_bytes();
        if !ENCODINGS.contains(&encoding) {
            return Err(RawError::Representation(rep));
        }
        let mut v = Vec::with_capacity(input.len() + 4);
        v.extend_from_slice(&[rep[0], rep[1], 0, 0]);
        v.extend_from_slice(input);
        Ok(RawCdr(Bytes::from(v)))
    }
}

impl DefaultDecoder<RawCdr> for RawAdapter {
    type Decoder = RawDecoder;
    const DECODER: RawDecoder = RawDecoder;
}

impl SerializerAdapter<RawCdr> for RawAdapter {
    type Error = RawError;

    fn output_encoding() -> RepresentationIdentifier {
        RepresentationIdentifier::CDR_LE
    }

    /// The body behind the header; the node writes little-endian CDR only.
    fn to_bytes(value: &RawCdr) -> Result<Bytes, RawError> {
        if value.0.len() < 4 {
            return Err(RawError::Short(value.0.len()));
        }
        let rep = [value.0[0], value.0[1]];
        if rep != RepresentationIdentifier::CDR_LE.to_bytes() {
            return Err(RawError::Representation(rep));
        }
        Ok(value.0.slice(4..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_keeps_its_bytes_and_gets_its_header_back() {
        let body = [7u8, 0, 0, 0, 1, 2, 3];
        let le = RawDecoder
            .decode_bytes(&body, RepresentationIdentifier::CDR_LE)
            .expect("LE");
        assert_eq!(le.as_bytes(), &[0, 1, 0, 0, 7, 0, 0, 0, 1, 2, 3]);
        let be = RawDecoder
            .decode_bytes(&body, RepresentationIdentifier::CDR_BE)
            .expect("BE");
        assert_eq!(&be.as_bytes()[..4], &[0, 0, 0, 0]);
        assert!(RawDecoder
            .decode_bytes(&body, RepresentationIdentifier::CDR2_LE)
            .is_err());
        let out = RawAdapter::to_bytes(&le).expect("serialize");
        assert_eq!(&out[..], &body);
        assert!(RawAdapter::to_bytes(&be).is_err(), "only little-endian goes out");
        assert!(RawAdapter::to_bytes(&RawCdr::new(vec![0, 1])).is_err());
    }
}
