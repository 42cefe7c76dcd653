"""Imports Resemblyzer from the venv even though webrtcvad 2.0.10 still does `import pkg_resources`,
which setuptools ≥ 81 no longer ships. webrtcvad only reads its own version through it, so a stub is
enough; nothing numerical goes through the stub."""

import sys
import types

if "pkg_resources" not in sys.modules:
    try:
        import pkg_resources  # noqa: F401
    except ModuleNotFoundError:
        stub = types.ModuleType("pkg_resources")
        stub.get_distribution = lambda name: types.SimpleNamespace(version="unknown")
        sys.modules["pkg_resources"] = stub

import resemblyzer  # noqa: E402
from resemblyzer import VoiceEncoder, audio, hparams  # noqa: E402,F401

PACKAGE_DIR = resemblyzer.__path__[0]
