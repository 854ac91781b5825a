"""Agency API: batch issuance (``POST /api/v1/batches``, ``GET /api/v1/batches/{id}``). Thin: read the upload
as a stream, call the batch service, serialise."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, APIFlask
from flask import g, request
from flask.blueprints import BlueprintSetupState

from wallet import db, rules
from wallet.agencies.auth import current_agency
from wallet.documents import batches
from wallet.documents.schemas import BATCH_MANIFEST_SCHEMA, BatchCreatedOut, BatchOut
from wallet.errors import TooLarge
from wallet.extensions import runtime
from wallet.present import problem_responses

bp = APIBlueprint("batches_api", __name__, url_prefix="/api/v1", tag="Agency")

UPLOAD_LIMIT = "60/minute"
READ_LIMIT = "1200/minute"
PROBLEMS = problem_responses({
    400: "Bad manifest: bad_manifest (not JSON, not multipart, a part twice or not in the manifest), missing_file, "
         "duplicate_reference, batch_too_large (more than 1,000 documents); bad_metadata (member `errors` by entry)",
    401: "Bad or missing API key", 404: "Not found (or another agency's batch)",
    413: "The batch is larger than 200 MB (or its manifest than 1,000 entries of metadata)"})


def batch_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The upload's request body in the OpenAPI document (the view reads the stream itself, not a form)."""
    post = doc["paths"].get("/api/v1/batches", {}).get("post")
    if post is not None:
        post["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["manifest"], "properties": {
                "manifest": {"type": "string", "contentMediaType": "application/json",
                             "contentSchema": BATCH_MANIFEST_SCHEMA,
                             "description": 'JSON text: {"documents": [{"file": "<part name>", "metadata": '
                                            '{...DocumentMetadata}}]}'}},
                "additionalProperties": {"type": "string", "format": "binary",
                                         "description": "one agency-signed PDF per manifest entry, under the part "
                                                        "name its entry gives"}},
            "encoding": {"manifest": {"contentType": "application/json"}}}}}
    return doc


@bp.record_once
def _batch_spec(state: BlueprintSetupState) -> None:
    app = state.app
    if not isinstance(app, APIFlask) or app.config["SPEC_PROCESSOR_PASS_OBJECT"]:
        raise TypeError("the batch API's OpenAPI processor needs an APIFlask app passing the spec as a dict")
    before = app.spec_callback

    def processor(doc: Any) -> Any:
        doc = before(doc) if before is not None else doc
        if not isinstance(doc, dict):
            raise TypeError(f"the OpenAPI spec is {type(doc).__name__}, not a JSON object")
        return batch_spec(doc)

    app.spec_processor(processor)


@bp.before_request
def _batch_limits() -> None:
    """The upload's own limits, for this endpoint only: its body may reach the batch's size (the app's
    MAX_CONTENT_LENGTH is a single push's); 413 before the body is read when its declared length says so."""
    if request.method == "POST" and request.endpoint == "batches_api.create_batch":
        s = runtime().settings
        limit = batches.body_limit(s.batch_max_documents, s.batch_max_bytes)
        request.max_content_length = limit
        request.max_form_memory_size = batches.manifest_limit(s.batch_max_documents)
        request.max_form_parts = s.batch_max_documents + 1
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(f"the batch is larger than {s.batch_max_bytes} bytes")


@bp.post("/batches")
@rules.agency(scope="documents:push", limit=UPLOAD_LIMIT)
@bp.output(BatchCreatedOut, status_code=202, description="Accepted: the documents are queued for the workers")
@bp.doc(summary="Push up to 1,000 agency-signed PDFs at once; each is checked and stored by the workers",
        responses=PROBLEMS.only(400, 401, 413))
def create_batch() -> Any:
    s = runtime().settings
    boundary = request.mimetype_params.get("boundary", "")
    if request.mimetype != "multipart/form-data" or not boundary:
        raise batches.BadManifest("the body must be multipart/form-data (a `manifest` part and the files)")
    agency_id = current_agency().id
    sess = db.session()
    sess.rollback()  # no transaction while the body arrives (on SQLite: not the write lock for a slow upload)
    upload = batches.Upload(s.max_upload_bytes, s.batch_max_bytes)
    try:
        manifest, files = batches.read_multipart(request.stream.read, boundary.encode("latin-1"), upload,
                                                 batches.manifest_limit(s.batch_max_documents),
                                                 s.batch_max_documents + 1)
        entries = batches.check_manifest(manifest, files.keys(), s.batch_max_documents)
        batch = batches.create(runtime(), sess, agency_id, entries, files, g.get("request_id"))
        return batches.summary(batch), 202
    finally:
        upload.close()  # the temporary files: the encrypted copies are in the blob store


@bp.get("/batches/<batch_id>")
@rules.agency(scope="documents:read", limit=READ_LIMIT)
@bp.output(BatchOut)
@bp.doc(summary="A batch's progress and each item's outcome (only the agency that sent it; others are 404)",
        responses=PROBLEMS.only(401, 404))
def get_batch(batch_id: str) -> Any:
    sess = db.session()
    return batches.to_resource(sess, batches.get_for_agency(sess, current_agency(), batch_id))
