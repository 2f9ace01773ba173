"""The CJK faces of the printed documents, cut down to the characters of each document before WeasyPrint
sees them.

Why: WeasyPrint subsets the fonts it embeds but keeps every glyph id (its page content refers to glyphs
by their id in the original font). A Noto CJK face has 65,535 glyphs and the Chinese ones sit at ids
above 20,000, so each embedded "subset" still carries width tables and an index of some 63,000 empty
glyphs: about 160 KB per face whatever the page says. Cut to the document's characters first (HarfBuzz,
about 10 ms a face), the same face weighs what its glyphs weigh: the one-page approval form drops from
about 350 KB to well under 100 KB (bench/pdf_bench.py measures it).

Each face is handed to WeasyPrint as an `@font-face` with a `data:` URI (the static-only URL fetcher
serves those without any I/O). The stylesheet names these families first and the system's Noto CJK
families after them, so a character that somehow is not in the cut (and any document when the system
fonts or libharfbuzz-subset are missing) still prints in the full font: only the size suffers.
"""

from __future__ import annotations

import base64
import logging
import string
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from cffi import FFI  # WeasyPrint's own dependency: it reaches Pango the same way

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Face:
    family: str  # the CSS family name the stylesheet asks for (static/css/pdf.css)
    source: str  # the system font it is cut from, as fontconfig names it
    weight: int


# Two faces, as Chinese forms are set: a 宋体-like serif for the text and a 黑体-like bold sans for titles,
# labels and figures. Each costs only the glyphs a document uses.
FACES = (
    Face("Sanzi Serif", "Noto Serif CJK SC:style=Regular", 400),
    Face("Sanzi Sans", "Noto Sans CJK SC:style=Bold", 700),
)
# Always in the cut, whatever the text: figures, Latin letters and punctuation (counters, hashes, dates).
ALWAYS = frozenset(string.printable.strip() + " \u00a0¥￥，。、：；（）—“”《》·")

_CDEF = """
typedef struct _FcPattern FcPattern;
typedef struct _FcConfig FcConfig;
typedef unsigned char FcChar8;
typedef int FcBool;
typedef enum { FcMatchPattern, FcMatchFont, FcMatchScan } FcMatchKind;
typedef enum { FcResultMatch, FcResultNoMatch, FcResultTypeMismatch, FcResultNoId,
               FcResultOutOfMemory } FcResult;
FcPattern *FcNameParse(const FcChar8 *name);
FcBool FcConfigSubstitute(FcConfig *config, FcPattern *p, FcMatchKind kind);
void FcDefaultSubstitute(FcPattern *pattern);
FcPattern *FcFontMatch(FcConfig *config, FcPattern *p, FcResult *result);
FcResult FcPatternGetString(const FcPattern *p, const char *object, int n, FcChar8 **s);
FcResult FcPatternGetInteger(const FcPattern *p, const char *object, int n, int *i);
void FcPatternDestroy(FcPattern *p);

typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
hb_blob_t *hb_blob_create_from_file_or_fail(const char *file_name);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_make_immutable(hb_face_t *face);
unsigned int hb_face_get_glyph_count(const hb_face_t *face);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
void hb_face_destroy(hb_face_t *face);
void hb_set_add(hb_set_t *set, uint32_t codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_unicode_set(hb_subset_input_t *input);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""


class _Libraries:
    """fontconfig (to find the system font), HarfBuzz and its subsetter (the same libraries WeasyPrint
    loads), through cffi in ABI mode: nothing to compile."""

    def __init__(self) -> None:
        self.ffi = FFI()
        self.ffi.cdef(_CDEF)
        self.fc = self.ffi.dlopen("libfontconfig.so.1")
        self.hb = self.ffi.dlopen("libharfbuzz.so.0")
        self.subset = self.ffi.dlopen("libharfbuzz-subset.so.0")
        self.faces: dict[Face, Any] = {}
        self.lock = threading.Lock()

    def locate(self, face: Face) -> tuple[str, int] | None:
        """(file, index in a collection) of the system font fontconfig gives for the face, or None
        when what it gives is another family (the CJK fonts are not installed)."""
        ffi, fc = self.ffi, self.fc
        pattern = fc.FcNameParse(face.source.encode())
        fc.FcConfigSubstitute(ffi.NULL, pattern, fc.FcMatchPattern)
        fc.FcDefaultSubstitute(pattern)
        result = ffi.new("FcResult *")
        match = fc.FcFontMatch(ffi.NULL, pattern, result)
        fc.FcPatternDestroy(pattern)
        if match == ffi.NULL:
            return None
        try:
            text = ffi.new("FcChar8 **")
            number = ffi.new("int *")
            families = []
            n = 0
            while fc.FcPatternGetString(match, b"family", n, text) == fc.FcResultMatch:
                families.append(ffi.string(text[0]).decode())
                n += 1
            if face.source.split(":")[0] not in families:
                return None
            if fc.FcPatternGetString(match, b"file", 0, text) != fc.FcResultMatch:
                return None
            path = ffi.string(text[0]).decode()
            index = number[0] if fc.FcPatternGetInteger(match, b"index", 0, number) == fc.FcResultMatch else 0
            return path, index
        finally:
            fc.FcPatternDestroy(match)

    def face(self, face: Face) -> Any:
        """The HarfBuzz face of the system font, loaded once per process (NULL when not found)."""
        with self.lock:
            if face not in self.faces:
                found = self.locate(face)
                hb_face = self.ffi.NULL
                if found is not None:
                    blob = self.hb.hb_blob_create_from_file_or_fail(found[0].encode())
                    if blob != self.ffi.NULL:
                        hb_face = self.hb.hb_face_create(blob, found[1])
                        self.hb.hb_blob_destroy(blob)
                        self.hb.hb_face_make_immutable(hb_face)
                        if self.hb.hb_face_get_glyph_count(hb_face) == 0:
                            hb_face = self.ffi.NULL
                if hb_face == self.ffi.NULL:
                    log.warning("font %s not found: documents embed the whole system font", face.source)
                self.faces[face] = hb_face
            return self.faces[face]

    def cut(self, face: Face, chars: frozenset[str]) -> bytes | None:
        """The face with only the glyphs of these characters (and what they need), or None."""
        source = self.face(face)
        if source == self.ffi.NULL:
            return None
        ffi, hb, sub = self.ffi, self.hb, self.subset
        spec = sub.hb_subset_input_create_or_fail()
        if spec == ffi.NULL:
            return None
        try:
            unicodes = sub.hb_subset_input_unicode_set(spec)
            for codepoint in sorted(map(ord, chars)):
                hb.hb_set_add(unicodes, codepoint)
            result = sub.hb_subset_or_fail(source, spec)
        finally:
            sub.hb_subset_input_destroy(spec)
        if result == ffi.NULL:
            return None
        blob = hb.hb_face_reference_blob(result)
        try:
            length = ffi.new("unsigned int *")
            data = hb.hb_blob_get_data(blob, length)
            return bytes(ffi.buffer(data, length[0])) if length[0] else None
        finally:
            hb.hb_blob_destroy(blob)
            hb.hb_face_destroy(result)


@cache
def _libraries() -> _Libraries | None:
    try:
        return _Libraries()
    except OSError as exc:  # a machine without libharfbuzz-subset0: whole fonts, bigger PDFs
        log.warning("cannot cut fonts for printed documents (%s)", exc)
        return None


def font_faces_css(text: str) -> str:
    """`@font-face` rules for FACES, each cut to the characters of `text` (the document's HTML and its
    stylesheet, which holds the running headers' words); an empty string when the fonts cannot be cut."""
    libraries = _libraries()
    if libraries is None:
        return ""
    chars = frozenset(text) | ALWAYS
    rules = []
    for face in FACES:
        data = libraries.cut(face, chars)
        if data is None:
            continue
        uri = "data:font/otf;base64," + base64.b64encode(data).decode()
        rules.append(f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; '
                     f'src: url("{uri}"); }}')
    return "\n".join(rules)
