"""Writes the seed corpus of the `ros2_recording` fuzz target (crates/fuzz/corpus/ros2_recording): three
small MCAP files (zstd, lz4 and uncompressed chunks of 512 bytes) made by the `mcap` PyPI writer, each with
two messages on each of five topics, their CDR bodies the rosbags-made fixtures of crates/msgs. Run from the
repository root with the project venv:

    .venv/bin/python crates/bag/tests/python/mcap_fuzz_seeds.py
"""

from mcap.writer import CompressionType, Writer

FIXTURES = "crates/msgs/tests/fixtures/cdr"
OUT = "crates/fuzz/corpus/ros2_recording"
TYPES = {
    "string": "std_msgs/msg/String",
    "tf": "tf2_msgs/msg/TFMessage",
    "camera_info": "sensor_msgs/msg/CameraInfo",
    "compressed_image": "sensor_msgs/msg/CompressedImage",
    "pointcloud2": "sensor_msgs/msg/PointCloud2",
}

for comp, name in [(CompressionType.ZSTD, "zstd"), (CompressionType.LZ4, "lz4"), (CompressionType.NONE, "plain")]:
    with open(f"{OUT}/{name}.mcap", "wb") as f:
        w = Writer(f, compression=comp, chunk_size=512)
        w.start(profile="ros2", library="sensorium fuzz seed")
        for i, (topic, ty) in enumerate(TYPES.items()):
            schema = w.register_schema(ty, "ros2msg", b"")
            channel = w.register_channel("/" + topic, "cdr", schema)
            data = open(f"{FIXTURES}/{topic}.cdr", "rb").read()
            for j in range(2):
                t = 10**9 * (i + 1) + j * 10**8
                w.add_message(channel, t, data, t, j)
        w.finish()
