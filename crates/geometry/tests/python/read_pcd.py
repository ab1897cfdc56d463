#!/usr/bin/python3
"""Independent PCD reader (numpy; LZF in pure python) for comparison with the Rust loader.

usage: read_pcd.py FILE.pcd
Prints JSON: points, nan points (x not finite), first 20 (x, y, z), nan-sums of x, y, z, intensity sum.
"""
import json
import sys

import numpy as np

NP_TYPES = {('F', 4): 'f4', ('F', 8): 'f8', ('U', 1): 'u1', ('U', 2): 'u2', ('U', 4): 'u4', ('U', 8): 'u8',
            ('I', 1): 'i1', ('I', 2): 'i2', ('I', 4): 'i4', ('I', 8): 'i8'}


def lzf(data, out_len):
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i:i + ctrl + 1]
            i += ctrl + 1
        else:
            length = ctrl >> 5
            if length == 7:
                length += data[i]
                i += 1
            ref = len(out) - ((ctrl & 0x1f) << 8) - data[i] - 1
            i += 1
            length += 2
            if ref + length <= len(out):
                out += out[ref:ref + length]
            else:
                for k in range(length):
                    out.append(out[ref + k])
    assert len(out) == out_len, (len(out), out_len)
    return bytes(out)


def main():
    raw = open(sys.argv[1], 'rb').read()
    hdr = {}
    pos = 0
    while True:
        nl = raw.index(b'\n', pos)
        line = raw[pos:nl].decode('ascii', 'replace').strip()
        pos = nl + 1
        if not line or line.startswith('#'):
            continue
        k, *rest = line.split()
        hdr[k.upper()] = rest
        if k.upper() == 'DATA':
            break
    names = hdr['FIELDS']
    counts = [int(c) for c in hdr.get('COUNT', ['1'] * len(names))]
    dtype = np.dtype([(nm if c == 1 else nm, '<' + NP_TYPES[(t, int(s))], (c,) if c > 1 else ())
                      for nm, t, s, c in zip(names, hdr['TYPE'], hdr['SIZE'], counts)])
    n = int(hdr['POINTS'][0])
    kind = hdr['DATA'][0]
    body = raw[pos:]
    if kind == 'ascii':
        rows = np.loadtxt(body.decode().splitlines(), dtype=np.float64, ndmin=2)[:n]
        cols = {}
        j = 0
        for nm, c in zip(names, counts):
            cols[nm] = rows[:, j]
            j += c
    elif kind == 'binary':
        arr = np.frombuffer(body[:n * dtype.itemsize], dtype=dtype)
        cols = {nm: arr[nm].astype(np.float64) for nm in names}
    else:
        csize, usize = np.frombuffer(body[:8], dtype='<u4')
        dec = lzf(body[8:8 + int(csize)], int(usize))
        cols = {}
        off = 0
        for nm in names:
            sub = dtype[nm]
            cols[nm] = np.frombuffer(dec[off:off + n * sub.itemsize], dtype=sub.base if sub.shape else sub,
                                     count=n * (sub.shape[0] if sub.shape else 1))[::(sub.shape[0] if sub.shape else 1)].astype(np.float64)
            off += n * sub.itemsize
    x, y, z = cols['x'].astype(np.float32), cols['y'].astype(np.float32), cols['z'].astype(np.float32)
    inten = cols.get('intensity', cols.get('i', np.zeros(n))).astype(np.float32)
    print(json.dumps({
        'points': n,
        'nan_points': int(np.sum(~np.isfinite(x))),
        'first': [[None if np.isnan(t) else float(t) for t in (a, b, c)] for a, b, c in zip(x[:20], y[:20], z[:20])],
        'sum_x': float(np.nansum(x.astype(np.float64))), 'sum_y': float(np.nansum(y.astype(np.float64))),
        'sum_z': float(np.nansum(z.astype(np.float64))),
        'sum_intensity': float(np.nansum(inten.astype(np.float64))),
    }))


if __name__ == '__main__':
    main()
