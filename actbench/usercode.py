"""A user's code named on the command line or handed over from Python: found, identified,
and made to travel to a seed's worker process.

A spec is `FILE.py:NAME` (a file, loaded as a module of its own) or `package.module:NAME`
(imported). An object handed over from Python (a factory, a loader, an activation) is
named by where it was defined and remembered in this process, so the plan can be built
from names alone. Whatever is defined outside an importable module (a notebook, a script,
a file loaded here) travels by value: cloudpickle, which Ray uses for the same job, copies
its code into the worker's pickle, so a worker never re-runs the caller's main module.

`identity` says what run.json records of it: the spec, the module and name it resolved to,
and a hash of its source, so that `compare` can tell two runs' networks or data apart.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import marshal
import sys
from pathlib import Path
from types import ModuleType

import cloudpickle

from actbench.errors import ActbenchError, first_line

_GIVEN: dict[str, object] = {}  # objects handed over from Python, by the name they got
_FILES: dict[Path, ModuleType] = {}


def is_spec(text: str) -> bool:
    """Whether `text` names user code (`FILE.py:NAME`, `module:NAME`), not a built-in."""
    return ":" in text or text in _GIVEN


def _split(spec: str, what: str, param: str) -> tuple[str, str]:
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise ActbenchError(
            f"{{{param}}} {spec!r} must look like FILE.py:NAME or package.module:NAME ({what})",
            [param],
        )
    return where, name


def _load_file(path: Path, spec: str, param: str) -> ModuleType:
    resolved = path.resolve()
    if not resolved.is_file():
        raise ActbenchError(f"{{{param}}} {spec!r}: no file {path}", [param])
    stamp = resolved.stat().st_mtime_ns
    cached = _FILES.get(resolved)
    if cached is not None and getattr(cached, "__actbench_mtime__", None) == stamp:
        return cached
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    name = f"actbench_user_{resolved.stem.replace('-', '_')}_{digest}"
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ActbenchError(
            f"{{{param}}} {spec!r}: {path} failed to load: {first_line(exc)}", [param]
        ) from None
    module.__actbench_mtime__ = stamp
    cloudpickle.register_pickle_by_value(module)  # a worker gets its code, not its path
    _FILES[resolved] = module
    return module


def _import(module_name: str, spec: str, param: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ActbenchError(
                f"{{{param}}} {spec!r}: no module {exc.name!r} (nor a file {module_name}); "
                "give a path ending in .py or an importable module",
                [param],
            ) from None
        raise ActbenchError(
            f"{{{param}}} {spec!r}: {module_name} failed to import: {exc}", [param]
        ) from None
    except Exception as exc:  # whatever the module raises on import
        raise ActbenchError(
            f"{{{param}}} {spec!r}: {module_name} failed to import: {first_line(exc)}", [param]
        ) from None


def resolve(spec: str, what: str, param: str) -> object:
    """The object `spec` names; one line naming the missing file, module or name if none."""
    if spec in _GIVEN:
        return _GIVEN[spec]
    where, name = _split(spec, what, param)
    if where.endswith(".py") or "/" in where or "\\" in where:
        module = _load_file(Path(where), spec, param)
        place = f"file {where}"
    else:
        module = _import(where, spec, param)
        place = f"module {where}"
    try:
        return getattr(module, name)
    except AttributeError:
        raise ActbenchError(f"{{{param}}} {spec!r}: the {place} has no {name!r}", [param]) from None


def give(obj: object, kind: str, spec: str | None = None) -> str:
    """Remember `obj`, handed over from Python, under a name that says where it was
    defined (`__main__:build`, `mymodule:load`) or `spec`; the plan refers to it by that
    name."""
    if spec is not None:
        _GIVEN[spec] = obj
        return spec
    module = getattr(obj, "__module__", None) or "__main__"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or kind
    spec = f"{module}:{name}"
    if spec in _GIVEN and _GIVEN[spec] is not obj and not _same_code(_GIVEN[spec], obj):
        spec = f"{spec}#{code_hash(obj)[:8]}"  # redefined in a notebook: a new name
    _GIVEN[spec] = obj
    return spec


def _same_code(a: object, b: object) -> bool:
    return code_hash(a) == code_hash(b)


def code_hash(obj: object) -> str:
    """sha256 of `obj`'s source (its file's, for a file loaded by spec), or of its
    compiled code where no source can be found (a REPL, a script on stdin)."""
    if isinstance(getattr(obj, "sha256", None), str):  # data handed over as tensors
        return obj.sha256
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    if module is not None and getattr(module, "__actbench_mtime__", None) is not None:
        return hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()
    try:
        source = inspect.getsource(obj).encode()
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None) or getattr(
            getattr(obj, "__init__", None), "__code__", None
        )
        source = marshal.dumps(code) if code is not None else repr(obj).encode()
    return hashlib.sha256(source).hexdigest()


def identity(spec: str, obj: object) -> dict[str, str]:
    """What run.json says of a piece of user code: how it was named, where it lives,
    and a hash of its code."""
    return {
        "spec": spec,
        "module": getattr(obj, "__module__", "") or "",
        "name": getattr(obj, "__qualname__", "") or getattr(obj, "__name__", "") or "",
        "sha256": code_hash(obj),
    }
