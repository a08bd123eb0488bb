"""A CJK font that PDFs embed: Noto Sans CJK SC, subset to a document's text, as TrueType.

reportlab embeds only TrueType outlines, and Debian's ``fonts-noto-cjk`` ships OpenType/CFF
collections (``NotoSansCJK-Regular.ttc``). So the Simplified Chinese face is subset with fontTools
to the characters a document can contain and its cubic outlines are converted to quadratic ones
(fontTools' cu2qu, the same conversion as fontTools' ``otf2ttf`` recipe, error ≤ 1 font unit).
reportlab then embeds the glyphs it draws (``FontFile2``), so a PDF renders the same in every
viewer, with or without Chinese fonts installed.

The font file is found at ``EMS_CJK_FONT`` or Debian's path. A missing file, or a character the
font lacks, raises :class:`CjkFontError` naming it: a report is never drawn with blank glyphs.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

DEBIAN_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FACE = "Noto Sans CJK SC"  # the Simplified Chinese face of the collection
# always in the subset: printable ASCII (numbers, identifiers, hashes) and the punctuation and
# symbols that code writes around data (dashes, arrows, Chinese punctuation)
ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F)) + "–—…·•→←≤≥±×÷°‰€¥（）：，。；、“”‘’《》【】"


class CjkFontError(RuntimeError):
    """The CJK font is missing or lacks characters a document needs."""


def font_path() -> Path:
    path = Path(os.environ.get("EMS_CJK_FONT") or DEBIAN_FONT)
    if not path.is_file():
        raise CjkFontError(
            f"CJK font not found at {path}: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) "
            "or set EMS_CJK_FONT to a Noto Sans CJK .ttc/.otf/.ttf file; PDFs are not drawn without it"
        )
    return path


def _face(path: Path) -> TTFont:
    if path.suffix.lower() in (".ttc", ".otc"):
        faces = TTCollection(str(path), lazy=True).fonts
        for f in faces:
            if f["name"].getDebugName(1) == FACE:
                return f
        return faces[0]
    return TTFont(str(path), lazy=True)


def _to_quadratic(font: TTFont) -> None:
    """CFF outlines → TrueType ``glyf`` in place (fontTools' otf2ttf recipe)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, g in glyf.glyphs.items():
        if hasattr(g, "xMin"):
            hmtx[name] = (hmtx[name][0], g.xMin)
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    font["maxp"] = maxp
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


@functools.lru_cache(maxsize=16)
def _subset_ttf(path: Path, chars: str) -> bytes:
    font = _face(path)
    cmap = font.getBestCmap()
    missing = sorted({c for c in chars if ord(c) not in cmap and c.isprintable() and not c.isspace()})
    if missing:
        raise CjkFontError(f"the CJK font {path} has no glyph for {''.join(missing)!r}")
    opts = subset.Options()
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.hinting = False
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(text=chars)
    sub.subset(font)
    if "CFF " in font:
        _to_quadratic(font)
    # a PostScript name per subset: reportlab caches faces by it, and two subsets under the face's
    # own name would share the first one's glyphs (missing glyphs in the second document)
    font["name"].setName(_name(chars), 6, 3, 1, 0x409)
    font["name"].setName(_name(chars), 6, 1, 0, 0)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def subset_font(text: str) -> tuple[str, bytes]:
    """A TrueType font holding every character of ``text`` plus :data:`ALWAYS`: (a name unique to
    that character set, the font bytes)."""
    chars = "".join(sorted(set(text + ALWAYS) - {"\n", "\r", "\t"}))
    return _name(chars), _subset_ttf(font_path(), chars)


def _name(chars: str) -> str:
    return "NotoSansSC-" + hashlib.sha256(chars.encode()).hexdigest()[:10]
