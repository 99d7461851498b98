#!/usr/bin/env python3
"""Inputs for the import reliability figures (docs/reliability.md), generated, never committed.

  scripts/make_big_inputs.py book OUT.txt --mb 500   one plain-text book of about 500 MB
                                                      (chapters, CRLF line ends, accents, emoji)
  scripts/make_big_inputs.py folder OUT_DIR --files 5000   5,000 small books in 50 sub-folders
"""
import argparse
import os
import random

WORDS = ["harbour", "lantern", "tide", "café", "naïve", "moon 🌙", "keeper", "storm", "gull", "rope",
         "wall", "curate", "schoolmistress", "Brontë"]


def paragraph(rng, words):
    out = []
    for w in range(words):
        out.append(rng.choice(WORDS))
        out.append(".\r\n" if w % 14 == 13 else " ")
    return "".join(out).strip() + "\r\n\r\n"


def book(path, megabytes, seed=7):
    rng = random.Random(seed)
    target = megabytes * 1024 * 1024
    written = 0
    chapter = 0
    with open(path, "wb") as f:
        head = "THE LONG BOOK\r\n\r\nby A. Generator\r\n\r\n\r\n".encode()
        f.write(head)
        written += len(head)
        while written < target:
            chapter += 1
            parts = ["CHAPTER %d.\r\n\r\n" % chapter]
            parts += [paragraph(rng, rng.randint(40, 160)) for _ in range(rng.randint(20, 40))]
            data = "".join(parts).encode()
            f.write(data)
            written += len(data)
    print("%s: %d bytes, %d chapters" % (path, written, chapter))


def folder(path, files, seed=5):
    rng = random.Random(seed)
    for i in range(files):
        sub = os.path.join(path, "part%02d" % (i % 50))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "note%05d.txt" % i), "w", encoding="utf-8") as f:
            f.write("Note %d\n\n" % i + paragraph(rng, rng.randint(150, 450)).replace("\r\n", "\n"))
    print("%s: %d files" % (path, files))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["book", "folder"])
    parser.add_argument("out")
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()
    if args.kind == "book":
        book(args.out, args.mb)
    else:
        folder(args.out, args.files)


if __name__ == "__main__":
    main()
