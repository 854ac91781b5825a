"""What an integrator generating a client from the OpenAPI document gets: every reference resolves, the push's
metadata part is described field by field, the identical replay has a body schema, and a 401 says whether the
key was missing or wrong."""
from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage

from wallet.agencies.auth import BAD_KEY, NO_KEY
from wallet.documents.schemas import DocumentMetadata


def refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Every ``$ref`` in the document, with where it was found."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{where}/{i}")


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref}: only local references are expected"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve (no {part!r})"
        node = node[part]
    return node


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/api/v1/openapi.json").get_json()
    return doc


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    found = list(refs(spec))
    assert len(found) > 50  # the walk reaches the paths and the components
    for where, ref in found:
        assert resolve(spec, ref) is not None, where
    assert ("#/components/schemas/PushForm/properties/metadata/contentSchema",
            "#/components/schemas/DocumentMetadata") in found


def test_the_walk_finds_a_dangling_reference(spec: dict[str, Any]) -> None:
    spec["paths"]["/x"] = {"get": {"responses": {"200": {"$ref": "#/components/schemas/Nowhere"}}}}
    with pytest.raises(AssertionError, match="Nowhere"):
        for _where, ref in refs(spec):
            resolve(spec, ref)


def test_document_metadata_has_every_field_with_examples(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["DocumentMetadata"]
    fields = set(DocumentMetadata().fields)
    assert set(schema["properties"]) == fields == {"holder_id", "type", "reference", "issued_at", "expires_at",
                                                  "title", "attributes", "replaces"}
    assert set(schema["required"]) == {"holder_id", "type", "reference", "issued_at"}
    for name, prop in schema["properties"].items():
        assert prop.get("description") and "example" in prop, name
    for optional in ("expires_at", "title", "replaces"):
        assert "null" in schema["properties"][optional]["type"], optional
    full, minimal = schema["examples"]
    assert set(full) == fields - {"replaces"} and set(minimal) == set(schema["required"])
    assert DocumentMetadata().load(full) and DocumentMetadata().load(minimal)  # the examples are valid input


def test_the_metadata_part_points_at_document_metadata(spec: dict[str, Any]) -> None:
    push = spec["paths"]["/api/v1/documents"]["post"]
    form = push["requestBody"]["content"]["multipart/form-data"]
    assert form["encoding"]["metadata"]["contentType"] == "application/json"
    part = resolve(spec, form["schema"]["$ref"])["properties"]["metadata"]
    assert part["type"] == "string" and part["contentMediaType"] == "application/json"
    assert part["contentSchema"] == {"$ref": "#/components/schemas/DocumentMetadata"}


def test_the_identical_replay_has_the_document_schema(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/api/v1/documents"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == \
        responses["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DocumentOut"}


def test_a_metadata_part_sent_as_application_json_is_read(push: Any, client: Any, agencies: Any,
                                                         signed_pdf: Any) -> None:
    """The encoding the document declares (the part's Content-Type: application/json) is accepted as sent."""
    pdf = signed_pdf("MJ")

    def send(meta: dict[str, Any]) -> Any:
        part = FileStorage(io.BytesIO(json.dumps(meta).encode()), filename=None, name="metadata",
                           content_type="application/json")
        return client.post("/api/v1/documents", headers={"Authorization": f"Bearer {agencies['MJ']['key']}"},
                           data={"file": (io.BytesIO(pdf), "doc.pdf", "application/pdf"), "metadata": part})

    other = send({**pdf.meta, "reference": "OTHER-1"})  # the part is read: it disagrees with the signed one
    assert other.status_code == 422 and other.get_json()["field"] == "reference", other.get_json()
    resp = send(pdf.meta)
    assert resp.status_code == 201, resp.get_json()
    again = push(pdf)
    assert again.status_code == 200 and again.get_json()["id"] == resp.get_json()["id"]


@pytest.mark.parametrize("url", ["/api/v1/documents/x", "/api/v1/documents"])
def test_a_missing_key_and_a_wrong_key_say_different_things(client: Any, agencies: Any, url: str) -> None:
    method = client.post if url.endswith("documents") else client.get
    answers = {
        "none": method(url),
        "empty": method(url, headers={"Authorization": "Bearer "}),
        "other scheme": method(url, headers={"Authorization": "Basic QUI6Y2Q="}),
        "wrong": method(url, headers={"Authorization": "Bearer wk_" + "x" * 43}),
        "revoked": method(url, headers={"Authorization": f"Bearer {agencies['MJ']['key']}x"}),
    }
    for name, resp in answers.items():
        assert resp.status_code == 401, name
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        body = resp.get_json()
        assert body["code"] == "unauthorized" and body["status"] == 401
        assert body["detail"] == (BAD_KEY if name in ("wrong", "revoked") else NO_KEY), name
    assert NO_KEY != BAD_KEY and "Authorization: Bearer" in NO_KEY and "not valid" in BAD_KEY
