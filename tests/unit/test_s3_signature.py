"""Our S3 Signature Version 4 against the worked examples in Amazon's S3 API reference
(sig-v4-header-based-auth: GET Object with a Range, GET Bucket Lifecycle, List Objects)."""

from __future__ import annotations

import datetime as dt

import pytest

from ninjait.backup.s3 import EMPTY_SHA256, Target, sign

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
WHEN = dt.datetime(2013, 5, 24, tzinfo=dt.UTC)
HOST = "examplebucket.s3.amazonaws.com"


@pytest.mark.parametrize(("path", "params", "headers", "signed_headers", "signature"), [
    ("/test.txt", {}, {"Range": "bytes=0-9"}, "host;range;x-amz-content-sha256;x-amz-date",
     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
    ("/", {"lifecycle": ""}, {}, "host;x-amz-content-sha256;x-amz-date",
     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
    ("/", {"max-keys": "2", "prefix": "J"}, {}, "host;x-amz-content-sha256;x-amz-date",
     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
])
def test_it_signs_amazons_examples(path: str, params: dict[str, str], headers: dict[str, str], signed_headers: str,
                                   signature: str) -> None:
    out = sign("GET", HOST, path, params, headers, EMPTY_SHA256, "us-east-1", KEY, SECRET, WHEN)
    assert out["Authorization"] == (f"AWS4-HMAC-SHA256 Credential={KEY}/20130524/us-east-1/s3/aws4_request, "
                                    f"SignedHeaders={signed_headers}, Signature={signature}")
    assert out["x-amz-date"] == "20130524T000000Z" and out["x-amz-content-sha256"] == EMPTY_SHA256


@pytest.mark.parametrize(("url", "reason"), [
    ("s3.example.com/bucket", "must look like"), ("ftp://s3.example.com/bucket", "must look like"),
    ("https://s3.example.com/", "names no bucket"), ("https://s3.example.com/b?x=1", "query"),
])
def test_it_refuses_urls_it_cannot_use(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Target.parse(url, "us-east-1", "k", "s")


def test_it_reads_bucket_and_prefix() -> None:
    t = Target.parse("https://s3.example.com:9000/backups/msp/appliance-1/", "eu", "k", "s")
    assert (t.endpoint, t.bucket, t.prefix) == ("https://s3.example.com:9000", "backups", "msp/appliance-1/")
    assert Target.parse("https://s3.example.com/backups", "eu", "k", "s").prefix == ""
