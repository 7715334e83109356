#!/usr/bin/python3
"""Draws the test digits of `cnn predict` as a person would in a paint program: thick round
strokes of dark ink on a light canvas, in different sizes, positions, colours and file formats.

Run from this folder with Debian's python3-pil: /usr/bin/python3 make_digits.py
The file names say the expected digit: <digit>-<description>.<ext>.
"""
import math

from PIL import Image, ImageDraw


def arc(cx, cy, rx, ry, start, end, steps=24):
    """Points on an ellipse from angle start to end (degrees, 0 = right, 90 = down)."""
    return [(cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
             cy + ry * math.sin(math.radians(start + (end - start) * i / steps)))
            for i in range(steps + 1)]


# Each digit: strokes (polylines) in a unit box, x to the right and y downwards.
DIGITS = {
    0: [arc(0.5, 0.5, 0.3, 0.42, 0, 360, 40)],
    1: [[(0.35, 0.25), (0.55, 0.08), (0.55, 0.92)]],
    2: [arc(0.5, 0.3, 0.28, 0.22, 190, 380) + [(0.2, 0.9), (0.82, 0.9)]],
    3: [arc(0.48, 0.28, 0.26, 0.2, 200, 450) + arc(0.48, 0.7, 0.3, 0.22, 270, 500)],
    4: [[(0.62, 0.9), (0.62, 0.08), (0.15, 0.62), (0.85, 0.62)]],
    5: [[(0.78, 0.1), (0.32, 0.1), (0.28, 0.45)] + arc(0.48, 0.65, 0.3, 0.25, 220, 510)],
    6: [[(0.72, 0.08), (0.45, 0.25), (0.3, 0.47)] + arc(0.5, 0.7, 0.26, 0.22, 180, 540)],
    7: [[(0.18, 0.1), (0.82, 0.1), (0.4, 0.92)]],
    8: [arc(0.5, 0.28, 0.22, 0.19, 0, 360, 32), arc(0.5, 0.7, 0.27, 0.22, 0, 360, 32)],
    9: [arc(0.5, 0.32, 0.26, 0.22, 0, 360, 32), [(0.76, 0.32), (0.7, 0.92)]],
}


def draw(digit, size, box, ink, paper, stroke, mode="RGB"):
    """A canvas of `size` with the digit drawn in `box` (left, top, width, height)."""
    image = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(image)
    left, top, width, height = box
    for stroke_points in DIGITS[digit]:
        points = [(left + x * width, top + y * height) for x, y in stroke_points]
        pen.line(points, fill=ink, width=stroke, joint="curve")
        for x, y in points:  # round ends and joints, like a round brush
            pen.ellipse([x - stroke / 2, y - stroke / 2, x + stroke / 2, y + stroke / 2], fill=ink)
    return image


def save_pgm_ascii(image, path):
    gray = image.convert("L")
    width, height = gray.size
    values = list(gray.getdata())
    with open(path, "w") as out:
        out.write("P2\n# drawn by make_digits.py\n%d %d\n255\n" % (width, height))
        for row in range(height):
            out.write(" ".join(str(v) for v in values[row * width:(row + 1) * width]) + "\n")


BLACK, WHITE = (0, 0, 0), (255, 255, 255)
draw(0, (300, 300), (60, 40, 180, 220), BLACK, WHITE, 22).save("0-black-on-white-300x300.png")
draw(1, (120, 200), (20, 30, 80, 140), (20, 30, 120), WHITE, 12).save("1-blue-ink-120x200.png")
draw(2, (640, 480), (250, 120, 160, 220), (40, 40, 40), (235, 232, 220), 20).save(
    "2-gray-paper-640x480.jpg", quality=85)
draw(3, (64, 64), (14, 8, 36, 48), 0, 255, 6, mode="L").save("3-small-64x64.pgm")
draw(4, (400, 400), (40, 220, 120, 150), (200, 20, 20), WHITE, 16).save(
    "4-red-off-centre-400x400.png")
draw(5, (250, 350), (50, 50, 150, 250), BLACK, WHITE, 24).save("5-black-on-white-250x350.jpg",
                                                                 quality=90)
save_pgm_ascii(draw(6, (90, 120), (15, 15, 60, 90), 0, 255, 9, mode="L"), "6-ascii-90x120.pgm")
draw(7, (500, 500), (100, 80, 300, 340), (30, 30, 30, 255), (0, 0, 0, 0), 30, mode="RGBA").save(
    "7-transparent-background-500x500.png")
draw(8, (200, 200), (55, 20, 90, 160), BLACK, WHITE, 14).save("8-black-on-white-200x200.png")
draw(9, (1000, 800), (380, 150, 260, 500), (10, 10, 60), (250, 250, 245), 55).save(
    "9-large-1000x800.jpg", quality=80)
