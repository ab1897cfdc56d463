"""Rewrites an MCAP file with the `mcap` PyPI writer: every schema, channel and message copied, in chunks
compressed with zstd, lz4 or none (each chunk with its CRC), and a summary. For the MCAP reading tests:

    python mcap_rewrite.py SRC.mcap DST.mcap zstd|lz4|none
"""

import sys

from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer

src, dst, comp = sys.argv[1], sys.argv[2], sys.argv[3]
compression = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}[comp]
with open(src, "rb") as fin, open(dst, "wb") as fout:
    reader = make_reader(fin)
    w = Writer(fout, compression=compression, chunk_size=256 * 1024)
    w.start(profile="ros2", library="sensorium tests")
    schemas, channels = {}, {}
    for schema, channel, message in reader.iter_messages(log_time_order=False):
        if schema is not None and schema.id not in schemas:
            schemas[schema.id] = w.register_schema(schema.name, schema.encoding, schema.data)
        if channel.id not in channels:
            channels[channel.id] = w.register_channel(
                channel.topic, channel.message_encoding, schemas.get(channel.schema_id, 0), channel.metadata)
        w.add_message(channels[channel.id], message.log_time, message.data, message.publish_time, message.sequence)
    w.finish()
