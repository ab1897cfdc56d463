#!/usr/bin/python3
"""Reference for sensorium's `slop` policy: python3-message-filters' ApproximateTimeSynchronizer.

Usage: slop_ref.py N QUEUE SLOP_SECONDS [--time]
stdin: one message per line, "STREAM SEC NSEC" (message id = 0-based line number).
stdout: one line per matched set, the ids of its messages in stream order.
With --time, prints only "sets=K seconds=T" (T: time spent feeding the synchronizer).
"""
import sys
import time

import message_filters
import rospy
import rospy.rostime


class Stamped:
    __slots__ = ("header", "id")

    def __init__(self, stamp, ident):
        self.header = type("Header", (), {})()
        self.header.stamp = stamp
        self.id = ident


def main():
    n = int(sys.argv[1])
    queue = int(sys.argv[2])
    slop = float(sys.argv[3])
    timing = "--time" in sys.argv[4:]

    msgs = []
    for k, line in enumerate(sys.stdin):
        parts = line.split()
        if len(parts) != 3:
            continue
        stream, sec, nsec = int(parts[0]), int(parts[1]), int(parts[2])
        msgs.append((stream, Stamped(rospy.Time(sec, nsec), k)))

    # Simulated clock that only moves forward: the synchronizer's jump-back
    # detection (receipt time) never fires, as on a live system.
    rospy.rostime.set_rostime_initialized(True)

    filters = [message_filters.SimpleFilter() for _ in range(n)]
    sync = message_filters.ApproximateTimeSynchronizer(filters, queue, slop, allow_headerless=False)
    out = []
    sync.registerCallback(lambda *ms: out.append(" ".join(str(m.id) for m in ms)))

    start = time.perf_counter()
    for tick, (stream, msg) in enumerate(msgs):
        rospy.rostime._set_rostime(rospy.Time(1 + tick))
        filters[stream].signalMessage(msg)
    elapsed = time.perf_counter() - start

    if timing:
        print("sets=%d seconds=%.9f" % (len(out), elapsed))
    else:
        sys.stdout.write("".join(line + "\n" for line in out))


if __name__ == "__main__":
    main()
