"""Off-site copies of backups in S3-compatible object storage (AWS S3, Backblaze B2, Wasabi, MinIO, ...).

A small client of our own instead of boto3 (whose data files would add tens of megabytes to the
one-file binary): AWS Signature Version 4 over httpx, path-style URLs (``endpoint/bucket/key``, which
every S3-compatible store accepts), single PUTs for small archives and multipart uploads above
``PART_SIZE``. Each request carries the SHA-256 of its body, so the store refuses a corrupted upload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import httpx

PART_SIZE = 32 << 20  # S3 wants 5 MiB to 5 GiB per part and at most 10,000 parts: 312 GiB at this size
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Error(Exception):
    """An upload, listing or deletion the store refused or that could not reach it; one readable line."""


@dataclass(frozen=True)
class Target:
    endpoint: str  # https://s3.eu-central-1.amazonaws.com
    bucket: str
    prefix: str  # "" or "ninjait/" (always ends with "/")
    region: str
    access_key: str
    secret_key: str

    @staticmethod
    def parse(url: str, region: str, access_key: str, secret_key: str) -> Target:
        """``https://host[:port]/bucket[/prefix]`` → a target; raises ValueError with a reason."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("must look like https://s3.example.com/bucket[/prefix]")
        bucket, _, prefix = parts.path.strip("/").partition("/")
        if not bucket:
            raise ValueError("names no bucket: https://s3.example.com/bucket[/prefix]")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return Target(f"{parts.scheme}://{parts.netloc}", bucket, prefix.strip("/") + "/" if prefix.strip("/") else "",
                      region, access_key, secret_key)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))


def sign(method: str, host: str, path: str, params: dict[str, str], headers: dict[str, str], payload_sha256: str,
         region: str, access_key: str, secret_key: str, now: dt.datetime) -> dict[str, str]:
    """The request's headers with x-amz-date, x-amz-content-sha256 and Authorization added (SigV4, service s3).
    ``path`` is already URI-encoded."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed.update({"host": host, "x-amz-date": stamp, "x-amz-content-sha256": payload_sha256})
    names = sorted(signed)
    canonical = "\n".join([method, path, canonical_query(params), *(f"{n}:{signed[n]}" for n in names), "",
                           ";".join(names), payload_sha256])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k: v for k, v in headers.items()}
    out.update({"x-amz-date": stamp, "x-amz-content-sha256": payload_sha256, "Authorization": (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}")})
    return out


def _reason(r: httpx.Response) -> str:
    try:
        root = ET.fromstring(r.content)
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
        if code:
            return f"{code}: {message}".strip(": ")
    except ET.ParseError:
        pass
    return f"HTTP {r.status_code}"


class Client:
    def __init__(self, target: Target, *, timeout: float = 60.0, verify: Any = True) -> None:
        self.target = target
        self._http = httpx.Client(timeout=timeout, verify=verify)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def key(self, name: str) -> str:
        return self.target.prefix + name

    def _prepare(self, method: str, key: str, params: dict[str, str], body: bytes,
                 headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        t = self.target
        path = "/" + quote(t.bucket, safe="") + ("/" + quote(key, safe="/-_.~") if key else "")
        signed = sign(method, urlsplit(t.endpoint).netloc, path, params, headers, hashlib.sha256(body).hexdigest(),
                      t.region, t.access_key, t.secret_key, dt.datetime.now(dt.UTC))
        return t.endpoint + path + ("?" + canonical_query(params) if params else ""), signed

    def _refused(self, method: str, key: str, r: httpx.Response) -> S3Error:
        return S3Error(f"{method} {self.target.bucket}/{key} refused by {self.target.endpoint}: {_reason(r)}")

    def request(self, method: str, key: str = "", params: dict[str, str] | None = None, body: bytes = b"",
                headers: dict[str, str] | None = None, expect: tuple[int, ...] = (200,)) -> httpx.Response:
        url, signed = self._prepare(method, key, params or {}, body, headers or {})
        try:
            r = self._http.request(method, url, content=body, headers=signed)
        except httpx.HTTPError as exc:
            raise S3Error(f"cannot reach {self.target.endpoint}: {exc}") from None
        if r.status_code not in expect:
            raise self._refused(method, key, r)
        return r

    def download(self, name: str, out: BinaryIO) -> int:
        """Stream ``prefix + name`` into ``out``; returns bytes written."""
        key = self.key(name)
        url, signed = self._prepare("GET", key, {}, b"", {})
        written = 0
        try:
            with self._http.stream("GET", url, headers=signed) as r:
                if r.status_code != 200:
                    r.read()
                    raise self._refused("GET", key, r)
                for chunk in r.iter_bytes(1 << 20):
                    out.write(chunk)
                    written += len(chunk)
        except httpx.HTTPError as exc:
            raise S3Error(f"cannot reach {self.target.endpoint}: {exc}") from None
        return written

    def upload(self, path: Path, name: str) -> int:
        """Copy the file to ``prefix + name``; returns bytes sent. Multipart above PART_SIZE, aborted on failure
        so no half-written object or stray parts remain."""
        size = path.stat().st_size
        key = self.key(name)
        with path.open("rb") as fh:
            if size <= PART_SIZE:
                self.request("PUT", key, body=fh.read(), headers={"Content-Type": "application/octet-stream"})
                return size
            started = self.request("POST", key, params={"uploads": ""})
            upload_id = ET.fromstring(started.content).findtext(f"{S3_NS}UploadId") or ET.fromstring(
                started.content).findtext("UploadId")
            if not upload_id:
                raise S3Error(f"{self.target.endpoint} started no multipart upload")
            try:
                etags = []
                number = 1
                while chunk := fh.read(PART_SIZE):
                    r = self.request("PUT", key, params={"partNumber": str(number), "uploadId": upload_id}, body=chunk)
                    etags.append((number, r.headers.get("ETag", "")))
                    number += 1
                done = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in etags)
                body = f"<CompleteMultipartUpload>{done}</CompleteMultipartUpload>".encode()
                r = self.request("POST", key, params={"uploadId": upload_id}, body=body)
                if b"<Error>" in r.content:  # S3 may answer 200 and still fail a completion
                    raise S3Error(f"completing the upload of {key} failed: {_reason(r)}")
            except BaseException:
                try:
                    self.request("DELETE", key, params={"uploadId": upload_id}, expect=(200, 204, 404))
                except S3Error:
                    pass
                raise
        return size

    def list(self) -> list[dict[str, Any]]:
        """Objects under the prefix (not below a further "/"): name (without the prefix), size, modified."""
        found: list[dict[str, Any]] = []
        params = {"list-type": "2", "prefix": self.target.prefix, "delimiter": "/"}
        while True:
            root = ET.fromstring(self.request("GET", params=params).content)
            for item in root.iter(f"{S3_NS}Contents"):
                key = item.findtext(f"{S3_NS}Key") or ""
                found.append({"name": key[len(self.target.prefix):], "size": int(item.findtext(f"{S3_NS}Size") or 0),
                              "modified": item.findtext(f"{S3_NS}LastModified") or ""})
            token = root.findtext(f"{S3_NS}NextContinuationToken")
            if root.findtext(f"{S3_NS}IsTruncated") != "true" or not token:
                return found
            params = {**params, "continuation-token": token}

    def delete(self, name: str) -> None:
        self.request("DELETE", self.key(name), expect=(200, 204))
