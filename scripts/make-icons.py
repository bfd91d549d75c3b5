#!/usr/bin/env python3
"""Draws Firstline's app icons (public/icons/*.png) from the favicon's shapes: a green square with
a white check mark. Standard library only (zlib). Run once; the PNGs are committed.

  any-192.png, any-512.png  rounded square on transparent (the manifest's "any" icons)
  maskable-512.png          full-bleed square, the mark inside the central safe zone
  apple-touch-icon.png      180x180 full-bleed square (iOS rounds the corners itself)
"""
import math
import os
import struct
import zlib

GREEN = (0x0F, 0x6B, 0x4F)
WHITE = (0xFF, 0xFF, 0xFF)
# The favicon's check mark on its 32x32 grid, and its stroke width.
MARK = [(9, 17), (14, 22), (23, 11)]
STROKE = 3.5


def seg_dist(px, py, a, b):
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def draw(size, radius, mark_scale, ss=4):
    """RGBA rows. radius: corner radius on the 32 grid (0: full square); mark_scale shrinks
    the mark around the centre (maskable icons keep it in the safe zone)."""
    rows = []
    unit = size / 32.0
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            cover_bg = cover_mark = 0
            for sy in range(ss):
                for sx in range(ss):
                    gx = (x + (sx + 0.5) / ss) / unit
                    gy = (y + (sy + 0.5) / ss) / unit
                    inside = True
                    if radius:
                        cx = min(max(gx, radius), 32 - radius)
                        cy = min(max(gy, radius), 32 - radius)
                        inside = math.hypot(gx - cx, gy - cy) <= radius
                    if not inside:
                        continue
                    cover_bg += 1
                    mx = 16 + (gx - 16) / mark_scale
                    my = 16 + (gy - 16) / mark_scale
                    d = min(seg_dist(mx, my, MARK[0], MARK[1]), seg_dist(mx, my, MARK[1], MARK[2]))
                    if d <= STROKE / 2:
                        cover_mark += 1
            n = ss * ss
            if cover_bg == 0:
                row += bytes([0, 0, 0, 0])
                continue
            m = cover_mark / cover_bg
            rgb = [round(GREEN[i] * (1 - m) + WHITE[i] * m) for i in range(3)]
            row += bytes(rgb + [round(255 * cover_bg / n)])
        rows.append(bytes(row))
    return rows


def png(path, size, rows):
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(rows)
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9))
    data += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(__file__), "..", "public", "icons")
    os.makedirs(out, exist_ok=True)
    png(os.path.join(out, "any-192.png"), 192, draw(192, 7, 1.0))
    png(os.path.join(out, "any-512.png"), 512, draw(512, 7, 1.0, ss=2))
    png(os.path.join(out, "maskable-512.png"), 512, draw(512, 0, 0.7, ss=2))
    png(os.path.join(out, "apple-touch-icon.png"), 180, draw(180, 0, 0.8))
