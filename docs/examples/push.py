"""Sign a PDF as a demo agency and push it: .venv/bin/python docs/examples/push.py instance/demo.json [MJ|MEN|OMPIC]"""
import datetime as dt, io, json, sys, uuid  # noqa: E401, I001
import requests
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import signers

demo = json.load(open(sys.argv[1]))
agency = next(a for a in demo["agencies"] if a["code"] == (sys.argv[2:] or ["MJ"])[0])
meta = {"holder_id": demo["citizens"][0]["national_id"], "type": agency["types"][0],
        "reference": f"EX-{uuid.uuid4().hex[:12]}", "title": "Example document",
        "issued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}

# 1. the PDF: one page of text (your own: pdf = open("certificate.pdf", "rb").read())
w, n = PdfFileWriter(), generic.pdf_name
font = generic.DictionaryObject({n("/Type"): n("/Font"), n("/Subtype"): n("/Type1"), n("/BaseFont"): n("/Helvetica")})
text = generic.StreamObject(stream_data=f"BT /F1 14 Tf 72 770 Td ({meta['title']} {meta['reference']}) Tj ET".encode())
fonts = generic.DictionaryObject({n("/Font"): generic.DictionaryObject({n("/F1"): w.add_object(font)})})
w.insert_page(PageObject(w.add_object(text), (0, 0, 595, 842), fonts))
buf = io.BytesIO()
w.write(buf)

# 2. embed document.json (EmbeddedFiles + /AF, AFRelationship /Data), then sign: the signature covers it
inc = IncrementalPdfFileWriter(io.BytesIO(buf.getvalue()))
data = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode()
ef = EmbeddedFileObject.from_file_data(inc, data, mime_type="application/json", params=EmbeddedFileParams())
embed_file(inc, FileSpec(file_spec_string="document.json", file_name="document.json", embedded_data=ef,
                         af_relationship=generic.pdf_name("/Data")))
signer = signers.SimpleSigner.load_pkcs12(agency["pkcs12"], passphrase=agency["pkcs12_password"].encode())
signed = signers.sign_pdf(inc, signers.PdfSignatureMetadata(field_name="AgencySignature"), signer=signer).getvalue()
open("signed.pdf", "wb").write(signed)

# 3. push it (the metadata part may be left out: the signed document.json is the metadata); twice, as a retry
for _ in (1, 2):  # a retry of the same file and metadata is safe: 200 with the same document
    r = requests.post(f"{demo['base_url']}/api/v1/documents", headers={"Authorization": f"Bearer {agency['api_key']}"},
                      files={"file": ("signed.pdf", signed, "application/pdf")}, data={"metadata": json.dumps(meta)},
                      timeout=120)
    print(r.status_code, r.json().get("id") or r.json())
sys.exit(0 if r.ok else 1)
