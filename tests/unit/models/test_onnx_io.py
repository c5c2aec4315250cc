"""Loading is ONNX-only: pickles and torch zips are refused unread; sha256 is checked first."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

from shared.errors import IntegrityError, ValidationError
from shared.models import onnx_io
from shared.models.onnx_io import ModelCache, load_model, parse_onnx, sha256_hex, signature_of


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (Path.touch, (self.marker,))


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to unpickle during the test fails it."""

    def forbidden(*_a: object, **_k: object) -> None:
        raise AssertionError("pickle was loaded")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_is_refused_and_never_loaded(tmp_path: Path, no_unpickling: None, protocol: int) -> None:
    marker = tmp_path / "created-by-unpickling"
    data = pickle.dumps(_Payload(marker), protocol=protocol)
    with pytest.raises(ValidationError, match="pickle: refused and never loaded") as err:
        load_model(data, expected_sha256=sha256_hex(data))
    assert err.value.field == "model"
    assert not marker.exists()


def test_old_protocol_pickle_is_refused(tmp_path: Path, no_unpickling: None) -> None:
    marker = tmp_path / "created"
    data = pickle.dumps(_Payload(marker), protocol=0)
    with pytest.raises(ValidationError, match="refused"):
        load_model(data, expected_sha256=sha256_hex(data))
    assert not marker.exists()


def test_torch_zip_checkpoint_is_refused(no_unpickling: None) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    data = buffer.getvalue()
    with pytest.raises(ValidationError, match="zip archive"):
        load_model(data, expected_sha256=sha256_hex(data))


def test_garbage_after_onnx_first_byte_is_refused() -> None:
    data = b"\x08" + b"\xff" * 64
    with pytest.raises(ValidationError, match="not valid ONNX"):
        load_model(data, expected_sha256=sha256_hex(data))


def test_sha256_mismatch_raises_before_any_session(classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_session(*_a: object, **_k: object) -> None:
        raise AssertionError("a session was created")

    monkeypatch.setattr(onnx_io.ort, "InferenceSession", no_session)
    tampered = bytearray(classifier.data)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(IntegrityError):
        load_model(bytes(tampered), expected_sha256=classifier.sha256)
    with pytest.raises(IntegrityError):
        load_model(classifier.data, expected_sha256="0" * 64)


def test_signature_reads_inputs_outputs_and_metadata(classifier) -> None:
    sig = classifier.model.signature
    # The sklearn trainer's raw-columns contract: one float [batch, 1] input per numeric column.
    assert [t.name for t in sig.inputs] == sig.features and len(sig.features) == 30
    assert sig.features[0] == "mean_radius"
    assert all(t.type == "float" and t.shape == [None, 1] for t in sig.inputs)
    assert sig.columns == dict.fromkeys(sig.features, "numeric") and sig.dropped == {}
    assert sig.task == "classification" and sig.classes == [0, 1] and sig.target == "target"
    assert set(sig.output_names) == {"label", "probabilities"}
    assert signature_of(parse_onnx(classifier.data)) == sig, "read without a session, the same signature"


def test_model_cache_loads_once_per_version(classifier, regressor) -> None:
    cache = ModelCache(max_entries=2)
    fetched: list[str] = []

    def fetch(trained):
        def get() -> bytes:
            fetched.append(trained.sha256)
            return trained.data

        return get

    first = cache.get("bc", "0001", classifier.sha256, fetch(classifier))
    assert cache.get("bc", "0001", classifier.sha256, fetch(classifier)) is first
    assert len(fetched) == 1
    cache.get("diab", "0001", regressor.sha256, fetch(regressor))
    cache.get("bc", "0002", classifier.sha256, fetch(classifier))  # evicts the least recently used
    assert len(cache) == 2 and len(fetched) == 3
    cache.get("bc", "0001", classifier.sha256, fetch(classifier))
    assert len(fetched) == 4
    with pytest.raises(IntegrityError):
        cache.get("bc", "0003", "f" * 64, fetch(classifier))
