"""One commit per request, in one place (issue 12): the request's unit of work ends in
``WalletFlask.dispatch_request``; a failed commit is answered like an exception of the view (no blob left);
rejections keep their audit event through ``db.record_rejection``; the QR look (both databases) is the one
documented exception (autocommit); nothing in views, auth, services or the CLI commits."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.support.shares import token_of

ROOT = Path(__file__).resolve().parents[2]


def _blobs(app: Any, prefix: str = "documents/") -> list[str]:
    return [b.key or b.location for b in app.extensions["wallet.runtime"].store.iter_blobs(prefix)]


def _count(app: Any, model: Any) -> int:
    from wallet import db

    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(model)) or 0)


def _fail_commits(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def commit(self: Session) -> None:
        raise exc

    monkeypatch.setattr(Session, "commit", commit)


@pytest.mark.parametrize(("exc", "status", "code"), [
    (OperationalError("COMMIT", {}, Exception("server closed the connection"), connection_invalidated=True),
     503, "unavailable"),
    (RuntimeError("commit failed"), 500, "internal_error"),
])
def test_a_failed_commit_after_the_view_is_an_error_and_leaves_no_blob(
        app: Any, push: Any, signed_pdf: Any, monkeypatch: pytest.MonkeyPatch,
        exc: BaseException, status: int, code: str) -> None:
    from wallet.documents.models import Document

    pdf = signed_pdf("MJ")
    _fail_commits(monkeypatch, exc)
    r = push(pdf)
    monkeypatch.undo()
    assert r.status_code == status and r.json["code"] == code
    assert (r.headers.get("Retry-After") is not None) == (status == 503)
    assert _count(app, Document) == 0
    assert _blobs(app) == []  # the compensation removed the sealed original


def test_a_refused_push_keeps_its_audit_event_and_nothing_else(app: Any, push: Any, signed_pdf: Any) -> None:
    from wallet import db
    from wallet.audit import AuditEvent, verify_chain
    from wallet.documents.models import Document

    assert push(signed_pdf("MJ")).status_code == 201  # an event before: the chain goes on from it
    r = push(signed_pdf("ROGUE"))
    assert r.status_code == 422
    with app.app_context():
        sess = db.session()
        refused = sess.execute(select(AuditEvent).where(AuditEvent.action == "document.push",
                                                        AuditEvent.outcome == r.json["code"])).scalars().all()
        assert len(refused) == 1
        assert verify_chain(sess)[0].ok
    assert _count(app, Document) == 1
    assert len(_blobs(app)) == 1


def test_a_signed_metadata_mismatch_keeps_its_audit_event(app: Any, push: Any, signed_pdf: Any) -> None:
    from wallet import db
    from wallet.audit import AuditEvent
    from wallet.documents.models import Document

    r = push(signed_pdf("MJ"), resign=False, reference="REF-OTHER")
    assert r.status_code == 422 and r.json["code"] == "metadata_mismatch"
    with app.app_context():
        kept = db.session().scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.outcome == "metadata_mismatch"))
    assert kept == 1
    assert _count(app, Document) == 0 and _blobs(app) == []


def test_a_failed_sign_in_keeps_its_audit_event(app: Any, client: Any) -> None:
    from wallet import db
    from wallet.audit import AuditEvent

    r = client.post("/api/v1/auth/login", json={"national_id": "ZZ999999", "password": "wrong-password",
                                                "otp": "000000"})
    assert r.status_code == 401 and r.json["code"] == "invalid_credentials"
    with app.app_context():
        kept = db.session().scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "citizen.login", AuditEvent.outcome == "invalid_credentials"))
    assert kept == 1


def test_an_error_answer_returned_by_a_view_rolls_back(app: Any) -> None:
    """pyramid_tm's veto: a view that returns a 4xx response without raising commits nothing."""
    from wallet import db
    from wallet.agencies import service

    @app.get("/test-veto")
    def veto() -> Any:
        service.add_agency(db.session(), "VETO", "Veto", ["criminal_record"], {"fr": "Veto"})
        return {"refused": True}, 409

    r = app.test_client().get("/test-veto")
    assert r.status_code == 409
    with app.app_context():
        assert service.get_by_code(db.session(), "VETO") is None


@pytest.mark.committed_db
def test_the_qr_look_is_kept_even_when_the_request_fails(
        app: Any, holder: Any, issue: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented exception (``verification.looks.look_connection``): on both databases the look runs on
    its own autocommit connection and is kept the moment it ran (SQLite: its own short BEGIN IMMEDIATE)."""
    from wallet import db
    from wallet.shares.models import Share, ShareView

    from wallet.verification import views

    share = holder.share([issue()["id"]], max_views=5).get_json()

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("the answer failed after the look")

    monkeypatch.setattr(views, "look_payload", broken)  # the request fails after the look ran
    r = app.test_client().get(f"/api/v1/verify/{token_of(share)}")
    monkeypatch.undo()
    assert r.status_code == 500
    with app.app_context():
        sess = db.session()
        used = sess.scalar(select(Share.views_used).where(Share.id == share["id"]))
        logged = sess.scalar(select(func.count()).select_from(ShareView).where(ShareView.share_id == share["id"]))
    assert (used, logged) == (1, 1)


def test_a_refused_download_keeps_the_holders_log(app: Any, holder: Any, issue: Any) -> None:
    from wallet import db
    from wallet.shares.models import ShareView

    share = holder.share([issue()["id"]], allow_download=True).get_json()
    assert holder.client.delete(f"/api/v1/me/shares/{share['id']}", headers=holder.headers).status_code == 200
    r = app.test_client().get(f"/v/{token_of(share)}/copy.pdf?item=0")
    assert r.status_code == 404
    with app.app_context():
        results = db.session().scalars(select(ShareView.result).where(ShareView.share_id == share["id"])).all()
    assert list(results) == ["share_revoked"]


# -- no commit anywhere else -----------------------------------------------------------------------------

COMMITTING = re.compile(r"\.commit\(|commit\s*=\s*True")
ALLOWED = {"wallet/db.py"}  # finish, transaction, batch, and record_rejection's own transaction


def committing_lines(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / "wallet").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if COMMITTING.search(line.split("#", 1)[0]):
                found.append(f"{rel}:{n}: {line.strip()}")
    return found


def test_nothing_but_the_unit_of_work_commits() -> None:
    assert committing_lines() == []


def test_the_commit_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "wallet" / "web").mkdir(parents=True)
    (tmp_path / "wallet" / "web" / "views.py").write_text("def v():\n    db.commit()\n", encoding="utf-8")
    assert committing_lines(tmp_path) == ["wallet/web/views.py:2: db.commit()"]
