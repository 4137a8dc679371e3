"""Draws sunset-sea.jpg, the demo picture for the image-to-poem stage: an original scene made
procedurally (no photo, no outside artwork), so it ships under the project's own licence.
Run: .venv/bin/python show_scripts/assets/make_sunset_sea.py"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

W, H, HORIZON = 1024, 640, 380
rng = np.random.default_rng(7)
y = np.arange(H, dtype=np.float32)[:, None]
x = np.arange(W, dtype=np.float32)[None, :]
img = np.zeros((H, W, 3), np.float32)
# sky: indigo at the top to orange and gold at the horizon
t = np.clip(y / HORIZON, 0, 1)
stops = [(0.0, (38, 36, 92)), (0.45, (150, 70, 120)), (0.75, (238, 120, 60)), (1.0, (252, 196, 90))]


def ramp(t, stops):
    out = np.zeros(t.shape + (3,), np.float32)
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        m = (t >= t0) & (t <= t1)
        f = ((t - t0) / (t1 - t0))[..., None]
        out = np.where(m[..., None], np.array(c0) * (1 - f) + np.array(c1) * f, out)
    return out


sky = ramp(np.broadcast_to(t, (H, W)), stops)
img[:] = sky
# the sun, half under the horizon, with a glow
sx, sy, r = 600, HORIZON + 10, 70
d = np.sqrt((x - sx) ** 2 + (y - sy) ** 2)
glow = np.exp(-((d / 260) ** 2))[..., None] * np.array([255, 170, 80]) * 0.45
img = np.minimum(255, img + glow * (y < HORIZON)[..., None])
sun = (d < r) & (y < HORIZON)
img[sun] = np.array([255, 228, 150])
# sea: dark teal-blue, lighter near the horizon, with a broken reflection column
s = np.clip((y - HORIZON) / (H - HORIZON), 0, 1)
sea = ramp(np.broadcast_to(s, (H, W)), [(0.0, (120, 80, 90)), (0.25, (40, 50, 90)), (1.0, (12, 24, 52))])
img = np.where((y >= HORIZON)[..., None], sea, img)
canvas = Image.fromarray(img.clip(0, 255).astype(np.uint8))
draw = ImageDraw.Draw(canvas)
for row in range(HORIZON + 2, H, 5):
    depth = (row - HORIZON) / (H - HORIZON)
    half = 80 + 140 * depth
    for _ in range(3):
        cx = sx + rng.normal(0, half * 0.5)
        length = rng.uniform(10, 60) * (1 + depth)
        colour = (255, int(190 - 60 * depth), int(110 - 50 * depth))
        draw.line([(cx - length / 2, row), (cx + length / 2, row)], fill=colour, width=2)
    for _ in range(6):  # small waves catching the sky
        cx = rng.uniform(0, W)
        length = rng.uniform(8, 30) * (1 + depth)
        draw.line([(cx, row), (cx + length, row)], fill=(70, 80, 130), width=1)
# a few clouds lit from below
clouds = Image.new("L", (W, H), 0)
cd = ImageDraw.Draw(clouds)
for cx, cy, w, h in [(200, 120, 260, 26), (330, 150, 200, 18), (820, 90, 300, 22), (760, 200, 180, 14), (120, 250, 160, 12)]:
    for _ in range(7):
        ox, oy = rng.normal(0, w / 5), rng.normal(0, h / 3)
        cd.ellipse([cx + ox - w / 3, cy + oy - h / 2, cx + ox + w / 3, cy + oy + h / 2], fill=180)
clouds = clouds.filter(ImageFilter.GaussianBlur(6))
canvas = Image.composite(Image.new("RGB", (W, H), (245, 150, 120)), canvas, clouds)
# a sailboat silhouette
draw = ImageDraw.Draw(canvas)
bx, by = 300, HORIZON + 30
draw.polygon([(bx - 40, by), (bx + 40, by), (bx + 28, by + 12), (bx - 28, by + 12)], fill=(20, 14, 30))
draw.line([(bx, by), (bx, by - 80)], fill=(20, 14, 30), width=3)
draw.polygon([(bx + 3, by - 78), (bx + 3, by - 4), (bx + 42, by - 4)], fill=(28, 20, 40))
draw.polygon([(bx - 3, by - 66), (bx - 3, by - 4), (bx - 34, by - 4)], fill=(28, 20, 40))
canvas.save(str(Path(__file__).with_name("sunset-sea.jpg")), "JPEG", quality=88, optimize=True)
