#!/usr/bin/env python3
"""Builds the format fixtures in this folder from dombey_excerpt.txt (two chapters of
Charles Dickens, "Dombey and Son", 1848, public domain; Project Gutenberg #821).

Real books: dombey_epub3.epub (navigation document), dombey_epub2.epub (NCX, XHTML that
is not well-formed), dombey.html, dombey.pdf (two outline entries, 4+ pages; written
here by hand with the standard Helvetica font so no tool or font is needed).
Hostile and broken files: see HOSTILE below and docs/formats.md. Needs python3 and qpdf
(for the encrypted PDF). Deterministic: zip timestamps are fixed, so a rerun gives the
same bytes (qpdf's encryption salt aside).

Run: python3 tests/data/formats/make_fixtures.py
"""
import html
import os
import subprocess
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATE = (2020, 1, 1, 0, 0, 0)


def chapters():
    text = open(os.path.join(HERE, "dombey_excerpt.txt"), encoding="utf-8").read()
    result = []
    for block in text.split("CHAPTER ")[1:]:
        paras = [p.replace("\n", " ").strip() for p in ("CHAPTER " + block).split("\n\n") if p.strip()]
        head = paras[0]  # "CHAPTER 1. Dombey and Son"
        number, title = head.split(". ", 1)
        result.append((number.title(), title, paras[1:]))
    return result


def write_zip(name, entries, stored=("mimetype",)):
    with zipfile.ZipFile(os.path.join(HERE, name), "w") as z:
        for entry, data in entries:
            info = zipfile.ZipInfo(entry, DATE)
            info.compress_type = zipfile.ZIP_STORED if entry in stored else zipfile.ZIP_DEFLATED
            z.writestr(info, data)


CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
"""

PNG_1x1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000100e5270de40000000049454e44ae426082")


def chapter_xhtml(number, title, paras, well_formed=True):
    ps = "\n".join("<p>%s</p>" % html.escape(p, quote=False) for p in paras)
    # Curly quotes as entities, a script and a style that must not show, an image.
    ps = ps.replace("\u2019", "&#8217;").replace("\u2018", "&#x2018;")
    br = "<br/>" if well_formed else "<br>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>{title}</title><link rel="stylesheet" href="style.css"/>
<style>p {{ text-indent: 1em }}</style>
<script>var hidden = "SCRIPT TEXT MUST NOT SHOW";</script></head>
<body>
<section id="c{number[-1]}">
<h2 id="h{number[-1]}">{number}.{br}{title}</h2>
<img src="cover.png" alt="ALT TEXT MUST NOT SHOW"/>
{ps}
</section>
</body>
</html>
"""


def epub3(chs):
    items = "\n".join(f'<item id="ch{i+1}" href="ch{i+1}.xhtml" media-type="application/xhtml+xml"/>' for i in range(len(chs)))
    spine = "\n".join(f'<itemref idref="ch{i+1}"/>' for i in range(len(chs)))
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="uid">urn:memmamba:fixture:dombey3</dc:identifier>
<dc:title>Dombey and Son</dc:title><dc:creator>Charles Dickens</dc:creator><dc:language>en</dc:language>
<meta property="dcterms:modified">2020-01-01T00:00:00Z</meta>
</metadata>
<manifest>
<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
<item id="css" href="style.css" media-type="text/css"/>
<item id="cover" href="cover.png" media-type="image/png" properties="cover-image"/>
{items}
</manifest>
<spine>{spine}</spine>
</package>
"""
    links = "\n".join(f'<li><a href="ch{i+1}.xhtml#h{i+1}">{n}. {html.escape(t)}</a></li>' for i, (n, t, _) in enumerate(chs))
    nav = f"""<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>Contents</title></head>
<body><nav epub:type="landmarks"><ol><li><a href="ch1.xhtml">Begin reading</a></li></ol></nav>
<nav epub:type="toc" id="toc"><h1>Contents</h1><ol>
{links}
</ol></nav></body></html>
"""
    entries = [("mimetype", "application/epub+zip"), ("META-INF/container.xml", CONTAINER),
               ("OEBPS/content.opf", opf), ("OEBPS/nav.xhtml", nav), ("OEBPS/style.css", "p { margin: 0 }"),
               ("OEBPS/cover.png", PNG_1x1)]
    entries += [(f"OEBPS/ch{i+1}.xhtml", chapter_xhtml(n, t, ps)) for i, (n, t, ps) in enumerate(chs)]
    return entries


def epub2(chs):
    items = "\n".join(f'<item id="ch{i+1}" href="text/ch{i+1}.html" media-type="application/xhtml+xml"/>' for i in range(len(chs)))
    spine = "\n".join(f'<itemref idref="ch{i+1}"/>' for i in range(len(chs)))
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="uid">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
<dc:title>Dombey and Son (EPUB 2)</dc:title><dc:creator opf:role="aut">Charles Dickens</dc:creator>
<dc:identifier id="uid">urn:memmamba:fixture:dombey2</dc:identifier><dc:language>en</dc:language>
</metadata>
<manifest>
<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
{items}
</manifest>
<spine toc="ncx">{spine}</spine>
</package>
"""
    points = "\n".join(f"""<navPoint id="p{i+1}" playOrder="{i+1}"><navLabel><text>{n}. {html.escape(t)}</text></navLabel>
<content src="text/ch{i+1}.html"/></navPoint>""" for i, (n, t, _) in enumerate(chs))
    ncx = f"""<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">
<head><meta name="dtb:uid" content="urn:memmamba:fixture:dombey2"/></head>
<docTitle><text>Dombey and Son</text></docTitle>
<navMap>
{points}
</navMap>
</ncx>
"""
    entries = [("mimetype", "application/epub+zip"), ("META-INF/container.xml", CONTAINER),
               ("OEBPS/content.opf", opf), ("OEBPS/toc.ncx", ncx)]
    entries += [(f"OEBPS/text/ch{i+1}.html", chapter_xhtml(n, t, ps, well_formed=False)) for i, (n, t, ps) in enumerate(chs)]
    return entries


def html_book(chs):
    body = []
    for n, t, ps in chs:
        body.append(f"<h2>{n}. {html.escape(t)}</h2>")
        body += ["<p>%s</p>" % html.escape(p, quote=False).replace("\u2019", "&rsquo;") for p in ps]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Dombey and Son</title><meta name="author" content="Charles Dickens">
<style>body {{ font-family: serif }} .hidden {{ display: none }}</style>
<script>document.write("SCRIPT TEXT MUST NOT SHOW");</script>
</head><body>
<h1>Dombey and Son</h1>
<p>By Charles Dickens &mdash; an excerpt &amp; a test.</p>
{chr(10).join(body)}
</body></html>
"""


# ---- PDF, by hand ----------------------------------------------------------------------

def wrap(text, width=88):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = (line + " " + word).strip()
    if line:
        lines.append(line)
    return lines


def pdf_escape(s):
    b = s.encode("cp1252", errors="replace")
    return b.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def pdf_book(chs, lines_per_page=46, with_outline=True):
    pages = []      # list of list of lines
    outline = []    # (title, page index)
    for n, t, ps in chs:
        page = []
        pages.append(page)
        outline.append((f"{n}. {t}", len(pages) - 1))
        for line in wrap(f"{n}. {t}", 70) + [""]:
            page.append(line)
        for p in ps:
            for line in wrap(p) + [""]:
                if len(page) >= lines_per_page:
                    page = []
                    pages.append(page)
                page.append(line)
    objs = {}
    n_pages = len(pages)
    # 1 catalog, 2 pages, 3 font, 4 info, 5 outlines, 6.. outline items, then page/content pairs
    first_item = 6
    first_page = first_item + len(outline)
    page_ids = [first_page + 2 * i for i in range(n_pages)]
    objs[1] = (b"<< /Type /Catalog /Pages 2 0 R /Outlines 5 0 R /PageMode /UseOutlines >>" if with_outline
               else b"<< /Type /Catalog /Pages 2 0 R >>")
    objs[2] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % n_pages
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objs[4] = b"<< /Title (Dombey and Son) /Author (Charles Dickens) /Producer (make_fixtures.py) >>"
    items = list(range(first_item, first_item + len(outline)))
    objs[5] = b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (items[0], items[-1], len(items))
    for k, (title, page) in enumerate(outline):
        d = b"<< /Title (" + pdf_escape(title) + b") /Parent 5 0 R /Dest [%d 0 R /XYZ 0 792 0]" % page_ids[page]
        if k > 0:
            d += b" /Prev %d 0 R" % items[k - 1]
        if k + 1 < len(items):
            d += b" /Next %d 0 R" % items[k + 1]
        objs[items[k]] = d + b" >>"
    for i, lines in enumerate(pages):
        stream = b"BT /F1 11 Tf 14 TL 56 780 Td\n" + b"".join(b"(" + pdf_escape(l) + b") Tj T*\n" for l in lines) + b"ET\n"
        objs[page_ids[i]] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                             b" /Contents %d 0 R >>" % (page_ids[i] + 1))
        objs[page_ids[i] + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref = len(out)
    count = max(objs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    for num in range(1, count):
        out += b"%010d 00000 n \n" % offsets[num]
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref)
    return bytes(out), n_pages


def main():
    chs = chapters()
    write_zip("dombey_epub3.epub", epub3(chs))
    write_zip("dombey_epub2.epub", epub2(chs))
    open(os.path.join(HERE, "dombey.html"), "w", encoding="utf-8").write(html_book(chs))
    pdf, n_pages = pdf_book(chs)
    open(os.path.join(HERE, "dombey.pdf"), "wb").write(pdf)
    print("dombey.pdf: %d pages" % n_pages)
    # The same book without an outline: chapters come from the text's headings.
    open(os.path.join(HERE, "dombey_no_outline.pdf"), "wb").write(pdf_book(chs, with_outline=False)[0])

    hostile = os.path.join(HERE, "hostile")
    os.makedirs(hostile, exist_ok=True)

    def put(name, data):
        open(os.path.join(hostile, name), "wb").write(data)

    good = open(os.path.join(HERE, "dombey_epub3.epub"), "rb").read()
    put("truncated.epub", good[: len(good) // 2])
    put("truncated.pdf", pdf[: len(pdf) * 6 // 10])
    # Entries that climb out of the archive.
    write_zip("hostile/traversal.epub", [("mimetype", "application/epub+zip"),
                                         ("META-INF/container.xml", CONTAINER),
                                         ("../../etc/passwd", "root:x:0:0::/root:/bin/sh\n")])
    # A zip bomb by ratio: 4 MB of zeros deflate to about 4 KB.
    write_zip("hostile/bomb_ratio.epub", [("mimetype", "application/epub+zip"),
                                          ("META-INF/container.xml", CONTAINER),
                                          ("OEBPS/bomb.xhtml", b"\0" * (4 * 1024 * 1024))])
    # A zip bomb by declared size: headers claim 3 GB for a tiny entry.
    write_zip("hostile/bomb_declared.epub", [("mimetype", "application/epub+zip"),
                                             ("META-INF/container.xml", CONTAINER),
                                             ("OEBPS/huge.xhtml", b"<p>small</p>")])
    p = os.path.join(hostile, "bomb_declared.epub")
    data = bytearray(open(p, "rb").read())
    declared = (3 * 1024 * 1024 * 1024).to_bytes(4, "little")
    cd = data.rfind(b"PK\x01\x02")  # the last entry's central directory record
    data[cd + 24:cd + 28] = declared     # central directory: uncompressed size
    local = data.rfind(b"PK\x03\x04")
    data[local + 22:local + 26] = declared  # local header: the same, so the archive is consistent
    open(p, "wb").write(bytes(data))
    # Missing and malformed package documents.
    write_zip("hostile/missing_opf.epub", [("mimetype", "application/epub+zip"), ("META-INF/container.xml", CONTAINER)])
    write_zip("hostile/malformed_opf.epub", [("mimetype", "application/epub+zip"), ("META-INF/container.xml", CONTAINER),
                                             ("OEBPS/content.opf", "<?xml version='1.0'?><package><metadata><dc:title>x</metadata>")])
    write_zip("hostile/no_container.epub", [("mimetype", "application/epub+zip"), ("OEBPS/content.opf", "<package/>")])
    # Package documents that lie: no spine, an unknown spine item, a spine file that is
    # not there, a table of contents that climbs out, a spine with no text.
    def opf(spine, manifest='<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>'):
        return ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
                '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Lies</dc:title></metadata>'
                '<manifest>%s</manifest>%s</package>' % (manifest, spine))
    base = [("mimetype", "application/epub+zip"), ("META-INF/container.xml", CONTAINER)]
    page = "<html><body><p>Some text.</p></body></html>"
    write_zip("hostile/no_spine.epub", base + [("OEBPS/content.opf", opf("")), ("OEBPS/c1.xhtml", page)])
    write_zip("hostile/unknown_spine_item.epub", base + [("OEBPS/content.opf", opf('<spine><itemref idref="c9"/></spine>')),
                                                      ("OEBPS/c1.xhtml", page)])
    write_zip("hostile/missing_spine_file.epub", base + [("OEBPS/content.opf", opf('<spine><itemref idref="c1"/></spine>'))])
    write_zip("hostile/manifest_climbs.epub", base + [("OEBPS/content.opf", opf(
        '<spine><itemref idref="c1"/></spine>',
        '<item id="c1" href="../../../secret.xhtml" media-type="application/xhtml+xml"/>'))])
    write_zip("hostile/no_text.epub", base + [("OEBPS/content.opf", opf('<spine><itemref idref="c1"/></spine>')),
                                             ("OEBPS/c1.xhtml", '<html><body><img src="x.png"/></body></html>')])
    # A damaged entry: one byte of the deflated chapter flipped (CRC or inflate error).
    data = bytearray(good)
    at = data.find(b"OEBPS/ch1.xhtml") + len("OEBPS/ch1.xhtml") + 200
    data[at] ^= 0xFF
    put("damaged_entry.epub", bytes(data))
    # Mostly UTF-8 with two stray windows-1252 bytes.
    text = open(os.path.join(HERE, "dombey_excerpt.txt"), "rb").read()
    put("mostly_utf8.txt", text[:3000] + b"caf\xe9 " + text[3000:6000] + b"\x93quoted\x94" + text[6000:])
    put("pdf_as.txt", pdf)
    put("epub_as.txt", good)
    # Encrypted with a user password.
    subprocess.run(["qpdf", "--encrypt", "reader", "owner", "256", "--", os.path.join(HERE, "dombey.pdf"),
                    os.path.join(hostile, "encrypted.pdf")], check=True)


if __name__ == "__main__":
    main()
