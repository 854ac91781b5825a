"""Blob storage behind one small interface (in the spirit of warehouse's ``IFileStorage``).

The wallet keeps encrypted document blobs (the app encrypts with AES-GCM before calling
``put``); a store only moves opaque bytes under a key.  Two implementations:

* :class:`LocalStore` -- a directory on local disk (development, single-node deployments);
* :class:`S3Store` -- any S3-compatible server (AWS, Ceph RGW, MinIO, moto in tests).

``open_store("file:///abs/path")`` / ``open_store("s3://bucket/prefix", endpoint_url=...)``
picks one from a URL.  This module must not import Flask.

Keys are validated identically by both backends so that a key accepted in development is
accepted in production: 1..1024 characters of ``[A-Za-z0-9/_.-]``, no ``..``, no leading or
trailing ``/``, no empty path segment (``//``), no ``.`` segment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

from wallet.private_files import make_private_dirs

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "Leftover",
    "InvalidKey",
    "LocalStore",
    "S3Store",
    "StorageUnavailable",
    "open_store",
    "validate_key",
]

MAX_KEY_LENGTH = 1024
_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*")


class BlobNotFound(KeyError):
    """No blob is stored under this key."""


class StorageUnavailable(RuntimeError):
    """The storage backend cannot be reached or used (for /readyz and 503 answers)."""


class InvalidKey(ValueError):
    """The key is not acceptable (hostile path, bad characters, too long...)."""


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob, as a listing sees it.

    ``key`` is the blob's key, or None when the store holds something whose key it cannot tell (a LocalStore
    file named only by its key's hash, an object outside the key syntax); ``location`` names it for the
    operator and for :meth:`BlobStore.remove` (a path under the root, or the S3 object key)."""

    key: str | None
    location: str
    size: int
    modified: dt.datetime  # UTC


@dataclass(frozen=True)
class Leftover:
    """Debris of an interrupted write: a LocalStore temp file, an S3 incomplete multipart upload."""

    name: str  # stable, for the operator: a path or "multipart:<object key>:<upload id>"
    modified: dt.datetime  # UTC
    handle: tuple[str, ...] = ()


@runtime_checkable
class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically: readers never see a partial blob."""

    def get(self, key: str) -> bytes:
        """Return the blob; raise :class:`BlobNotFound` if there is none."""

    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error."""

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""

    def ping(self) -> None:
        """Raise :class:`StorageUnavailable` if the backend is not usable."""

    def iter_blobs(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[BlobInfo]:
        """Every stored blob whose key starts with ``prefix``, fetched ``page_size`` at a time (bounded memory,
        any store size). Order is the backend's own; a blob written during the walk may or may not appear."""

    def remove(self, blob: BlobInfo) -> None:
        """Delete a listed blob by its ``location`` (works for blobs whose key is unknown)."""

    def iter_leftovers(self) -> Iterator[Leftover]:
        """Debris of interrupted writes (temp files, incomplete multipart uploads)."""

    def remove_leftover(self, leftover: Leftover) -> None:
        """Remove one; removing one already gone is not an error."""


def validate_key(key: object) -> str:
    """Return ``key`` if it is an acceptable blob key, else raise :class:`InvalidKey`."""
    if not isinstance(key, str):
        raise InvalidKey(f"blob key must be str, not {type(key).__name__}")
    if not key:
        raise InvalidKey("blob key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"blob key longer than {MAX_KEY_LENGTH} characters")
    if ".." in key:
        raise InvalidKey("blob key contains '..'")
    if not _KEY_RE.fullmatch(key):
        # covers NUL and other control characters, '\\', leading/trailing '/', '//', spaces, non-ASCII
        raise InvalidKey(
            "blob key must be [A-Za-z0-9_.-] segments separated by single '/', without leading or trailing '/'"
        )
    if any(seg == "." for seg in key.split("/")):
        raise InvalidKey("blob key contains a '.' segment")
    return key


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"blob data must be bytes, not {type(data).__name__}")


# --------------------------------------------------------------------------------------------
# Local directory
# --------------------------------------------------------------------------------------------


class LocalStore:
    """Blobs as files under ``root``.

    A key is stored at ``root/<h0h1>/<h2h3>/k=<key with "/" as "+">`` where ``h`` is sha256(key) hex
    (two levels of 256-way fan-out), so any valid key maps to exactly one regular file: no
    file/directory clashes between ``a`` and ``a/b``, and no key can name a path outside ``root``.
    The name carries the key so that :meth:`iter_blobs` can list keys (fsck); a key too long
    for a file name (over 253 characters) is stored as ``<sha256(key) hex>``, the layout of
    earlier versions, which reads still find.

    Writes go to a temporary file in the destination directory, are fsync'ed, then renamed
    over the destination with ``os.replace`` (atomic on POSIX) and the directory is fsync'ed.
    On any failure the temporary file is removed.
    """

    _TMP_PREFIX = ".tmp-"
    _KEY_PREFIX = "k="
    _MAX_NAME = 255

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        if not self.root.is_absolute():
            raise ValueError(f"LocalStore root must be an absolute path: {root!r}")
        try:
            make_private_dirs(self.root)  # 0700: blobs are ciphertext, their names and sizes are still private
        except OSError:
            pass  # reported by ping() / the first operation

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _paths(self, key: str) -> tuple[Path, Path]:
        """(where the key is written, where earlier versions wrote it); the same path for a long key."""
        validate_key(key)
        digest = hashlib.sha256(key.encode("ascii")).hexdigest()
        folder = self.root / digest[0:2] / digest[2:4]
        name = self._KEY_PREFIX + key.replace("/", "+")
        return (folder / name if len(name) <= self._MAX_NAME else folder / digest), folder / digest

    def put(self, key: str, data: bytes) -> None:
        data = _as_bytes(data)
        dest, legacy = self._paths(key)
        make_private_dirs(dest.parent)
        fd, tmp_name = tempfile.mkstemp(prefix=self._TMP_PREFIX, dir=dest.parent)  # 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, dest)
        except BaseException:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
            raise
        if legacy != dest:
            try:
                legacy.unlink()  # an earlier version's copy of this key: the new one supersedes it
            except (FileNotFoundError, NotADirectoryError):
                pass
        _fsync_dir(dest.parent)

    def get(self, key: str) -> bytes:
        for path in dict.fromkeys(self._paths(key)):
            try:
                with open(path, "rb") as fh:
                    return fh.read()
            except (FileNotFoundError, NotADirectoryError):
                continue
        raise BlobNotFound(key)

    def delete(self, key: str) -> None:
        removed = False
        for path in dict.fromkeys(self._paths(key)):
            try:
                path.unlink()
                removed = True
            except (FileNotFoundError, NotADirectoryError):
                pass
        if removed:
            _fsync_dir(self._paths(key)[0].parent)

    def exists(self, key: str) -> bool:
        return any(p.is_file() for p in dict.fromkeys(self._paths(key)))

    def ping(self) -> None:
        root = self.root
        try:
            make_private_dirs(root)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create storage root {root}: {exc}") from exc
        if not root.is_dir():
            raise StorageUnavailable(f"storage root {root} is not a directory")
        if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
            raise StorageUnavailable(f"storage root {root} is not readable and writable")

    # -- listing (fsck) ----------------------------------------------------------------------

    def _walk(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Every regular file under the root, one directory listing in memory at a time."""
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageUnavailable(f"cannot list {folder}: {exc}") from exc
            subdirs = []
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        yield Path(entry.path), entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while we looked
            stack.extend(reversed(subdirs))

    def _key_of(self, path: Path) -> str | None:
        """The key a file holds, if its name and place say so (else None: legacy, long key or stray file)."""
        name = path.name
        if not name.startswith(self._KEY_PREFIX):
            return None
        key = name[len(self._KEY_PREFIX):].replace("+", "/")
        try:
            if self._paths(key)[0] != path:
                return None  # a file whose name does not match its folder: not one this store wrote
        except InvalidKey:
            return None
        return key

    def iter_blobs(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[BlobInfo]:
        for path, st in self._walk():
            if path.name.startswith(self._TMP_PREFIX):
                continue
            key = self._key_of(path)
            if prefix and (key is None or not key.startswith(prefix)):
                continue
            yield BlobInfo(key, str(path.relative_to(self.root)), st.st_size,
                           dt.datetime.fromtimestamp(st.st_mtime, dt.UTC))

    def _located(self, location: str) -> Path:
        path = (self.root / location).resolve()
        if self.root.resolve() not in path.parents:
            raise InvalidKey(f"location outside the store: {location!r}")
        return path

    def remove(self, blob: BlobInfo) -> None:
        path = self._located(blob.location)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        _fsync_dir(path.parent)

    def iter_leftovers(self) -> Iterator[Leftover]:
        for path, st in self._walk():
            if path.name.startswith(self._TMP_PREFIX):
                yield Leftover(str(path), dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
                               (str(path.relative_to(self.root)),))

    def remove_leftover(self, leftover: Leftover) -> None:
        path = self._located(leftover.handle[0])
        if not path.name.startswith(self._TMP_PREFIX):
            raise InvalidKey(f"not a temp file: {leftover.name!r}")
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            pass


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------------------------

# Operations: fail fast when the server is down (short connect timeout, 3 attempts in all with
# jittered back-off for throttling/5xx), but give a loaded server time to answer.
_OP_CONFIG = {"connect_timeout": 3, "read_timeout": 30, "retries": {"max_attempts": 3, "mode": "standard"}}
# ping(): for /readyz; one attempt, answer within a few seconds whatever happens.
_PING_CONFIG = {"connect_timeout": 1, "read_timeout": 3, "retries": {"max_attempts": 1, "mode": "standard"}}

_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}


class S3Store:
    """Blobs as objects in an S3 bucket, under an optional key prefix.

    One boto3 client is created in ``__init__`` and reused (boto3 clients are thread-safe;
    sessions are not, so none is kept).  A second client with tighter timeouts and no retries
    serves ``ping``.  S3 ``PutObject`` is atomic: readers see the old object or the new one.

    Connection failures and timeouts surface as :class:`StorageUnavailable`; a missing
    object as :class:`BlobNotFound`; other S3 errors (access denied, bad signature...) as
    botocore's ``ClientError``.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        session_token: str | None = None,
    ) -> None:
        # boto3 (0.3 s) and botocore's Config (urllib3 and the rest: 50 ms) only when S3 storage is configured;
        # botocore's exceptions (15 ms) are imported at the top
        import boto3  # noqa: PLC0415 - optional heavy backend, loaded for S3 storage only
        from botocore.config import Config  # noqa: PLC0415 - as boto3

        if not bucket:
            raise ValueError("S3Store needs a bucket name")
        self.bucket = bucket
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
            prefix += "/"
        self.prefix = prefix
        self.endpoint_url = endpoint_url

        common: dict[str, Any] = {
            "signature_version": "s3v4",
            # botocore >= 1.36 adds CRC32 checksums (aws-chunked trailers) to uploads by default;
            # some S3-compatible servers mishandle them.  Plain requests only (Ceph 16 accepts both).
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            "max_pool_connections": 20,
            "user_agent_extra": "citizen-wallet",
        }
        if endpoint_url:
            # custom endpoints (Ceph, MinIO, moto) rarely have wildcard DNS for virtual hosts
            common["s3"] = {"addressing_style": "path"}
        kwargs: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
            "aws_session_token": session_token,
        }
        # a session of its own: boto3's default session caches the first credentials it resolves for the process
        session = boto3.session.Session()
        self._client = session.client("s3", config=Config(**common, **_OP_CONFIG), **kwargs)
        self._ping_client = session.client("s3", config=Config(**common, **_PING_CONFIG), **kwargs)

    def __repr__(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3Store(s3://{self.bucket}/{self.prefix}{where})"

    @property
    def client(self) -> Any:
        """The underlying boto3 client (e.g. for presigned URLs)."""
        return self._client

    def object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    # -- errors --------------------------------------------------------------------------

    @staticmethod
    def _is_unavailable(exc: BaseException) -> bool:
        return isinstance(exc, (BotoConnectionError, HTTPClientError, ReadTimeoutError))

    @staticmethod
    def _error_code(exc: BaseException) -> str:
        response = getattr(exc, "response", None) or {}
        return str(response.get("Error", {}).get("Code", ""))

    def _call(self, op: str, key: str, **params: Any) -> Any:
        try:
            return getattr(self._client, op)(Bucket=self.bucket, **params)
        except ClientError as exc:
            if self._error_code(exc) in _NOT_FOUND_CODES:
                raise BlobNotFound(key) from None
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise StorageUnavailable(f"S3 {op} failed: {exc}") from exc
            raise
        except Exception as exc:
            if self._is_unavailable(exc):
                raise StorageUnavailable(f"S3 {op} failed: {exc}") from exc
            raise

    # -- BlobStore -------------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        data = _as_bytes(data)
        self._call("put_object", key, Key=self.object_key(key), Body=data, ContentType="application/octet-stream")

    def get(self, key: str) -> bytes:
        resp = self._call("get_object", key, Key=self.object_key(key))
        try:
            with resp["Body"] as body:
                data: bytes = body.read()  # boto3 is untyped
                return data
        except ClientError:
            raise
        except Exception as exc:
            if self._is_unavailable(exc) or isinstance(exc, OSError):
                raise StorageUnavailable(f"S3 get_object body read failed: {exc}") from exc
            raise

    def delete(self, key: str) -> None:
        try:
            self._call("delete_object", key, Key=self.object_key(key))
        except BlobNotFound:
            pass  # S3 answers 204 for a missing key; some servers 404 -- both mean "gone"

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key, Key=self.object_key(key))
        except BlobNotFound:
            return False
        return True

    def ping(self) -> None:
        try:
            self._ping_client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = self._error_code(exc)
            raise StorageUnavailable(f"S3 bucket {self.bucket!r} not usable: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 endpoint unreachable: {exc}") from exc

    # -- listing (fsck) ----------------------------------------------------------------------

    def _pages(self, op: str, **params: Any) -> Iterator[dict[str, Any]]:
        try:
            yield from self._client.get_paginator(op).paginate(Bucket=self.bucket, **params)
        except Exception as exc:
            if self._is_unavailable(exc) or (getattr(exc, "response", None) or {}).get(
                    "ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise StorageUnavailable(f"S3 {op} failed: {exc}") from exc
            raise

    def iter_blobs(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[BlobInfo]:
        for page in self._pages("list_objects_v2", Prefix=self.prefix + prefix,
                                PaginationConfig={"PageSize": max(1, min(page_size, 1000))}):
            for obj in page.get("Contents", []):
                name: str = obj["Key"]
                key: str | None = name[len(self.prefix):]
                try:
                    validate_key(key)
                except InvalidKey:
                    key = None
                modified = obj["LastModified"]
                yield BlobInfo(key, name, int(obj.get("Size", 0)),
                               modified.astimezone(dt.UTC) if modified.tzinfo else modified.replace(tzinfo=dt.UTC))

    def remove(self, blob: BlobInfo) -> None:
        if not blob.location.startswith(self.prefix):
            raise InvalidKey(f"location outside the store's prefix: {blob.location!r}")
        try:
            self._call("delete_object", blob.location, Key=blob.location)
        except BlobNotFound:
            pass

    def iter_leftovers(self) -> Iterator[Leftover]:
        for page in self._pages("list_multipart_uploads", Prefix=self.prefix):
            for up in page.get("Uploads", []):
                initiated = up["Initiated"]
                yield Leftover(f"multipart:{up['Key']}:{up['UploadId']}",
                               initiated.astimezone(dt.UTC) if initiated.tzinfo else initiated.replace(tzinfo=dt.UTC),
                               (up["Key"], up["UploadId"]))

    def remove_leftover(self, leftover: Leftover) -> None:
        key, upload_id = leftover.handle
        try:
            self._call("abort_multipart_upload", key, Key=key, UploadId=upload_id)
        except BlobNotFound:
            pass
        except ClientError as exc:
            if self._error_code(exc) != "NoSuchUpload":  # already completed or aborted
                raise

    # -- admin -----------------------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (idempotent)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if self._error_code(exc) not in _NOT_FOUND_CODES | {"NoSuchBucket"}:
                raise
        params: dict[str, Any] = {"Bucket": self.bucket}
        region = self._client.meta.region_name
        if region and region != "us-east-1" and not self.endpoint_url:
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._client.create_bucket(**params)
        except ClientError as exc:
            if self._error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise


# --------------------------------------------------------------------------------------------


def open_store(url: str, **s3_options: Any) -> BlobStore:
    """``file:///abs/path`` -> :class:`LocalStore`; ``s3://bucket[/prefix]`` -> :class:`S3Store`.

    ``s3_options`` (``endpoint_url``, ``region``, ``access_key``, ``secret_key``...) are passed
    to :class:`S3Store`; they are an error for ``file:`` URLs.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise ValueError(f"storage URL must not have a query or fragment: {url!r}")
    if scheme == "file":
        if s3_options:
            raise ValueError(f"S3 options given for a file: storage URL: {sorted(s3_options)}")
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file: storage URL must be file:///absolute/path, got {url!r}")
        path = unquote(parts.path)
        if not path.startswith("/") or "\x00" in path:
            raise ValueError(f"file: storage URL must be file:///absolute/path, got {url!r}")
        return LocalStore(Path(path))
    if scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"s3: storage URL must be s3://bucket[/prefix], got {url!r}")
        return S3Store(parts.netloc, prefix=unquote(parts.path).strip("/"), **s3_options)
    raise ValueError(f"unsupported storage URL {url!r}: use file:///abs/path or s3://bucket[/prefix]")
