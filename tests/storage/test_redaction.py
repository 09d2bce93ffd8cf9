"""Credentials never show: not in reprs, error messages, tracebacks, CLI output or records.

Random secrets go into the URL's userinfo and query and into secret-like storage_options;
then errors are provoked on the real emulators (a missing bucket, a bucket name the client
refuses, wrong credentials) and everything a user could see is searched for the secret.
"""

from __future__ import annotations

import json
import string
import traceback
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelshelf
from modelshelf.cli import cli
from modelshelf.errors import (
    BackendRequestError,
    ConfigurationError,
    ModelshelfError,
    StorageError,
)
from modelshelf.storage import open_storage, redact, redact_url, secrets_of
from tests._servers import Endpoint

# Distinctive secrets: long, varied, so that finding one in text is a leak and not chance.
_ALPHABET = string.ascii_letters + string.digits + "+-_"
secrets_st = st.text(_ALPHABET, min_size=14, max_size=40).filter(lambda s: len(set(s)) >= 8)
_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _everything_shown(exc: BaseException) -> str:
    """Every text a user may see of ``exc``: str, repr, and the full chained traceback."""
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


def _assert_hidden(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text, f"secret leaked into: {text[:2000]}"


# -- the function itself ---------------------------------------------------------------------
@given(key=secrets_st, secret=secrets_st, sig=secrets_st)
def test_redact_url_hides_userinfo_and_signed_query(key: str, secret: str, sig: str) -> None:
    for url in (
        f"s3://{key}:{secret}@bucket/shelf",
        f"https://host/path?X-Amz-Signature={sig}&X-Amz-Credential={secret}&versionId=3",
        f"az://c/p?sv=2024&sig={sig}&token={secret}",
    ):
        shown = redact_url(url)
        _assert_hidden(secret, shown)
        _assert_hidden(sig, shown)
    assert redact_url(f"s3://{key}:{secret}@bucket/shelf") == "s3://***@bucket/shelf"
    assert "versionId=3" in redact_url(f"https://h/p?versionId=3&sig={sig}")


@given(value=secrets_st, name=st.sampled_from(
    ["secret", "key", "token", "password", "connection_string", "account_key", "sas_token",
     "client_secret", "aws_secret_access_key", "session_token"]))  # fmt: skip
def test_secret_like_options_are_removed_from_any_text(value: str, name: str) -> None:
    found = secrets_of("memory://x", {name: value, "endpoint_url": "http://127.0.0.1:1"})
    assert value in found
    assert "http://127.0.0.1:1" not in found
    text = f"the backend said: bad {value!r} for {name}, url http://127.0.0.1:1/{value}"
    _assert_hidden(value, redact(text, found))


def test_connection_string_parts_are_secrets() -> None:
    conn = "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=QUJDREVGR0hJSktMTU5P=="
    found = secrets_of("", {"connection_string": conn})
    assert "QUJDREVGR0hJSktMTU5P==" in found
    assert "QUJDREVGR0hJSktMTU5P" not in redact("key was QUJDREVGR0hJSktMTU5P== here", found)
    # Even unknown to the caller, an AccountKey= pair in text is masked.
    assert redact(conn) == conn.replace("QUJDREVGR0hJSktMTU5P==", "***")


def test_a_short_key_equal_to_the_bucket_name_does_not_mask_the_shown_url() -> None:
    storage = open_storage("memory://modelshelf-test/x", key="modelshelf", secret="s3cr3t-value")
    assert storage.url == "memory://modelshelf-test/x"
    text = f"cannot read in {storage.url}: bucket modelshelf-test, secret s3cr3t-value"
    shown = redact(text, secrets_of("", {"key": "modelshelf", "secret": "s3cr3t-value"}),
                   keep=(storage.url,))  # fmt: skip
    assert shown.startswith(f"cannot read in {storage.url}: ")
    assert "s3cr3t-value" not in shown


def test_plain_text_is_left_alone() -> None:
    text = "no object at 'registry/log/00000000000000000001.json' in s3://bucket/shelf"
    assert redact(text) == text
    assert redact_url("az://container@account.blob.core.windows.net/p") == (
        "az://container@account.blob.core.windows.net/p"
    )


# -- reprs and URLs ----------------------------------------------------------------------------
@given(key=secrets_st, secret=secrets_st)
@_SETTINGS
def test_reprs_hide_userinfo_secret(moto_endpoint: Endpoint, key: str, secret: str) -> None:
    endpoint = moto_endpoint.options["endpoint_url"]
    url = f"s3://{key}:{secret}@modelshelf-test/redact"
    client = modelshelf.Client(url, endpoint_url=endpoint)
    shelf = client.shelf
    shown = [repr(client), str(client), repr(shelf), repr(shelf.storage), shelf.url,
             shelf.storage.url, repr(shelf.blobs)]  # fmt: skip
    _assert_hidden(secret, *shown)
    # The credentials were used, not dropped: the storage signs with them.
    assert shelf.storage.fs.key == key and shelf.storage.fs.secret == secret  # type: ignore[attr-defined]


def test_query_string_and_foreign_password_are_refused_without_showing_them() -> None:
    # The URLs are built in variables: a traceback quotes the source line that raised.
    secret = "SIGNATURE" + "0123456789"
    for url, options in (
        (f"s3://bucket/shelf?X-Amz-Signature={secret}", {}),
        (f"gs://user:{secret}@bucket/shelf", {}),
        (f"s3://k:{secret}@bucket/shelf", {"secret": "another-secret-value"}),
    ):
        with pytest.raises(ConfigurationError) as info:
            open_storage(url, **options)
        _assert_hidden(secret, _everything_shown(info.value))
        _assert_hidden("another-secret-value", _everything_shown(info.value))


# -- errors provoked on the real emulators ------------------------------------------------------
def _provoke(url: str, **options: Any) -> BaseException:
    """Open ``url`` and use it until it fails; return the error."""
    try:
        client = modelshelf.Client(url, **options)
        client.create_registered_model("m")
        client.search_registered_models()
    except Exception as exc:  # noqa: BLE001 - the error is what the test inspects
        return exc
    pytest.fail(f"using {redact_url(url)} did not fail")


@given(key=secrets_st, secret=secrets_st)
@_SETTINGS
def test_s3_errors_hide_secrets(moto_endpoint: Endpoint, key: str, secret: str) -> None:
    endpoint = moto_endpoint.options["endpoint_url"]
    # A bucket name botocore refuses before sending (ParamValidationError), with URL userinfo.
    error = _provoke(f"s3://{key}:{secret}@Bad_Bucket!/shelf", endpoint_url=endpoint)
    assert isinstance(error, BackendRequestError), _everything_shown(error)
    _assert_hidden(secret, _everything_shown(error))
    # A missing bucket, credentials in storage_options.
    error = _provoke(
        "s3://no-such-bucket-here/shelf", endpoint_url=endpoint, key=key, secret=secret
    )
    assert isinstance(error, StorageError), _everything_shown(error)
    _assert_hidden(secret, _everything_shown(error))
    # A session token the client never gets to use.
    error = _provoke("s3://Bad_Bucket!/shelf", endpoint_url=endpoint, token=secret)
    assert isinstance(error, ModelshelfError)
    _assert_hidden(secret, _everything_shown(error))


_B64 = string.ascii_letters + string.digits + "+/"


@pytest.mark.slow
@pytest.mark.xdist_group("azurite")
@given(account_key=st.text(_B64, min_size=40, max_size=40).filter(lambda s: len(set(s)) >= 10))
@_SETTINGS
def test_azure_wrong_key_hides_it(azurite_endpoint: Endpoint, account_key: str) -> None:
    good = azurite_endpoint.options["connection_string"]
    start = good.index("AccountKey=") + len("AccountKey=")
    end = good.index(";", start)
    bad = good[:start] + account_key + "==" + good[end:]
    error = _provoke(f"{azurite_endpoint.base_url}/redact", connection_string=bad)
    assert isinstance(error, ModelshelfError), _everything_shown(error)
    _assert_hidden(account_key, _everything_shown(error))


@pytest.mark.slow
@pytest.mark.xdist_group("fakegcs")
@given(token=secrets_st)
@_SETTINGS
def test_gcs_bad_token_hides_it(fakegcs_endpoint: Endpoint, token: str) -> None:
    options = {**fakegcs_endpoint.options, "token": token}
    error = _provoke(f"{fakegcs_endpoint.base_url}/redact", **options)
    assert isinstance(error, ModelshelfError), _everything_shown(error)
    _assert_hidden(token, _everything_shown(error))


# -- the command line --------------------------------------------------------------------------
@given(key=secrets_st, secret=secrets_st, flags=st.sampled_from([(), ("--json",), ("--debug",)]))
@_SETTINGS
def test_cli_output_hides_secrets(
    moto_endpoint: Endpoint, key: str, secret: str, flags: tuple[str, ...]
) -> None:
    endpoint = moto_endpoint.options["endpoint_url"]
    runner = CliRunner()
    for shelf, options in (
        (f"s3://{key}:{secret}@Bad_Bucket!/shelf", []),
        ("s3://no-such-bucket-here/shelf", [f"key={key}", f"secret={secret}"]),
    ):
        args = ["--shelf", shelf, "--storage-option", f"endpoint_url={endpoint}"]
        for option in options:
            args += ["--storage-option", option]
        result = runner.invoke(cli, [*args, *flags, "models", "list"])
        assert result.exit_code == 2, result.output
        _assert_hidden(secret, result.output, result.stderr)
        assert "error:" in result.stderr
    # A working shelf: the JSON output names the shelf without credentials.
    good = f"s3://{key}:{secret}@modelshelf-test/cli-redact"
    result = runner.invoke(
        cli,
        ["--shelf", good, "--storage-option", f"endpoint_url={endpoint}", "--json",
         "models", "create", "m"],
    )  # fmt: skip
    _assert_hidden(secret, result.output, result.stderr)


def test_version_source_is_recorded_without_credentials(tmp_path: Any) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    client = modelshelf.Client(str(tmp_path / "shelf"))
    client.create_registered_model("m")
    version = client.create_model_version(
        "m",
        "s3://AKIA0123:SECRETSECRET0123@bucket/m",
        run_link="https://host/run?sig=SIGNATURE0123456789&tab=1",
        local_model_path=str(model),
    )
    assert version.source == "s3://***@bucket/m"
    assert version.run_link == "https://host/run?sig=***&tab=1"
    stored = json.dumps(
        [client.shelf.storage.read(i.key).decode() for i in client.shelf.storage.list("registry")]
    )
    _assert_hidden("SECRETSECRET0123", stored)
    _assert_hidden("SIGNATURE0123456789", stored)


def test_shelves_with_different_url_credentials_do_not_share_a_registry(
    moto_endpoint: Endpoint,
) -> None:
    endpoint = moto_endpoint.options["endpoint_url"]
    a = modelshelf.Client("s3://key-a:secret-a-0123@modelshelf-test/two", endpoint_url=endpoint)
    b = modelshelf.Client("s3://key-b:secret-b-0123@modelshelf-test/two", endpoint_url=endpoint)
    assert a.shelf.url == b.shelf.url == "s3://***@modelshelf-test/two"
    assert a.registry._reg_replica is not b.registry._reg_replica
    assert b.registry._reg_replica.storage.fs.secret == "secret-b-0123"  # type: ignore[attr-defined]
