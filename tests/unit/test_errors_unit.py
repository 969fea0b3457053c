"""errors.py without root: the (Op, errno) table, messages, OSError compatibility, pickling."""

from __future__ import annotations

import ast
import copy
import errno
import os
import pickle
from pathlib import Path

import pytest

from bpfobj import errors
from bpfobj.errors import (
    ENOTSUPP,
    NOT_BPFFS_ERRNO,
    BPFError,
    BPFPermissionError,
    BTFLoadError,
    ClosedError,
    KeyExistsError,
    KeyNotFoundError,
    LogError,
    NotBPFFSError,
    NotSupportedError,
    ObjectTypeError,
    Op,
    ProcessGoneError,
    VerifierError,
    from_errno,
)

OBJ = "Hash(counts)#7"


def test_message_format() -> None:
    err = from_errno(errno.ENOENT, Op.MAP_LOOKUP, OBJ)
    assert str(err) == "map lookup Hash(counts)#7: key not found"
    assert type(err) is KeyNotFoundError
    assert err.op is Op.MAP_LOOKUP and err.obj == OBJ
    assert str(from_errno(errno.EEXIST, Op.MAP_UPDATE, OBJ)) == \
        "map update Hash(counts)#7: key exists (UpdateFlags.NOEXIST)"
    assert str(from_errno(errno.ENOENT, Op.MAP_LOOKUP)) == "map lookup: key not found"
    assert str(from_errno(errno.ENOENT, Op.OBJ_GET, "map", "/x/y")) == \
        "load pinned map '/x/y': no such pinned object"
    assert str(from_errno(errno.ENOENT, Op.OBJ_GET, path="/x/y")) == \
        "load pinned '/x/y': no such pinned object"
    assert str(from_errno(errno.EEXIST, Op.MAP_UPDATE, OBJ, hint="my hint")).endswith(
        "key exists (my hint)")


def test_oserror_compatibility() -> None:
    err = from_errno(errno.ENOENT, Op.MAP_LOOKUP, OBJ)
    assert isinstance(err, OSError) and isinstance(err, KeyError) and isinstance(err, LookupError)
    assert err.errno == errno.ENOENT and err.strerror == "key not found" and err.filename is None
    with pytest.raises(KeyError):
        raise err
    with pytest.raises(OSError):
        raise err
    perm = from_errno(errno.EPERM, Op.MAP_CREATE, OBJ)
    assert isinstance(perm, PermissionError) and perm.errno == errno.EPERM
    assert "needs root or CAP_BPF" in str(perm)
    exists = from_errno(errno.EEXIST, Op.MAP_UPDATE, OBJ)
    assert isinstance(exists, FileExistsError)
    wrong = errors.wrong_type(Op.DUP, "fd 7", "bpf-prog", "bpf-map")
    assert isinstance(wrong, TypeError) and isinstance(wrong, ObjectTypeError)
    assert str(wrong) == "dup fd 7: is a bpf-prog, not a bpf-map"
    pinned = errors.wrong_type(Op.OBJ_GET, "map", "bpf-prog", "bpf-map", "/p")
    assert str(pinned) == "load pinned map '/p': holds a bpf-prog, not a bpf-map"
    assert pinned.filename == "/p"
    gone = from_errno(errno.ESRCH, Op.PIDFD, "pid 1")
    assert isinstance(gone, ProcessLookupError) and isinstance(gone, ProcessGoneError)
    closed = errors.closed(Op.MAP_LOOKUP, OBJ)
    assert isinstance(closed, ValueError) and isinstance(closed, ClosedError)
    assert str(closed) == "map lookup Hash(counts)#7: object is closed"
    assert closed.errno == errno.EBADF
    path_err = from_errno(errno.EPERM, Op.OBJ_PIN, OBJ, "/tmp/x")
    assert isinstance(path_err, NotBPFFSError) and path_err.filename == "/tmp/x"


def test_enotsupp_524_is_readable() -> None:
    assert ENOTSUPP == 524
    for op in (Op.PROG_TEST_RUN, Op.MAP_CREATE, Op.LINK_CREATE, Op.MAP_LOOKUP_AND_DELETE):
        err = from_errno(ENOTSUPP, op, OBJ)
        assert type(err) is NotSupportedError and err.errno == ENOTSUPP
        assert "Unknown error" not in str(err)
        assert "not supported" in str(err) or "cannot be test-run" in str(err)
    assert errors.strerror(ENOTSUPP) == "operation not supported (ENOTSUPP)"
    assert errors.strerror(errno.ENOENT) == os.strerror(errno.ENOENT)


def test_map_type_eopnotsupp() -> None:
    for e in (errno.EOPNOTSUPP, ENOTSUPP):
        err = from_errno(e, Op.MAP_BATCH_LOOKUP_AND_DELETE, OBJ)
        assert type(err) is NotSupportedError and "this map type" in str(err)


@pytest.mark.parametrize("op,err,cls,words", [
    (Op.MAP_UPDATE, errno.EPERM, BPFPermissionError, "frozen or the descriptor is read-only"),
    (Op.MAP_DELETE, errno.EPERM, BPFPermissionError, "read-only"),
    (Op.MAP_BATCH_UPDATE, errno.EPERM, BPFPermissionError, "read-only"),
    (Op.MAP_LOOKUP, errno.EPERM, BPFPermissionError, "write-only"),
    (Op.MAP_NEXT_KEY, errno.EPERM, BPFPermissionError, "write-only"),
    (Op.MAP_BATCH_LOOKUP, errno.EPERM, BPFPermissionError, "write-only"),
    (Op.MAP_FREEZE, errno.EPERM, BPFPermissionError, "already frozen"),
    (Op.OBJ_PIN, errno.EPERM, NotBPFFSError, "bpffs"),
    (Op.MAP_UPDATE, errno.E2BIG, BPFError, "map is full"),
    (Op.MAP_DELETE, errno.EINVAL, BPFError, "cannot be deleted"),
    (Op.MAP_BATCH_DELETE, errno.ENOENT, KeyNotFoundError, "not found"),
    (Op.MAP_BATCH_UPDATE, errno.EEXIST, KeyExistsError, "exists"),
    (Op.GET_FD_BY_ID, errno.EPERM, BPFPermissionError, "CAP_SYS_ADMIN"),
    (Op.GET_FD_BY_ID, errno.ENOENT, BPFError, "no object with this id"),
    (Op.OBJ_GET, errno.ENOENT, BPFError, "no such pinned object"),
    (Op.MAP_CREATE, errno.EINVAL, BPFError, "invalid map attributes"),
])
def test_table_entries(op: Op, err: int, cls: type[BPFError], words: str) -> None:
    e = from_errno(err, op, OBJ)
    want = NOT_BPFFS_ERRNO if cls is NotBPFFSError else err
    assert type(e) is cls and e.errno == want and words in str(e)


def test_eperm_says_root_only_where_it_applies() -> None:
    """One errno, several meanings: element writes never blame missing privileges."""
    for op in (Op.MAP_UPDATE, Op.MAP_DELETE, Op.MAP_LOOKUP, Op.MAP_NEXT_KEY, Op.MAP_FREEZE,
               Op.MAP_BATCH_UPDATE, Op.MAP_BATCH_DELETE, Op.MAP_BATCH_LOOKUP,
               Op.MAP_BATCH_LOOKUP_AND_DELETE, Op.MAP_LOOKUP_AND_DELETE, Op.OBJ_PIN):
        assert "root" not in str(from_errno(errno.EPERM, op, OBJ)), op


def test_every_table_entry_builds() -> None:
    for (op, err), (cls, reason, _hint) in errors._ERRNO_TABLE.items():
        e = from_errno(err, op or Op.MAP_CREATE, OBJ)
        want = NOT_BPFFS_ERRNO if cls is NotBPFFSError else err
        assert isinstance(e, cls) and isinstance(e, BPFError) and e.errno == want
        assert reason in str(e) and str(e).startswith((op or Op.MAP_CREATE).value)


def test_unknown_errno_and_emfile_hint() -> None:
    e = from_errno(9999, Op.MAP_CREATE, OBJ)
    assert type(e) is BPFError and e.errno == 9999 and str(e) == \
        "map create Hash(counts)#7: unknown error 9999"
    e = from_errno(errno.EMFILE, Op.MAP_CREATE, OBJ)
    assert "RLIMIT_NOFILE" in str(e)


def test_from_errno_builds_and_does_not_raise() -> None:
    assert isinstance(from_errno(errno.EPERM, Op.MAP_CREATE), BPFError)


@pytest.mark.parametrize("exc", [
    from_errno(errno.ENOENT, Op.MAP_LOOKUP, OBJ),
    from_errno(errno.EEXIST, Op.MAP_UPDATE, OBJ),
    from_errno(errno.EPERM, Op.MAP_UPDATE, OBJ),
    from_errno(ENOTSUPP, Op.PROG_TEST_RUN, OBJ),
    from_errno(errno.EPERM, Op.OBJ_PIN, OBJ, "/tmp/x"),
    from_errno(errno.ESRCH, Op.PIDFD, "pid 1"),
    errors.wrong_type(Op.OBJ_GET, "map", "bpf-prog", "bpf-map", "/p"),
    errors.closed(Op.MAP_LOOKUP, OBJ),
    BPFError(errno.EIO, "plain"),
])
def test_pickle_round_trip(exc: BPFError) -> None:
    for again in (pickle.loads(pickle.dumps(exc)), copy.copy(exc), copy.deepcopy(exc)):
        assert type(again) is type(exc)
        assert str(again) == str(exc)
        assert (again.errno, again.strerror, again.filename, again.op, again.obj) == \
            (exc.errno, exc.strerror, exc.filename, exc.op, exc.obj)


@pytest.mark.parametrize("cls", [VerifierError, BTFLoadError])
def test_pickle_keeps_log(cls: type[VerifierError]) -> None:
    exc = cls(errno.EACCES, "program load x: verifier rejected the program", log="R0 !read_ok",
              op=Op.PROG_LOAD, obj="x", reason="permission denied")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is cls and again.log == "R0 !read_ok" and str(again) == str(exc)
    assert again.errno == errno.EACCES and again.strerror == "permission denied"


def test_key_not_found_str_is_not_repr() -> None:
    # KeyError.__str__ would quote the message; ours reads like the others.
    e = from_errno(errno.ENOENT, Op.MAP_LOOKUP, OBJ)
    assert str(e) == "map lookup Hash(counts)#7: key not found"
    assert not str(e).startswith("'")


# -- one way to build an error -------------------------------------------------------

PACKAGE = Path(errors.__file__).parent
ERROR_CLASSES = {name for name in errors.__all__
                 if isinstance(getattr(errors, name), type)
                 and issubclass(getattr(errors, name), BPFError)}


def _sources() -> list[tuple[Path, ast.Module]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "errors.py" or path.parent != PACKAGE:
            out.append((path, ast.parse(path.read_text(), str(path))))
    return out


def test_sources_are_found() -> None:
    names = {p.name for p, _tree in _sources()}
    assert {"syscall.py", "fd.py", "map.py", "leak.py", "fdpass.py"} <= names
    assert "NotBPFFSError" in ERROR_CLASSES and "VerifierError" in ERROR_CLASSES


def test_no_error_is_built_outside_errors_py() -> None:
    """Every bpfobj exception comes from errors.from_errno (or closed/wrong_type)."""
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if name in ERROR_CLASSES:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}(...)")
    assert found == []


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value != 0


def test_errno_names_not_numbers() -> None:
    """from_errno(1, ...) or exc.errno == 524 hide what is meant: use errno names."""
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "from_errno" and node.args and _is_int(node.args[0]):
                found.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) \
                    and node.left.attr == "errno":
                for right in node.comparators:
                    items = right.elts if isinstance(right, (ast.Tuple, ast.List, ast.Set)) \
                        else [right]
                    if any(_is_int(item) for item in items):
                        found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_not_bpffs_has_one_errno() -> None:
    """OBJ_PIN answers EPERM, OBJ_GET EINVAL: the condition is one, so is the errno."""
    pin = from_errno(errno.EPERM, Op.OBJ_PIN, OBJ, "/tmp/x")
    get = from_errno(errno.EINVAL, Op.OBJ_GET, "map", "/tmp/x")
    walk = from_errno(errno.ENOTDIR, Op.BPFFS_WALK, path="/tmp", cls=NotBPFFSError,
                      reason="not on a bpffs mount")
    assert {type(pin), type(get), type(walk)} == {NotBPFFSError}
    assert pin.errno == get.errno == walk.errno == NOT_BPFFS_ERRNO
    assert str(walk) == "walk bpffs '/tmp': not on a bpffs mount"


def test_overrides_keep_the_message_form() -> None:
    e = from_errno(errno.EINVAL, Op.LINK_CREATE, "xdp ifindex 9", reason="no interface",
                   hint="")
    assert str(e) == "link create xdp ifindex 9: no interface" and e.strerror == "no interface"
    e = from_errno(errno.EPERM, Op.LEAK, reason="needs root", hint="run it with sudo")
    assert str(e) == "leak analysis: needs root (run it with sudo)"
    assert isinstance(e, BPFPermissionError) and e.op is Op.LEAK
    e = from_errno(errno.EPERM, Op.MAP_CREATE, OBJ, hint="")
    assert str(e) == "map create Hash(counts)#7: operation not permitted"
    e = from_errno(errno.EPERM, Op.OBJ_PIN, OBJ, "/p", cls=BPFError, reason="bad name")
    assert type(e) is BPFError and e.errno == errno.EPERM and e.filename == "/p"


@pytest.mark.parametrize("op", list(Op))
def test_every_message_starts_with_its_op(op: Op) -> None:
    for err in (errno.EPERM, errno.ENOENT, errno.EINVAL, errno.EBADF, ENOTSUPP):
        e = from_errno(err, op, OBJ)
        assert e.op is op and str(e).startswith(f"{op.value} {OBJ}: ")
    assert str(errors.closed(op, OBJ)).startswith(f"{op.value} {OBJ}: ")


@pytest.mark.parametrize("cls", [VerifierError, BTFLoadError])
def test_log_errors_share_one_base(cls: type[LogError]) -> None:
    assert cls.__bases__ == (LogError,) and "__init__" not in cls.__dict__
    e = from_errno(errno.EACCES, Op.PROG_LOAD, "XDP(x)", cls=cls, log="R0 !read_ok",
                   reason="verifier rejected the program")
    assert type(e) is cls and isinstance(e, LogError) and e.log == "R0 !read_ok"
    assert str(e) == "program load XDP(x): verifier rejected the program"
