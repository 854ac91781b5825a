"""A small PDF toolkit for the demo documents: no dependency but HarfBuzz (``uharfbuzz``) for Arabic shaping.

One module per job, lower layers first:

* :mod:`.helvetica`: the standard (non-embedded) Helvetica fonts: metrics, cp1252 encoding, string literals;
* :mod:`.truetype`: TrueType parsing and subsetting (glyph ids kept);
* :mod:`.arabic`: Arabic fonts found on the system, shaping with HarfBuzz, glyph-to-text attribution;
* :mod:`.bidi`: a minimal bidi treatment of mixed Arabic/Latin strings;
* :mod:`.text`: measuring and wrapping mixed text;
* :mod:`.canvas`: a page's content stream (graphics and text operators);
* :mod:`.layout`: flowing body text in a light line markup, scaled to fit;
* :mod:`.writer`, :mod:`.embed`, :mod:`.document`: PDF objects and file, font embedding, a finished one-page PDF.

Everything is deterministic: the same drawing gives the same bytes.
"""
