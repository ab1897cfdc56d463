//! `geometry_msgs/TransformStamped`, `tf2_msgs/TFMessage` and the older `tf/tfMessage` (same layout and
//! md5sum, different datatype; both appear on `/tf` in real recordings, even on one topic).

use crate::defs;
use crate::std_msgs::Header;
use crate::wire::{Reader, Writer};
use crate::{MsgError, RosMessage};

/// `geometry_msgs/Transform`: translation (m) and rotation quaternion (x, y, z, w).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Transform {
    pub translation: [f64; 3],
    pub rotation: [f64; 4],
}

/// `geometry_msgs/TransformStamped`: the pose of `child_frame_id` in `header.frame_id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransformStamped {
    pub header: Header,
    pub child_frame_id: String,
    pub transform: Transform,
}

/// Smallest serialized TransformStamped: header (seq 4 + stamp 8 + frame_id 4) + child (4) + 7 float64.
const MIN_TRANSFORM_STAMPED: usize = 16 + 4 + 56;

impl TransformStamped {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, MsgError> {
        let header = Header::read(r)?;
        let child_frame_id = r.string("child_frame_id")?;
        let translation = r.f64_array::<3>("transform.translation")?;
        let rotation = r.f64_array::<4>("transform.rotation")?;
        Ok(TransformStamped {
            header,
            child_frame_id,
            transform: Transform {
                translation,
                rotation,
            },
        })
    }
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.header.write(out);
        out.put_str(&self.child_frame_id);
        for v in self
            .transform
            .translation
            .iter()
            .chain(self.transform.rotation.iter())
        {
            out.put_f64(*v);
        }
    }
}

impl RosMessage for TransformStamped {
    const DATATYPE: &'static str = "geometry_msgs/TransformStamped";
    const MD5SUM: &'static str = defs::GEOMETRY_MSGS_TRANSFORMSTAMPED_MD5;
    const DEFINITION: &'static str = defs::GEOMETRY_MSGS_TRANSFORMSTAMPED_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf, Self::DATATYPE);
        let t = TransformStamped::read(&mut r)?;
        r.finish()?;
        Ok(t)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.write(out)
    }
}

fn read_transforms(buf: &[u8], msg: &'static str) -> Result<Vec<TransformStamped>, MsgError> {
    transforms_from(Reader::new(buf, msg))
}

fn transforms_from(mut r: Reader<'_>) -> Result<Vec<TransformStamped>, MsgError> {
    let n = r.array_len("transforms", MIN_TRANSFORM_STAMPED)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(TransformStamped::read(&mut r)?);
    }
    r.finish()?;
    Ok(v)
}

fn write_transforms(t: &[TransformStamped], out: &mut Vec<u8>) {
    out.put_len(t.len());
    for x in t {
        x.write(out);
    }
}

/// `tf2_msgs/TFMessage` (`/tf`, `/tf_static`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TFMessage {
    pub transforms: Vec<TransformStamped>,
}

/// `tf/tfMessage`: the pre-tf2 datatype with the same fields (converts to/from [`TFMessage`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegacyTfMessage {
    pub transforms: Vec<TransformStamped>,
}

impl RosMessage for TFMessage {
    const DATATYPE: &'static str = "tf2_msgs/TFMessage";
    const MD5SUM: &'static str = defs::TF2_MSGS_TFMESSAGE_MD5;
    const DEFINITION: &'static str = defs::TF2_MSGS_TFMESSAGE_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        Ok(TFMessage {
            transforms: read_transforms(buf, Self::DATATYPE)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        write_transforms(&self.transforms, out)
    }
}

impl RosMessage for LegacyTfMessage {
    const DATATYPE: &'static str = "tf/tfMessage";
    const MD5SUM: &'static str = defs::TF_TFMESSAGE_MD5;
    const DEFINITION: &'static str = defs::TF_TFMESSAGE_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        Ok(LegacyTfMessage {
            transforms: read_transforms(buf, Self::DATATYPE)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        write_transforms(&self.transforms, out)
    }
}

impl From<LegacyTfMessage> for TFMessage {
    fn from(m: LegacyTfMessage) -> Self {
        TFMessage {
            transforms: m.transforms,
        }
    }
}

impl From<TFMessage> for LegacyTfMessage {
    fn from(m: TFMessage) -> Self {
        LegacyTfMessage {
            transforms: m.transforms,
        }
    }
}

impl TFMessage {
    /// Decodes either `tf2_msgs/TFMessage` or `tf/tfMessage` by datatype name (as a bag connection gives it).
    pub fn decode_any(datatype: &str, buf: &[u8]) -> Result<Self, MsgError> {
        match datatype {
            "tf2_msgs/TFMessage" => TFMessage::decode(buf),
            "tf/tfMessage" => LegacyTfMessage::decode(buf).map(Into::into),
            other => Err(MsgError::invalid(
                "tf2_msgs/TFMessage",
                "datatype",
                format!("{other:?} is neither tf2_msgs/TFMessage nor tf/tfMessage"),
            )),
        }
    }
}

impl crate::CdrMessage for TFMessage {
    const ROS2_TYPE: &'static str = "tf2_msgs/msg/TFMessage";
    fn decode_cdr(buf: &[u8]) -> Result<Self, MsgError> {
        Ok(TFMessage {
            transforms: transforms_from(Reader::cdr(buf, <Self as RosMessage>::DATATYPE)?)?,
        })
    }
}
