#!/usr/bin/python3
"""Peer dump for sensorium-msgs tests: raw serialized payloads plus what Debian's ROS Python reads from them.

usage: read_points.py OUTDIR [--max-per-topic N] [--generated] [BAG ...]

For every sensor_msgs/PointCloud2, Image and CompressedImage message (up to N per topic) of each bag, and for
generated clouds/images with unusual layouts (--generated), writes into OUTDIR:
  <name>.bin            the serialized message body exactly as stored in the bag (rosbag raw=True)
  <name>.<field>.f64    sensor_msgs.point_cloud2.read_points(field_names=[field]) values as little-endian f64
  <name>.kept.f64       read_points(field_names=('x','y','z'), skip_nans=True) as N x 3 little-endian f64
  <name>.rgb            the image as packed 8-bit RGB (numpy reshape honouring step; cv2.imdecode; cv2.cvtColor)
and manifest.json describing them.
"""
import io
import json
import os
import struct
import subprocess
import sys

import numpy as np
import rosbag
import rosbag.bag
import roslz4
import rospy
from sensor_msgs import point_cloud2
from sensor_msgs.msg import CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import Header

_orig_lz4 = roslz4.decompress


def _lz4_decompress(data):
    # Debian's roslz4 rejects some valid LZ4 frames (the derived bags' chunks); the lz4 tool reads them.
    try:
        return _orig_lz4(data)
    except OSError:
        return subprocess.run(["lz4", "-d", "-c"], input=data, capture_output=True, check=True).stdout


rosbag.bag.roslz4.decompress = _lz4_decompress


def serialize(msg):
    buf = io.BytesIO()
    msg.serialize(buf)
    return buf.getvalue()


def dump_cloud(out, name, payload, cloud, manifest):
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(payload)
    fields = {}
    for fld in cloud.fields:
        if fld.datatype not in point_cloud2._DATATYPES or fld.count != 1:
            continue
        vals = np.array([p[0] for p in point_cloud2.read_points(cloud, field_names=[fld.name])], dtype=np.float64)
        fname = "%s.%s.f64" % (name, fld.name)
        vals.astype("<f8").tofile(os.path.join(out, fname))
        fields[fld.name] = fname
    kept = np.array(list(point_cloud2.read_points(cloud, field_names=("x", "y", "z"), skip_nans=True)),
                    dtype=np.float64).reshape(-1, 3)
    kept.astype("<f8").tofile(os.path.join(out, name + ".kept.f64"))
    manifest.append({
        "name": name, "kind": "cloud", "payload": name + ".bin", "fields": fields, "kept": name + ".kept.f64",
        "n": cloud.width * cloud.height, "n_kept": int(kept.shape[0]),
        "stamp": [cloud.header.stamp.secs, cloud.header.stamp.nsecs], "frame_id": cloud.header.frame_id,
    })


def image_rgb(msg):
    import cv2
    if msg._type == "sensor_msgs/CompressedImage":
        bgr = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
    enc = msg.encoding
    if enc in ("rgb8", "bgr8"):
        px = rows[:, : msg.width * 3].reshape(msg.height, msg.width, 3)
        return px if enc == "rgb8" else px[:, :, ::-1]
    if enc in ("rgba8", "bgra8"):
        px = rows[:, : msg.width * 4].reshape(msg.height, msg.width, 4)
        return px[:, :, :3] if enc == "rgba8" else px[:, :, 2::-1]
    if enc == "mono8":
        return np.repeat(rows[:, : msg.width, None], 3, axis=2)
    if enc == "mono16":
        dt = ">u2" if msg.is_bigendian else "<u2"
        v = np.frombuffer(rows[:, : msg.width * 2].tobytes(), dt).reshape(msg.height, msg.width).astype(np.float64)
        g = np.floor((v * 255 + 32767) / 65535).astype(np.uint8)  # cv_bridge: convertTo(scale 255/65535), rounded
        return np.repeat(g[:, :, None], 3, axis=2)
    cvt = {
        "bayer_rggb8": cv2.COLOR_BayerBG2RGB, "bayer_bggr8": cv2.COLOR_BayerRG2RGB,
        "bayer_gbrg8": cv2.COLOR_BayerGR2RGB, "bayer_grbg8": cv2.COLOR_BayerGB2RGB,
        "yuv422": cv2.COLOR_YUV2RGB_UYVY, "yuyv": cv2.COLOR_YUV2RGB_YUYV,
    }[enc]
    bpp = 2 if enc in ("yuv422", "yuyv") else 1
    px = np.ascontiguousarray(rows[:, : msg.width * bpp])
    if bpp == 2:
        px = px.reshape(msg.height, msg.width, 2)
    return cv2.cvtColor(px, cvt)


def dump_image(out, name, payload, msg, manifest, tolerance=0, border=0):
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(payload)
    rgb = np.ascontiguousarray(image_rgb(msg), dtype=np.uint8)
    rgb.tofile(os.path.join(out, name + ".rgb"))
    manifest.append({
        "name": name, "kind": "compressed" if msg._type == "sensor_msgs/CompressedImage" else "image",
        "payload": name + ".bin", "rgb": name + ".rgb", "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
        "encoding": getattr(msg, "encoding", getattr(msg, "format", "")), "tolerance": tolerance, "border": border,
    })


def dump_bag(out, path, max_per_topic, manifest):
    stem = os.path.splitext(os.path.basename(path))[0]
    counts = {}
    with rosbag.Bag(path) as bag:
        for topic, raw, _t in bag.read_messages(raw=True):
            datatype, payload, md5, _pos, pytype = raw
            if datatype not in ("sensor_msgs/PointCloud2", "sensor_msgs/Image", "sensor_msgs/CompressedImage"):
                continue
            k = counts.get(topic, 0)
            if k >= max_per_topic:
                continue
            counts[topic] = k + 1
            msg = pytype()
            msg.deserialize(payload)
            name = "%s%s_%d" % (stem, topic.replace("/", "_"), k)
            if datatype == "sensor_msgs/PointCloud2":
                dump_cloud(out, name, bytes(payload), msg, manifest)
            else:
                dump_image(out, name, bytes(payload), msg, manifest)


def F(name, offset, dt, count=1):
    return PointField(name=name, offset=offset, datatype=dt, count=count)


def make_cloud(fields, fmt, rows, width, height, point_step, row_step, bigendian, frame="gen"):
    """Packs rows (list of tuples, row-major) with struct fmt (no endianness char), padding each point to
    point_step and each row to row_step."""
    st = struct.Struct((">" if bigendian else "<") + fmt)
    data = bytearray()
    for r in range(height):
        row = bytearray()
        for c in range(width):
            p = st.pack(*rows[r * width + c])
            row += p + b"\xAB" * (point_step - len(p))
        row += b"\xCD" * (row_step - len(row))
        data += row
    h = Header(seq=7, stamp=rospy.Time(1700000000, 123456789), frame_id=frame)
    return PointCloud2(header=h, height=height, width=width, fields=fields, is_bigendian=bigendian,
                       point_step=point_step, row_step=row_step, data=bytes(data), is_dense=False)


def generated(out, manifest):
    rng = np.random.default_rng(42)
    n = 300
    xyz = rng.normal(0, 20, (n, 3))
    xyz[rng.random(n) < 0.1, rng.integers(0, 3)] = np.nan
    inten = rng.random(n) * 255
    ring = rng.integers(0, 128, n)
    t = rng.random(n) * 0.1
    clouds = {
        # big-endian float32 x,y,z,intensity + uint16 ring + float32 time
        "gen_bigendian": (
            [F("x", 0, 7), F("y", 4, 7), F("z", 8, 7), F("intensity", 12, 7), F("ring", 16, 4), F("time", 18, 7)],
            "ffffHf", 22, True, 1, n, [(a, b, c, i, int(r), tt) for (a, b, c), i, r, tt in zip(xyz, inten, ring, t)]),
        # float64 coordinates, uint8 intensity, int32 ring, padded point_step, fields out of offset order
        "gen_float64_padded": (
            [F("intensity", 24, 2), F("x", 0, 8), F("y", 8, 8), F("z", 16, 8), F("ring", 28, 5)],
            "dddBxxxi", 40, False, 1, n, [(a, b, c, int(i), int(r)) for (a, b, c), i, r in zip(xyz, inten, ring)]),
        # organized 15 x 20 with NaNs, row padding, absolute float64 timestamps, int16 intensity
        "gen_organized_nan": (
            [F("x", 4, 7), F("y", 8, 7), F("z", 12, 7), F("intensity", 0, 3), F("timestamp", 16, 8)],
            "hxxfffd", 24, False, 15, 20,
            [(int(i) - 100, a, b, c, 1700000000.123456789 + tt) for (a, b, c), i, tt in zip(xyz, inten, t)]),
        # little-endian float32 x,y,z,intensity but with extra fields (fast-path layout plus rgb padding)
        "gen_xyzi_rgb": (
            [F("x", 0, 7), F("y", 4, 7), F("z", 8, 7), F("intensity", 12, 7), F("rgb", 16, 7)],
            "fffff", 32, False, 1, n, [(a, b, c, i, 0.0) for (a, b, c), i in zip(xyz, inten)]),
    }
    for name, (fields, fmt, ps, be, h, w, pts) in clouds.items():
        row_step = w * ps + (12 if name == "gen_organized_nan" else 0)
        cloud = make_cloud(fields, fmt, pts, w, h, ps, row_step, be)
        dump_cloud(out, name, serialize(cloud), cloud, manifest)
    # little-endian created by ROS's own create_cloud
    pts = [(a, b, c, i) for (a, b, c), i in zip(xyz, inten)]
    fields = [F("x", 0, 7), F("y", 4, 7), F("z", 8, 7), F("intensity", 12, 7)]
    h = Header(seq=1, stamp=rospy.Time(5, 6), frame_id="lidar")
    cloud = point_cloud2.create_cloud(h, fields, pts)
    dump_cloud(out, "gen_create_cloud", serialize(cloud), cloud, manifest)

    # images: every encoding, odd sizes, step padding, both endiannesses for 16 bit
    w, hgt = 37, 23
    for enc, bpp, be, tol, border in [
        ("rgb8", 3, False, 0, 0), ("bgr8", 3, False, 0, 0), ("rgba8", 4, False, 0, 0), ("bgra8", 4, False, 0, 0),
        ("mono8", 1, False, 0, 0), ("mono16", 2, False, 0, 0), ("mono16", 2, True, 0, 0),
        ("bayer_rggb8", 1, False, 1, 1), ("bayer_bggr8", 1, False, 1, 1), ("bayer_gbrg8", 1, False, 1, 1),
        ("bayer_grbg8", 1, False, 1, 1), ("yuv422", 2, False, 2, 0), ("yuyv", 2, False, 2, 0),
    ]:
        ww = w + 1 if bpp == 2 and enc in ("yuv422", "yuyv") else w
        step = ww * bpp + 5
        data = rng.integers(0, 256, hgt * step, dtype=np.uint8).tobytes()
        img = Image(header=Header(seq=3, stamp=rospy.Time(9, 10), frame_id="cam"), height=hgt, width=ww,
                    encoding=enc, is_bigendian=be, step=step, data=data)
        dump_image(out, "gen_img_%s%s" % (enc, "_be" if be else ""), serialize(img), img, manifest, tol, border)
    # a compressed JPEG and PNG as image_transport names them
    import cv2
    bgr = rng.integers(0, 256, (hgt, w, 3), dtype=np.uint8)
    for fmt, ext in (("rgb8; jpeg compressed bgr8", ".jpg"), ("bgr8; png compressed bgr8", ".png")):
        ok, enc = cv2.imencode(ext, bgr)
        assert ok
        msg = CompressedImage(header=Header(stamp=rospy.Time(1, 2), frame_id="cam"), format=fmt,
                              data=enc.tobytes())
        dump_image(out, "gen_compressed" + ext.replace(".", "_"), serialize(msg), msg, manifest,
                   4 if ext == ".jpg" else 0, 0)  # libjpeg-turbo vs zune-jpeg IDCT/upsampling on noise


def main():
    args = sys.argv[1:]
    out = args.pop(0)
    max_per_topic = 2
    gen = False
    bags = []
    while args:
        a = args.pop(0)
        if a == "--max-per-topic":
            max_per_topic = int(args.pop(0))
        elif a == "--generated":
            gen = True
        else:
            bags.append(a)
    os.makedirs(out, exist_ok=True)
    manifest = []
    for b in bags:
        dump_bag(out, b, max_per_topic, manifest)
    if gen:
        generated(out, manifest)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
