"""Crafted plugin distributions and settings: malformed metadata, hooks that answer nonsense or raise
``SystemExit``, components whose ``Params`` fail, a plugin that replaces a built-in command, a distribution
impersonating tympan, and ``TYMPAN_*`` switches with values no one defined.

Each is installed in a fresh folder on ``sys.path`` with a fresh default registry, then every ordinary
operation runs (``tympan list``, ``plugins``, ``schema``, ``doctor``, ``run --help``, loading and saving,
a first-party component): the broken plugin must break only itself, and a bad setting must be refused with
a message naming it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from _harness import Attack

FAMILY = "plugins"


# -- distributions ---------------------------------------------------------------------------------------


def _dist_info(site: Path, folder: str, files: Mapping[str, bytes]) -> None:
    info = site / folder
    info.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (info / name).write_bytes(data)


def _metadata(name: str, version: str = "1.0") -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()


def _entry_points(groups: Mapping[str, Mapping[str, str]]) -> bytes:
    return "\n".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
        for group, entries in groups.items()
    ).encode()


def _module(site: Path, name: str, source: str) -> None:
    (site / f"{name}.py").write_text(source)


GOOD_EFFECT = "import torch\nclass Gain(torch.nn.Module):\n    def forward(self, x):\n        return 2 * x\n"
HOOKS = "from tympan.registry.hookspecs import hookimpl\n"


def _hooks(site: Path, distribution: str, module: str, body: str) -> None:
    _module(site, module, HOOKS + body)
    _dist_info(
        site,
        f"{distribution}-1.0.dist-info",
        {
            "METADATA": _metadata(distribution),
            "entry_points.txt": _entry_points({"tympan.hooks": {distribution: module}}),
        },
    )


def _component(
    site: Path, distribution: str, module: str, source: str, group: str = "tympan.effects", name: str = "acme:thing"
) -> None:
    _module(site, module, source)
    _dist_info(
        site,
        f"{distribution}-1.0.dist-info",
        {
            "METADATA": _metadata(distribution),
            "entry_points.txt": _entry_points({group: {name: f"{module}:Thing"}}),
        },
    )


def _malformed(site: Path, files: Mapping[str, bytes]) -> None:
    _module(site, "acme_bad", GOOD_EFFECT.replace("Gain", "Thing"))
    _dist_info(site, "acme_bad-1.0.dist-info", files)


GOOD_POINTS = _entry_points({"tympan.effects": {"acme:thing": "acme_bad:Thing"}})

DISTRIBUTIONS: dict[str, Callable[[Path], None]] = {
    "no-name": lambda s: _malformed(
        s, {"METADATA": b"Metadata-Version: 2.1\nVersion: 1.0\n", "entry_points.txt": GOOD_POINTS}
    ),
    "no-metadata": lambda s: _malformed(s, {"entry_points.txt": GOOD_POINTS}),
    "empty-metadata": lambda s: _malformed(s, {"METADATA": b"", "entry_points.txt": GOOD_POINTS}),
    "binary-metadata": lambda s: _malformed(
        s, {"METADATA": b"Name: \xff\xfe\x00acme\nVersion: \x80\n", "entry_points.txt": GOOD_POINTS}
    ),
    "no-version": lambda s: _malformed(
        s, {"METADATA": b"Metadata-Version: 2.1\nName: acme-bad\n", "entry_points.txt": GOOD_POINTS}
    ),
    "entry-points-no-equals": lambda s: _malformed(
        s, {"METADATA": _metadata("acme-bad"), "entry_points.txt": b"[tympan.effects]\nacme:thing\n"}
    ),
    "entry-points-no-section": lambda s: _malformed(
        s, {"METADATA": _metadata("acme-bad"), "entry_points.txt": b"acme:thing = acme_bad:Thing\n"}
    ),
    "entry-points-binary": lambda s: _malformed(
        s, {"METADATA": _metadata("acme-bad"), "entry_points.txt": b"[tympan.effects]\n\xff\xfe = \x80\n"}
    ),
    "entry-points-bad-section": lambda s: _malformed(
        s, {"METADATA": _metadata("acme-bad"), "entry_points.txt": b"[tympan.effects\nx = y:z\n"}
    ),
    "entry-points-duplicate": lambda s: _malformed(
        s, {"METADATA": _metadata("acme-bad"), "entry_points.txt": GOOD_POINTS + GOOD_POINTS}
    ),
    "entry-point-bad-target": lambda s: _malformed(
        s,
        {
            "METADATA": _metadata("acme-bad"),
            "entry_points.txt": _entry_points({"tympan.effects": {"acme:thing": "!!:??"}}),
        },
    ),
    "entry-point-bad-extras": lambda s: _malformed(
        s,
        {
            "METADATA": _metadata("acme-bad"),
            "entry_points.txt": _entry_points({"tympan.effects": {"acme:thing": "acme_bad:Thing [a,,"}}),
        },
    ),
    "hook-target-missing": lambda s: _malformed(
        s,
        {
            "METADATA": _metadata("acme-bad"),
            "entry_points.txt": _entry_points({"tympan.hooks": {"acme": "no_such_module"}}),
        },
    ),
    "impersonates-tympan": lambda s: _component(
        s,
        "Tympan",
        "fake_tympan",
        "import torch\nclass Thing(torch.nn.Module):\n    def forward(self, x):\n        return x * 0\n",
        group="tympan.transforms",
        name="dsp:mfcc",
    ),
    "component-system-exit": lambda s: _component(s, "acme-exit", "acme_exit", "raise SystemExit(3)\n"),
    "component-params-raise": lambda s: _component(
        s,
        "acme-params",
        "acme_params",
        "import torch\nclass Thing(torch.nn.Module):\n"
        "    @property\n    def Params(self):\n        raise RuntimeError('no params')\n"
        "    def __init__(self, x: 'Undefined' = 1):\n        super().__init__()\n"
        "    def forward(self, x):\n        return x\n",
    ),
    "component-schema-raise": lambda s: _component(
        s,
        "acme-schema",
        "acme_schema",
        "import torch, pydantic\nclass Thing(torch.nn.Module):\n"
        "    class Params(pydantic.BaseModel):\n        @classmethod\n        def model_json_schema(cls, *a, **k):\n"
        "            raise RuntimeError('no schema')\n    def forward(self, x):\n        return x\n",
    ),
    "component-signature-raise": lambda s: _component(
        s,
        "acme-signature",
        "acme_signature",
        "import torch\nclass Meta(type):\n"
        "    @property\n    def __signature__(cls):\n        raise RuntimeError('no signature')\n"
        "class Thing(torch.nn.Module, metaclass=type(torch.nn.Module)):\n"
        "    def __init__(self, gain: 'NotDefinedAnywhere' = 1):\n        super().__init__()\n",
    ),
    "backend-constructor-raises": lambda s: _component(
        s,
        "acme-backend",
        "acme_backend",
        "from tympan.core.backend import Backend\nclass Thing(Backend):\n"
        "    priority = 1000\n    def __init__(self):\n        raise RuntimeError('no licence')\n"
        "    def can_read(self, source, format=None):\n        return True\n"
        "    def info(self, source, format=None):\n        raise RuntimeError('x')\n",
        group="tympan.backends",
        name="acme:backend",
    ),
    "backend-can-read-raises": lambda s: _component(
        s,
        "acme-backend2",
        "acme_backend2",
        "from tympan.core.backend import Backend\nclass Thing(Backend):\n"
        "    priority = 1000\n    def can_read(self, source, format=None):\n        raise RuntimeError('boom')\n"
        "    def can_write(self, format, encoding=None):\n        raise SystemExit(2)\n"
        "    def info(self, source, format=None):\n        raise RuntimeError('x')\n",
        group="tympan.backends",
        name="acme:backend",
    ),
    "hooks-import-system-exit": lambda s: _hooks(s, "acme-hooks", "acme_hooks", "raise SystemExit(0)\n"),
    "hooks-import-error": lambda s: _hooks(s, "acme-hooks", "acme_hooks", "raise ImportError('missing lib')\n"),
    "select-unknown-backend": lambda s: _hooks(
        s,
        "acme-hooks",
        "acme_hooks",
        "@hookimpl\ndef tympan_select_backend(source, format, mode):\n    return 'acme:nonexistent'\n",
    ),
    "select-wrong-kind": lambda s: _hooks(
        s,
        "acme-hooks",
        "acme_hooks",
        "@hookimpl\ndef tympan_select_backend(source, format, mode):\n    return 'dsp:mfcc'\n",
    ),
    "select-not-a-name": lambda s: _hooks(
        s, "acme-hooks", "acme_hooks", "@hookimpl\ndef tympan_select_backend(source, format, mode):\n    return 42\n"
    ),
    "select-system-exit": lambda s: _hooks(
        s,
        "acme-hooks",
        "acme_hooks",
        "@hookimpl\ndef tympan_select_backend(source, format, mode):\n    raise SystemExit(1)\n",
    ),
    "select-raises": lambda s: _hooks(
        s,
        "acme-hooks",
        "acme_hooks",
        "@hookimpl\ndef tympan_select_backend(source, format, mode):\n    raise RuntimeError('confused')\n",
    ),
    "doctor-returns-42": lambda s: _hooks(
        s, "acme-hooks", "acme_hooks", "@hookimpl\ndef tympan_doctor():\n    return 42\n"
    ),
    "doctor-returns-junk": lambda s: _hooks(
        s, "acme-hooks", "acme_hooks", "@hookimpl\ndef tympan_doctor():\n    return [42, None, 'text']\n"
    ),
    "doctor-system-exit": lambda s: _hooks(
        s, "acme-hooks", "acme_hooks", "@hookimpl\ndef tympan_doctor():\n    raise SystemExit(4)\n"
    ),
    "command-replaces-run": lambda s: _hooks(
        s,
        "acme-hooks",
        "acme_hooks",
        "import click\n@hookimpl\ndef tympan_add_commands(cli):\n"
        "    @click.command('run')\n    def hijack():\n"
        "        click.echo('hijacked')\n    cli.add_command(hijack)\n",
    ),
    "command-replaces-list": lambda s: _hooks(
        s,
        "acme-hooks",
        "acme_hooks",
        "import click\n@hookimpl\ndef tympan_add_commands(cli):\n"
        "    cli.add_command(click.Command('list', callback=lambda: None))\n",
    ),
    "command-removes-commands": lambda s: _hooks(
        s, "acme-hooks", "acme_hooks", "@hookimpl\ndef tympan_add_commands(cli):\n    cli.commands.clear()\n"
    ),
    "command-system-exit": lambda s: _hooks(
        s, "acme-hooks", "acme_hooks", "@hookimpl\ndef tympan_add_commands(cli):\n    raise SystemExit(0)\n"
    ),
    "register-first-party-name": lambda s: _hooks(
        s,
        "acme-hooks",
        "acme_hooks",
        "@hookimpl\ndef tympan_register(registrar):\n    registrar.add('transform', 'dsp:mfcc', lambda: object)\n",
    ),
    "register-system-exit": lambda s: _hooks(
        s, "acme-hooks", "acme_hooks", "@hookimpl\ndef tympan_register(registrar):\n    raise SystemExit(5)\n"
    ),
}

SETTINGS: dict[str, dict[str, str]] = {
    "strict-maybe": {"TYMPAN_STRICT_PLUGINS": "maybe"},
    "strict-two": {"TYMPAN_STRICT_PLUGINS": "2"},
    "load-star": {"TYMPAN_LOAD_PLUGINS": "*"},
    "load-glob": {"TYMPAN_LOAD_PLUGINS": "acme-*"},
    "load-bad-name": {"TYMPAN_LOAD_PLUGINS": "acme good,../x"},
    "disable-star": {"TYMPAN_DISABLE_PLUGINS": "*"},
    "budget-text": {"TYMPAN_MAX_BUFFER_BYTES": "lots"},
    "budget-zero": {"TYMPAN_MAX_BUFFER_BYTES": "0"},
    "budget-negative": {"TYMPAN_MAX_BUFFER_BYTES": "-5M"},
}


# -- installing and operating -------------------------------------------------------------------------


@contextlib.contextmanager
def installed(site: Path, environment: Mapping[str, str]) -> Iterator[None]:
    """``site`` first on ``sys.path`` and ``environment`` set, with a fresh default registry and hooks and
    the ``tympan`` command group restored afterwards."""
    from tympan.cli import cli
    from tympan.registry import Registry, set_default_registry
    from tympan.registry.hooks import reset_hooks

    saved_environment = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    modules = set(sys.modules)
    commands = dict(cli.commands)
    previous = set_default_registry(Registry())
    reset_hooks()
    try:
        yield
    finally:
        set_default_registry(previous)
        reset_hooks()
        cli.commands.clear()
        cli.commands.update(commands)
        sys.path.remove(str(site))
        for name in set(sys.modules) - modules:
            if str(site) in str(getattr(sys.modules[name], "__file__", "") or ""):
                del sys.modules[name]
        for key, value in saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _command(*argv: str, expect: str = "") -> Callable[[], object]:
    """Run ``tympan ARGV`` as the console script does; it must exit 0 with ``expect`` in its output."""

    def run() -> object:
        from click.testing import CliRunner

        from tympan.cli import main
        from tympan.core.errors import TympanError

        runner = CliRunner()
        with runner.isolation() as streams:
            try:
                main(list(argv))
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
        output = streams[-1].getvalue().decode(errors="replace")
        if code != 0 or expect not in output:
            raise TympanError(f"tympan {' '.join(argv)} exited {code}: {output.strip()[-300:]}")
        return output

    return run


def _load_and_save() -> object:
    import io

    import torch

    import tympan

    buffer = io.BytesIO()
    tympan.save(buffer, torch.zeros(1, 100), 8000, format="wav")
    waveform, rate = tympan.load(buffer.getvalue())
    if waveform.shape != (1, 100) or rate != 8000:
        raise ValueError("round trip changed the audio")
    return waveform


def _first_party() -> object:
    from tympan import registry

    mfcc = registry.create("dsp:mfcc", sample_rate=16000, n_mfcc=13)
    if type(mfcc).__module__.split(".")[0] != "tympan":
        raise ValueError(f"dsp:mfcc is now {type(mfcc).__module__}")
    return mfcc


OPERATIONS: dict[str, Callable[[], object]] = {
    "list": _command("list", expect="dsp:mfcc"),
    "plugins": _command("plugins", expect="tympan"),
    "schema": _command("schema", expect="tympan pipeline"),
    "doctor": _command("doctor", expect="torch"),
    "run-help": _command("run", "--help", expect="Apply a pipeline"),
    "load-save": _load_and_save,
    "first-party": _first_party,
}


def _attack(
    install: Callable[[Path], None], environment: Mapping[str, str], operation: Callable[[], object]
) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        site = scratch / "site"
        site.mkdir(exist_ok=True)
        install(site)
        with installed(site, environment):
            return operation()

    return run


def _naming(variable: str, operation: Callable[[], object]) -> Callable[[], object]:
    """``operation``, whose typed error must name ``variable``."""

    def run() -> object:
        from tympan.core.errors import TympanError

        try:
            return operation()
        except TympanError as err:
            if variable not in str(err):
                raise ValueError(f"the error does not name {variable}: {err}") from err
            raise

    return run


def attacks() -> Iterator[Attack]:
    """Every crafted distribution under every operation, and every bad setting."""
    from tympan.core.errors import TympanError

    for name, install in DISTRIBUTIONS.items():
        for operation, run in OPERATIONS.items():
            yield Attack(FAMILY, f"{name}-{operation}", _attack(install, {}, run), refuse=False, succeed=True)
    for name, environment in SETTINGS.items():
        (variable,) = environment
        operations = ("first-party",) if variable == "TYMPAN_MAX_BUFFER_BYTES" else ("list", "load-save")
        for operation in operations:
            checked = _naming(variable, OPERATIONS[operation])
            yield Attack(
                FAMILY, f"setting-{name}-{operation}", _attack(lambda s: None, environment, checked), error=TympanError
            )
